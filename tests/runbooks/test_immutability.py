"""Revisions, document history and audit events are evidence: never changed, never deleted.

Corrections are new rows. Neither the Django admin (superusers included) nor
the ORM calls the app uses can change or remove an existing row.
"""

import pytest
from django.urls import reverse

from incidents.models import Incident, TimelineEntry
from runbooks.append_only import ImmutableRow
from runbooks.models import AuditEvent, HistoryEntry, Revision

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(runbook):
    return {
        "revision": runbook.current_revision,
        "historyentry": HistoryEntry.objects.get(runbook=runbook),
        "auditevent": AuditEvent.objects.filter(runbook=runbook).first(),
    }


ROW_NAMES = ["revision", "historyentry", "auditevent"]


def _counts():
    return (Revision.objects.count(), HistoryEntry.objects.count(), AuditEvent.objects.count())


# --- the admin -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ROW_NAMES)
def test_superuser_cannot_change_an_immutable_row_in_the_admin(admin_client, rows, name):
    row = rows[name]
    url = reverse(f"admin:runbooks_{name}_change", args=[row.pk])
    page = admin_client.get(url)
    assert page.status_code == 200  # readable
    assert 'name="_save"' not in page.content.decode()
    response = admin_client.post(
        url, {"summary": "rewritten", "body": "rewritten", "action": "rewritten"}
    )
    assert response.status_code == 403
    row.refresh_from_db()
    assert "rewritten" not in (
        getattr(row, "summary", ""),
        getattr(row, "body", ""),
        getattr(row, "action", ""),
    )


@pytest.mark.parametrize("name", ROW_NAMES)
def test_superuser_cannot_delete_an_immutable_row_in_the_admin(admin_client, rows, name):
    before = _counts()
    url = reverse(f"admin:runbooks_{name}_delete", args=[rows[name].pk])
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert _counts() == before


@pytest.mark.parametrize("name", ROW_NAMES)
def test_admin_lists_offer_no_bulk_delete_action(admin_client, rows, name):
    before = _counts()
    url = reverse(f"admin:runbooks_{name}_changelist")
    assert "delete_selected" not in admin_client.get(url).content.decode()
    admin_client.post(
        url, {"action": "delete_selected", "_selected_action": [rows[name].pk], "post": "yes"}
    )
    assert _counts() == before


@pytest.mark.parametrize("name", ROW_NAMES)
def test_superuser_cannot_add_immutable_rows_in_the_admin(admin_client, name):
    assert admin_client.get(reverse(f"admin:runbooks_{name}_add")).status_code == 403


def test_runbook_admin_shows_history_read_only(admin_client, runbook):
    page = admin_client.get(
        reverse("admin:runbooks_runbook_change", args=[runbook.pk])
    ).content.decode()
    assert 'name="history-0-summary"' not in page
    assert 'name="history-0-DELETE"' not in page


def test_superuser_cannot_delete_a_runbook_from_the_admin(admin_client, runbook):
    url = reverse("admin:runbooks_runbook_delete", args=[runbook.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403


def test_superuser_cannot_edit_or_delete_incident_timeline_entries_in_the_admin(
    admin_client, editor
):
    incident = Incident.open_incident(by=editor, title="Checkout is slow")
    page = admin_client.get(
        reverse("admin:incidents_incident_change", args=[incident.pk])
    ).content.decode()
    assert 'name="timeline-0-text"' not in page and 'name="timeline-0-DELETE"' not in page
    assert (
        admin_client.post(
            reverse("admin:incidents_incident_delete", args=[incident.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert TimelineEntry.objects.filter(incident=incident).count() == 1


# --- the ORM ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ROW_NAMES)
def test_saving_an_existing_immutable_row_raises(rows, name):
    row = rows[name]
    with pytest.raises(ImmutableRow):
        row.save()


@pytest.mark.parametrize("name", ROW_NAMES)
def test_deleting_an_immutable_row_raises(rows, name):
    before = _counts()
    with pytest.raises(ImmutableRow):
        rows[name].delete()
    assert _counts() == before


@pytest.mark.parametrize("name", ROW_NAMES)
def test_immutable_querysets_refuse_update(rows, name):
    model = type(rows[name])
    with pytest.raises(ImmutableRow):
        model.objects.filter(pk=rows[name].pk).update(created_at=None)


@pytest.mark.parametrize("name", ROW_NAMES)
def test_immutable_querysets_refuse_delete(rows, name):
    before = _counts()
    with pytest.raises(ImmutableRow):
        type(rows[name]).objects.all().delete()
    assert _counts() == before


@pytest.mark.parametrize("name", ROW_NAMES)
def test_immutable_querysets_refuse_bulk_update(rows, name):
    with pytest.raises(ImmutableRow):
        type(rows[name]).objects.bulk_update([rows[name]], ["created_at"])


def test_update_or_create_cannot_rewrite_a_history_row(runbook):
    entry = HistoryEntry.objects.get(runbook=runbook)
    with pytest.raises(ImmutableRow):
        HistoryEntry.objects.update_or_create(pk=entry.pk, defaults={"summary": "rewritten"})


def test_a_correction_is_a_new_history_row(runbook, editor):
    original = HistoryEntry.objects.get(runbook=runbook)
    HistoryEntry.objects.create(
        runbook=runbook, summary=f"Correction to the entry of {original.date}: wrong ticket"
    )
    assert HistoryEntry.objects.filter(runbook=runbook).count() == 2
    original.refresh_from_db()
    assert original.summary == "Created"


def test_only_derived_revision_columns_can_be_rewritten(runbook):
    revisions = Revision.objects.filter(pk=runbook.current_revision_id)
    with pytest.raises(ImmutableRow):
        revisions.update_derived(body="rewritten history")
    assert revisions.update_derived(body_html="<p>re-rendered</p>") == 1
    assert Revision.objects.get(pk=runbook.current_revision_id).body != "rewritten history"


def test_history_rows_have_no_derived_columns_to_rewrite(runbook):
    with pytest.raises(ImmutableRow):
        HistoryEntry.objects.filter(runbook=runbook).update_derived(summary="rewritten")
