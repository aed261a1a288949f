"""Who is calling the JSON API: a bearer token, or else the browser session."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse

from runbooks.roles import has_role

from .models import ApiToken


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
                scheme, _, raw = header.partition(" ")
                token = (
                    ApiToken.objects.authenticate(raw.strip())
                    if scheme.lower() == "bearer"
                    else None
                )
                if token is None:
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
