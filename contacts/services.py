"""The one write path for a service's or team's contacts and escalation path."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.forms import BaseModelFormSet

from runbooks.models import AuditEvent, Service, Team

from .models import Contact, bump_cache_version


def save_contacts(
    owner: Service | Team,
    *,
    by: Any,
    contacts: BaseModelFormSet[Any, Any],
    steps: BaseModelFormSet[Any, Any],
) -> None:
    """Write valid formsets in form order (positions follow it); deleted rows go, empty extra rows are ignored."""
    field = "service" if isinstance(owner, Service) else "team"
    with transaction.atomic():
        type(owner).objects.select_for_update().get(pk=owner.pk)
        for formset in (contacts, steps):
            position = 0
            for form in formset.forms:
                if form.instance.pk is None and not form.has_changed():
                    continue
                if form.cleaned_data.get("DELETE"):
                    if form.instance.pk is not None:
                        form.instance.delete()
                    continue
                obj = form.save(commit=False)
                setattr(obj, field, owner)
                obj.position = position
                position += 1
                obj.save()
        names = [str(c) for c in Contact.objects.filter(**{field: owner})]
        AuditEvent.record(by, "contacts.changed", owner, {"contacts": names})
        transaction.on_commit(bump_cache_version)
