"""The editor's render budget at the view boundary: a rate per user, and a
refusal with a message instead of a 500 when a body is too complex to render."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.html import format_html

from fixit_runbooks.errors import error_response
from fixit_runbooks.ratelimit import rate_limited

from .markdown import RenderTooComplex

View = Callable[..., HttpResponseBase]


def _refuse_too_complex(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except RenderTooComplex as refusal:
            # Raised before anything was written, or inside the save's transaction, which rolled back.
            if getattr(request, "htmx", False):
                # The live preview swaps only 2xx answers: show the reason where the preview would be.
                return HttpResponse(
                    format_html('<p class="render-refused" role="alert">{}</p>', str(refusal))
                )
            return error_response(request, 400, "Too complex to render", str(refusal))

    return wrapped


def preview_budget(view: View) -> View:
    """For the live preview: PREVIEWS_PER_MINUTE per user, refusals as a message."""
    return rate_limited("preview", lambda: settings.PREVIEWS_PER_MINUTE, "previews")(
        _refuse_too_complex(view)
    )


def save_budget(view: View) -> View:
    """For create and edit: SAVES_PER_MINUTE posts per user, refusals as a 400 with the message."""
    return rate_limited("save", lambda: settings.SAVES_PER_MINUTE, "saves")(
        _refuse_too_complex(view)
    )
