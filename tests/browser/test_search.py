import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_slash_type_and_enter_opens_the_right_runbook(login, viewer, live_server, make_runbook):
    make_runbook(title="Checkout latency", alert_names=["CheckoutHighLatency"])
    target = make_runbook(
        title="Node disk almost full",
        summary="A node is running out of disk space.",
        body="## Symptoms\n\n- Writes fail with no space left on device.\n",
        alert_names=["NodeFilesystemAlmostOutOfSpace"],
    )
    page = login(viewer)
    page.locator("body").click()
    page.keyboard.press("/")
    box = page.locator("[data-search-input]")
    assert box.evaluate("el => el === document.activeElement")
    page.keyboard.type("disk space left")
    first = page.locator("#search-dropdown a[data-hit]").first
    first.wait_for()
    assert "Node disk almost full" in first.inner_text()
    assert page.locator("#search-dropdown mark").count() > 0
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}{target.get_absolute_url()}")
    assert page.locator("h1").first.inner_text() == "Node disk almost full"


def test_search_page_filters_update_results_and_url(login, viewer, live_server, make_runbook):
    make_runbook(title="Disk full on api", severity="P1")
    make_runbook(title="Disk full on batch", severity="P3")
    page = login(viewer)
    page.goto(f"{live_server.url}/search/?q=disk")
    assert page.locator(".search-hit").count() == 2
    page.select_option("select[name=severity]", "P3")
    page.wait_for_url("**severity=P3**")
    page.wait_for_function("document.querySelectorAll('.search-hit').length === 1")
    assert "Disk full on batch" in page.locator(".search-hit").first.inner_text()
