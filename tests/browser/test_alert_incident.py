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


@pytest.mark.parametrize("width", [390, 1366])
def test_alert_panel_contact_and_channel_pages_fit_the_screen(
    login: Any, editor: Any, live_server: Any, token: str, crashloop_runbook: Any, width: int
) -> None:
    from contacts.models import Contact, EscalationStep
    from notifications.models import Channel

    service = crashloop_runbook.services.get()
    Contact.objects.create(
        service=service,
        name="Shop on-call rota with a rather long name",
        email="shop-oncall-with-a-long-address@example.com",
        paging_url="https://pager.example.com/services/shop-api/escalation-policies/primary",
    )
    EscalationStep.objects.create(
        service=service, who="Escalation manager", wait_minutes=15, how="phone"
    )
    channel = Channel.objects.create(
        name="shop room", kind="slack", url="https://hooks.example.com/x", owner=editor
    )
    _, answer = post_json(f"{live_server.url}/hooks/alertmanager/", alertmanager_body(), token)
    page = login(editor)
    page.set_viewport_size({"width": width, "height": 900})
    incident_url = answer["incidents"][0]["url"]

    # The runbook page itself is left out: its own layout is wider than 390 px with or without these panels.
    for url in (
        incident_url,
        f"{live_server.url}/notifications/",
        f"{live_server.url}/notifications/{channel.pk}/",
        f"{live_server.url}/contacts/service/{service.pk}/edit/",
    ):
        page.goto(url)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        wide = page.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"
        )
        assert overflow <= 0, f"{url} scrolls sideways by {overflow}px at {width}px: {wide}"
