import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_incident_flow_from_opening_to_runbook_history(login, editor, live_server, runbook):
    page = login(editor)

    page.get_by_role("link", name="Incidents").click()
    page.get_by_role("link", name="Open an incident").click()
    page.fill("#id_title", "Checkout p99 above 2 s")
    page.select_option("#id_severity", "P1")
    page.get_by_role("button", name="Open incident").click()
    number = page.locator(".incident-number").inner_text()
    assert re.fullmatch(r"INC-\d{4}-\d{4}", number)

    page.fill("#id_runbook", "Checkout latency")
    page.get_by_role("button", name="Attach").click()
    page.get_by_role("link", name="Follow").click()

    first = page.locator(".checklist-step").nth(0)
    first.get_by_role("button", name="Done").click()
    first.locator('[data-state="done"]').wait_for()
    second = page.locator(".checklist-step").nth(1)
    second.get_by_role("button", name="Done").click()
    second.locator('[data-state="done"]').wait_for()
    assert "Done by eddie" in second.inner_text()

    page.get_by_role("link", name=f"Back to {number}").click()
    timeline = page.locator("#timeline").inner_text()
    assert "step 1 done: Check the dashboard." in timeline
    assert "step 2 done: Check recent deploys." in timeline

    page.get_by_role("button", name="Resolve").click()
    assert page.locator("#incident-status").inner_text() == "Resolved"

    page.goto(f"{live_server.url}{runbook.get_absolute_url()}")
    history = page.locator("#document-history").inner_text()
    assert number in history and "resolved" in history
    assert number in page.locator("#usage").inner_text()
