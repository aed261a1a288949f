"""Every main page fits phone (390 px) and laptop (1280 and 1366 px) screens without sideways scrolling.

Long code lines and wide tables scroll inside their own box; the page itself never does.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from incidents.models import ChecklistRun, Drill, Incident
from runbooks.models import Runbook

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
# A corpus runbook with a one-line shell script hundreds of characters wide.
LONG_COMMANDS = (
    CORPUS / "openshift-runbooks" / "cluster-network-operator" / "NorthboundStaleAlert.md"
)
VIEWPORTS = {"phone": (390, 844), "small-laptop": (1280, 800), "laptop": (1366, 900)}
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture(params=sorted(VIEWPORTS))
def sized_page(request: Any, browser: Any) -> Iterator[Any]:
    width, height = VIEWPORTS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def library(editor: Any, reviewer: Any) -> dict[str, str]:
    corpus = Runbook.create_with_revision(
        author=editor,
        title="NorthboundStale",
        kind="incident",
        owner=editor,
        body=LONG_COMMANDS.read_text(),
        alert_names=["NorthboundStale"],
    )
    incident = Incident.open_incident(
        by=editor, title="OVN northbound database stale on three nodes", severity="P1"
    )
    attachment = incident.attach_runbook(corpus, by=editor)
    attachment.record_step(1, "done", by=editor)
    attachment.record_step(2, "deviated", by=reviewer, note="Used the 4.14 pod list instead")
    run = ChecklistRun.start(
        corpus, by=editor, purpose="maintenance", title="Planned database failover"
    )
    drill = Drill.record(
        by=editor,
        runbooks=[corpus],
        date=incident.detected_at.date(),
        participants="eddie, rhea",
        outcome="passed",
    )
    return {
        "index": reverse("runbooks:index"),
        "search": reverse("search:search") + "?q=northbound+stale",
        "runbook": corpus.get_absolute_url(),
        "editor": reverse("runbooks:edit", args=[corpus.slug]),
        "history": reverse("runbooks:history", args=[corpus.slug]),
        "incidents": reverse("incidents:list"),
        "incident": incident.get_absolute_url(),
        "checklist": reverse("incidents:checklist", args=[incident.number, corpus.slug]),
        "run": run.get_absolute_url(),
        "drills": reverse("drills:list"),
        "drill": drill.get_absolute_url(),
        "reviews": reverse("reviews:dashboard"),
        "review": reverse("reviews:review", args=[corpus.slug]),
        "my reminders": reverse("reviews:my_reminders"),
        "alerts": reverse("search:coverage"),
        "archived": reverse("runbooks:archived"),
        "contacts": reverse("contacts:index"),
        "channels": reverse("notifications:list"),
    }


def log_in(page: Any, live_server: Any, user: Any) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def overflow(page: Any) -> int:
    return int(page.evaluate(OVERFLOW))


def test_every_page_fits_the_screen_without_sideways_scrolling(
    sized_page, live_server, library, editor
):
    log_in(sized_page, live_server, editor)
    too_wide = {}
    for name, path in library.items():
        sized_page.goto(f"{live_server.url}{path}")
        if overflow(sized_page) > 0:
            too_wide[name] = overflow(sized_page)
    assert too_wide == {}


def test_the_runbook_page_still_fits_after_a_save(sized_page, live_server, library, editor):
    log_in(sized_page, live_server, editor)
    sized_page.goto(f"{live_server.url}{library['editor']}")
    sized_page.fill("#id_body", sized_page.input_value("#id_body") + "\nOne more line.\n")
    sized_page.fill("#id_change_summary", "Clarified the 4.14 pod names")
    sized_page.get_by_role("button", name="Save").click()
    sized_page.wait_for_selector(".message")
    assert overflow(sized_page) <= 0


def test_the_header_is_one_line_on_a_phone(browser, live_server, library, editor):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server, editor)
    page.goto(f"{live_server.url}{library['runbook']}")
    header_height = page.evaluate(
        "document.querySelector('.site-header').getBoundingClientRect().height"
    )
    context.close()
    assert header_height <= 64


def test_long_commands_scroll_inside_their_own_box(browser, live_server, library, editor):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server, editor)
    page.goto(f"{live_server.url}{library['runbook']}")
    widest = page.evaluate(
        "Math.max(...[...document.querySelectorAll('.markdown-body pre')].map(p => p.scrollWidth - p.clientWidth))"
    )
    context.close()
    assert widest > 0
