"""Failed logins and lock-outs go to the log and to the audit trail; a login starts the idle clock.

Both the site's login page and the admin's authenticate through the same
backends, so one receiver covers them; API token failures are recorded by
``search.auth`` through ``record_failed_token``.
"""

import logging
import time
from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from runbooks.models import AuditEvent

from .middleware import IdleSessionTimeoutMiddleware
from .ratelimit import client_ip

logger = logging.getLogger("fixit_runbooks.security")


def _record(action: str, username: str, request: HttpRequest | None) -> None:
    address = client_ip(request) if request is not None else ""
    path = request.path if request is not None else ""
    logger.warning("%s: username=%r address=%s path=%s", action, username, address, path)
    AuditEvent.objects.create(
        actor=None,
        action=action,
        object_type="auth.user",
        object_id=username[:60],
        object_repr=username[:300],
        detail={"address": address, "path": path},
    )


@receiver(user_login_failed, dispatch_uid="fixit_audit_login_failed")
def record_failed_login(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    _record("login failed", str(credentials.get("username", "")), request)


@receiver(user_locked_out, dispatch_uid="fixit_audit_locked_out")
def record_lockout(
    sender: Any, request: HttpRequest | None = None, username: str | None = None, **kwargs: Any
) -> None:
    _record("login locked out", username or "", request)


@receiver(user_logged_in, dispatch_uid="fixit_idle_clock_starts")
def start_idle_clock(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    # Saved with the login's own session write, so the next page need not write it.
    if request is not None and hasattr(request, "session"):
        request.session[IdleSessionTimeoutMiddleware.KEY] = int(time.time())


def record_failed_token(request: HttpRequest) -> None:
    _record("api token refused", "", request)
