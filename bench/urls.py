"""The project's URLs plus /bare/, the smallest Django view: the yardstick for page throughput."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import path

from fixit_runbooks.urls import handler400, handler403, handler404, handler500  # noqa: F401
from fixit_runbooks.urls import urlpatterns as project_urlpatterns


@login_not_required
def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def bare_logged_in(request: HttpRequest) -> HttpResponse:
    """The same smallest view behind Django's login check (the session, then the user's row).

    The runbook page makes the same check, reading the user with its own row.
    """
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bare/", bare, name="bench-bare"),
    path("bare-logged-in/", bare_logged_in, name="bench-bare-logged-in"),
    *project_urlpatterns,
]
