"""A deterministic, realistic demo library: the same N runbooks on every run.

Small libraries go through the model methods (several revisions and history
entries each, exactly as the UI would write them). Large ones, for benchmarks,
are bulk-written: each body shape is rendered once with placeholder words,
and the placeholders are swapped in the stored HTML.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape
from django.utils.text import slugify

from . import shapes, signals
from .markdown import render
from .models import (
    CADENCE_DELTAS,
    AlertName,
    Category,
    HistoryEntry,
    HistoryTrigger,
    Kind,
    ReviewCadence,
    Revision,
    Runbook,
    Service,
    Severity,
    Tag,
    Team,
)
from .roles import ROLE_NAMES

DEMO_USERS = (
    # username, role, password
    ("admin", "admin", "admin-demo-pass"),
    ("rhea.reviewer", "reviewer", "reviewer-demo-pass"),
    ("eddie.editor", "editor", "editor-demo-pass"),
    ("omar.oncall", "editor", "oncall-demo-pass"),
    ("vera.viewer", "viewer", "viewer-demo-pass"),
)

TEAMS = ("Platform", "Payments", "Data", "Identity", "Storefront", "SRE")
SERVICES = (
    "checkout-api", "payments-gateway", "orders-db", "search-index", "auth-service", "edge-proxy",
    "kafka-cluster", "redis-cache", "billing-worker", "image-resizer", "notification-service", "ledger-db",
)
PROBLEMS = (
    # (title pattern, alert pattern, category, symptom words, fix words)
    ("{svc} high latency", "{Svc}HighLatency", Category.PERFORMANCE,
     "p99 latency above 2 seconds, slow page loads, request timeouts", "scale out replicas and shed load"),
    ("{svc} error rate spike", "{Svc}HighErrorRate", Category.SERVICE,
     "HTTP 5xx responses above 5 percent, users see error pages", "roll back the last deploy"),
    ("{svc} disk almost full", "{Svc}DiskAlmostFull", Category.MAINTENANCE,
     "filesystem usage above 90 percent, writes failing with no space left on device", "expand the volume and prune old logs"),
    ("{svc} replication lag", "{Svc}ReplicationLag", Category.DATABASE,
     "replica lag above 60 seconds, stale reads, read-after-write inconsistencies", "pause heavy batch jobs and resync the replica"),
    ("{svc} certificate expiry", "{Svc}CertificateExpiringSoon", Category.SECURITY,
     "TLS certificate expires in under 7 days, handshake failures", "rotate the certificate through the issuer"),
    ("{svc} pods crash looping", "{Svc}PodCrashLooping", Category.SERVICE,
     "pods restarting repeatedly, CrashLoopBackOff, OOMKilled containers", "raise memory limits and fix the bad config"),
    ("{svc} connection pool exhausted", "{Svc}ConnectionPoolExhausted", Category.DATABASE,
     "too many connections, clients waiting for a connection, timeouts", "restart the pooler and kill idle sessions"),
    ("{svc} data pipeline stalled", "{Svc}PipelineStalled", Category.DATA,
     "consumer lag growing, no new rows in the warehouse, stale dashboards", "restart the consumer group from the last offset"),
    ("{svc} memory leak", "{Svc}MemoryHigh", Category.PERFORMANCE,
     "resident memory climbing steadily, garbage collection pauses, swapping", "rolling restart and capture a heap profile"),
    ("{svc} suspicious login burst", "{Svc}AuthFailuresHigh", Category.SECURITY,
     "spike of failed logins from few addresses, credential stuffing", "block the source ranges and force password resets"),
)
PROCEDURES = (
    ("Rotate {svc} credentials", Category.SECURITY, Kind.PROCEDURE),
    ("Deploy {svc} to production", Category.OPERATIONAL, Kind.PROCEDURE),
    ("Fail over {svc} to the standby region", Category.INCIDENT_RESPONSE, Kind.GUARDRAIL),
    ("{svc} service overview", Category.SERVICE, Kind.SERVICE),
    ("Restore {svc} from backup", Category.DATABASE, Kind.PROCEDURE),
    ("Scale {svc} for a traffic peak", Category.OPERATIONAL, Kind.GUARDRAIL),
)
AUDIENCES = ("On-call SRE", "Release manager", "Incident commander", "Database on-call", "Security on-call")


@dataclass(frozen=True)
class DemoRunbook:
    title: str
    slug: str
    kind: str
    category: str
    severity: str
    summary: str
    audience: str
    body: str
    alert: str
    service: str
    team: str
    cadence: str
    tags: tuple[str, ...]


def _camel(service: str) -> str:
    return "".join(part.capitalize() for part in service.split("-"))


def incident_body(svc: str, alert: str, symptoms: str, fix: str, severity: str) -> str:
    return f"""## Symptoms

