"""Logging filters."""

import logging


class ClientErrorsOneLine(logging.Filter):
    """A refused request (403, 404, 429, …) is the client's mistake, not a bug:
    log it as one line, without the traceback Django attaches to PermissionDenied."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if (
            record.name in ("django.request", "django.security.csrf")
            and status
            and 400 <= status < 500
        ):
            record.exc_info = None
            record.exc_text = None
        return True
