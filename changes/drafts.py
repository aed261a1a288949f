"""Private editor drafts: saved every few seconds of typing, offered back when the editor reopens.

A draft lives 30 days after its last keystroke; expired ones are removed
whenever drafts are read, so no scheduled job is needed for them to vanish.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from runbooks import diffs
from runbooks.models import Runbook

from .models import Draft

DRAFT_LIFETIME = dt.timedelta(days=30)
MAX_DRAFT_CHARS = 500_000


class DraftRefused(ValueError):
    """The draft could not be kept (unknown runbook, too long); nothing was written."""


def key_for(runbook: Runbook | None, kind: str = "") -> str:
    return f"runbook:{runbook.pk}" if runbook is not None else f"new:{kind}"


def purge_expired(now: dt.datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - DRAFT_LIFETIME
    deleted, _ = Draft.objects.filter(updated_at__lt=cutoff).delete()
    return deleted


def save(user: Any, *, key: str, body: str, base_revision: int | None) -> Draft:
    """Keep (or replace) this person's draft for `key`."""
    if len(body) > MAX_DRAFT_CHARS:
        raise DraftRefused(f"Drafts are limited to {MAX_DRAFT_CHARS} characters.")
    runbook = None
    if key.startswith("runbook:"):
        pk = key.removeprefix("runbook:")
        runbook = Runbook.objects.filter(pk=int(pk)).first() if pk.isdigit() else None
        if runbook is None:
            raise DraftRefused("That runbook does not exist.")
    elif not key.startswith("new:") or len(key) > 60:
        raise DraftRefused("Unknown draft.")
    with transaction.atomic():
        draft, _created = Draft.objects.update_or_create(
            user=user,
            key=key,
            defaults={
                "runbook": runbook,
                "body": body.replace("\r\n", "\n"),
                "base_revision": base_revision,
                "updated_at": timezone.now(),
            },
        )
    return draft


def discard(user: Any, key: str) -> None:
    if getattr(user, "is_authenticated", False):
        Draft.objects.filter(user=user, key=key).delete()


def offer(request: HttpRequest, *, key: str, current: str) -> dict[str, Any]:
    """What the editor page shows of a kept draft; "initial" holds the form values when restoring."""
    purge_expired()
    context: dict[str, Any] = {"draft_key": key}
    draft = Draft.objects.filter(user__pk=request.user.pk or 0, key=key).first()
    if draft is None or draft.body == current:
        return context
    if request.GET.get("draft") == "restore":
        initial: dict[str, Any] = {"body": draft.body}
        if draft.base_revision is not None:
            initial["base_revision"] = draft.base_revision
        context.update(initial=initial, draft_restored=draft)
        return context
    context.update(draft=draft, draft_lines=diffs.inline(current, draft.body))
    return context
