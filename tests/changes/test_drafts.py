"""Editor drafts: kept per person and runbook, offered back, gone after a save or 30 days."""

import datetime as dt
from typing import Any

import pytest
import time_machine

from changes import drafts
from changes.models import Draft
from runbooks.models import Runbook

pytestmark = pytest.mark.django_db


def _save_draft(client: Any, runbook: Runbook, body: str) -> Any:
    return client.post(
        "/proposals/drafts/save/",
        {
            "draft_key": drafts.key_for(runbook),
            "body": body,
            "base_revision": runbook.current_revision.number,
        },
    )


def test_autosave_keeps_a_private_draft(editor_client: Any, runbook: Runbook, editor: Any) -> None:
    response = _save_draft(editor_client, runbook, "Typed so far\n")
    assert response.status_code == 200 and b"Draft kept" in response.content
    draft = Draft.objects.get()
    assert (draft.user, draft.runbook, draft.base_revision, draft.body) == (
        editor,
        runbook,
        1,
        "Typed so far\n",
    )


def test_a_second_autosave_replaces_the_draft(editor_client: Any, runbook: Runbook) -> None:
    _save_draft(editor_client, runbook, "One\n")
    _save_draft(editor_client, runbook, "Two\n")
    assert list(Draft.objects.values_list("body", flat=True)) == ["Two\n"]


def test_draft_for_an_unknown_runbook_is_refused(editor_client: Any) -> None:
    response = editor_client.post(
        "/proposals/drafts/save/", {"draft_key": "runbook:999999", "body": "x"}
    )
    assert response.status_code == 400 and not Draft.objects.exists()


def test_viewer_cannot_keep_drafts(viewer_client: Any, runbook: Runbook) -> None:
    assert _save_draft(viewer_client, runbook, "x").status_code == 403


def test_editor_offers_the_draft_with_a_diff_only_to_its_writer(
    editor_client: Any, reviewer_client: Any, runbook: Runbook
) -> None:
    _save_draft(editor_client, runbook, runbook.current_revision.body + "Unsaved line\n")
    page = editor_client.get(f"/runbooks/{runbook.slug}/edit/")
    assert b"unsaved draft" in page.content and b"+ Unsaved line" in page.content
    assert b"unsaved draft" not in reviewer_client.get(f"/runbooks/{runbook.slug}/edit/").content


def test_restoring_fills_the_editor_with_the_draft_and_its_base(
    editor_client: Any, runbook: Runbook
) -> None:
    _save_draft(editor_client, runbook, "Restored text\n")
    runbook.add_revision(author=None, body="Newer text\n", change_summary="Meanwhile")
    form = editor_client.get(f"/runbooks/{runbook.slug}/edit/?draft=restore").context["form"]
    assert form["body"].value() == "Restored text\n"
    assert form["base_revision"].value() == 1


def test_a_successful_save_deletes_the_draft(editor_client: Any, runbook: Runbook) -> None:
    _save_draft(editor_client, runbook, "Draft\n")
    form = editor_client.get(f"/runbooks/{runbook.slug}/edit/?draft=restore").context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["major"] = ""
    assert editor_client.post(f"/runbooks/{runbook.slug}/edit/", data).status_code == 302
    assert not Draft.objects.exists()


def test_new_runbook_drafts_are_kept_per_kind(editor_client: Any, editor: Any) -> None:
    editor_client.post(
        "/proposals/drafts/save/", {"draft_key": "new:incident", "body": "Fresh idea\n"}
    )
    page = editor_client.get("/runbooks/new/?kind=incident&draft=restore")
    assert page.context["form"]["body"].value() == "Fresh idea\n"
    assert b"Fresh idea" not in editor_client.get("/runbooks/new/?kind=drill").content


def test_drafts_expire_after_30_days(editor_client: Any, runbook: Runbook) -> None:
    with time_machine.travel(dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC), tick=False):
        _save_draft(editor_client, runbook, "Old draft\n")
    with time_machine.travel(dt.datetime(2026, 1, 30, 12, tzinfo=dt.UTC), tick=False):
        assert b"unsaved draft" in editor_client.get(f"/runbooks/{runbook.slug}/edit/").content
    with time_machine.travel(dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC), tick=False):
        assert b"unsaved draft" not in editor_client.get(f"/runbooks/{runbook.slug}/edit/").content
    assert not Draft.objects.exists()


def test_discard_removes_the_draft(editor_client: Any, runbook: Runbook) -> None:
    _save_draft(editor_client, runbook, "Draft\n")
    response = editor_client.post(
        "/proposals/drafts/discard/",
        {"key": drafts.key_for(runbook), "next": f"/runbooks/{runbook.slug}/edit/"},
    )
    assert response.status_code == 302 and response["Location"] == f"/runbooks/{runbook.slug}/edit/"
    assert not Draft.objects.exists()
