"""Slugs are unique ignoring case, and never a word the app or Windows reserves."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from runbooks.models import Runbook


@pytest.mark.django_db
def test_a_slug_differing_only_in_case_is_refused_with_a_message(make_runbook):
    make_runbook(slug="checkout-latency")
    clash = Runbook(title="Other", slug="Checkout-Latency")

    with pytest.raises(ValidationError, match="slugs are compared ignoring case"):
        clash.full_clean()


@pytest.mark.django_db
def test_the_database_refuses_a_case_colliding_slug(make_runbook):
    make_runbook(slug="checkout-latency")

    with pytest.raises(IntegrityError), transaction.atomic():
        Runbook.objects.create(title="Other", slug="CHECKOUT-LATENCY")


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["new", "preview", "import", "NEW"])
def test_the_apps_own_url_words_are_refused(slug):
    with pytest.raises(ValidationError, match="a word the app uses in its own addresses"):
        Runbook(title="X", slug=slug).full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["con", "nul", "prn", "aux", "com1", "LPT9"])
def test_windows_device_names_are_refused(slug):
    with pytest.raises(ValidationError, match="reserved device name on Windows"):
        Runbook(title="X", slug=slug).full_clean()


@pytest.mark.django_db
def test_slugs_made_from_titles_avoid_reserved_words_and_case_clashes(make_runbook):
    make_runbook(slug="Checkout")

    assert Runbook.unique_slug("checkout") == "checkout-2"
    assert Runbook.unique_slug("New") == "new-2"
