"""Who is calling the JSON API: a bearer token, or else the browser session."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse

from fixit_runbooks import ratelimit
from fixit_runbooks.login_audit import record_failed_token
from runbooks.roles import has_role

from .models import ApiToken

TOKEN_FAILURE_WINDOW = 15 * 60


def json_error(message: str, status: int, **extra: Any) -> JsonResponse:
    response = JsonResponse({"error": message, **extra}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="fixit-runbooks"'
    return response


def api_role_required(
    role: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Like role_required, for JSON endpoints: token or session auth, errors as JSON."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_not_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in ("GET", "HEAD"):
                return json_error("Only GET is allowed here.", 405)
            header = request.headers.get("Authorization", "")
            if header:
                # Wrong tokens are counted per address; past the limit the address is refused unchecked.
                address = ratelimit.client_ip(request)
                if ratelimit.count("api-token", address, window=TOKEN_FAILURE_WINDOW) >= settings.API_TOKEN_FAILURES_ALLOWED:
                    return json_error("Too many invalid API tokens from this address: try again later.", 429)
                scheme, _, raw = header.partition(" ")
                token = (
                    ApiToken.objects.authenticate(raw.strip())
                    if scheme.lower() == "bearer"
                    else None
                )
                if token is None:
                    ratelimit.hit("api-token", address, limit=0, window=TOKEN_FAILURE_WINDOW)
                    record_failed_token(request)
                    return json_error("Invalid API token.", 401)
                token.touch()
                request.user = token.user
            elif not request.user.is_authenticated:
                return json_error(
                    "Authentication required: log in or send Authorization: Bearer <token>.", 401
                )
            if not has_role(request.user, role):
                return json_error(f"This needs the {role} role.", 403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
