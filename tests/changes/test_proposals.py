"""Proposals: opened by the edit page under change control, decided by someone else."""

from typing import Any

import pytest

from changes import proposals
from changes.models import Proposal, ProposalStatus
from runbooks.models import AuditEvent, HistoryEntry, Runbook, Team

pytestmark = pytest.mark.django_db


def _propose(
    runbook: Runbook, author: Any, body: str, summary: str = "Clearer rollback"
) -> Proposal:
    return proposals.open_proposal(
        runbook,
        by=author,
        body=body,
        base_revision=runbook.current_revision.number,
        summary=summary,
    )


def _publish(runbook: Runbook, author: Any, body: str) -> None:
    runbook.add_revision(author=author, body=body, change_summary="Published meanwhile")


def test_team_setting_overrides_the_site_default(
    runbook: Runbook, team: Team, settings: Any
) -> None:
    settings.CHANGE_CONTROL_DEFAULT = "publish"
    runbook.team = team
    team.change_control = "propose"
    assert proposals.requires_proposal(runbook)
    team.change_control = ""
    assert not proposals.requires_proposal(runbook)
    settings.CHANGE_CONTROL_DEFAULT = "propose"
    assert proposals.requires_proposal(runbook)


def test_edit_page_save_opens_a_proposal_and_publishes_nothing(
    editor_client: Any, runbook: Runbook, settings: Any
) -> None:
    settings.CHANGE_CONTROL_DEFAULT = "propose"
    page = editor_client.get(f"/runbooks/{runbook.slug}/edit/")
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(
        body=runbook.current_revision.body + "\nMore.\n", change_summary="Add a line", major=""
    )
    response = editor_client.post(f"/runbooks/{runbook.slug}/edit/", data)
    proposal = Proposal.objects.get()
    assert response.status_code == 302 and response["Location"] == proposal.get_absolute_url()
    runbook.refresh_from_db()
    assert runbook.revisions.count() == 1
    assert proposal.summary == "Add a line" and proposal.body.endswith("More.\n")


def test_author_cannot_approve_their_own_proposal(runbook: Runbook, make_user: Any) -> None:
    author = make_user("reva", "reviewer")
    proposal = _propose(runbook, author, "New text\n")
    with pytest.raises(proposals.ProposalRefused) as refused:
        proposals.approve(proposal, by=author)
    assert refused.value.status == 403
    assert runbook.revisions.count() == 1


def test_editor_who_is_not_team_lead_cannot_approve(
    runbook: Runbook, editor: Any, make_user: Any
) -> None:
    proposal = _propose(runbook, editor, "New text\n")
    with pytest.raises(proposals.ProposalRefused):
        proposals.approve(proposal, by=make_user("ed2", "editor"))


def test_team_lead_can_approve(runbook: Runbook, editor: Any, make_user: Any) -> None:
    lead = make_user("lena", "editor")
    runbook.team = Team.objects.create(name="Checkout", lead=lead)
    runbook.save()
    result = proposals.approve(_propose(runbook, editor, "New text\n"), by=lead)
    assert result.revision is not None


def test_approval_publishes_the_next_revision_with_history_and_audit(
    runbook: Runbook, editor: Any, reviewer: Any
) -> None:
    proposal = _propose(runbook, editor, runbook.current_revision.body + "\nExtra step.\n")
    result = proposals.approve(proposal, by=reviewer)
    runbook.refresh_from_db()
    assert runbook.current_revision == result.revision
    assert result.revision.author == editor and result.revision.number == 2
    assert HistoryEntry.objects.filter(
        runbook=runbook, summary__startswith="Approved by rhea", reviewer="rhea"
    ).exists()
    assert AuditEvent.objects.filter(action="proposal.approved", runbook=runbook).exists()
    proposal.refresh_from_db()
    assert (
        proposal.status == ProposalStatus.APPROVED
        and proposal.published_revision == result.revision
    )


def test_approval_merges_with_text_published_since_the_base(
    runbook: Runbook, editor: Any, reviewer: Any
) -> None:
    body = runbook.current_revision.body
    proposal = _propose(
        runbook, editor, body.replace("Check the dashboard.", "Check the latency dashboard.")
    )
    _publish(
        runbook,
        reviewer,
        body.replace("Redeploy the rolled-back release.", "Redeploy the previous release."),
    )
    result = proposals.approve(proposal, by=reviewer)
    assert result.merged_with is not None
    assert (
        "latency dashboard" in result.revision.body and "previous release" in result.revision.body
    )


