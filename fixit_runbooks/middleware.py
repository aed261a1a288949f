"""Security headers Django 5.2 does not set itself, and the idle session timeout."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
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


class IdleSessionTimeoutMiddleware:
    """Log out a browser that has been idle longer than SESSION_IDLE_TIMEOUT.

    The last-seen time is written at most once a minute, so an active user's
    pages do not each save the session.
    """

    KEY = "last_seen"
    WRITE_EVERY = 60

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get(self.KEY)
            if isinstance(last_seen, int) and now - last_seen > settings.SESSION_IDLE_TIMEOUT:
                logout(request)
                if request.path_info != reverse("login"):
                    return redirect_to_login(request.get_full_path())
            elif not isinstance(last_seen, int) or now - last_seen >= self.WRITE_EVERY:
                request.session[self.KEY] = now
        return self.get_response(request)
