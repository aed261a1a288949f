"""Change control in the browser: one person proposes, another decides."""

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from changes.models import Proposal
from runbooks.models import Runbook, Team

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def session_for(browser: Any, live_server: Any) -> Callable[[Any], Any]:
    """A separate browser context logged in as `user`: two people at two screens."""

    def open_session(user: Any) -> Any:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", "pw-for-tests")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        return page

    return open_session


@pytest.fixture
def guarded_runbook(runbook: Runbook) -> Runbook:
    runbook.team = Team.objects.create(name="Checkout", change_control="propose")
    runbook.save()
    return runbook


def propose(
    page: Any, live_server: Any, runbook: Runbook, old: str, new: str, summary: str
) -> None:
    page.goto(f"{live_server.url}/runbooks/{runbook.slug}/edit/")
    expect(page.get_by_test_id("proposal-note")).to_be_visible()
    body = page.locator("#id_body")
    body.fill(body.input_value().replace(old, new))
    page.fill("#id_change_summary", summary)
    page.get_by_role("button", name="Propose").click()
    expect(page.get_by_test_id("proposal-status")).to_have_text("Open")


def test_proposal_is_revised_after_requested_changes_then_approved_and_published(
    session_for, live_server, guarded_runbook, editor, reviewer
):
    author = session_for(editor)
    propose(
        author,
        live_server,
        guarded_runbook,
        "Check the dashboard.",
        "Check a dashboard.",
        "Name the dashboard",
    )
    expect(author.locator(".diff-inline ins", has_text="Check a dashboard.")).to_be_visible()
    expect(author.get_by_role("button", name="Approve and publish")).to_have_count(0)
    proposal_url = author.url

    second = session_for(reviewer)
    second.goto(f"{live_server.url}/proposals/?show=review")
    second.get_by_role("link", name="Name the dashboard").click()
    second.fill("#id_note", "Say which dashboard")
    second.get_by_role("button", name="Request changes").click()
    expect(second.get_by_test_id("proposal-status")).to_have_text("Changes requested")

    author.goto(proposal_url)
    expect(author.get_by_test_id("comment")).to_contain_text("Say which dashboard")
    author.get_by_role("link", name="Revise").click()
    body = author.locator("#id_body")
    body.fill(
        body.input_value().replace("Check a dashboard.", "Check the checkout latency dashboard.")
    )
    author.get_by_role("button", name="Save revision of the proposal").click()
    expect(author.get_by_test_id("proposal-status")).to_have_text("Open")

    second.goto(proposal_url)
    second.get_by_role("button", name="Approve and publish").click()
    expect(second.locator(".message-success")).to_contain_text(
        "Approved and published as version 1.1"
    )
    expect(second.locator(".markdown-body")).to_contain_text(
        "Check the checkout latency dashboard."
    )
    expect(second.locator("#document-history")).to_contain_text("Approved by rhea")
    guarded_runbook.refresh_from_db()
    assert guarded_runbook.current_revision.author == editor


def test_author_cannot_approve_their_own_proposal(
    session_for, live_server, guarded_runbook, make_user
):
    author = session_for(make_user("reva", "reviewer"))
    propose(
        author,
        live_server,
        guarded_runbook,
        "Check the dashboard.",
        "Check a dashboard.",
        "Self approval",
    )
    expect(author.get_by_role("button", name="Approve and publish")).to_have_count(0)
    expect(author.locator(".proposal-actions")).to_contain_text(
        "you cannot approve your own proposal"
    )
    assert Proposal.objects.get().status == "open"


def test_stale_proposal_merges_on_approval(
    session_for, live_server, guarded_runbook, editor, reviewer
):
    author = session_for(editor)
    propose(
        author,
        live_server,
        guarded_runbook,
        "Check the dashboard.",
        "Check a dashboard.",
        "Dashboard",
    )
    body = guarded_runbook.current_revision.body
    guarded_runbook.add_revision(
        author=reviewer,
        body=body.replace("Redeploy the rolled-back release.", "Redeploy v41."),
        change_summary="Pin",
    )
    second = session_for(reviewer)
    second.goto(f"{live_server.url}{Proposal.objects.get().get_absolute_url()}")
    expect(second.get_by_test_id("stale-note")).to_contain_text("approving merges both")
    second.get_by_role("button", name="Approve and publish").click()
    expect(second.locator(".message-success")).to_contain_text("merged with revision 2")
    expect(second.locator(".markdown-body")).to_contain_text("Check a dashboard.")
    expect(second.locator(".markdown-body")).to_contain_text("Redeploy v41.")


def test_conflicting_stale_proposal_goes_back_to_the_author(
    session_for, live_server, guarded_runbook, editor, reviewer
):
    author = session_for(editor)
    propose(
        author,
        live_server,
        guarded_runbook,
        "Check the dashboard.",
        "Check a dashboard.",
        "Dashboard",
    )
    body = guarded_runbook.current_revision.body
    guarded_runbook.add_revision(
        author=reviewer,
        body=body.replace("Check the dashboard.", "Check Grafana."),
        change_summary="Grafana",
    )
    proposal_url = f"{live_server.url}{Proposal.objects.get().get_absolute_url()}"
    second = session_for(reviewer)
    second.goto(proposal_url)
    second.get_by_role("button", name="Approve and publish").click()
    expect(second.get_by_test_id("proposal-status")).to_have_text("Conflict")
    expect(second.get_by_test_id("conflict-message")).to_contain_text("Nothing was published")

    author.goto(proposal_url)
    author.get_by_role("link", name="Revise").click()
    body_box = author.locator("#id_body")
    assert "<<<<<<< conflict 1" in body_box.input_value()
    author.get_by_role("button", name="Save revision of the proposal").click()
    expect(author.locator(".error")).to_contain_text("conflict markers")
    guarded_runbook.refresh_from_db()
    assert guarded_runbook.current_revision.number == 2
