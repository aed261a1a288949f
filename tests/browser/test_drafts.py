"""An editor's unsaved text survives closing the tab."""

import pytest
from playwright.sync_api import expect

from changes.models import Draft

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_draft_is_restored_after_closing_the_tab(
    browser, login, page, live_server, editor, runbook
):
    login(editor)
    page.goto(f"{live_server.url}/runbooks/{runbook.slug}/edit/")
    body = page.locator("#id_body")
    body.fill(body.input_value() + "\n## Typed before the crash\n")
    expect(page.get_by_test_id("draft-status")).to_contain_text("Draft kept")
    context = page.context
    page.close()

    reopened = context.new_page()
    reopened.goto(f"{live_server.url}/runbooks/{runbook.slug}/edit/")
    offer = reopened.get_by_test_id("draft-offer")
    expect(offer.locator("ins", has_text="## Typed before the crash")).to_be_visible()
    offer.get_by_role("link", name="Restore the draft").click()
    expect(reopened.get_by_test_id("draft-restored")).to_be_visible()
    assert "## Typed before the crash" in reopened.locator("#id_body").input_value()
    reopened.get_by_role("button", name="Save").click()
    expect(reopened.locator(".markdown-body h2", has_text="Typed before the crash")).to_be_visible()
    assert not Draft.objects.exists()
