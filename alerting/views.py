"""Webhooks in: Alertmanager and Grafana post alert groups here with a bearer token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from runbooks.roles import EDITOR, has_role
from search.auth import json_error
from search.models import ApiToken, TokenScope

from .payloads import (
    MalformedNotification,
    Notification,
    decode_body,
    parse_alertmanager,
    parse_grafana,
)
from .services import receive


def _hook(parse: Callable[[dict[str, Any]], Notification]) -> Callable[[HttpRequest], HttpResponse]:
    @csrf_exempt
    @login_not_required
    def view(request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            response = json_error("Only POST is allowed here.", 405)
            response["Allow"] = "POST"
            return response
        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return json_error(
                "Send Authorization: Bearer <token> "
                "(python manage.py create_api_token USERNAME --scope write).",
                401,
            )
        token = ApiToken.objects.authenticate(raw.strip())
        if token is None:
            return json_error("Invalid API token.", 401)
        # Declaring incidents is an editor's right; a viewer's token may search but not page people.
        if not has_role(token.user, EDITOR):
            return json_error("The token's user needs the editor role to declare incidents.", 403)
        # A read token handed to a dashboard must not be able to page people, whoever owns it.
        if not token.allows(TokenScope.WRITE):
            return json_error(
                "This token has the read scope; declaring incidents needs a write token "
                "(python manage.py create_api_token USERNAME --scope write).",
                403,
            )
        token.touch()
        try:
            note = parse(decode_body(request.body))
        except RequestDataTooBig:
            return json_error("The body is too large.", 413)
        except MalformedNotification as exc:
            return json_error(str(exc), 400)
        outcome = receive(note, by=token.user)
        incidents = []
        if outcome.incident is not None:
            incidents.append(
                {
                    "number": outcome.incident.number,
                    "url": request.build_absolute_uri(outcome.incident.get_absolute_url()),
                    "created": outcome.created,
                    "runbooks": outcome.runbook_slugs,
                }
            )
        return JsonResponse({"incidents": incidents}, status=201 if outcome.created else 200)

    return view


alertmanager_hook = _hook(parse_alertmanager)
grafana_hook = _hook(parse_grafana)
