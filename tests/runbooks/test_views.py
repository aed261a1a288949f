"""The library index, the runbook page, history and diff pages, and /healthz."""

import datetime as dt
from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from runbooks.models import HistoryEntry, Runbook

pytestmark = pytest.mark.django_db

# The detail page's budget is what it measured when written (11, with the
# review and incidents usage panels already in) plus headroom for panels still
# to come; what must never change is that the count stays flat however long
# the history gets (asserted exactly below). Measured again at 17 on a cold
# cache once the watch button, contacts, history links and responders'
# feedback panels were in; 16 once the role lookup joined the runbook's own
# row (the warm page runs 3: tests/runbooks/test_page_cache.py).
DETAIL_QUERIES_MEASURED = 16
DETAIL_QUERY_HEADROOM = 2
DETAIL_MAX_QUERIES = DETAIL_QUERIES_MEASURED + DETAIL_QUERY_HEADROOM
INDEX_MAX_QUERIES = 9
# One more for the history table's links to the incidents and drills it names.
HISTORY_MAX_QUERIES = 7

RICH_BODY = """## Symptoms

Checkout p99 above 2 s.

## Diagnosis

```bash
kubectl -n checkout get pods
```

| Check | Expected |
| --- | --- |
| error rate | < 1% |

## Verification

- [ ] Latency back under 300 ms
- [x] Alert resolved
"""


def grow_history(runbook: Runbook, author: Any, n: int = 20) -> None:
    for i in range(n):
        runbook.add_revision(author=author, body=f"{runbook.current_revision.body}\nStep {i}.\n", change_summary=f"s{i}")
        HistoryEntry.objects.create(runbook=runbook, trigger="drill", reference=f"DR-{i:03}", reviewer="rhea")


def count_queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


# --- index -------------------------------------------------------------------------


def test_index_groups_runbooks_by_category_with_the_source_columns(viewer_client, make_runbook, editor):
    make_runbook(title="Slow queries", category="database", audience="DBAs", summary="When queries crawl")
    make_runbook(title="Cert expiry", category="security", severity="P1")
    page = viewer_client.get(reverse("runbooks:index")).content.decode()
    assert page.index("<h2>Database</h2>") < page.index("Slow queries") < page.index("<h2>Security</h2>")
    for heading in ("Runbook", "Audience", "Severity", "Summary", "Owner", "Last reviewed"):
        assert f">{heading}<" in page
    assert "DBAs" in page and "When queries crawl" in page and editor.username in page


def test_index_shows_last_reviewed_date(viewer_client, make_runbook):
    make_runbook(title="Reviewed one", last_reviewed_at=timezone.make_aware(dt.datetime(2025, 3, 4)))
    assert "2025-03-04" in viewer_client.get(reverse("runbooks:index")).content.decode()


def test_index_filters_by_category_and_severity(viewer_client, make_runbook):
    make_runbook(title="Alpha db", category="database", severity="P1")
    make_runbook(title="Beta db", category="database", severity="P3")
    make_runbook(title="Gamma sec", category="security", severity="P1")
    response = viewer_client.get(reverse("runbooks:index"), {"category": "database", "severity": "P1"})
    titles = [r.title for _, _, rows in response.context["groups"] for r in rows]
    assert titles == ["Alpha db"]


def test_index_filters_runbooks_missing_sections(viewer_client, make_runbook):
    make_runbook(title="Complete")
    make_runbook(title="Partial", body="## Symptoms\n")
    response = viewer_client.get(reverse("runbooks:index"), {"missing": "on"})
    titles = [r.title for _, _, rows in response.context["groups"] for r in rows]
    assert titles == ["Partial"]


def test_index_sorts_by_severity(viewer_client, make_runbook):
    make_runbook(title="A low", severity="P3")
    make_runbook(title="B critical", severity="P0")
    response = viewer_client.get(reverse("runbooks:index"), {"sort": "severity"})
    titles = [r.title for _, _, rows in response.context["groups"] for r in rows]
    assert titles == ["B critical", "A low"]


def test_index_column_headings_link_to_sorts_keeping_filters(viewer_client, runbook):
    page = viewer_client.get(reverse("runbooks:index"), {"category": "service"}).content.decode()
    assert 'href="?category=service&amp;sort=severity"' in page


