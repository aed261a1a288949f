import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_shows_the_library(login, editor, live_server, runbook):
    page = login(editor)
    assert page.locator("h1").first.inner_text() == "Runbook library"
    assert page.get_by_role("link", name="Checkout latency").is_visible()
