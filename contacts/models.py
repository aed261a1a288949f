"""Who to call for a service or a team: structured contacts and an escalation path.

Each row belongs to exactly one service or one team. Pages show them for a
runbook's services and team, and for an incident's services and the teams of
its runbooks. A change bumps one cache version so cached panels never go stale.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db import models
from django.db.models import Q

from fixit_runbooks.constraints import exactly_one_of
from runbooks.models import Service, Team

CACHE_VERSION_KEY = "contacts:version"


def cache_version() -> str:
    # A fresh value when the entry is missing, so an evicted version never revives old fragments.
    return str(cache.get_or_set(CACHE_VERSION_KEY, time.time_ns, None))


def bump_cache_version() -> None:
    cache.set(CACHE_VERSION_KEY, time.time_ns(), None)


class ContactRole(models.TextChoices):
    PRIMARY = "primary", "Primary on-call"
    SECONDARY = "secondary", "Secondary on-call"
    MANAGER = "manager", "Escalation manager"
    VENDOR = "vendor", "Vendor support"


class OwnedQuerySet(models.QuerySet[Any]):
    def for_owners(self, services: Iterable[int], teams: Iterable[int]) -> OwnedQuerySet:
        return self.filter(Q(service__in=list(services)) | Q(team__in=list(teams))).select_related(
            "service", "team"
        )


class Contact(models.Model):
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.CASCADE, related_name="contacts"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="contacts"
    )
    role = models.CharField(max_length=10, choices=ContactRole.choices, default=ContactRole.PRIMARY)
    name = models.CharField(max_length=100, help_text="A person, a rota or a vendor.")
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    chat_handle = models.CharField(
        max_length=100, blank=True, help_text="e.g. @payments-oncall or #payments"
    )
    paging_url = models.URLField("paging link", max_length=500, blank=True)
    schedule_url = models.URLField("schedule URL", max_length=500, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        constraints = [exactly_one_of("service", "team", name="contact_has_one_owner")]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.name}"


class EscalationStep(models.Model):
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.CASCADE, related_name="escalation_steps"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="escalation_steps"
    )
    position = models.PositiveSmallIntegerField(default=0)
    wait_minutes = models.PositiveIntegerField(
        "wait (minutes)",
        default=0,
        help_text="How long without an answer before this step; 0 for the first.",
    )
    who = models.CharField(
        max_length=200, help_text="e.g. Primary on-call, or the escalation manager"
    )
    how = models.CharField(
        max_length=300, blank=True, help_text="e.g. page via the paging link, then phone"
    )

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        constraints = [exactly_one_of("service", "team", name="escalation_step_has_one_owner")]

    def __str__(self) -> str:
        return f"{self.position}. {self.who} after {self.wait_minutes} min"
