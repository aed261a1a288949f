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
    edit_body_with_preview(page, "\n## Browser typed heading\n\nFirst text.\n", "Browser typed heading")
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
