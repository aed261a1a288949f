"""What a front-matter value, a README cell or a "**Severity:** …" line means as a field value.

Pure functions: no database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from .. import shapes
from ..models import Category, Kind, ReviewCadence, Severity

# A single identifier with an upper-case letter after the first character:
# KubePodCrashLooping, etcdNoLeader, CephOSDNearFull. Not README, _index, foo-bar.
ALERT_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*[A-Z][A-Za-z0-9_]*$")
_ALL_CAPS_RE = re.compile(r"^[A-Z0-9_]+$")


# Includes Prometheus alert severities (critical / error / warning / info).
_SEVERITY_WORDS = {
    "critical": Severity.P0,
    "urgent": Severity.P0,
    "high": Severity.P1,
    "major": Severity.P1,
    "error": Severity.P1,
    "medium": Severity.P2,
    "moderate": Severity.P2,
    "warning": Severity.P2,
    "low": Severity.P3,
    "minor": Severity.P3,
    "info": Severity.P3,
}
_CATEGORY_WORDS = (
    ("incident", Category.INCIDENT_RESPONSE),
    ("perform", Category.PERFORMANCE),
    ("latency", Category.PERFORMANCE),
    ("database", Category.DATABASE),
    ("db", Category.DATABASE),
    ("secur", Category.SECURITY),
    ("maint", Category.MAINTENANCE),
    ("operation", Category.OPERATIONAL),
    ("procedure", Category.OPERATIONAL),
    ("data", Category.DATA),
    ("service", Category.SERVICE),
)
_KIND_WORDS = (
    ("post", Kind.POSTMORTEM),
    ("pir", Kind.POSTMORTEM),
    ("review", Kind.POSTMORTEM),
    ("incident", Kind.INCIDENT),
    ("procedure", Kind.PROCEDURE),
    ("guardrail", Kind.GUARDRAIL),
    ("service", Kind.SERVICE),
)

FM_ALERT_KEYS = ("alerts", "alert_names", "alert names", "alert-names", "alertnames", "alert")
FM_CADENCE_KEYS = ("review_cadence", "review cadence", "review-cadence", "cadence", "review")
FM_SUMMARY_KEYS = ("summary", "description")


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def guess_kind(headings: list[str]) -> str:
    lowered = [h.lower() for h in headings]
    best, best_score = Kind.INCIDENT.value, 0
    for kind, sections in shapes.REQUIRED_SECTIONS.items():
        score = sum(1 for section in sections if section.is_present(lowered))
        if score > best_score:
            best, best_score = kind, score
    return best


def _choice(
    value: Any, choices: Iterable[tuple[str, str]], words: Iterable[tuple[str, str]]
) -> str | None:
    text = str(value).strip().lower()
    if not text:
        return None
    for choice, label in choices:
        if text in (choice.lower(), label.lower()):
            return choice
    for word, choice in words:
        if word in _words(text) or text.startswith(word):
            return choice
    return None


def to_severity(value: Any) -> str | None:
    text = str(value).strip()
    match = re.match(r"^[Pp]([0-3])\b", text)
    if match:
        return f"P{match.group(1)}"
    first = text.lower().split(" ")[0].strip("*:,.()") if text else ""
    return _SEVERITY_WORDS.get(first) or _SEVERITY_WORDS.get(text.lower())


def to_category(value: Any) -> str | None:
    return _choice(value, Category.choices, _CATEGORY_WORDS)


def to_kind(value: Any) -> str | None:
    return _choice(value, Kind.choices, _KIND_WORDS)


def to_cadence(value: Any) -> str | None:
    return _choice(value, ReviewCadence.choices, ())


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        items = [str(v) for v in value if v is not None]
    else:
        items = str(value).split(",")
    return [item.strip().strip("`").strip() for item in items if str(item).strip()]


def is_alert_name(text: str) -> bool:
    return bool(ALERT_NAME_RE.match(text)) and not _ALL_CAPS_RE.match(text)


def derived_alert_names(rel: str, headings: list[tuple[int, str]]) -> list[str]:
    """The file-name / first-heading contract for alert names."""
    stem = PurePosixPath(rel).stem
    first_heading = headings[0][1] if headings else ""
    names = []
    if is_alert_name(stem):
        # camelCase helper pages (gatherLogs.md titled "Optional log gathering")
        # are not alerts; etcdNoLeader.md titled "etcdNoLeader" is.
        helper_page = stem[0].islower() and first_heading and not is_alert_name(first_heading)
        if not helper_page:
            names.append(stem)
    if first_heading and is_alert_name(first_heading) and first_heading not in names:
        names.append(first_heading)
    return names


# Front-matter keys whose value is one piece of text (a number or date is fine:
# YAML reads `version: 1.2` as a float) and keys that take a list of such values.
TEXT_KEYS = frozenset(
    {
        "title",
        "slug",
        "summary",
        "description",
        "kind",
        "category",
        "severity",
        "priority",
        "audience",
        "primary audience",
        "primary_audience",
        "owner",
        "team",
        "version",
        "last_updated",
        "last updated",
        "date",
        "archived",
        "last_reviewed_at",
        "last_reviewed_by",
        "next_review_due",
        *FM_CADENCE_KEYS,
    }
)
LIST_KEYS = frozenset({*FM_ALERT_KEYS, "services", "service", "tags", "related"})


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (list, tuple, set, dict))


def type_problems(front: dict[str, Any]) -> list[str]:
    """Why each key holds the wrong shape of value (a list where text is expected, …)."""
    problems = []
    for key, value in front.items():
        if key in TEXT_KEYS and not _is_scalar(value):
            shape = "a mapping" if isinstance(value, dict) else "a list"
            problems.append(f"front matter {key!r} must be text, not {shape}")
        elif key in LIST_KEYS:
            items = value if isinstance(value, (list, tuple)) else [value]
            if isinstance(value, dict) or not all(_is_scalar(item) for item in items):
                problems.append(
                    f"front matter {key!r} must be a list of names (or one name), not nested lists or mappings"
                )
    return problems
