"""Exporting the library to markdown (and HTML), and the lossless round trip."""

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from runbooks import demo
from runbooks.exporter import export_directory
from runbooks.importing import import_directory
from runbooks.models import AuditEvent, HistoryEntry, Revision, Runbook, Service, Tag, Team

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / ".." / "shared" / "corpus"
FIXTURE = REPO / "tests" / "fixtures" / "docs_library"


@pytest.fixture
def people(editor, reviewer, viewer):
    return [editor, reviewer, viewer]


def snapshot() -> dict[str, dict]:
    """Everything a round trip must keep, per runbook."""
    result = {}
    runbooks = Runbook.objects.select_related(
        "owner", "team", "current_revision", "last_reviewed_by"
    ).prefetch_related("alert_names", "services", "tags", "related")
    for r in runbooks:
        result[r.slug] = {
            "fields": (
                r.title,
                r.kind,
                r.category,
                r.severity,
                r.audience,
                r.summary,
                r.review_cadence,
                r.version,
            ),
            "owner": r.owner.get_username() if r.owner else None,
            "team": r.team.name if r.team else None,
            "alerts": sorted(a.name for a in r.alert_names.all()),
            "services": sorted(s.name for s in r.services.all()),
            "tags": sorted(t.name for t in r.tags.all()),
            "related": sorted(o.slug for o in r.related.all()),
            "clock": (
                r.last_reviewed_at,
                r.last_reviewed_by.get_username() if r.last_reviewed_by else None,
                r.next_review_due,
                r.archived_at,
            ),
            "body": r.current_revision.body,
            "history": [
                (
                    e.date,
                    e.trigger,
                    e.reference,
                    e.summary,
                    e.version,
                    e.reviewer or getattr(e.reviewer_user, "username", ""),
                )
                for e in r.history.order_by("date", "id")
            ],
        }
    return result


def empty_library() -> None:
    Runbook.objects.update(current_revision=None)
    Runbook.objects.all().delete()
    for model in (Team, Service, Tag):
        model.objects.all().delete()
    # Audit events are append-only in the app; a fresh database has none.
    AuditEvent._base_manager.all().delete()


def files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def round_trip(tmp_path: Path) -> tuple[dict, dict, dict, dict]:
    """Export, import into an empty library, export again."""
    before = snapshot()
    export_directory(tmp_path / "first")
    empty_library()
    report = import_directory(tmp_path / "first")
    assert report.failed == []
    export_directory(tmp_path / "second")
    return before, snapshot(), files(tmp_path / "first"), files(tmp_path / "second")


def split_front(text: str) -> tuple[dict, str]:
    _, raw, body = text.split("---\n", 2)
    return yaml.safe_load(raw), body


# --- markdown export ---------------------------------------------------------


@pytest.mark.django_db
def test_export_writes_one_file_per_runbook_with_all_metadata(tmp_path, people):
    import_directory(FIXTURE)

    export_directory(tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "README.md",
        "checkout-latency.md",
        "checkouthigherrorrate.md",
        "orders-replica-lag.md",
        "restore-backup.md",
    ]
    front, _ = split_front((tmp_path / "orders-replica-lag.md").read_text())
    next_due = Runbook.objects.get(slug="orders-replica-lag").next_review_due
    assert front.pop("next_review_due") == next_due.astimezone(dt.UTC).isoformat()
    assert front == {
        "title": "Orders database replica lag",
        "slug": "orders-replica-lag",
        "kind": "incident",
        "category": "database",
        "severity": "P0",
        "audience": "Database on-call",
        "owner": "rhea",
        "team": "Data",
        "services": ["orders-db"],
        "tags": ["postgres", "replication"],
        "alerts": ["OrdersReplicaBroken", "OrdersReplicaLagHigh"],
        "related": [],
        "review_cadence": "weekly",
        "last_reviewed_at": "",
        "last_reviewed_by": "",
        "archived": "",
        "summary": "Replica lag above 60 seconds on the orders database.",
        "version": "2.3",
    }


