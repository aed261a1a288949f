"""Rows that are evidence: revisions, document history, audit events, incident timelines.

Once written they never change. The model refuses save() on an existing row
and delete(); its QuerySet refuses update(), delete() and bulk_update(). A
correction is a new row that says what it corrects.

Deleting a whole never-used runbook (Runbook.delete_if_unused) still removes
its revisions and history: Django's deletion cascade goes through each model's
plain base manager and raw SQL deletes, not through these guards, and that
function is the only place that starts such a cascade on purpose.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class ImmutableRow(ValueError):
    """A write that would change or remove an append-only row; nothing was written."""


def _refusal(model: type[models.Model]) -> ImmutableRow:
    name = str(model._meta.verbose_name_plural).capitalize()
    return ImmutableRow(f"{name} are append-only: record a correction as a new row instead.")


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise _refusal(self.model)

    update.alters_data = True  # type: ignore[attr-defined]

    def update_derived(self, **kwargs: Any) -> int:
        """Rewrite only columns derived from the row's own content (the model's DERIVED_FIELDS).

        Rendered HTML is re-made from the stored text after a sanitiser policy
        change; the text, numbers and authors it derives from stay as written.
        """
        if not kwargs or not set(kwargs) <= getattr(self.model, "DERIVED_FIELDS", frozenset()):
            raise _refusal(self.model)
        return super().update(**kwargs)

    update_derived.alters_data = True  # type: ignore[attr-defined]

    def delete(self) -> tuple[int, dict[str, int]]:
        raise _refusal(self.model)

    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise _refusal(self.model)

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if kwargs.get("update_conflicts"):
            raise _refusal(self.model)
        return super().bulk_create(objs, *args, **kwargs)


class AppendOnlyModel(models.Model):
    """Abstract base: rows are inserted once and never changed or deleted one by one."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise _refusal(type(self))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise _refusal(type(self))