- Alert `{alert}` is firing for **{svc}**.
- {symptoms.capitalize()}.

## Impact

- **Severity:** {severity}
- **Affected users:** customers using {svc}
- **Business impact:** degraded {svc} means lost orders and support tickets

## Detection

- **Alert name:** `{alert}`
- **Dashboard:** Grafana › {svc} › Overview
- **Log patterns:** `level=error service={svc}`

## Diagnosis

1. Confirm the alert on the dashboard and note the start time.
2. Check recent deploys of {svc}:

   ```bash
   kubectl -n {svc} rollout history deployment/{svc}
   ```

3. Look at the error logs:

   ```bash
   kubectl -n {svc} logs deploy/{svc} --since=15m | grep -i error
   ```

## Resolution

### Immediate actions

1. {fix.capitalize()}.
2. Post an update in the incident channel.

### Root-cause fix

1. Open a ticket with the timeline and the graphs.

## Verification

- [ ] `{alert}` has resolved
- [ ] Error rate and latency back to baseline for 15 minutes
- [ ] Status page updated

## Rollback

1. If the mitigation made things worse, undo it:

   ```bash
   kubectl -n {svc} rollout undo deployment/{svc}
   ```

## Escalation

| level | who | when |
| --- | --- | --- |
| L1 | on-call engineer | immediately |
| L2 | {svc} owners | after 30 minutes |
| On-call manager | incident commander | {severity} or user impact |
"""


def build_specs(count: int) -> list[DemoRunbook]:
    rng = random.Random(20251125)
    specs: list[DemoRunbook] = []
    seen: set[str] = set()
    i = 0
    while len(specs) < count:
        svc = SERVICES[i % len(SERVICES)]
        round_no = i // (len(SERVICES) * (len(PROBLEMS) + len(PROCEDURES)))
        suffix = f" ({round_no + 1})" if round_no else ""
        slot = (i // len(SERVICES)) % (len(PROBLEMS) + len(PROCEDURES))
        team = TEAMS[(i // 3) % len(TEAMS)]
        cadence = (ReviewCadence.WEEKLY, ReviewCadence.MONTHLY, ReviewCadence.QUARTERLY)[rng.randrange(3)]
        if slot < len(PROBLEMS):
            title_p, alert_p, category, symptoms, fix = PROBLEMS[slot]
            severity = (Severity.P0, Severity.P1, Severity.P2, Severity.P3)[rng.randrange(4)]
            alert = alert_p.format(Svc=_camel(svc)) + (str(round_no + 1) if round_no else "")
            title = title_p.format(svc=svc).capitalize() + suffix
            body = incident_body(svc, alert, symptoms, fix, severity)
            summary = f"{symptoms.capitalize()} on {svc}: how to confirm it, mitigate it and verify the fix."
            kind = Kind.INCIDENT
        else:
            title_p, category, kind = PROCEDURES[slot - len(PROBLEMS)]
            severity = Severity.P2 if kind != Kind.GUARDRAIL else Severity.P1
            alert = ""
            title = title_p.format(svc=svc) + suffix
            body = shapes.TEMPLATES[kind].replace("service.internal", f"{svc}.internal").replace("example", svc)
            summary = f"{title} step by step, with the exact commands and how to verify."
        slug = _slug(title, seen)
        specs.append(
            DemoRunbook(
                title=title, slug=slug, kind=kind, category=category, severity=severity, summary=summary,
                audience=AUDIENCES[rng.randrange(len(AUDIENCES))], body=body, alert=alert, service=svc,
                team=team, cadence=cadence, tags=(category.replace("-", " ").split()[0], svc.split("-")[0]),
            )
        )
        i += 1
    return specs


def _slug(title: str, seen: set[str]) -> str:
    base = slugify(title)[:180]
    slug, n = base, 2
    while slug in seen:
        slug, n = f"{base}-{n}", n + 1
    seen.add(slug)
    return slug


def ensure_users() -> dict[str, Any]:
    User = get_user_model()
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in ROLE_NAMES}
    users = {}
    for username, role, password in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com", "is_staff": role == "admin"}
        )
        if created:
            user.set_password(password)
            user.is_superuser = role == "admin"
            user.save()
        user.groups.add(groups[role])
        users[username] = user
    return users


def seed(count: int, *, detailed_limit: int = 300, with_usage: bool = False) -> int:
    """Create `count` demo runbooks (skipping slugs that exist). Returns how many were created.

    With `with_usage`, a few demo incidents and drills use them (what `seed_demo` loads).
    """
    users = ensure_users()
    teams = {name: Team.objects.get_or_create(name=name)[0] for name in TEAMS}
    specs = build_specs(count)
    existing = set(Runbook.objects.filter(slug__in=[s.slug for s in specs]).values_list("slug", flat=True))
    specs = [s for s in specs if s.slug not in existing]
    if count <= detailed_limit:
        detailed = [_seed_detailed(spec, n, users, teams) for n, spec in enumerate(specs)]
        if with_usage:
            _seed_usage(detailed, users)
    else:
        _seed_bulk(specs, users, teams)
    return len(specs)


def _seed_detailed(spec: DemoRunbook, n: int, users: dict[str, Any], teams: dict[str, Team]) -> Runbook:
    editors = [users["eddie.editor"], users["omar.oncall"], users["rhea.reviewer"]]
    now = timezone.now()
    # A spread of review states so the dashboard and reminders have something to show;
    # every version is dated before the sign-off that approves it.
    reviewed = now - dt.timedelta(days=(n * 7) % 120)
    reviewed_day = timezone.localdate(reviewed)
    with transaction.atomic():
        runbook = Runbook.create_with_revision(
            author=editors[n % 3], body=spec.body, change_summary="First version, written after the last incident",
            title=spec.title, slug=spec.slug, kind=spec.kind, category=spec.category, severity=spec.severity,
            summary=spec.summary, audience=spec.audience, owner=editors[n % 2], team=teams[spec.team],
            review_cadence=spec.cadence, alert_names=[spec.alert] if spec.alert else [],
            services=[spec.service], tags=list(spec.tags), history_date=reviewed_day - dt.timedelta(days=30),
        )
        extra = spec.body + f"\n## Related\n\n- Dashboard: Grafana › {spec.service}\n"
        runbook.add_revision(
            author=editors[(n + 1) % 3], body=extra, change_summary="Link the service dashboard",
            history_date=reviewed_day - dt.timedelta(days=20),
        )
        if n % 2 == 0:
            runbook.add_revision(
                author=editors[(n + 2) % 3],
                body=extra.replace("15 minutes", "30 minutes"),
                change_summary="Longer soak time: 15 minutes hid a slow regression",
                history_date=reviewed_day - dt.timedelta(days=10),
            )
        Runbook.objects.filter(pk=runbook.pk).update(
            last_reviewed_at=reviewed,
            last_reviewed_by=users["rhea.reviewer"],
            next_review_due=reviewed + CADENCE_DELTAS[spec.cadence],
        )
        HistoryEntry.objects.create(
            runbook=runbook, date=reviewed_day, trigger=HistoryTrigger.REVIEW,
            summary="Reviewed: still accurate", reviewer=users["rhea.reviewer"].get_username(),
            reviewer_user=users["rhea.reviewer"], version=runbook.version,
        )
    return runbook


DEMO_INCIDENTS = 6
DEMO_DRILLS = 3


def _seed_usage(runbooks: list[Runbook], users: dict[str, Any]) -> None:
    """A few real incidents and drills that used demo runbooks, through the incidents app's own actions.

    Their history rows name records that exist (INC-…, DR-…), so the document
    history links to them. Demo data is the one place the library reaches into
    the incidents app, by app label, so the library's code never depends on it.
    """
    if not apps.is_installed("incidents"):
        return
    incident_model = apps.get_model("incidents", "Incident")
    drill_model = apps.get_model("incidents", "Drill")
    oncall = users["omar.oncall"]
    followed = [r for r in runbooks if r.kind == "incident"][:DEMO_INCIDENTS]
    for n, runbook in enumerate(followed):
        incident = incident_model.open_incident(
            by=oncall, title=f"{runbook.title}: alert fired in production", severity=runbook.severity
        )
        attachment = incident.attach_runbook(runbook, by=oncall)
        for step in attachment.steps[: 2 + n % 3]:
            attachment.record_step(step.key, "done", by=oncall)
        if n % 2 == 0:
            incident.resolve(oncall, resolution="Followed the runbook; service recovered.")
    for runbook in runbooks[:DEMO_DRILLS]:
        drill_model.record(
            by=users["eddie.editor"], runbooks=[runbook], date=timezone.localdate(),
            participants="eddie.editor, omar.oncall", outcome="passed",
        )


def _seed_bulk(specs: list[DemoRunbook], users: dict[str, Any], teams: dict[str, Team], batch: int = 2000) -> None:
    owners = [users["eddie.editor"], users["omar.oncall"], users["rhea.reviewer"]]
    services = {name: Service.objects.get_or_create(name=name)[0] for name in {s.service for s in specs}}
    tags = {name: Tag.objects.get_or_create(name=name)[0] for name in {t for s in specs for t in s.tags}}
    rendered_cache: dict[str, tuple[str, list[Any], list[str]]] = {}
    now = timezone.now()
    for start in range(0, len(specs), batch):
        chunk = specs[start : start + batch]
        with transaction.atomic():
            runbooks = []
            for n, spec in enumerate(chunk, start):
                reviewed = now - dt.timedelta(days=(n * 7) % 120, hours=n % 24)
                runbooks.append(
                    Runbook(
                        title=spec.title, slug=spec.slug, kind=spec.kind, category=spec.category,
                        severity=spec.severity, summary=spec.summary, audience=spec.audience,
                        owner=owners[n % 3], team=teams[spec.team], review_cadence=spec.cadence,
                        last_reviewed_at=reviewed, next_review_due=reviewed + CADENCE_DELTAS[spec.cadence],
                        created_at=now, updated_at=now,
                    )
                )
            Runbook.objects.bulk_create(runbooks)
            if not runbooks[0].pk:  # backends without RETURNING ids
                by_slug = dict(Runbook.objects.filter(slug__in=[r.slug for r in runbooks]).values_list("slug", "pk"))
                for r in runbooks:
                    r.pk = r.id = by_slug[r.slug]
            revisions = []
            for runbook, spec in zip(runbooks, chunk, strict=True):
                html, toc, missing = _render_cached(spec, rendered_cache)
                runbook.missing_sections = missing
                revisions.append(
                    Revision(
                        runbook=runbook, number=1, version="1.0", body=spec.body, body_html=html, toc=toc,
                        change_summary="Seeded", author=runbook.owner, created_at=now,
                    )
                )
            Revision.objects.bulk_create(revisions)
            if not revisions[0].pk:
                by_runbook = dict(
                    Revision.objects.filter(runbook__in=runbooks).values_list("runbook_id", "pk")
                )
                for rev in revisions:
                    rev.pk = rev.id = by_runbook[rev.runbook_id]
            for runbook, rev in zip(runbooks, revisions, strict=True):
                runbook.current_revision = rev
            Runbook.objects.bulk_update(runbooks, ["current_revision", "missing_sections"])
            HistoryEntry.objects.bulk_create(
                HistoryEntry(runbook=r, revision=rev, date=now.date(), trigger=HistoryTrigger.CHANGE,
                             summary="Seeded", version="1.0", created_by=r.owner)
                for r, rev in zip(runbooks, revisions, strict=True)
            )
            AlertName.objects.bulk_create(
                AlertName(runbook=r, name=s.alert, name_lower=s.alert.lower())
                for r, s in zip(runbooks, chunk, strict=True)
                if s.alert
            )
            Runbook.services.through.objects.bulk_create(
                Runbook.services.through(runbook_id=r.pk, service_id=services[s.service].pk)
                for r, s in zip(runbooks, chunk, strict=True)
            )
            Runbook.tags.through.objects.bulk_create(
                Runbook.tags.through(runbook_id=r.pk, tag_id=tags[t].pk)
                for r, s in zip(runbooks, chunk, strict=True)
                for t in s.tags
            )
            signals.runbooks_bulk_changed.send(sender=Runbook, runbook_ids=[r.pk for r in runbooks])


def _render_cached(spec: DemoRunbook, cache: dict[str, tuple[str, list[Any], list[str]]]) -> tuple[str, list[Any], list[str]]:
    """Render each body shape once; bodies differ only by service, alert and severity words."""
    placeholders = {spec.service: "svcplaceholder", spec.alert or "\0": "alertplaceholder", spec.severity: "sevplaceholder"}
    shape = spec.body
    for value, token in placeholders.items():
        if value != "\0":
            shape = shape.replace(value, token)
    key = f"{spec.kind}:{shape}"
    if key not in cache:
        rendered = render(shape)
        cache[key] = (
            rendered.html,
            [list(entry) for entry in rendered.toc],
            shapes.missing_sections(spec.kind, rendered.headings),
        )
    html, toc, missing = cache[key]
    for value, token in placeholders.items():
        if value != "\0":
            html = html.replace(token, escape(value))
            toc = [[level, anchor.replace(token, value), text.replace(token, value)] for level, anchor, text in toc]
    return html, toc, missing
