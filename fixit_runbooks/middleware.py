"""Security headers Django 5.2 does not set itself, the login requirement and the idle session timeout."""

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse


class ContentSecurityPolicyMiddleware:
    """Scripts only from our own static files: a script that slipped past the
    markdown sanitiser still would not run. Styles allow inline attributes
    because rendered tables align cells with style="text-align: …"."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy and not request.path.startswith("/admin/"):
            response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's, except that a view marked `login_not_required` is passed before
    `request.user` is read: the runbook page reads its viewer with its own row."""

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponseBase | None:
        if not getattr(view_func, "login_required", True):
            return None
        response: HttpResponseBase | None = super().process_view(request, view_func, view_args, view_kwargs)
        return response


class IdleSessionTimeoutMiddleware:
    """Log out a browser that has been idle longer than SESSION_IDLE_TIMEOUT.

    The last-seen time is written at most once a minute, so an active user's
    pages do not each save the session. It goes by the session's login, not
    `request.user`, so the user is still unread when the view runs: the runbook
    page reads it with its own row.
    """

    KEY = "last_seen"
    WRITE_EVERY = 60

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.get(SESSION_KEY) is not None:
            now = int(time.time())
            last_seen = session.get(self.KEY)
            if isinstance(last_seen, int) and now - last_seen > settings.SESSION_IDLE_TIMEOUT:
                logout(request)
                if request.path_info != reverse("login"):
                    return redirect_to_login(request.get_full_path())
            elif not isinstance(last_seen, int) or now - last_seen >= self.WRITE_EVERY:
                session[self.KEY] = now
        return self.get_response(request)
