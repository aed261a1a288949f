"""Who is calling /api/v1/: a bearer token with a scope, counted per token.

Every request needs a token from `create_api_token USERNAME [--scope write]`;
the token's user must also hold the role the browser would ask for, so a
token can never do more than its owner.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from fixit_runbooks import ratelimit
from fixit_runbooks.login_audit import record_failed_token
from runbooks.roles import EDITOR, VIEWER, has_role
from search.auth import TOKEN_FAILURE_WINDOW
from search.models import ApiToken, TokenScope


class ApiError(Exception):
    """A refusal with the status and the sentence the caller reads."""

    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


class TokenAuth(HttpBearer):
    """Bearer token auth needing ``scope``; also applies the per-token rate limit."""

    def __init__(self, scope: str):
        super().__init__()
        self.scope = scope

    def __call__(self, request: HttpRequest) -> ApiToken:
        address = ratelimit.client_ip(request)
        if (
            ratelimit.count("api-token", address, window=TOKEN_FAILURE_WINDOW)
            >= settings.API_TOKEN_FAILURES_ALLOWED
        ):
            raise ApiError(429, "Too many invalid API tokens from this address: try again later.")
        header = request.headers.get("Authorization", "")
        if not header:
            raise ApiError(
                401,
                "Send Authorization: Bearer <token> (python manage.py create_api_token USERNAME).",
            )
        scheme, _, raw = header.partition(" ")
        token = ApiToken.objects.authenticate(raw.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            ratelimit.hit("api-token", address, limit=0, window=TOKEN_FAILURE_WINDOW)
            record_failed_token(request)
            raise ApiError(401, "Invalid API token.")
        if not ratelimit.hit(
            "api-v1",
            str(token.pk),
            limit=settings.API_RATE_LIMIT,
            window=settings.API_RATE_WINDOW,
        ):
            wait = ratelimit.seconds_left(settings.API_RATE_WINDOW)
            raise ApiError(
                429,
                f"This token made more than {settings.API_RATE_LIMIT} requests in "
                f"{settings.API_RATE_WINDOW} seconds; try again in {wait} seconds.",
                retry_after=wait,
            )
        if not token.allows(self.scope):
            raise ApiError(
                403,
                f"This token has the {token.scope} scope; this needs a {self.scope} token "
                "(create_api_token USERNAME --scope write).",
            )
        role = EDITOR if self.scope == TokenScope.WRITE else VIEWER
        if not has_role(token.user, role):
            raise ApiError(403, f"{token.user.get_username()} needs the {role} role for this.")
        token.touch()
        request.user = token.user
        return token

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        # __call__ does the whole check; ninja only needs this for the interface.
        return ApiToken.objects.authenticate(token)


read = TokenAuth(TokenScope.READ)
write = TokenAuth(TokenScope.WRITE)