@pytest.mark.parametrize(
    "query",
    [
        {"category": "nope"},
        {"severity": "P9"},
        {"sort": "password"},
        {"team": "no-such-team"},
        {"page": "x"},
        {"page": "99999"},
        {"cadence": "hourly", "kind": ["a", "b"]},
        {"category": "\x00"},
    ],
)
def test_index_ignores_bad_filter_values(viewer_client, runbook, query):
    response = viewer_client.get(reverse("runbooks:index"), query)
    assert response.status_code == 200
    assert "Checkout latency" in response.content.decode()


def test_index_bad_value_drops_only_its_own_filter(viewer_client, make_runbook):
    make_runbook(title="Db one", category="database")
    make_runbook(title="Sec one", category="security")
    response = viewer_client.get(reverse("runbooks:index"), {"category": "database", "severity": "P9"})
    titles = [r.title for _, _, rows in response.context["groups"] for r in rows]
    assert titles == ["Db one"]


def test_index_htmx_request_gets_only_the_library_partial(viewer_client, runbook):
    response = viewer_client.get(reverse("runbooks:index"), {"category": "service"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="library">')
    assert "<html" not in page
    assert "Checkout latency" in page


def test_index_without_js_has_a_submit_button(viewer_client, runbook):
    page = viewer_client.get(reverse("runbooks:index")).content.decode()
    assert 'method="get"' in page and '<button type="submit"' in page


def test_index_query_count_is_constant(viewer_client, make_runbook, editor, django_assert_max_num_queries):
    runbook = make_runbook(tags=["a"], services=["s"], alert_names=["A"])
    runbook.add_revision(author=editor, body="## Symptoms\n", change_summary="2")
    url = reverse("runbooks:index")
    before = count_queries(viewer_client, url)
    for n in range(20):
        make_runbook(title=f"More {n}", tags=[f"t{n}"], services=[f"s{n}"], alert_names=[f"A{n}"])
    grow_history(runbook, editor)
    with django_assert_max_num_queries(before):
        viewer_client.get(url)
    assert before <= INDEX_MAX_QUERIES


# --- runbook page ---------------------------------------------------------------------


@pytest.fixture
def rich_runbook(make_runbook: Any) -> Runbook:
    return make_runbook(
        title="Rich",
        body=RICH_BODY,
        audience="On-call SRE",
        alert_names=["CheckoutSlow"],
        services=["checkout-api"],
        tags=["latency"],
    )


def test_runbook_page_renders_markdown_features(viewer_client, rich_runbook):
    page = viewer_client.get(rich_runbook.get_absolute_url()).content.decode()
    assert '<code class="language-bash">' in page
    assert "data-copy" in page  # copy button
    assert 'id="diagnosis"' in page and 'href="#diagnosis"' in page  # anchor + TOC link
    assert 'aria-label="Contents"' in page
    assert "<table>" in page
    assert '<input type="checkbox" disabled>' in page and "checked disabled" in page


def test_runbook_page_shows_metadata_panel(viewer_client, rich_runbook, editor):
    page = viewer_client.get(rich_runbook.get_absolute_url()).content.decode()
    for text in ("On-call SRE", "CheckoutSlow", "checkout-api", "latency", editor.username, "respond under 4 hours"):
        assert text in page


def test_runbook_page_shows_document_history(viewer_client, runbook):
    HistoryEntry.objects.create(runbook=runbook, trigger="incident", reference="INC-2025-0042", reviewer="rhea")
    page = viewer_client.get(runbook.get_absolute_url()).content.decode()
    assert "Document history" in page
    assert "INC-2025-0042" in page and "rhea" in page and "Created" in page


def test_runbook_page_lists_related_runbooks(viewer_client, runbook, make_runbook):
    other = make_runbook(title="Payments gateway down")
    runbook.related.add(other)
    page = viewer_client.get(runbook.get_absolute_url()).content.decode()
    assert "Related runbooks" in page and other.get_absolute_url() in page
    assert runbook.get_absolute_url() in viewer_client.get(other.get_absolute_url()).content.decode()


def test_runbook_page_serves_stored_html_without_rendering(viewer_client, rich_runbook):
    boom = AssertionError("rendered on view")
    with (
        mock.patch("runbooks.markdown.render", side_effect=boom),
        mock.patch("runbooks.markdown.render_markdown", side_effect=boom),
        mock.patch("runbooks.models.render", side_effect=boom),
        mock.patch("markdown.Markdown.convert", side_effect=boom),
    ):
        response = viewer_client.get(rich_runbook.get_absolute_url())
    assert response.status_code == 200
    assert rich_runbook.current_revision.body_html in response.content.decode()


def test_runbook_page_links_stylesheets_for_dark_mode_and_print(viewer_client, runbook):
    page = viewer_client.get(runbook.get_absolute_url()).content.decode()
    assert 'media="print"' in page
    assert 'name="color-scheme" content="light dark"' in page


def test_unknown_runbook_is_a_friendly_404(viewer_client):
    response = viewer_client.get(reverse("runbooks:detail", args=["nope"]))
    assert response.status_code == 404
    assert "Try the search box" in response.content.decode()


def test_runbook_page_query_count_does_not_grow_with_history(
    viewer_client, runbook, make_runbook, editor, django_assert_max_num_queries
):
    runbook.add_revision(author=editor, body=runbook.current_revision.body + "\nv2\n", change_summary="2")
    runbook.related.add(make_runbook(title="Related one"))
    url = runbook.get_absolute_url()
    cache.clear()  # measure the cold page: every fragment rendered, every query run
    before = count_queries(viewer_client, url)
    grow_history(runbook, editor)
    runbook.related.add(*[make_runbook(title=f"Related {n}") for n in range(5)])
    cache.clear()
    with django_assert_max_num_queries(DETAIL_MAX_QUERIES):
        viewer_client.get(url)
    cache.clear()
    assert count_queries(viewer_client, url) == before


def test_warm_runbook_page_skips_the_cached_fragments_queries(viewer_client, runbook):
    url = runbook.get_absolute_url()
    cold = count_queries(viewer_client, url)
    warm = count_queries(viewer_client, url)
    assert warm <= cold - 4  # history, services, tags and alert names come from the cache


def test_new_history_entry_appears_on_a_cached_runbook_page(viewer_client, runbook):
    url = runbook.get_absolute_url()
    viewer_client.get(url)
    HistoryEntry.objects.create(runbook=runbook, trigger="drill", reference="DR-042", summary="Quarterly drill")
    assert "DR-042" in viewer_client.get(url).content.decode()


def test_new_revision_appears_on_a_cached_runbook_page(viewer_client, runbook, editor):
    url = runbook.get_absolute_url()
    viewer_client.get(url)
    runbook.add_revision(author=editor, body="## Symptoms\n\nBrand new wording\n", change_summary="Reword")
    assert "Brand new wording" in viewer_client.get(url).content.decode()


# --- history, revisions, diffs -----------------------------------------------------------


def test_history_lists_every_revision(viewer_client, runbook, editor):
    grow_history(runbook, editor, n=3)
    response = viewer_client.get(reverse("runbooks:history", args=[runbook.slug]))
    assert [r.number for r in response.context["revisions"]] == [4, 3, 2, 1]
    page = response.content.decode()
    assert "s2" in page and "DR-002" in page


def test_history_offers_restore_only_to_editors(viewer_client, editor_client, runbook, editor):
    grow_history(runbook, editor, n=1)
    url = reverse("runbooks:history", args=[runbook.slug])
    assert "Restore" not in viewer_client.get(url).content.decode()
    assert "Restore" in editor_client.get(url).content.decode()


def test_history_query_count_is_constant(viewer_client, runbook, editor, django_assert_max_num_queries):
    runbook.add_revision(author=editor, body="## Symptoms\n", change_summary="2")
    url = reverse("runbooks:history", args=[runbook.slug])
    before = count_queries(viewer_client, url)
    grow_history(runbook, editor)
    restored = runbook.restore(runbook.revisions.get(number=1), by=editor)
    assert restored.restored_from is not None
    with django_assert_max_num_queries(before):
        viewer_client.get(url)
    assert before <= HISTORY_MAX_QUERIES


def test_revision_page_shows_old_text(viewer_client, runbook, editor):
    runbook.add_revision(author=editor, body="## Symptoms\n\nNew text.\n", change_summary="2")
    page = viewer_client.get(reverse("runbooks:revision", args=[runbook.slug, 1])).content.decode()
    assert "This is an old revision" in page
    assert "Roll back the last deploy." in page


@pytest.mark.parametrize("number", [3, 2**31, 2**63])
def test_unknown_revision_page_is_404(viewer_client, runbook, number):
    assert viewer_client.get(reverse("runbooks:revision", args=[runbook.slug, number])).status_code == 404


@pytest.fixture
def edited(runbook: Runbook, editor: Any) -> Runbook:
    body = runbook.current_revision.body.replace("Check the dashboard.", "Check the checkout dashboard.")
    runbook.add_revision(author=editor, body=body + "\n## Escalation\n\nPage payments.\n", change_summary="2")
    return runbook


def test_diff_inline_marks_additions_and_deletions(viewer_client, edited):
    response = viewer_client.get(reverse("runbooks:diff", args=[edited.slug]), {"a": 1, "b": 2})
    page = response.content.decode()
    assert "<del>- 1. Check the dashboard.</del>" in page
    assert "<ins>+ 1. Check the checkout dashboard.</ins>" in page
    assert "<ins>+ Page payments.</ins>" in page


def test_diff_side_by_side_marks_both_columns(viewer_client, edited):
    response = viewer_client.get(reverse("runbooks:diff", args=[edited.slug]), {"a": 1, "b": 2, "mode": "side"})
    page = response.content.decode()
    assert "<del>1. Check the dashboard.</del>" in page
    assert "<ins>1. Check the checkout dashboard.</ins>" in page
    assert response.context["mode"] == "side"


def test_diff_defaults_to_the_last_two_revisions(viewer_client, edited):
    response = viewer_client.get(reverse("runbooks:diff", args=[edited.slug]))
    assert (response.context["old"].number, response.context["new"].number) == (1, 2)


def test_diff_can_compare_backwards(viewer_client, edited):
    url = reverse("runbooks:diff", args=[edited.slug])
    forward = viewer_client.get(url, {"a": 1, "b": 2}).context["stats"]
    backward = viewer_client.get(url, {"a": 2, "b": 1}).context["stats"]
    assert forward[0] > 0 and forward[1] > 0
    assert backward == (forward[1], forward[0])


@pytest.mark.parametrize("query", [{"a": "x"}, {"b": "1.5"}, {"a": "-1"}, {"a": "0"}, {"b": str(2**70)}])
def test_diff_with_malformed_revision_numbers_is_400(viewer_client, edited, query):
    response = viewer_client.get(reverse("runbooks:diff", args=[edited.slug]), query)
    assert response.status_code == 400
    assert "positive whole numbers" in response.content.decode()


def test_diff_with_unknown_revision_is_404_with_message(viewer_client, edited):
    response = viewer_client.get(reverse("runbooks:diff", args=[edited.slug]), {"a": 1, "b": 7})
    assert response.status_code == 404
    assert "Revision 7 does not exist" in response.content.decode()


# --- health -------------------------------------------------------------------------------------


def test_healthz_reports_database_and_broker(client):
    body = client.get("/healthz").json()
    assert body["database"]["ok"] is True
    assert "ok" in body["broker"]


def test_attached_incident_appears_on_a_cached_runbook_page(viewer_client, runbook, editor):
    from incidents.models import Incident

    url = runbook.get_absolute_url()
    viewer_client.get(url)
    incident = Incident.open_incident(by=editor, title="Checkout down")
    incident.attach_runbook(runbook, by=editor)
    assert incident.number in viewer_client.get(url).content.decode()


def test_renamed_related_runbook_shows_its_new_title_on_a_cached_page(
    viewer_client, editor, runbook, make_runbook
):
    other = make_runbook(title="Database failover")
    runbook.related.add(other)
    url = runbook.get_absolute_url()
    assert "Database failover" in viewer_client.get(url).content.decode()
    other.title = "Fail over the orders database"
    other.update_details(by=editor, changed_fields=["title"], labels={})
    assert "Fail over the orders database" in viewer_client.get(url).content.decode()


def test_editing_details_does_not_undo_a_concurrent_page_version_bump(runbook, editor):
    stale = Runbook.objects.get(pk=runbook.pk)
    Runbook.objects.filter(pk=runbook.pk).bump_page_version()
    stale.update_details(by=editor, changed_fields=["summary"], labels={})
    runbook.refresh_from_db()
    assert runbook.page_version == 1


def test_index_pager_keeps_the_filters(viewer_client, make_runbook, monkeypatch):
    from runbooks import views

    monkeypatch.setattr(views, "INDEX_PAGE_SIZE", 2)
    for n in range(3):
        make_runbook(title=f"Disk full {n}", severity="P1")
    page = viewer_client.get(reverse("runbooks:index") + "?severity=P1").content.decode()
    assert 'href="?severity=P1&amp;page=2"' in page
