"""Archive instead of delete: archived runbooks keep their history and leave the library."""

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models import Drill, Incident
from runbooks import archiving
from runbooks.models import AuditEvent, HistoryEntry, HistoryTrigger, Revision, Runbook

pytestmark = pytest.mark.django_db


def archive_url(runbook, action="archive"):
    return reverse(f"runbooks:{action}", args=[runbook.slug])


# --- archive and restore ----------------------------------------------------------------


def test_archiving_keeps_revisions_and_writes_history_and_audit(runbook, editor):
    archiving.archive(runbook, by=editor, reason="Service retired")
    runbook.refresh_from_db()
    assert runbook.archived_at is not None
    assert Revision.objects.filter(runbook=runbook).count() == 1
    assert runbook.history.first().summary == "Archived: Service retired"
    event = AuditEvent.objects.get(action="runbook.archived")
    assert event.detail["archived_at"]["old"] is None and event.detail["archived_at"]["new"]


def test_unarchiving_restores_the_runbook_with_a_history_row(runbook, editor):
    archiving.archive(runbook, by=editor)
    archiving.unarchive(runbook, by=editor)
    runbook.refresh_from_db()
    assert runbook.archived_at is None
    assert runbook.history.first().summary == "Restored from the archive"
    assert AuditEvent.objects.filter(action="runbook.unarchived").exists()


def test_archiving_twice_is_refused(runbook, editor):
    archiving.archive(runbook, by=editor)
    with pytest.raises(archiving.ArchiveRefused, match="already archived"):
        archiving.archive(runbook, by=editor)


def test_viewers_cannot_archive(runbook, viewer):
    with pytest.raises(archiving.ArchiveRefused, match="editor role"):
        archiving.archive(runbook, by=viewer)


def test_editor_archives_from_the_confirmation_page(editor_client, runbook):
    page = editor_client.get(archive_url(runbook))
    assert page.status_code == 200 and "csrfmiddlewaretoken" in page.content.decode()
    response = editor_client.post(archive_url(runbook), {"reason": "Replaced"})
    assert response.status_code == 302 and response["Location"] == runbook.get_absolute_url()
    runbook.refresh_from_db()
    assert runbook.archived_at is not None


def test_archiving_by_get_changes_nothing(editor_client, runbook):
    editor_client.get(archive_url(runbook))
    runbook.refresh_from_db()
    assert runbook.archived_at is None


def test_viewers_get_403_on_archive_and_restore(viewer_client, runbook):
    assert viewer_client.post(archive_url(runbook)).status_code == 403
    assert viewer_client.post(archive_url(runbook, "unarchive")).status_code == 403


def test_editor_restores_an_archived_runbook(editor_client, runbook, editor):
    archiving.archive(runbook, by=editor)
    response = editor_client.post(archive_url(runbook, "unarchive"))
    assert response.status_code == 302
    runbook.refresh_from_db()
    assert runbook.archived_at is None


def test_restoring_a_live_runbook_is_a_409_with_a_message(editor_client, runbook):
    response = editor_client.post(archive_url(runbook, "unarchive"))
    assert response.status_code == 409
    assert "is not archived" in response.content.decode()


# --- where archived runbooks show -------------------------------------------------------


def test_archived_runbooks_leave_the_index(viewer_client, make_runbook, editor):
    kept, gone = make_runbook(title="Kept runbook"), make_runbook(title="Retired runbook")
    archiving.archive(gone, by=editor)
    page = viewer_client.get(reverse("runbooks:index")).content.decode()
    assert kept.title in page and gone.title not in page


def test_archived_runbooks_are_listed_on_their_own_page_linked_from_the_index(
    viewer_client, runbook, editor
):
    archiving.archive(runbook, by=editor)
    assert (
        reverse("runbooks:archived")
        in viewer_client.get(reverse("runbooks:index")).content.decode()
    )
    page = viewer_client.get(reverse("runbooks:archived"))
    assert page.status_code == 200 and runbook.title in page.content.decode()


def test_archived_runbook_page_still_opens_with_a_banner(viewer_client, runbook, editor):
    viewer_client.get(runbook.get_absolute_url())  # warm the page cache
    archiving.archive(runbook, by=editor)
    response = viewer_client.get(runbook.get_absolute_url())
    assert response.status_code == 200
    assert "archived-banner" in response.content.decode()


def test_live_runbook_page_has_no_archived_banner(viewer_client, runbook):
    assert "archived-banner" not in viewer_client.get(runbook.get_absolute_url()).content.decode()


