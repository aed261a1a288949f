"""Shapes shared by the endpoint modules: errors, users and labels by name."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from .auth import ApiError


def form_refused(what: str, form: forms.BaseForm) -> ApiError:
    """The form's own messages, the same a person sees in the browser, as a 400."""
    errors = form.errors.get_json_data()
    details = " ".join(
        (f"{name}: " if name != "__all__" else "") + " ".join(e["message"] for e in messages)
        for name, messages in errors.items()
    )
    return ApiError(400, f"{what} was not saved. {details}".strip(), fields=errors)


def plain(value: str, limit: int = 200) -> str:
    # PostgreSQL refuses NUL in text parameters; no name or slug contains one.
    return value.replace("\x00", "").strip()[:limit]


def user_pk(username: str | None, *, field: str) -> int | None:
    username = plain(username or "", 150)
    if not username:
        return None
    User = get_user_model()
    pk = (
        User.objects.filter(**{User.USERNAME_FIELD: username}, is_active=True)
        .values_list("pk", flat=True)
        .first()
    )
    if pk is None:
        raise ApiError(400, f"{field}: there is no active user named “{username}”.")
    return int(pk)


def username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
