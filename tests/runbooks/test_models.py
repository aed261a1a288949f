import pytest

from runbooks.models import AuditEvent, EditConflict, HistoryEntry, Revision

pytestmark = pytest.mark.django_db


def test_new_runbook_starts_at_version_one_with_a_history_row(runbook):
    assert runbook.version == "1.0"
    assert runbook.current_revision.number == 1
    assert HistoryEntry.objects.filter(runbook=runbook, trigger="change").count() == 1


def test_minor_edit_bumps_minor_version(runbook, editor):
    revision = runbook.add_revision(author=editor, body="## Symptoms\n", change_summary="Trim", base_revision=1)
    assert (revision.number, revision.version) == (2, "1.1")


def test_major_edit_bumps_major_version(runbook, editor):
    revision = runbook.add_revision(author=editor, body="new", change_summary="New tooling", major=True)
    assert revision.version == "2.0"


def test_stale_base_revision_raises_conflict_and_writes_nothing(runbook, editor):
    runbook.add_revision(author=editor, body="first", change_summary="a", base_revision=1)
    with pytest.raises(EditConflict) as caught:
        runbook.add_revision(author=editor, body="second", change_summary="b", base_revision=1)
    assert caught.value.current.number == 2
    assert Revision.objects.filter(runbook=runbook).count() == 2


def test_restore_copies_old_text_into_a_new_revision(runbook, editor):
    original = runbook.current_revision
    runbook.add_revision(author=editor, body="changed", change_summary="change")
    restored = runbook.restore(original, by=editor)
    assert restored.number == 3
    assert restored.body == original.body
    assert restored.restored_from == original


def test_revisions_cannot_be_modified(runbook):
    revision = runbook.current_revision
    revision.body = "tampered"
    with pytest.raises(ValueError):
        revision.save()


def test_rendered_html_is_stored_sanitised(make_runbook):
    runbook = make_runbook(body="## Symptoms\n\n<script>alert(1)</script>[x](javascript:alert(1))")
    html = runbook.current_revision.body_html
    assert "<script" not in html
    assert "javascript:" not in html


def test_missing_required_sections_are_recorded(make_runbook):
    runbook = make_runbook(body="## Symptoms\n\nSlow.\n")
    assert "Diagnosis" in runbook.missing_sections
    assert "Rollback or escalation" in runbook.missing_sections


def test_every_edit_is_audited(runbook, editor):
    runbook.add_revision(author=editor, body="x", change_summary="y")
    actions = list(AuditEvent.objects.filter(runbook=runbook).values_list("action", flat=True))
    assert set(actions) == {"runbook.created", "runbook.edited"}


def test_alert_names_are_matched_case_insensitively(runbook):
    from runbooks.models import Runbook

    assert list(Runbook.objects.with_alert("checkouthighlatency")) == [runbook]
