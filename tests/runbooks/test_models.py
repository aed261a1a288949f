from functools import partial
from typing import Any

import pytest
from django.db import connection

from runbooks import services
from runbooks.models import (
    DETAIL_FIELDS,
    LABEL_KINDS,
    AuditEvent,
    EditConflict,
    HistoryEntry,
    Revision,
    Runbook,
    StaleDetails,
)
from tests.concurrency import run_in_parallel

pytestmark = pytest.mark.django_db


def test_new_runbook_starts_at_version_one_with_a_history_row(runbook):
    assert runbook.version == "1.0"
    assert runbook.current_revision.number == 1
    assert HistoryEntry.objects.filter(runbook=runbook, trigger="change").count() == 1


def test_minor_edit_bumps_minor_version(runbook, editor):
    revision = runbook.add_revision(
        author=editor, body="## Symptoms\n", change_summary="Trim", base_revision=1
    )
    assert (revision.number, revision.version) == (2, "1.1")


def test_major_edit_bumps_major_version(runbook, editor):
    revision = runbook.add_revision(
        author=editor, body="new", change_summary="New tooling", major=True
    )
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


# --- one write path: guarded, locked, audited -------------------------------------------


def test_details_write_from_a_stale_row_version_is_refused_and_writes_nothing(runbook, editor):
    stale_version = runbook.row_version
    Runbook.objects.get(pk=runbook.pk).set_labels(tags=["payments"], by=editor)
    runbook.severity = "P0"
    with pytest.raises(StaleDetails):
        runbook.update_details(
            by=editor, changed_fields=["severity"], expected_row_version=stale_version
        )
    assert Runbook.objects.get(pk=runbook.pk).severity == "P2"


def test_every_details_and_labels_write_bumps_the_row_version(runbook, editor):
    before = runbook.row_version
    runbook.summary = "New summary"
    runbook.update_details(by=editor, changed_fields=["summary"])
    runbook.set_labels(tags=["payments"], by=editor)
    assert Runbook.objects.get(pk=runbook.pk).row_version == before + 2


def test_details_write_that_changes_nothing_leaves_the_row_version_alone(runbook, editor):
    before = runbook.row_version
    runbook.update_details(
        by=editor, changed_fields=["summary"], labels={"alert_names": ["CheckoutHighLatency"]}
    )
    assert Runbook.objects.get(pk=runbook.pk).row_version == before
    assert not AuditEvent.objects.filter(action="runbook.details_changed").exists()


def test_a_stale_copy_writes_only_the_fields_it_names(runbook, editor):
    stale = Runbook.objects.get(pk=runbook.pk)
    fresh = Runbook.objects.get(pk=runbook.pk)
    fresh.summary = "Written by someone else"
    fresh.update_details(by=editor, changed_fields=["summary"])
    stale.severity = "P1"
    stale.update_details(by=editor, changed_fields=["severity"])
    runbook.refresh_from_db()
    assert (runbook.summary, runbook.severity) == ("Written by someone else", "P1")


def test_label_changes_add_and_remove_names_without_replacing_the_list(runbook, editor):
    runbook.set_labels(alert_names=["CheckoutHighLatency", "CheckoutErrors"], by=editor)
    runbook.update_details(
        by=editor, label_changes={"alert_names": (["CheckoutDown"], ["CheckoutErrors"])}
    )
    assert runbook.label_names("alert_names") == ["CheckoutDown", "CheckoutHighLatency"]


def test_set_labels_audits_what_was_added_and_removed(runbook, editor):
    runbook.set_labels(services=["payments-api"], by=editor)
    event = AuditEvent.objects.get(action="runbook.details_changed")
    assert event.detail["labels"] == {
        "services": {"added": ["payments-api"], "removed": ["checkout-api"]}
    }


def test_text_is_rendered_before_the_row_is_locked(runbook, editor, monkeypatch):
    from runbooks import models

    depth_at_render: list[int] = []
    real_render = models.render

    def spying_render(text: str):  # type: ignore[no-untyped-def]
        depth_at_render.append(len(connection.savepoint_ids))
        return real_render(text)

    monkeypatch.setattr(models, "render", spying_render)
    depth_before = len(connection.savepoint_ids)
    runbook.add_revision(author=editor, body="## Symptoms\n\nNew.\n", change_summary="Edit")
    assert depth_at_render == [depth_before]


# --- concurrency: parallel saves never lose an update (PostgreSQL row locks) -------------




def _edit(
    runbook: Runbook, shown: dict[str, Any], body: str, **changes: Any
) -> services.EditRequest:
    values = {name: getattr(runbook, name) for name in DETAIL_FIELDS}
    values.update({k: v for k, v in changes.items() if k in DETAIL_FIELDS})
    labels = {kind: list(shown["labels"][kind]) for kind in LABEL_KINDS}
    labels.update({k: v for k, v in changes.items() if k in LABEL_KINDS})
    return services.EditRequest(
        body=body,
        base_revision=runbook.current_revision.number,
        change_summary="parallel",
        major=False,
        values=values,
        labels=labels,
        shown=shown,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need a server database")
def test_parallel_saves_of_different_fields_labels_and_lines_never_lose_an_update(
    make_runbook, editor
):
    runbook = make_runbook(body="one\n\ntwo\n\nthree\n", alert_names=["Base"])
    for round_no in range(5):
        runbook.refresh_from_db()
        shown = services.snapshot(runbook)
        body = runbook.current_revision.body
        summary, audience = f"summary {round_no}", f"audience {round_no}"
        first_alert, second_alert = f"First{round_no}", f"Second{round_no}"
        first = _edit(
            runbook,
            shown,
            body.replace("one", f"one {round_no}"),
            summary=summary,
            alert_names=[*shown["labels"]["alert_names"], first_alert],
        )
        second = _edit(
            runbook,
            shown,
            body.replace("three", f"three {round_no}"),
            audience=audience,
            alert_names=[*shown["labels"]["alert_names"], second_alert],
        )
        jobs = [
            partial(services.save_edit, runbook, by=editor, request=request)
            for request in (first, second)
        ]
        assert run_in_parallel(*jobs) == []
        saved = Runbook.objects.select_related("current_revision").get(pk=runbook.pk)
        assert (saved.summary, saved.audience) == (summary, audience)
        assert {"Base", first_alert, second_alert} <= set(saved.label_names("alert_names"))
        assert f"one {round_no}" in saved.current_revision.body
        assert f"three {round_no}" in saved.current_revision.body


def test_every_fixed_word_under_runbooks_urls_is_a_reserved_slug():
    from runbooks.models import URL_WORDS
    from runbooks.urls import urlpatterns

    fixed_words = {
        str(pattern.pattern).split("/")[1].split(".")[0]
        for pattern in urlpatterns
        if str(pattern.pattern).startswith("runbooks/") and "<" not in str(pattern.pattern).split("/")[1]
    }
    fixed_words.discard("")
    assert fixed_words <= URL_WORDS