def test_conflicting_approval_goes_back_to_the_author_and_publishes_nothing(
    runbook: Runbook, editor: Any, reviewer: Any
) -> None:
    body = runbook.current_revision.body
    proposal = _propose(
        runbook, editor, body.replace("Check the dashboard.", "Check the latency dashboard.")
    )
    _publish(runbook, reviewer, body.replace("Check the dashboard.", "Check the error dashboard."))
    result = proposals.approve(proposal, by=reviewer)
    proposal.refresh_from_db()
    assert result.revision is None
    assert (
        proposal.status == ProposalStatus.CONFLICT
        and "Nothing was published" in proposal.conflict_message
    )
    assert runbook.revisions.count() == 2


def test_request_changes_then_revise_reopens_the_proposal(
    runbook: Runbook, editor: Any, reviewer: Any
) -> None:
    proposal = _propose(runbook, editor, "First try\n")
    proposals.request_changes(proposal, by=reviewer, note="Name the dashboard")
    with pytest.raises(proposals.ProposalRefused):
        proposals.approve(proposal, by=reviewer)
    proposals.revise(proposal, by=editor, body="Second try\n", summary="Named it", base_revision=1)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.OPEN and proposal.body == "Second try\n"
    assert proposal.comments.get().text == "Changes requested: Name the dashboard"


def test_only_the_author_revises(runbook: Runbook, editor: Any, reviewer: Any) -> None:
    proposal = _propose(runbook, editor, "First try\n")
    with pytest.raises(proposals.ProposalRefused):
        proposals.revise(
            proposal, by=reviewer, body="Mine\n", summary="Taken over", base_revision=1
        )


def test_withdrawn_proposal_cannot_be_approved(
    runbook: Runbook, editor: Any, reviewer: Any
) -> None:
    proposal = proposals.withdraw(_propose(runbook, editor, "Text\n"), by=editor)
    with pytest.raises(proposals.ProposalRefused):
        proposals.approve(proposal, by=reviewer)
    assert proposal.status == ProposalStatus.WITHDRAWN


def test_major_approval_is_announced(
    runbook: Runbook, editor: Any, reviewer: Any, monkeypatch: Any
) -> None:
    announced: list[str] = []
    monkeypatch.setattr(proposals, "queue_event", lambda event, **kw: announced.append(kw["text"]))
    proposal = proposals.open_proposal(
        runbook, by=editor, body="Rewritten\n", base_revision=1, summary="Rewrite", major=True
    )
    proposals.approve(proposal, by=reviewer)
    assert announced and "Major change" in announced[0] and "approved by rhea" in announced[0]


def test_comment_on_a_line_the_text_lacks_is_refused(runbook: Runbook, editor: Any) -> None:
    proposal = _propose(runbook, editor, "One line\n")
    with pytest.raises(proposals.ProposalRefused):
        proposals.add_comment(proposal, by=editor, text="Here", line=5)
    proposals.add_comment(proposal, by=editor, text="Here", line=1)
    assert proposal.comments.get().line == 1


def test_approve_view_refuses_the_author_with_403(
    editor_client: Any, runbook: Runbook, editor: Any
) -> None:
    proposal = _propose(runbook, editor, "New\n")
    response = editor_client.post(f"/proposals/{proposal.pk}/approve/")
    assert response.status_code == 403
    assert b"cannot approve your own proposal" in response.content


def test_proposal_list_filters_to_review(
    reviewer_client: Any, runbook: Runbook, editor: Any
) -> None:
    _propose(runbook, editor, "New\n", summary="Visible to reviewer")
    response = reviewer_client.get("/proposals/?show=review")
    assert b"Visible to reviewer" in response.content
    assert b"Visible to reviewer" not in reviewer_client.get("/proposals/?show=mine").content


def test_runbook_page_lists_open_proposals(
    viewer_client: Any, runbook: Runbook, editor: Any
) -> None:
    _propose(runbook, editor, "New\n", summary="Pending idea")
    assert b"Pending idea" in viewer_client.get(runbook.get_absolute_url()).content


def test_restoring_under_change_control_proposes_the_old_text(
    editor_client: Any, runbook: Runbook, editor: Any, settings: Any
) -> None:
    settings.CHANGE_CONTROL_DEFAULT = "propose"
    runbook.add_revision(author=editor, body="Second text\n", change_summary="Second")
    response = editor_client.post(
        f"/runbooks/{runbook.slug}/revisions/1/restore/", {"base_revision": 2}
    )
    proposal = Proposal.objects.get()
    assert response["Location"] == proposal.get_absolute_url()
    assert proposal.body == runbook.revisions.get(number=1).body
    assert runbook.revisions.count() == 2