@pytest.mark.django_db
def test_export_turns_app_links_back_into_relative_links(tmp_path, people):
    import_directory(FIXTURE)

    export_directory(tmp_path)

    body = (tmp_path / "checkout-latency.md").read_text()
    assert "[error-rate runbook](checkouthigherrorrate.md#diagnosis)" in body
    assert "[database replica lag runbook](orders-replica-lag.md)" in body
    assert "[Grafana](https://grafana.com/docs/)" in body


@pytest.mark.django_db
def test_export_ends_with_the_document_history_table(tmp_path, people):
    import_directory(FIXTURE)

    export_directory(tmp_path)

    text = (tmp_path / "checkout-latency.md").read_text()
    assert text.endswith(
        "## Document history\n\n"
        "| Date | Version | Trigger | Reference | Change summary | Reviewer sign-off |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        "| 2024-11-02 | 1.0 | Change | Initial | First version | rhea |\n"
        "| 2025-01-17 | 1.1 | Incident | INC-2025-0042 | Added scale-out step after the January outage | rhea |\n"
        "| 2025-03-04 | 1.2 | Drill | DR-007 | Drill: timings confirmed | vera |\n"
    )


@pytest.mark.django_db
def test_export_escapes_pipes_and_newlines_in_history_cells(tmp_path, make_runbook):
    make_runbook(title="Pipes", change_summary="a | b\nsecond line")

    export_directory(tmp_path / "out")
    empty_library()
    import_directory(tmp_path / "out")

    assert Runbook.objects.get(slug="pipes").history.get().summary == "a | b\nsecond line"


@pytest.mark.django_db
def test_runbooks_named_like_the_index_get_their_own_file_name(tmp_path, make_runbook):
    make_runbook(title="Readme", slug="readme")
    make_runbook(title="Index", slug="index")
    before = snapshot()

    _, after, first, _ = round_trip(tmp_path)

    assert {"readme-runbook.md", "index-runbook.md", "README.md"} <= set(first)
    assert after == before


@pytest.mark.django_db
def test_readme_index_is_grouped_by_category(tmp_path, people):
    import_directory(FIXTURE)

    export_directory(tmp_path)

    readme = (tmp_path / "README.md").read_text()
    headings = re.findall(r"^## (.+)$", readme, re.MULTILINE)
    assert headings == ["Performance", "Database"]
    assert (
        "| [Orders database replica lag](orders-replica-lag.md) | Database on-call | P0 | Replica lag above 60 seconds on the orders database. |"
        in readme
    )


# --- round trips ---------------------------------------------------------------


@pytest.mark.django_db
def test_demo_library_round_trips_losslessly(tmp_path):
    demo.seed(20)

    before, after, first, second = round_trip(tmp_path)

    assert len(before) == 20
    assert after == before
    assert second == first


@pytest.mark.django_db
def test_corpus_round_trips_losslessly(tmp_path):
    import_directory(CORPUS)

    before, after, first, second = round_trip(tmp_path)

    assert len(before) > 370
    assert after == before
    assert second == first


@pytest.mark.django_db
def test_fixture_library_round_trips_losslessly(tmp_path, people):
    import_directory(FIXTURE)

    before, after, first, second = round_trip(tmp_path)

    assert after == before
    assert second == first


@pytest.mark.django_db
def test_importing_an_export_again_changes_nothing(tmp_path):
    demo.seed(5)
    export_directory(tmp_path / "export")
    empty_library()
    import_directory(tmp_path / "export")
    revisions, entries = Revision.objects.count(), HistoryEntry.objects.count()

    report = import_directory(tmp_path / "export")

    assert len(report.unchanged) == 5 and not report.updated and not report.created
    assert (Revision.objects.count(), HistoryEntry.objects.count()) == (revisions, entries)


# --- offline HTML bundle -----------------------------------------------------------


@pytest.mark.django_db
def test_html_bundle_has_a_page_per_runbook_with_local_links(tmp_path, people):
    import_directory(FIXTURE)

    export_directory(tmp_path, html=True)

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkout-latency.html",
        "checkouthigherrorrate.html",
        "index.html",
        "orders-replica-lag.html",
        "restore-backup.html",
    ]
    page = (tmp_path / "checkout-latency.html").read_text()
    assert 'href="checkouthigherrorrate.html#diagnosis"' in page
    assert "<style>" in page and "INC-2025-0042" in page


