"""Personas and factories shared by every test.

Personas: a viewer, an editor, a reviewer, an admin, and an outsider who can
log in but holds no role.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client

from runbooks.models import Runbook, Team

INCIDENT_BODY = """## Symptoms

- Checkout latency above 2 seconds.

## Diagnosis

1. Check the dashboard.
2. Check recent deploys.

## Resolution

1. Roll back the last deploy.

## Verification

- [ ] Latency back under 300 ms

## Rollback

1. Redeploy the rolled-back release.
"""


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    # Primary keys can repeat across rolled-back tests; cached page fragments must not.
    cache.clear()


@pytest.fixture
def make_user(db: Any, django_user_model: Any) -> Callable[..., Any]:
    def make(username: str, role: str | None = None, **extra: Any) -> Any:
        user = django_user_model.objects.create_user(
            username=username, password="pw-for-tests", email=f"{username}@example.com", **extra
        )
        if role:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        return user

    return make


@pytest.fixture
def viewer(make_user: Callable[..., Any]) -> Any:
    return make_user("vera", "viewer")


@pytest.fixture
def editor(make_user: Callable[..., Any]) -> Any:
    return make_user("eddie", "editor")


@pytest.fixture
def reviewer(make_user: Callable[..., Any]) -> Any:
    return make_user("rhea", "reviewer")


@pytest.fixture
def admin_user(make_user: Callable[..., Any]) -> Any:
    return make_user("ada", "admin")


@pytest.fixture
def outsider(make_user: Callable[..., Any]) -> Any:
    return make_user("otto")


def _client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer_client(viewer: Any) -> Client:
    return _client_for(viewer)


@pytest.fixture
def editor_client(editor: Any) -> Client:
    return _client_for(editor)


@pytest.fixture
def reviewer_client(reviewer: Any) -> Client:
    return _client_for(reviewer)


@pytest.fixture
def admin_client_role(admin_user: Any) -> Client:
    return _client_for(admin_user)


@pytest.fixture
def outsider_client(outsider: Any) -> Client:
    return _client_for(outsider)


@pytest.fixture
def team(db: Any) -> Team:
    return Team.objects.create(name="Payments")


@pytest.fixture
def make_runbook(db: Any, editor: Any) -> Callable[..., Runbook]:
    counter = iter(range(1, 1_000_000))

    def make(**fields: Any) -> Runbook:
        n = next(counter)
        fields.setdefault("title", f"Checkout latency {n}")
        fields.setdefault("kind", "incident")
        fields.setdefault("owner", editor)
        body = fields.pop("body", INCIDENT_BODY)
        author = fields.pop("author", editor)
        return Runbook.create_with_revision(author=author, body=body, **fields)

    return make


@pytest.fixture
def runbook(make_runbook: Callable[..., Runbook]) -> Runbook:
    return make_runbook(title="Checkout latency", alert_names=["CheckoutHighLatency"], services=["checkout-api"])
