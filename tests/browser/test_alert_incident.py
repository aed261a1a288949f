"""An incident opened by Alertmanager: its runbook is attached and its commands carry the alert's labels."""

from typing import Any

import pytest

from tests.alerts.conftest import alertmanager_body, crashloop_runbook, post_json, token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["crashloop_runbook", "token"]


def test_incident_from_a_webhook_opens_its_runbook_with_commands_filled(
    login: Any, editor: Any, live_server: Any, token: str, crashloop_runbook: Any
) -> None:
    _, answer = post_json(f"{live_server.url}/hooks/alertmanager/", alertmanager_body(), token)
    page = login(editor)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    page.goto(answer["incidents"][0]["url"])
    assert "Pod crash looping" in page.locator("#runbooks").inner_text()
    page.get_by_role("link", name="Open “Pod crash looping” with the alert's values").click()

    block = page.locator(".code-block").first
    assert block.locator("mark.alert-value").all_inner_texts() == ["shop", "api-7d9"]
    block.get_by_role("button", name="Copy").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.strip() == "kubectl -n shop describe pod api-7d9"
    assert page.locator("code mark.alert-missing").first.inner_text() == "{{container}}"
