"""Every foundation view, for every persona: who may read, who may write, who may audit."""

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from runbooks.models import Revision, Runbook

pytestmark = pytest.mark.django_db

PERSONA_CLIENTS = {
    "anonymous": "client",
    "outsider": "outsider_client",
    "viewer": "viewer_client",
    "editor": "editor_client",
    "reviewer": "reviewer_client",
    "admin": "admin_client_role",
}
READERS = {"viewer", "editor", "reviewer", "admin"}
WRITERS = {"editor", "reviewer", "admin"}
ADMINS = {"admin"}

NEW_BODY = "## Symptoms\n\nChanged by the permission matrix.\n"


def _edit_post(runbook: Runbook) -> dict[str, Any]:
    return {
        "title": runbook.title,
        "slug": runbook.slug,
        "kind": runbook.kind,
        "category": runbook.category,
        "severity": runbook.severity,
        "review_cadence": runbook.review_cadence,
        "body": NEW_BODY,
        "change_summary": "matrix",
        "base_revision": runbook.current_revision.number,
    }


def _create_post(runbook: Runbook) -> dict[str, Any]:
    return {
        "title": "Created by the matrix",
        "kind": "procedure",
        "category": "operational",
        "severity": "P3",
        "review_cadence": "monthly",
        "body": "## Prerequisites\n\nNone.\n",
    }


# name -> (method, url builder, post data builder, allowed personas, status when allowed)
CASES = {
    "index": ("get", lambda rb: reverse("runbooks:index"), None, READERS, 200),
    "detail": ("get", lambda rb: rb.get_absolute_url(), None, READERS, 200),
    "history": ("get", lambda rb: reverse("runbooks:history", args=[rb.slug]), None, READERS, 200),
    "diff": ("get", lambda rb: reverse("runbooks:diff", args=[rb.slug]) + "?a=1&b=2", None, READERS, 200),
    "revision": ("get", lambda rb: reverse("runbooks:revision", args=[rb.slug, 1]), None, READERS, 200),
    "create-choose": ("get", lambda rb: reverse("runbooks:create"), None, WRITERS, 200),
    "create-form": ("get", lambda rb: reverse("runbooks:create") + "?kind=service", None, WRITERS, 200),
    "create-save": ("post", lambda rb: reverse("runbooks:create"), _create_post, WRITERS, 302),
    "edit-form": ("get", lambda rb: reverse("runbooks:edit", args=[rb.slug]), None, WRITERS, 200),
    "edit-save": ("post", lambda rb: reverse("runbooks:edit", args=[rb.slug]), _edit_post, WRITERS, 302),
    "preview": ("post", lambda rb: reverse("runbooks:preview"), lambda rb: {"body": "# Hi"}, WRITERS, 200),
    "restore": (
        "post",
        lambda rb: reverse("runbooks:restore", args=[rb.slug, 1]),
        lambda rb: {"base_revision": rb.current_revision.number},
        WRITERS,
        302,
    ),
    "audit": ("get", lambda rb: reverse("runbooks:audit"), None, ADMINS, 200),
}


@pytest.fixture
def two_revision_runbook(runbook: Runbook, editor: Any) -> Runbook:
    runbook.add_revision(author=editor, body=runbook.current_revision.body + "\nMore.\n", change_summary="More")
    runbook.set_labels(tags=["payments"])
    return runbook


@pytest.mark.parametrize("persona", PERSONA_CLIENTS)
@pytest.mark.parametrize("case", CASES)
def test_each_foundation_view_enforces_its_role(request, persona, case, two_revision_runbook):
    method, url_for, data_for, allowed, ok_status = CASES[case]
    client: Client = request.getfixturevalue(PERSONA_CLIENTS[persona])
    url = url_for(two_revision_runbook)
    data = data_for(two_revision_runbook) if data_for else None
    response = client.post(url, data) if method == "post" else client.get(url)

    if persona == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    elif persona in allowed:
        assert response.status_code == ok_status, response.content[:500]
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("persona", ["outsider", "viewer"])
def test_denied_writes_change_nothing(request, persona, two_revision_runbook):
    client: Client = request.getfixturevalue(PERSONA_CLIENTS[persona])
    client.post(reverse("runbooks:edit", args=[two_revision_runbook.slug]), _edit_post(two_revision_runbook))
    client.post(reverse("runbooks:restore", args=[two_revision_runbook.slug, 1]), {"base_revision": 2})
    client.post(reverse("runbooks:create"), _create_post(two_revision_runbook))
    assert Revision.objects.count() == 2
    assert Runbook.objects.count() == 1


def test_forbidden_page_explains_the_missing_role(viewer_client, runbook):
    response = viewer_client.get(reverse("runbooks:edit", args=[runbook.slug]))
    assert response.status_code == 403
    assert "needs the editor role" in response.content.decode()


def test_anonymous_login_redirect_keeps_the_destination(client, runbook):
    response = client.get(runbook.get_absolute_url())
    assert response["Location"] == f"{reverse('login')}?next={runbook.get_absolute_url()}"


def test_superuser_counts_as_admin(superuser_client, runbook):
    assert superuser_client.get(reverse("runbooks:audit")).status_code == 200


def test_role_groups_exist_after_migrations(db):
    assert set(Group.objects.values_list("name", flat=True)) >= {"viewer", "editor", "reviewer", "admin"}


def test_navigation_shows_only_what_the_role_allows(viewer_client, editor_client, admin_client_role):
    def nav(client: Client) -> str:
        return client.get(reverse("runbooks:index")).content.decode()

    assert "New runbook" not in nav(viewer_client)
    assert "New runbook" in nav(editor_client)
    assert reverse("runbooks:audit") not in nav(editor_client)
    assert reverse("runbooks:audit") in nav(admin_client_role)


@pytest.mark.parametrize("persona", PERSONA_CLIENTS)
def test_healthz_needs_no_login(request, persona):
    client: Client = request.getfixturevalue(PERSONA_CLIENTS[persona])
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"]["ok"] is True
    assert "broker" in body and "ok" in body["broker"]


@pytest.fixture
def superuser_client(django_user_model: Any) -> Client:
    # tests/conftest.py's admin_user is the admin *role*; Django admin pages need a superuser.
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests")
    client = Client()
    client.force_login(user)
    return client


ADMIN_MODELS = ["runbook", "revision", "historyentry", "auditevent", "team", "service", "tag", "alertname"]


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_django_admin_changelists_render(superuser_client, two_revision_runbook, team, model):
    url = f"/admin/runbooks/{model}/"
    response = superuser_client.get(url)
    if model == "alertname":
        # Alert names are edited inline on their runbook, not on a page of their own.
        assert response.status_code == 404
        return
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


def test_django_admin_runbook_change_page_renders(superuser_client, two_revision_runbook):
    response = superuser_client.get(f"/admin/runbooks/runbook/{two_revision_runbook.pk}/change/")
    assert response.status_code == 200
    assert "CheckoutHighLatency" in response.content.decode()


def test_django_admin_search_finds_runbook_by_alert(superuser_client, two_revision_runbook):
    response = superuser_client.get("/admin/runbooks/runbook/", {"q": "CheckoutHighLatency"})
    assert response.context["cl"].result_count == 1


def test_admin_role_opens_the_django_admin_without_staff_flag(admin_client_role):
    assert admin_client_role.get("/admin/").status_code == 200
    assert admin_client_role.get("/admin/runbooks/runbook/").status_code == 200


def test_editor_role_cannot_open_the_django_admin(editor_client):
    assert editor_client.get("/admin/").status_code == 302
