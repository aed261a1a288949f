"""Request types as this project's middleware leaves them, for view signatures."""

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """Every request once HtmxMiddleware has run."""

    htmx: HtmxDetails


class AuthenticatedHttpRequest(HttpRequest):
    """A request in a view behind role_required(): its user is signed in."""

    user: User
