import pytest
from django.core.management import CommandError, call_command

from search.models import ApiToken, hash_token

pytestmark = pytest.mark.django_db

API = "/api/search/"


def test_session_user_gets_json_results(viewer_client, library):
    response = viewer_client.get(API, {"q": "certificate"})
    assert response.status_code == 200
    data = response.json()
    assert data["query"] == "certificate"
    assert data["suggestion"] is None
    top = data["results"][0]
    assert set(top) >= {
        "slug",
        "title",
        "url",
        "snippet",
        "score",
        "severity",
        "review_state",
        "last_reviewed_at",
    }
    assert top["slug"] == library["cert"].slug
    assert top["url"] == library["cert"].get_absolute_url()
    assert top["severity"] == "P0" and top["review_state"] == "current"
    assert "<mark>" in top["snippet"]


def test_bearer_token_authenticates(token_client, api_token, library):
    response = token_client.get(API, {"q": "disk"}, HTTP_AUTHORIZATION=f"Bearer {api_token}")
    assert response.status_code == 200
    assert response.json()["results"][0]["title"] == "Node disk almost full"
    assert ApiToken.objects.get().last_used_at is not None


def test_wrong_token_is_401_json(token_client, api_token, library):
    response = token_client.get(
        API, {"q": "disk"}, HTTP_AUTHORIZATION="Bearer fxr_not-a-real-token"
    )
    assert response.status_code == 401
    assert response.json()["error"] == "Invalid API token."
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_is_401_json(token_client, library):
    response = token_client.get(API, {"q": "disk"})
    assert response.status_code == 401 and "error" in response.json()


def test_token_of_user_without_role_is_403(token_client, outsider, library):
    _, raw = ApiToken.issue(outsider, "no role")
    response = token_client.get(API, {"q": "disk"}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 403 and "viewer" in response.json()["error"]


def test_token_of_inactive_user_is_refused(token_client, viewer, api_token, library):
    viewer.is_active = False
    viewer.save()
    response = token_client.get(API, {"q": "disk"}, HTTP_AUTHORIZATION=f"Bearer {api_token}")
    assert response.status_code == 401


def test_empty_query_is_400_json(viewer_client):
    response = viewer_client.get(API, {"q": "  "})
    assert response.status_code == 400 and "error" in response.json()


def test_invalid_filter_is_400_json_naming_the_field(viewer_client):
    response = viewer_client.get(API, {"q": "disk", "severity": "P9", "limit": "0"})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"severity", "limit"}


def test_post_is_405_json(viewer_client):
    response = viewer_client.post(API, {"q": "disk"})
    assert response.status_code == 405 and "error" in response.json()


@pytest.mark.parametrize("q", ["x" * 10_000, "NEAR(", '*"', "AND OR", "col:term", '"open'])
def test_bad_queries_are_normal_json(viewer_client, library, q):
    response = viewer_client.get(API, {"q": q})
    assert response.status_code == 200 and "results" in response.json()


def test_misspelling_returns_suggestion(viewer_client, library):
    data = viewer_client.get(API, {"q": "certficate"}).json()
    assert data["suggestion"] == "certificate"
    assert data["results"][0]["title"] == "Certificate expiring soon"


def test_limit_caps_results(viewer_client, library):
    data = viewer_client.get(API, {"q": "symptoms or checkout", "limit": "1"}).json()
    assert len(data["results"]) == 1


def test_tokens_are_stored_hashed(viewer):
    token, raw = ApiToken.issue(viewer, "bot")
    assert raw.startswith("fxr_") and raw not in (token.key_hash, token.key_prefix)
    assert token.key_hash == hash_token(raw)


def test_create_api_token_command_prints_a_working_token(viewer, capsys, token_client, library):
    call_command("create_api_token", viewer.username, "--name", "alertmanager")
    raw = capsys.readouterr().out.strip()
    assert ApiToken.objects.get().name == "alertmanager"
    response = token_client.get(API, {"q": "disk"}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200


def test_create_api_token_command_rejects_unknown_user(db):
    with pytest.raises(CommandError, match="No user"):
        call_command("create_api_token", "nobody")


def test_admin_creates_a_token_and_shows_it_once(admin_user, client, viewer):
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    response = client.post(
        "/admin/search/apitoken/add/", {"user": viewer.pk, "name": "pager bot"}, follow=True
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    shown = next(m.message for m in response.context["messages"] if "fxr_" in m.message)
    raw = shown.split(": ", 1)[1].split(" ")[0]
    assert token.key_hash == hash_token(raw)
