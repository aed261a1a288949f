"""Two people deciding at once: the row locks make one decision win, never two publishes."""

from functools import partial
from typing import Any

import pytest
from django.db import connection

from changes import proposals
from changes.models import Proposal, ProposalStatus
from runbooks.models import Runbook
from tests.concurrency import run_in_parallel

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need a server database"
    ),
]




def test_two_approvals_at_once_publish_one_revision(
    runbook: Runbook, editor: Any, reviewer: Any, admin_user: Any
) -> None:
    proposal = proposals.open_proposal(
        runbook, by=editor, body="New text\n", base_revision=1, summary="Once"
    )
    errors = run_in_parallel(
        partial(proposals.approve, proposal, by=reviewer),
        partial(proposals.approve, proposal, by=admin_user),
    )
    assert len(errors) == 1 and isinstance(errors[0], proposals.ProposalRefused)
    assert runbook.revisions.count() == 2
    assert Proposal.objects.get().status == ProposalStatus.APPROVED


def test_approval_racing_a_withdrawal_does_one_of_them(
    runbook: Runbook, editor: Any, reviewer: Any
) -> None:
    proposal = proposals.open_proposal(
        runbook, by=editor, body="New text\n", base_revision=1, summary="Race"
    )
    errors = run_in_parallel(
        partial(proposals.approve, proposal, by=reviewer),
        partial(proposals.withdraw, proposal, by=editor),
    )
    status = Proposal.objects.get().status
    assert len(errors) == 1
    assert (status, runbook.revisions.count()) in {
        (ProposalStatus.APPROVED, 2),
        (ProposalStatus.WITHDRAWN, 1),
    }


def test_two_proposals_approved_at_once_both_publish_merged(
    runbook: Runbook, editor: Any, reviewer: Any, admin_user: Any
) -> None:
    body = runbook.current_revision.body
    first = proposals.open_proposal(
        runbook,
        by=editor,
        body=body.replace("Check the dashboard.", "Check dashboard A."),
        base_revision=1,
        summary="A",
    )
    second = proposals.open_proposal(
        runbook,
        by=editor,
        body=body.replace("Redeploy the rolled-back release.", "Redeploy B."),
        base_revision=1,
        summary="B",
    )
    assert (
        run_in_parallel(
            partial(proposals.approve, first, by=reviewer),
            partial(proposals.approve, second, by=admin_user),
        )
        == []
    )
    runbook.refresh_from_db()
    assert runbook.current_revision.number == 3
    assert (
        "dashboard A" in runbook.current_revision.body
        and "Redeploy B." in runbook.current_revision.body
    )
