"""Deciding, without writing anything, what each file means for the library.

Matching rule: a file is the runbook imported earlier from the same
collection and relative path (ImportSource), never the runbook that happens to
have the same slug. Then:

* no runbook from that file yet: create one, under a slug no other runbook
  uses (ignoring case; reserved words avoided), adding the collection's name
  or a number when the file's own name is taken;
* the file's text is the text last imported: unchanged, nothing is written;
* the file changed and the runbook was not edited here since: update it;
* both changed: "changed in both"; applied only when the user chose the
  file's version (theirs), while "ours" keeps the library's text and
  remembers the file's, so the next import says unchanged.

Dry runs stop here, so they take no locks and write nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from dateutil import parser as date_parser
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from ..models import RESERVED_SLUGS, ImportSource, Runbook, Team
from .parsing import ParsedFile, first_paragraph, parse_date
from .report import CONFLICT, CREATED, OURS, THEIRS, UNCHANGED, UPDATED
from .values import (
    FM_ALERT_KEYS,
    FM_CADENCE_KEYS,
    FM_SUMMARY_KEYS,
    as_list,
    derived_alert_names,
    guess_kind,
    to_cadence,
    to_category,
    to_kind,
    to_severity,
)

_VERSION_RE = re.compile(r"^\d{1,4}\.\d{1,4}$")


@dataclass(frozen=True)
class TeamRef:
    """A team named by a file; found or created only when the import writes."""

    name: str


@dataclass
class Plan:
    """Field values a file states (explicit) and the defaults used only when creating."""

    fields: dict[str, Any]
    defaults: dict[str, Any]
    labels: dict[str, list[str]]
    version: str
    history_date: dt.date | None
    # Review clock and archive state, as an export wrote them.
    clock: dict[str, Any] = field(default_factory=dict)
    # Slugs of related runbooks, or None when the file does not say.
    related: list[str] | None = None


class Directory:
    """Users and teams looked up once per import (reads only; writing creates missing teams)."""

    def __init__(self) -> None:
        self.users: dict[str, Any] = {}
        self.teams: dict[str, Team | None] = {}

    def user(self, name: str) -> Any:
        key = name.strip().lstrip("@").lower()
        if key not in self.users:
            User = get_user_model()
            self.users[key] = (
                User.objects.filter(Q(username__iexact=key) | Q(email__iexact=key))
                .order_by("pk")
                .first()
            )
        return self.users[key]

    def find_team(self, name: str) -> Team | None:
        key = name.strip().lower()
        if key not in self.teams or self.teams[key] is None:
            self.teams[key] = Team.objects.filter(
                Q(name__iexact=name.strip()) | Q(slug=slugify(name))
            ).first()
        return self.teams[key]

    def team(self, name: str) -> Team:
        """The named team, created if missing: only called while writing."""
        team = self.find_team(name)
        if team is None or team.pk is None:
            team = Team.objects.create(name=name.strip()[:100])
            self.teams[name.strip().lower()] = team
        return team


def _datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        text = str(value or "").strip()
        if not text:
            return None
        try:
            moment = date_parser.isoparse(text)
        except ValueError:
            return None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, dt.UTC)


def _review_clock(
    front: dict[str, Any], directory: Directory, warnings: list[str]
) -> dict[str, Any]:
    clock: dict[str, Any] = {}
    for key, field_name in (
        ("last_reviewed_at", "last_reviewed_at"),
        ("next_review_due", "next_review_due"),
        ("archived", "archived_at"),
    ):
        if front.get(key) in (None, ""):
            continue
        moment = _datetime(front[key])
        if moment is None:
            warnings.append(f"unreadable {key.replace('_', ' ')} {str(front[key])!r}; ignored")
        else:
            clock[field_name] = moment
    reviewer = str(front.get("last_reviewed_by") or "").strip()
    if reviewer:
        user = directory.user(reviewer)
        if user is None:
            warnings.append(
                f"reviewer {reviewer!r} is not a user here; the last sign-off is kept without a name"
            )
        clock["last_reviewed_by"] = user
    return clock


def plan_for(item: ParsedFile, index_values: dict[str, str], directory: Directory) -> Plan:
    """What the file states about its runbook; reads users, writes nothing."""
    front, lines, warnings = item.front, item.lines, item.warnings
    fields: dict[str, Any] = {}
    defaults: dict[str, Any] = {}

    title = front.get("title")
    if title is not None and str(title).strip():
        fields["title"] = str(title).strip()[:200]
    else:
        h1 = next((text for level, text in item.headings if level == 1), "")
        fields["title"] = (h1 or _humanise(PurePosixPath(item.rel).stem))[:200]

    def stated(
        key: str, *front_keys: str, line_key: str | None = None, index_key: str | None = None
    ) -> tuple[bool, Any, str]:
        for fk in (key, *front_keys):
            if fk in front:
                return True, front[fk], "front matter"
        if line_key and line_key in lines:
            return True, lines[line_key], "the **" + line_key.replace("_", " ").title() + ":** line"
        if index_key and index_key in index_values:
            return True, index_values[index_key], "the README index"
        return False, None, ""

    for name, convert, extra_keys, line_key in (
        ("kind", to_kind, (), None),
        ("category", to_category, (), "category"),
        ("severity", to_severity, ("priority",), "severity"),
        ("review_cadence", to_cadence, FM_CADENCE_KEYS[1:], None),
    ):
        present, raw, source = stated(
            name,
            *extra_keys,
            line_key=line_key,
            index_key=name if name in ("category", "severity") else None,
        )
        if present and raw not in (None, ""):
            value = convert(raw)
            if value is None:
                warnings.append(
                    f"unknown {name.replace('_', ' ')} {str(raw)!r} in {source}; kept the default"
                )
            else:
                fields[name] = value
    if "kind" not in fields:
        defaults["kind"] = guess_kind([text for _, text in item.headings])

    present, raw, _ = stated(
        "audience",
        "primary audience",
        "primary_audience",
        line_key="audience",
        index_key="audience",
    )
    if present:
        fields["audience"] = str(raw or "").strip()[:200]

    present, raw, _ = stated("summary", *FM_SUMMARY_KEYS[1:], index_key="summary")
    if present:
        fields["summary"] = str(raw or "").strip()
    else:
        defaults["summary"] = first_paragraph(item.body)

    present, raw, source = stated("owner", line_key="owner")
    if present:
        name = str(raw or "").strip()
        user = directory.user(name) if name else None
        if name and user is None:
            # "**Owner:** Platform team" names a team more often than a login.
            if source != "front matter" and "team" not in front and "team" not in lines:
                fields["team"] = TeamRef(name)
                warnings.append(f"owner {name!r} is not a user here; recorded as the team")
            else:
                warnings.append(f"owner {name!r} is not a user here; left unassigned")
        elif not name or user is not None:
            fields["owner"] = user

    present, raw, _ = stated("team", line_key="team")
    if present:
        name = str(raw or "").strip()
        fields["team"] = TeamRef(name) if name else None

    labels: dict[str, list[str]] = {}
    fm_alerts = next((front[k] for k in FM_ALERT_KEYS if k in front), None)
    alerts = derived_alert_names(item.rel, item.headings) + as_list(fm_alerts)
    labels["alert_names"] = list(dict.fromkeys(a[:200] for a in alerts))
    if "services" in front or "service" in front or "services" in lines:
        raw_services = front.get("services", front.get("service", lines.get("services")))
        labels["services"] = [s[:100] for s in as_list(raw_services)]
    if "tags" in front:
        labels["tags"] = [t[:100] for t in as_list(front["tags"])]

    version = ""
    if front.get("version") not in (None, ""):
        candidate = str(front["version"]).strip()
        if _VERSION_RE.match(candidate):
            version = candidate
        else:
            warnings.append(f"version {candidate!r} is not MAJOR.MINOR; ignored")

    updated_raw = front.get(
        "last_updated", front.get("last updated", front.get("date", lines.get("last_updated")))
    )
    history_date = parse_date(updated_raw) if updated_raw else None
    if updated_raw and history_date is None:
        warnings.append(f"unreadable last-updated date {str(updated_raw)!r}; used today")
    related = as_list(front["related"]) if "related" in front else None
    return Plan(
        fields=fields,
        defaults=defaults,
        labels=labels,
        version=version,
        history_date=history_date,
        clock=_review_clock(front, directory, warnings),
        related=related,
    )


def _humanise(stem: str) -> str:
    words = re.sub(r"[-_]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else "Untitled runbook"


# --------------------------------------------------------------------------
# Slugs
# --------------------------------------------------------------------------


def _path_slug(parts: Iterable[str]) -> str:
    return slugify("-".join(parts))[:200].strip("-") or "runbook"


def wanted_slugs(parsed: list[ParsedFile]) -> None:
    """Front matter slug, else the file stem; same-named files in one folder tree get their folders as prefix."""
    derived: dict[str, list[ParsedFile]] = defaultdict(list)
    for item in parsed:
        explicit = item.front.get("slug")
        if explicit:
            slug = slugify(str(explicit))[:200]
            if slug != str(explicit):
                item.warnings.append(
                    f"front matter slug {explicit!r} is not a valid slug, used {slug!r}"
                )
            item.slug = slug or _path_slug((PurePosixPath(item.rel).stem,))
        else:
            parts = PurePosixPath(item.rel).with_suffix("").parts
            # "readme" or "index" alone says nothing: name such pages after their folder.
            generic = parts[-1].lower().strip("_") in ("readme", "index") and len(parts) > 1
            derived[_path_slug(parts[-2:] if generic else parts[-1:])].append(item)
    for base, items in derived.items():
        if len(items) == 1:
            items[0].slug = base
            continue
        for item in items:
            parts = PurePosixPath(item.rel).with_suffix("").parts
            depth = 2
            slug = _path_slug(parts[-depth:])
            while depth < len(parts) and any(
                _path_slug(PurePosixPath(o.rel).with_suffix("").parts[-depth:]) == slug
                for o in items
                if o is not item
            ):
                depth += 1
                slug = _path_slug(parts[-depth:])
            item.slug = slug


def free_slug(wanted: str, collection: str, taken: set[str]) -> str:
    """`wanted`, or it with the collection's name (then a number) added, whichever no runbook uses yet.

    `taken` holds lower-cased slugs and is updated, so two new files never get the same one.
    """
    suffix = slugify(collection)[:60] or "imported"
    base = wanted[: 200 - len(suffix) - 5]
    numbered = (f"{base}-{suffix}-{n}" for n in range(2, 10_000))
    for candidate in itertools.chain((wanted, f"{base}-{suffix}"), numbered):
        if candidate.lower() not in taken and candidate.lower() not in RESERVED_SLUGS:
            taken.add(candidate.lower())
            return candidate
    raise ValueError(f"no free slug for {wanted!r}")


def taken_slugs() -> set[str]:
    return set(Runbook.objects.annotate(lower=Lower("slug")).values_list("lower", flat=True))


# --------------------------------------------------------------------------
# Provenance: what the library looked like right after the last import
# --------------------------------------------------------------------------

HASHED_FIELDS = (
    "title",
    "slug",
    "summary",
    "kind",
    "category",
    "severity",
    "audience",
    "review_cadence",
)


def library_hash(runbook: Runbook) -> str:
    """A fingerprint of everything an editor can change on a runbook (text, details, labels).

    Expects alert_names, services and tags prefetched. Review sign-offs and
    history rows are not edits, and related runbooks are left out because the
    relation is symmetrical: linking A to B would otherwise look like an edit of B.
    """
    state = {
        **{name: getattr(runbook, name) for name in HASHED_FIELDS},
        "owner": runbook.owner_id,
        "team": runbook.team_id,
        "revision": runbook.current_revision_id,
        "alert_names": sorted(a.name for a in runbook.alert_names.all()),
        "services": sorted(s.name for s in runbook.services.all()),
        "tags": sorted(t.name for t in runbook.tags.all()),
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def runbooks_for_hashing() -> Any:
    return Runbook.objects.prefetch_related("alert_names", "services", "tags")


@dataclass
class Decision:
    item: ParsedFile
    text_hash: str
    action: str
    source: ImportSource | None = None
    reason: str = ""
    # For "ours": keep the library's text but remember the file's hash.
    remember_only: bool = False


def decide(
    parsed: list[ParsedFile],
    hashes: dict[str, str],
    collection: str,
    resolutions: dict[str, str | None],
) -> list[Decision]:
    """One Decision per parsed file, and each item's final slug; reads only."""
    sources: dict[str, ImportSource] = {}
    rels = [item.rel for item in parsed]
    for start in range(0, len(rels), 500):
        for found in ImportSource.objects.filter(
            collection=collection, path__in=rels[start : start + 500]
        ).select_related("runbook"):
            sources[found.path] = found
    changed = [s.runbook_id for s in sources.values() if s.text_hash != hashes[s.path]]
    current_hashes: dict[int, str] = {}
    for start in range(0, len(changed), 500):
        for runbook in runbooks_for_hashing().filter(pk__in=changed[start : start + 500]):
            current_hashes[runbook.pk] = library_hash(runbook)

    wanted_slugs(parsed)
    taken = taken_slugs()
    decisions = []
    for item in parsed:
        source = sources.get(item.rel)
        text_hash = hashes[item.rel]
        if source is None:
            wanted = item.slug
            item.slug = free_slug(wanted, collection, taken)
            if item.slug != wanted:
                item.warnings.append(
                    f"slug {wanted!r} is taken or reserved; this runbook is {item.slug!r}"
                )
            decisions.append(Decision(item, text_hash, CREATED))
            continue
        item.slug = source.runbook.slug
        if source.text_hash == text_hash:
            decisions.append(Decision(item, text_hash, UNCHANGED, source))
        elif current_hashes.get(source.runbook_id) == source.library_hash:
            decisions.append(Decision(item, text_hash, UPDATED, source))
        elif resolutions.get(item.rel) == THEIRS:
            decisions.append(
                Decision(
                    item,
                    text_hash,
                    UPDATED,
                    source,
                    reason="file's version applied over edits made here",
                )
            )
        elif resolutions.get(item.rel) == OURS:
            decisions.append(
                Decision(
                    item,
                    text_hash,
                    UNCHANGED,
                    source,
                    reason="kept the library's version",
                    remember_only=True,
                )
            )
        else:
            decisions.append(
                Decision(
                    item,
                    text_hash,
                    CONFLICT,
                    source,
                    reason="the file changed and the runbook was edited here since the last import; not applied "
                    "(choose the file's version or keep the library's)",
                )
            )
    return decisions
