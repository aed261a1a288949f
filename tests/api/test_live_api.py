"""Over a real socket: the schema is public and every path in it answers."""

import json
import urllib.error
import urllib.request

import pytest

from search.models import ApiToken

pytestmark = pytest.mark.django_db(transaction=True)


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {token}"} if token else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_every_path_in_the_schema_answers(live_server, editor, runbook):
    status, schema = _get(f"{live_server.url}/api/v1/openapi.json")
    assert status == 200
    assert schema["info"]["title"] == "FixIt Runbooks API"
    token = ApiToken.issue(editor, "live")[1]
    write_token = ApiToken.issue(editor, "live", scope="write")[1]
    fill = {"slug": runbook.slug, "number": "INC-1999-0001"}
    paths = schema["paths"]
    assert len(paths) >= 10
    for path, operations in paths.items():
        url = live_server.url + path.format(**fill)
        if "get" in operations:
            status, body = _get(url + ("?q=checkout" if path.endswith("/search") else ""), token)
            # Known objects answer, unknown ones say so; nothing fails on the server.
            assert status in (200, 404), (path, status, body)
            assert status == 200 or "error" in body
        else:
            request = urllib.request.Request(url, data=b"{}", method=next(iter(operations)).upper())
            request.add_header("Content-Type", "application/json")
            request.add_header("Authorization", f"Bearer {token}")
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=30)
            # A read token may not write: refused before anything is parsed.
            assert refused.value.code == 403, path
            # With a write token an empty body is answered too, never with a server error.
            request.add_header("Authorization", f"Bearer {write_token}")
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
                assert "error" in json.loads(error.read()), path
            assert status < 500, (path, status)


def test_docs_page_is_served(live_server, db):
    with urllib.request.urlopen(f"{live_server.url}/api/v1/docs/", timeout=30) as response:
        page = response.read().decode()
    assert "swagger-ui" in page and "openapi.json" in page
