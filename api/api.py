"""The JSON API at /api/v1/, built with django-ninja: its OpenAPI schema comes from the type hints.

Every error is JSON with an "error" sentence a person understands; input
that does not fit the schema is a 400 naming the field, never a 500.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from . import incident_endpoints, runbook_endpoints
from .auth import ApiError

api = NinjaAPI(
    title="FixIt Runbooks API",
    version="1",
    description=(
        "Runbooks, incidents, drills and search. Send `Authorization: Bearer <token>` from "
        "`python manage.py create_api_token USERNAME [--scope write]`."
    ),
    urls_namespace="api_v1",
    docs_url="/docs/",
    openapi_url="/openapi.json",
)
api.add_router("", runbook_endpoints.router)
api.add_router("", incident_endpoints.router)
api.add_router("", incident_endpoints.drills)
api.add_router("", incident_endpoints.searching)


def error_response(request: HttpRequest, status: int, message: str, **extra: Any) -> HttpResponse:
    response = api.create_response(request, {"error": message, **extra}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="fixit-runbooks"'
    return response


@api.exception_handler(ApiError)
def refused(request: HttpRequest, exc: ApiError) -> HttpResponse:
    response = error_response(request, exc.status, exc.message, **exc.extra)
    if "retry_after" in exc.extra:
        response["Retry-After"] = str(exc.extra["retry_after"])
    return response


def _field_message(error: dict[str, Any]) -> str:
    where = ".".join(
        str(part)
        for part in error.get("loc", ())
        if part not in ("body", "payload", "query", "filters", "page")
    )
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))


@api.exception_handler(ValidationError)
def invalid_input(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = list(exc.errors)
    message = (
        "; ".join(_field_message(e) for e in errors[:5]) or "The request does not fit the schema."
    )
    detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in errors]
    return error_response(request, 400, f"Invalid request: {message}.", detail=detail)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    message = str(exc)
    if message == "Cannot parse request body":
        message = "The request body is not valid JSON."
    return error_response(request, exc.status_code, message)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "There is no such API endpoint; see /api/v1/docs/.")
