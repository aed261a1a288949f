"""Check constraints several apps share."""

from __future__ import annotations

from django.db import models


def exactly_one_of(first: str, second: str, *, name: str) -> models.CheckConstraint:
    """A row points at `first` or at `second`, never both and never neither."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{first}__isnull": False, f"{second}__isnull": True})
        | models.Q(**{f"{first}__isnull": True, f"{second}__isnull": False}),
        name=name,
    )
