"""Contacts beside the markdown export: one ``contacts.yml`` for every service and team.

Contacts belong to services and teams, not to runbooks, so they travel in
their own file next to the runbooks rather than in each runbook's front
matter. On import the file is the truth for every service and team it lists:
their contacts and escalation path are replaced (others are left alone), each
owner in one transaction with its row locked and an audit row, and only when
something differs, so a re-import of an unchanged export writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from django.db import transaction

from runbooks.models import AuditEvent, Service, Team

from .forms import ContactForm, EscalationFormSet
from .models import Contact, EscalationStep, bump_cache_version

FILE_NAME = "contacts.yml"
CONTACT_FIELDS = ("role", "name", "phone", "email", "chat_handle", "paging_url", "schedule_url")
STEP_FIELDS = ("wait_minutes", "who", "how")
HEADER = "# Who to call, per service and team: contacts and escalation paths.\n"
MAX_FILE_CHARS = 2_000_000


class ContactsFileProblem(ValueError):
    """The file cannot be imported as it is; the message says where and why."""


@dataclass
class OwnerEntry:
    kind: str  # "services" or "teams"
    name: str
    contacts: list[dict[str, Any]]
    steps: list[dict[str, Any]]


def _rows(owner: Service | Team) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    contacts = [
        {name: getattr(c, name) for name in CONTACT_FIELDS if getattr(c, name) not in ("", None)}
        for c in owner.contacts.all()
    ]
    steps = [
        {name: getattr(s, name) for name in STEP_FIELDS if getattr(s, name) != ""}
        for s in owner.escalation_steps.all()
    ]
    return contacts, steps


def _section(owners: Any) -> dict[str, Any]:
    section: dict[str, Any] = {}
    for owner in owners:
        contacts, steps = _rows(owner)
        if contacts or steps:
            entry: dict[str, Any] = {}
            if contacts:
                entry["contacts"] = contacts
            if steps:
                entry["escalation"] = steps
            section[owner.name] = entry
    return section


def export_text() -> str | None:
    """The file's text, or None when no service or team has contacts (no file then)."""
    prefetch = ("contacts", "escalation_steps")
    data = {
        "services": _section(Service.objects.order_by("name").prefetch_related(*prefetch)),
        "teams": _section(Team.objects.order_by("name").prefetch_related(*prefetch)),
    }
    data = {key: value for key, value in data.items() if value}
    if not data:
        return None
    return HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=200)


def _errors(form: Any) -> str:
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in form.errors.items())


def parse(text: str) -> list[OwnerEntry]:
    """Every owner in the file, each row checked by the browser's forms; ContactsFileProblem otherwise."""
    if len(text) > MAX_FILE_CHARS:
        raise ContactsFileProblem("the file is too large")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ContactsFileProblem(f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not set(data) <= {"services", "teams"}:
        raise ContactsFileProblem("expected a mapping with 'services' and/or 'teams'")
    entries = []
    for kind in ("services", "teams"):
        owners = data.get(kind) or {}
        if not isinstance(owners, dict):
            raise ContactsFileProblem(f"'{kind}' must map names to their contacts")
        for name, entry in owners.items():
            where = f"{kind} › {name}"
            if not isinstance(entry, dict) or not set(entry) <= {"contacts", "escalation"}:
                raise ContactsFileProblem(f"{where}: expected 'contacts' and/or 'escalation'")
            contacts = entry.get("contacts") or []
            steps = entry.get("escalation") or []
            if not isinstance(contacts, list) or not isinstance(steps, list):
                raise ContactsFileProblem(f"{where}: 'contacts' and 'escalation' are lists")
            if not str(name).strip() or len(str(name)) > 100:
                raise ContactsFileProblem(f"{where}: a name of 1 to 100 characters is needed")
            checked = []
            for number, row in enumerate(contacts, 1):
                form = ContactForm(row if isinstance(row, dict) else {})
                if not isinstance(row, dict) or not form.is_valid():
                    raise ContactsFileProblem(
                        f"{where}, contact {number}: {_errors(form) or 'not a mapping'}"
                    )
                checked.append({name: form.cleaned_data[name] for name in CONTACT_FIELDS})
            step_form = EscalationFormSet.form
            checked_steps = []
            for number, row in enumerate(steps, 1):
                form = step_form(row if isinstance(row, dict) else {})
                if not isinstance(row, dict) or not form.is_valid():
                    raise ContactsFileProblem(
                        f"{where}, escalation step {number}: {_errors(form) or 'not a mapping'}"
                    )
                checked_steps.append({name: form.cleaned_data[name] for name in STEP_FIELDS})
            entries.append(OwnerEntry(kind, str(name).strip(), checked, checked_steps))
    return entries


def _stored(owner: Service | Team) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    contacts = [{name: getattr(c, name) for name in CONTACT_FIELDS} for c in owner.contacts.all()]
    steps = [{name: getattr(s, name) for name in STEP_FIELDS} for s in owner.escalation_steps.all()]
    return contacts, steps


def import_entries(entries: list[OwnerEntry], *, by: Any, dry_run: bool = False) -> int:
    """Write the owners whose contacts differ (a dry run only counts them); returns how many."""
    changed = 0
    for entry in entries:
        model: type[Service] | type[Team] = Service if entry.kind == "services" else Team
        field = "service" if entry.kind == "services" else "team"
        if dry_run:
            existing = model.objects.filter(name__iexact=entry.name).first()
            if existing is None or _stored(existing) != (entry.contacts, entry.steps):
                changed += 1
            continue
        with transaction.atomic():
            owner = model.objects.filter(name__iexact=entry.name).first()
            if owner is None:
                owner = model.objects.create(name=entry.name)
            owner = model.objects.select_for_update().get(pk=owner.pk)
            if _stored(owner) == (entry.contacts, entry.steps):
                continue
            Contact.objects.filter(**{field: owner}).delete()
            EscalationStep.objects.filter(**{field: owner}).delete()
            Contact.objects.bulk_create(
                Contact(**{field: owner}, position=i, **row) for i, row in enumerate(entry.contacts)
            )
            EscalationStep.objects.bulk_create(
                EscalationStep(**{field: owner}, position=i, **row)
                for i, row in enumerate(entry.steps)
            )
            names = [str(c) for c in Contact.objects.filter(**{field: owner})]
            AuditEvent.record(by, "contacts.imported", owner, {"contacts": names})
            transaction.on_commit(bump_cache_version)
            changed += 1
    return changed
