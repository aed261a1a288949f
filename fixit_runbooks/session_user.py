"""A view may read the session's user with its own row, in one statement, and hand it here.

Django reads the user in a query of its own when `request.user` is first used.
A view that must read a row anyway (the runbook page) can read the user with
it: `claimed_user_pk` says which user the session names, and `adopt` accepts
the row read for it only when Django's `get_user` would have accepted the same
user without touching the session. Anything else (no login, another backend, a
session hash that needs a fallback secret or does not match, an inactive
user) is left to Django's own `request.user`, which logs out or rotates the
session as it always does.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from .auth_backends import RoleBackend

# Only sessions logged in through the password backend: others (single sign-on) may check more.
PASSWORD_BACKEND = f"{RoleBackend.__module__}.{RoleBackend.__qualname__}"


def claimed_user_pk(request: HttpRequest) -> Any | None:
    """The pk of the user this request's session names, if the caller may read it; else None."""
    if hasattr(request, "_cached_user"):
        return None  # already read (by a middleware): use request.user
    session = request.session
    if (
        session.get(BACKEND_SESSION_KEY) != PASSWORD_BACKEND
        or PASSWORD_BACKEND not in settings.AUTHENTICATION_BACKENDS
    ):
        return None
    if not session.get(HASH_SESSION_KEY):
        return None
    try:
        return get_user_model()._meta.pk.to_python(session[SESSION_KEY])
    except (KeyError, ValidationError):
        return None


def adopt(request: HttpRequest, user: Any) -> bool:
    """Make `user`, read for `claimed_user_pk(request)`, this request's user if the session proves it.

    False leaves `request.user` unread, for Django to read and check in full.
    """
    if user is None or str(user.pk) != str(request.session.get(SESSION_KEY)):
        return False
    if not RoleBackend().user_can_authenticate(user):
        return False
    if not constant_time_compare(
        request.session.get(HASH_SESSION_KEY) or "", user.get_session_auth_hash()
    ):
        return False
    request._cached_user = user  # type: ignore[attr-defined]  # what AuthenticationMiddleware's lazy user returns
    request.user = user
    return True
