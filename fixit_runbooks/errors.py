"""Error pages that say what went wrong in words a person understands."""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def error_response(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    if request.path.startswith(("/api/", "/hooks/")):
        return JsonResponse({"error": message}, status=status)
    return render(
        request, "error.html", {"title": title, "message": message, "status": status}, status=status
    )


def bad_request(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return error_response(
        request,
        400,
        "Bad request",
        str(exception) if exception else "The request could not be understood.",
    )


def permission_denied(request: HttpRequest, exception: Any = None) -> HttpResponse:
    message = (
        str(exception) if exception and str(exception) else "You do not have permission to do this."
    )
    return error_response(request, 403, "Not allowed", message)


def page_not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return error_response(
        request, 404, "Not found", "There is nothing at this address. Try the search box."
    )


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(
        request,
        500,
        "Something broke",
        "The error was logged. Try again, or use the offline export.",
    )