def test_runbook_page_offers_archive_to_editors_and_delete_to_admins(
    editor_client, admin_client_role, viewer_client, runbook
):
    editor_page = editor_client.get(runbook.get_absolute_url()).content.decode()
    admin_page = admin_client_role.get(runbook.get_absolute_url()).content.decode()
    viewer_page = viewer_client.get(runbook.get_absolute_url()).content.decode()
    assert archive_url(runbook) in editor_page and archive_url(runbook, "delete") not in editor_page
    assert archive_url(runbook, "delete") in admin_page
    assert archive_url(runbook) not in viewer_page


def test_alert_lookup_skips_archived_runbooks(viewer_client, runbook, make_runbook, editor):
    successor = make_runbook(title="Checkout latency v2", alert_names=["CheckoutHighLatency"])
    archiving.archive(runbook, by=editor)
    response = viewer_client.get("/alerts/CheckoutHighLatency/")
    assert response.status_code == 302 and response["Location"] == successor.get_absolute_url()


def test_alert_lookup_does_not_send_to_an_archived_runbook(viewer_client, runbook, editor):
    archiving.archive(runbook, by=editor)
    response = viewer_client.get("/alerts/CheckoutHighLatency/")
    assert response.status_code == 200  # the search page, not a redirect to the archived runbook


# --- delete if unused ---------------------------------------------------------------------


def test_an_unused_runbook_is_deleted_with_its_revisions_and_history(runbook, admin_user, editor):
    runbook.add_revision(author=editor, body="second", change_summary="More")
    pk = runbook.pk
    archiving.delete_if_unused(runbook, by=admin_user)
    assert not Runbook.objects.filter(pk=pk).exists()
    assert not Revision.objects.filter(runbook_id=pk).exists()
    assert not HistoryEntry.objects.filter(runbook_id=pk).exists()
    event = AuditEvent.objects.get(action="runbook.deleted")
    assert (event.object_id, event.detail["title"]["old"]) == (str(pk), "Checkout latency")


def test_a_runbook_used_in_an_incident_cannot_be_deleted(runbook, admin_user, editor):
    incident = Incident.open_incident(by=editor, title="Checkout is slow")
    incident.attach_runbook(runbook, by=editor)
    with pytest.raises(
        archiving.ArchiveRefused, match=f"used in {incident.number}.*Archive it instead"
    ):
        archiving.delete_if_unused(runbook, by=admin_user)
    assert Runbook.objects.filter(pk=runbook.pk).exists()


def test_a_runbook_used_in_a_drill_cannot_be_deleted(runbook, admin_user, editor):
    drill = Drill.record(
        by=editor,
        runbooks=[runbook],
        date=timezone.localdate(),
        participants="Ana",
        outcome="passed",
    )
    with pytest.raises(archiving.ArchiveRefused, match=drill.number):
        archiving.delete_if_unused(runbook, by=admin_user)
    assert Runbook.objects.filter(pk=runbook.pk).exists()


def test_a_runbook_whose_history_records_an_incident_cannot_be_deleted(make_runbook, admin_user):
    imported = make_runbook(trigger=HistoryTrigger.INCIDENT, reference="INC-2024-0007")
    with pytest.raises(archiving.ArchiveRefused, match="INC-2024-0007"):
        archiving.delete_if_unused(imported, by=admin_user)


def test_editors_cannot_delete_runbooks(runbook, editor):
    with pytest.raises(archiving.ArchiveRefused, match="admin role"):
        archiving.delete_if_unused(runbook, by=editor)


def test_deleting_a_runbook_directly_is_refused(runbook):
    with pytest.raises(ValueError, match="delete_if_unused"):
        runbook.delete()
    assert Runbook.objects.filter(pk=runbook.pk).exists()


def test_admin_deletes_an_unused_runbook_from_the_confirmation_page(admin_client_role, runbook):
    page = admin_client_role.get(archive_url(runbook, "delete"))
    assert page.status_code == 200 and "Delete for good" in page.content.decode()
    response = admin_client_role.post(archive_url(runbook, "delete"))
    assert response.status_code == 302
    assert not Runbook.objects.filter(pk=runbook.pk).exists()


def test_deleting_a_used_runbook_is_a_409_that_offers_archiving(admin_client_role, runbook, editor):
    incident = Incident.open_incident(by=editor, title="Checkout is slow")
    incident.attach_runbook(runbook, by=editor)
    response = admin_client_role.post(archive_url(runbook, "delete"))
    assert response.status_code == 409
    page = response.content.decode()
    assert incident.number in page and archive_url(runbook) in page
    assert Runbook.objects.filter(pk=runbook.pk).exists()


def test_editors_get_403_on_delete(editor_client, runbook):
    assert editor_client.post(archive_url(runbook, "delete")).status_code == 403
    assert Runbook.objects.filter(pk=runbook.pk).exists()
