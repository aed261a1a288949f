"""Every page of the site sends an anonymous visitor to log in, including pages
that check the login themselves (the runbook page reads its viewer with its row)."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db

# Open to anyone on purpose: each answers without the session login (a token, a
# signature or nothing private), and has its own tests.
PUBLIC_PREFIXES = ("healthz", "login/", "admin/login/", "api/", "hooks/", "static/")


def routes(patterns=None, prefix=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def page_routes():
    found = sorted({route for route in routes() if not route.startswith(PUBLIC_PREFIXES)})
    # Regex routes (admin's catch-alls) are left to admin's own login check.
    return [route for route in found if not route.startswith("^") and "(?" not in route]


def concrete(route: str, slug: str) -> str:
    route = re.sub(r"<slug:slug>", slug, route)
    route = re.sub(r"<int:[a-z_]+>", "1", route)
    route = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "1", route)
    return "/" + route


def test_the_crawl_covers_the_runbook_page_and_the_site():
    found = page_routes()
    assert "runbooks/<slug:slug>/" in found
    assert len(found) > 60


@pytest.mark.parametrize("route", page_routes())
def test_an_anonymous_visitor_is_sent_to_log_in(route, runbook):
    path = concrete(route, runbook.slug)
    response = Client().get(path)
    assert response.status_code == 302, f"{path} answered {response.status_code}"
    location = response["Location"]
    assert location.startswith((reverse("login"), reverse("admin:login"))), (
        f"{path} sent to {location}"
    )
