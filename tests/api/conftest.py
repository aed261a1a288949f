from typing import Any

import pytest
from django.test import Client

from search.models import ApiToken, TokenScope


class TokenClient:
    """The Django test client with a bearer token and JSON bodies."""

    def __init__(self, raw: str):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw}"}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(path, params or {}, headers=self.headers)

    def send(self, method: str, path: str, body: Any = None, *, raw: str | None = None) -> Any:
        import json

        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return getattr(self.client, method)(
            path, data=data, content_type="application/json", headers=self.headers
        )

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.send("post", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.send("patch", path, body, **kwargs)


@pytest.fixture
def writer(editor: Any) -> TokenClient:
    return TokenClient(ApiToken.issue(editor, "tests", scope=TokenScope.WRITE)[1])


@pytest.fixture
def reader(editor: Any) -> TokenClient:
    return TokenClient(ApiToken.issue(editor, "tests")[1])
