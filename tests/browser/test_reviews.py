"""A reviewer signs off an overdue runbook in a real browser (htmx swaps the panel)."""

import datetime as dt

import pytest
from django.utils import timezone

from runbooks.models import HistoryEntry, Runbook
from tests.reviews.conftest import committed

pytestmark = [pytest.mark.browser, committed]


def test_reviewer_signs_off_an_overdue_runbook_from_its_page(login, reviewer, live_server, runbook):
    Runbook.objects.filter(pk=runbook.pk).update(
        last_reviewed_at=timezone.now() - dt.timedelta(days=34),
        next_review_due=timezone.now() - dt.timedelta(days=4),
    )
    page = login(reviewer)
    page.goto(f"{live_server.url}{runbook.get_absolute_url()}")
    assert page.locator(".review-panel .badge").inner_text() == "review overdue"
    page.get_by_role("link", name="Mark reviewed").click()
    page.select_option("#id_outcome", "accurate")
    page.fill("#id_note", "Walked through it with on-call")
    page.get_by_role("button", name="Mark reviewed").click()
    page.get_by_text("Signed off version 1.0").wait_for()
    assert page.locator("#review-panel .badge").inner_text() == "review current"
    assert HistoryEntry.objects.get(runbook=runbook, trigger="review").reviewer == "rhea"


def test_author_sees_why_they_cannot_sign_off(login, make_runbook, reviewer, live_server, settings):
    settings.REVIEW_REQUIRES_SECOND_REVIEWER = True
    runbook = make_runbook(author=reviewer)
    page = login(reviewer)
    page.goto(f"{live_server.url}/runbooks/{runbook.slug}/review/")
    page.get_by_role("button", name="Mark reviewed").click()
    page.get_by_role("alert").wait_for()
    assert "another reviewer has to sign it off" in page.get_by_role("alert").inner_text()
    assert not HistoryEntry.objects.filter(trigger="review").exists()
