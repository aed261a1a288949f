"""An editor writes a runbook in the browser: template, live preview, save, edit, diff, restore."""

import re

import pytest
from playwright.sync_api import expect

from runbooks.models import Runbook

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def edit_body_with_preview(page, extra: str, heading: str) -> None:
    body = page.locator("#id_body")
    body.fill(body.input_value() + extra)
    # The preview is an htmx round-trip; the heading appearing proves it ran on the new text.
    expect(page.locator("#preview h2", has_text=heading)).to_be_visible()


def test_editor_creates_edits_diffs_and_restores_a_runbook(login, editor, live_server):
    page = login(editor)

    page.get_by_role("link", name="New runbook").click()
    page.get_by_role("link", name="Incident runbook").click()
    expect(page.locator("h1")).to_have_text("New incident runbook")
    expect(page.locator("#preview h2", has_text="Symptoms")).to_be_visible()
    page.fill("#id_title", "Browser checkout outage")
    page.fill("#id_audience", "On-call SRE")
    edit_body_with_preview(
        page, "\n## Browser typed heading\n\nFirst text.\n", "Browser typed heading"
    )
    page.get_by_role("button", name="Save").click()

    expect(page.locator("#runbook-title")).to_have_text("Browser checkout outage")
    expect(page.locator(".markdown-body h2#browser-typed-heading")).to_be_visible()
    runbook = Runbook.objects.get(title="Browser checkout outage")
    assert runbook.version == "1.0"

    page.get_by_role("link", name="Edit", exact=True).click()
    body = page.locator("#id_body")
    body.fill(body.input_value().replace("First text.", "Second text."))
    edit_body_with_preview(page, "\n## Added in edit\n", "Added in edit")
    page.fill("#id_change_summary", "Clarify the first step")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message-success")).to_contain_text("Saved version 1.1 (revision 2)")

    page.get_by_role("link", name="History").click()
    expect(page.locator(".revision-table tbody tr")).to_have_count(2)
    page.get_by_role("button", name="Compare selected").click()
    expect(page.locator("h1")).to_contain_text("Revision 1 (v1.0) → revision 2 (v1.1)")
    expect(page.locator(".diff-inline del", has_text="First text.")).to_be_visible()
    expect(page.locator(".diff-inline ins", has_text="Second text.")).to_be_visible()
    page.get_by_role("link", name="side-by-side view").click()
    expect(page.locator(".diff-side del", has_text="First text.")).to_be_visible()

    page.get_by_role("link", name="History").click()
    page.get_by_role("button", name="Restore").click()
    expect(page.locator(".message-success")).to_contain_text("Restored revision 1 as revision 3")
    expect(page).to_have_url(re.compile(r"/runbooks/browser-checkout-outage/$"))
    expect(page.locator(".markdown-body")).to_contain_text("First text.")

    history = page.locator("#document-history table")
    expect(history).to_contain_text("Restored revision 1 (version 1.0)")
    expect(history).to_contain_text("Clarify the first step")
    expect(history.locator("tbody tr")).to_have_count(3)


MERGE_BASE = """## Symptoms

- Checkout latency above 2 seconds.

## Diagnosis

1. Check the dashboard.

## Resolution

1. Roll back the last deploy.

## Verification

- [ ] Latency back under 300 ms
"""


def open_editor(browser, live_server, user, runbook):
    """A second person in their own browser context, logged in, on the runbook's edit page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/runbooks/{runbook.slug}/edit/")
    return page


def replace_in_body(page, old: str, new: str) -> None:
    body = page.locator("#id_body")
    text = body.input_value()
    assert old in text
    body.fill(text.replace(old, new))


def test_two_editors_merge_apart_and_keep_both_sides_of_an_overlap(
    browser, live_server, editor, make_user, make_runbook
):
    erin = make_user("erin", "editor")
    runbook = make_runbook(title="Checkout merge", body=MERGE_BASE)
    eddie_page = open_editor(browser, live_server, editor, runbook)
    erin_page = open_editor(browser, live_server, erin, runbook)

    # Edits to different lines: the second save merges and says with whom.
    replace_in_body(eddie_page, "Check the dashboard.", "Check the checkout dashboard.")
    eddie_page.get_by_role("button", name="Save").click()
    expect(eddie_page.locator(".message-success")).to_contain_text("Saved version 1.1 (revision 2)")
    replace_in_body(erin_page, "Roll back the last deploy.", "Roll back with `deploy rollback`.")
    erin_page.get_by_role("button", name="Save").click()
    expect(erin_page.locator(".message-success")).to_contain_text("merged with revision 2 by eddie")
    expect(erin_page.locator(".diff-inline ins", has_text="deploy rollback")).to_be_visible()
    merged = Runbook.objects.get(pk=runbook.pk).current_revision.body
    assert "Check the checkout dashboard." in merged and "`deploy rollback`" in merged

    # Edits to the same line: a conflict page; saving again without a choice keeps both.
    eddie_page.goto(f"{live_server.url}/runbooks/{runbook.slug}/edit/")
    erin_page.goto(f"{live_server.url}/runbooks/{runbook.slug}/edit/")
    replace_in_body(eddie_page, "under 300 ms", "under 250 ms")
    eddie_page.get_by_role("button", name="Save").click()
    expect(eddie_page.locator(".message-success")).to_contain_text("revision 4")
    replace_in_body(erin_page, "under 300 ms", "under 200 ms")
    erin_page.get_by_role("button", name="Save").click()
    expect(erin_page.locator("#edit-conflict")).to_contain_text(
        "Someone else saved while you were editing"
    )
    expect(erin_page.locator("[data-testid=conflict-hunk]")).to_have_count(1)
    expect(erin_page.locator("[data-testid=conflict-hunk] [data-testid=theirs]")).to_contain_text(
        "250 ms"
    )
    expect(erin_page.locator("[data-testid=conflict-hunk] [data-testid=mine]")).to_contain_text(
        "200 ms"
    )

    erin_page.get_by_role("button", name="Save").click()
    expect(erin_page.locator(".message-warning", has_text="conflict")).to_contain_text(
        "1 conflict(s)"
    )
    saved = Runbook.objects.get(pk=runbook.pk).current_revision
    assert saved.number == 5
    assert "under 250 ms" in saved.body and "under 200 ms" in saved.body
    eddie_page.context.close()
    erin_page.context.close()
