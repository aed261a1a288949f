"""Following a checklist in a real browser: shared by two people, undo, outside an incident."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse

from incidents.models import Incident, StepProgress

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def open_page() -> Any:
        context = browser.new_context(viewport={"width": 390, "height": 844})
        context.set_default_timeout(12_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def incident(editor: Any) -> Incident:
    return Incident.open_incident(by=editor, title="Checkout is slow", severity="P1")


def log_in(page: Any, live_server: Any, user: Any) -> Any:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def step(page: Any, key: str) -> Any:
    return page.locator(f"#step-{key}")


def test_a_teammates_progress_appears_while_you_type_a_note(
    phone, live_server, incident, runbook, editor, reviewer
):
    attachment = incident.attach_runbook(runbook, by=editor)
    first, second, third = (s.key for s in attachment.steps[:3])
    url = live_server.url + reverse("incidents:checklist", args=[incident.number, runbook.slug])
    mine = log_in(phone(), live_server, editor)
    theirs = log_in(phone(), live_server, reviewer)
    mine.goto(url)
    theirs.goto(url)

    note = step(mine, second).get_by_placeholder("Deviation or note")
    note.click()
    note.type("Dashboard is down, reading logs")
    step(theirs, first).get_by_role("button", name="Done").click()

    # The next poll brings their Done in while the note keeps its text and the focus.
    mine.wait_for_selector(f'#status-{first}[data-state="done"]')
    assert "Done by rhea" in step(mine, first).inner_text()
    assert note.input_value() == "Dashboard is down, reading logs"
    assert mine.evaluate("document.activeElement.name") == "note"

    # Clicking Done on another step does not wipe the note either.
    step(mine, third).get_by_role("button", name="Done").click()
    mine.wait_for_selector(f'#status-{third}[data-state="done"]')
    assert note.input_value() == "Dashboard is down, reading logs"
    step(mine, second).get_by_role("button", name="Note deviation").click()
    mine.wait_for_selector(f'#status-{second}[data-state="deviated"]')
    theirs.wait_for_selector(f'#status-{second}[data-state="deviated"]')
    assert "Dashboard is down, reading logs" in step(theirs, second).inner_text()


def test_a_mistaken_done_can_be_undone(phone, live_server, incident, runbook, editor):
    attachment = incident.attach_runbook(runbook, by=editor)
    key = attachment.steps[0].key
    page = log_in(phone(), live_server, editor)
    page.goto(
        live_server.url + reverse("incidents:checklist", args=[incident.number, runbook.slug])
    )
    step(page, key).get_by_role("button", name="Done").click()
    page.wait_for_selector(f'#status-{key}[data-state="done"]')
    step(page, key).get_by_role("button", name="Undo done").click()
    page.wait_for_selector(f'#status-{key}[data-state="open"]')
    assert step(page, key).get_by_role("button", name="Done").is_visible()
    assert list(StepProgress.objects.values_list("state", flat=True)) == ["done", "undone"]

    page.get_by_role("link", name="Timeline").click()
    timeline = page.locator("#timeline").inner_text()
    assert "step 1 done" in timeline and "step 1 undone (was done)" in timeline


def test_a_runbook_can_be_followed_without_an_incident_and_recorded_as_a_drill(
    phone, live_server, runbook, editor
):
    page = log_in(phone(), live_server, editor)
    page.goto(live_server.url + runbook.get_absolute_url())
    page.select_option("#id_run_purpose", "drill")
    page.get_by_role("button", name="Follow as a checklist").click()
    page.wait_for_selector(".checklist-step")
    first = page.locator(".checklist-step").first
    first.get_by_role("button", name="Done").click()
    page.wait_for_selector(
        '.checklist-step:first-of-type [data-state="done"], .step-status[data-state="done"]'
    )
    assert "Next: 2." in page.locator("#current-step").inner_text()

    page.reload()
    assert "step 1 done" in page.locator("#run-timeline").inner_text()
    page.fill("#id_participants", "eddie, rhea")
    page.select_option("#id_outcome", "passed")
    page.get_by_role("button", name="Record drill").click()
    assert page.locator("h1").inner_text().startswith("DR-")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
