"""A backup restored into an empty database gives back the same library."""

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incidents.models import Incident
from runbooks.models import HistoryEntry, Revision, Runbook
from tests.conftest import INCIDENT_BODY

pytestmark = pytest.mark.django_db(transaction=True)


def snapshot() -> dict[str, Any]:
    return {
        "runbooks": list(
            Runbook.objects.order_by("slug").values(
                "slug",
                "title",
                "current_revision__number",
                "next_review_due",
                "last_reviewed_at",
                "last_reviewed_by__username",
            )
        ),
        "revisions": list(
            Revision.objects.order_by("runbook__slug", "number").values(
                "runbook__slug", "number", "body", "body_html", "version"
            )
        ),
        "history": list(
            HistoryEntry.objects.order_by("id").values(
                "runbook__slug", "trigger", "summary", "version", "date"
            )
        ),
        "incidents": list(
            Incident.objects.order_by("number").values("number", "title", "severity", "status")
        ),
    }


@pytest.fixture
def library(make_runbook, editor, reviewer) -> None:
    first = make_runbook(title="Checkout latency")
    first.add_revision(author=editor, body=INCIDENT_BODY + "\nv2\n", change_summary="Second")
    first.mark_reviewed(by=reviewer, note="Looks right")
    make_runbook(title="Disk full")
    Incident.open_incident(by=editor, title="Checkout is slow", severity="P1")


def test_restore_into_an_empty_database_gives_the_same_library(library, tmp_path: Path):
    before = snapshot()
    call_command("backup", str(tmp_path / "backup"))
    call_command("flush", interactive=False, verbosity=0)
    assert Runbook.objects.count() == 0
    call_command("restore", str(tmp_path / "backup"))
    assert snapshot() == before


def test_backup_holds_a_markdown_export(library, tmp_path: Path):
    call_command("backup", str(tmp_path / "backup"))
    assert (tmp_path / "backup" / "markdown" / "checkout-latency.md").exists()


def test_restore_refuses_to_overwrite_runbooks_without_replace(library, tmp_path: Path):
    call_command("backup", str(tmp_path / "backup"))
    with pytest.raises(CommandError, match="--replace"):
        call_command("restore", str(tmp_path / "backup"))


def test_restore_refuses_a_folder_that_is_not_a_backup(db, tmp_path: Path):
    with pytest.raises(CommandError, match="not a backup"):
        call_command("restore", str(tmp_path))