@pytest.mark.django_db
def test_html_index_embeds_a_search_index_with_alerts_and_text(tmp_path, people):
    import_directory(FIXTURE)

    export_directory(tmp_path, html=True)

    index = (tmp_path / "index.html").read_text()
    raw = re.search(
        r'<script id="search-index" type="application/json">(.*?)</script>', index, re.S
    ).group(1)
    entries = {e["title"]: e for e in json.loads(raw)}
    assert entries["Orders database replica lag"]["alerts"] == [
        "OrdersReplicaBroken",
        "OrdersReplicaLagHigh",
    ]
    assert "pg_last_xact_replay_timestamp" in entries["Orders database replica lag"]["text"]
    assert "<script src" not in index and "http" not in index.split("<script>")[1]


# --- commands -----------------------------------------------------------------


@pytest.mark.django_db
def test_export_and_import_commands_round_trip(tmp_path, capsys):
    demo.seed(3)
    before = snapshot()

    call_command("export_runbooks", str(tmp_path))
    empty_library()
    call_command("import_runbooks", str(tmp_path), "--no-progress")

    assert snapshot() == before
    assert (
        "3 created, 0 updated, 0 unchanged, 0 changed in both, 0 failed, 1 skipped"
        in capsys.readouterr().out
    )


@pytest.mark.django_db
def test_import_command_dry_run_writes_nothing(capsys):
    call_command("import_runbooks", str(FIXTURE), "--dry-run", "--no-progress")

    assert Runbook.objects.count() == 0
    assert "Dry run: 4 created" in capsys.readouterr().out


@pytest.mark.django_db
def test_import_command_refuses_an_unknown_owner():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("import_runbooks", str(FIXTURE), "--owner", "ghost", "--no-progress")


@pytest.mark.django_db
def test_import_command_fails_when_a_file_fails(tmp_path):
    from django.core.management.base import CommandError

    (tmp_path / "Bad.md").write_bytes(b"\xff\xfe")

    with pytest.raises(CommandError, match="1 file"):
        call_command("import_runbooks", str(tmp_path), "--no-progress")


@pytest.mark.django_db
def test_review_clock_related_runbooks_and_archive_survive_the_round_trip(
    tmp_path, make_runbook, reviewer
):
    first, second, third = (make_runbook(title=f"Runbook {n}") for n in range(3))
    first.set_labels(related=[second.slug])
    second.mark_reviewed(reviewer, note="looked fine")
    Runbook.objects.filter(pk=third.pk).update(
        archived_at=dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
    )

    before, after, first_export, second_export = round_trip(tmp_path)

    assert after == before
    assert before[second.slug]["clock"][1] == "rhea" and before[third.slug]["clock"][3] is not None
    assert before[first.slug]["related"] == [second.slug]
    assert second_export == first_export


@pytest.mark.django_db
def test_export_failure_leaves_the_previous_export_intact(tmp_path, make_runbook, monkeypatch):
    from runbooks import exporter

    make_runbook(title="Disk full")
    target = tmp_path / "export"
    export_directory(target)
    previous = files(target)

    def half_written(queryset=None):
        yield "disk-full.md", "partial"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exporter, "markdown_files", half_written)
    with pytest.raises(
        exporter.ExportFailed, match="previous export left as it was: No space left on device"
    ):
        export_directory(target)

    assert files(target) == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


@pytest.mark.django_db
def test_export_command_reports_a_failure_in_one_line(tmp_path, make_runbook, monkeypatch):
    from django.core.management.base import CommandError

    from runbooks import exporter

    make_runbook(title="Disk full")

    def failing(queryset=None):
        raise OSError(13, "Permission denied")
        yield  # a generator, like the real one

    monkeypatch.setattr(exporter, "markdown_files", failing)
    with pytest.raises(CommandError) as raised:
        call_command("export_runbooks", str(tmp_path / "export"))

    assert "\n" not in str(raised.value) and "Permission denied" in str(raised.value)
    assert not (tmp_path / "export").exists()
