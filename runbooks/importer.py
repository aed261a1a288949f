"""Import a folder of markdown runbooks (docs-as-code) into the library.

Two passes. The first reads and parses every ``*.md`` / ``*.markdown`` file
under the folder (nothing outside it: every path is resolved and checked for
containment), works out each file's slug, and collects the README index
tables. The second rewrites links between the files into app links and writes
each file in its own transaction, so a file is imported whole or not at all.

Decisions worth knowing:

* Matching is by slug: the front matter ``slug`` or one derived from the
  relative path (the file name; when two files in the folder share a name,
  each gets its parent folders as a prefix). Re-importing the same folder
  therefore finds the same runbooks.
* Unknown ``kind`` / ``category`` / ``severity`` / ``review_cadence`` values
  and unknown owners fall back (to the guess, the README value or the default)
  with a warning in the report; the file is still imported.
* ``README.md`` files with an index table, and the one at the top of the
  folder, are indexes, not runbooks: their tables fill the audience,
  severity, category and summary of the runbooks they link to (a table's
  heading such as "Database" sets the category).
  Files with front matter but no text (Hugo ``_index.md`` section pages) are
  skipped. Both are reported as skipped, not failed.
* On re-import, fields the file does not state (no front matter key, no
  ``**Owner:**`` line, no README value) keep what the library has, so edits
  made in the browser survive; stated fields win.
* A trailing "Document history" table becomes HistoryEntry rows and is kept
  out of the stored body. On creation the table replaces the automatic
  "import" history row (so export → import → export is stable); on
  re-import, rows not yet recorded are added.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import posixpath
import re
import stat
import sys
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from dateutil import parser as date_parser
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from tqdm import tqdm

from . import frontmatter, shapes
from .models import (
    Category,
    HistoryEntry,
    HistoryTrigger,
    Kind,
    ReviewCadence,
    Runbook,
    Severity,
    Team,
)

MARKDOWN_SUFFIXES = (".md", ".markdown")
INDEX_NAMES = ("readme.md", "readme.markdown")

CREATED, UPDATED, UNCHANGED, FAILED, SKIPPED = "created", "updated", "unchanged", "failed", "skipped"
STATUSES = (CREATED, UPDATED, UNCHANGED, FAILED, SKIPPED)

# A single identifier with an upper-case letter after the first character:
# KubePodCrashLooping, etcdNoLeader, CephOSDNearFull. Not README, _index, foo-bar.
ALERT_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*[A-Z][A-Za-z0-9_]*$")
_ALL_CAPS_RE = re.compile(r"^[A-Z0-9_]+$")

_FENCE_RE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_ATX_RE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_HISTORY_HEADING_RE = re.compile(
    r"^(document|change|revision|version)[ -]?(history|log)$|^changelog$", re.IGNORECASE
)
_FIELD_LINE_RE = re.compile(
    r"^\s*(?:[-*+]\s+)?\*\*(?P<key>[A-Za-z][A-Za-z ]{1,30}?)\s*:?\s*\*\*\s*:?\s*(?P<value>.+?)\s*$"
)
INLINE_LINK_RE = re.compile(r"(\]\()(\s*)(<[^>]*>|[^)\s]+)((?:\s+\"[^\"]*\")?\s*\))")
REF_DEF_RE = re.compile(r"^(\s{0,3}\[[^\]]+\]:\s*)(\S+)(.*)$")
_HUGO_REF_RE = re.compile(r"^\{\{<\s*(?:rel)?ref\s+\"([^\"]+)\"\s*>\}\}$")
_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_VERSION_RE = re.compile(r"^\d{1,4}\.\d{1,4}$")

# Which line conventions (**Owner:** …) set which field.
_FIELD_LINE_KEYS = {
    "owner": "owner",
    "owners": "owner",
    "severity": "severity",
    "priority": "severity",
    "last updated": "last_updated",
    "last reviewed": "last_updated",
    "updated": "last_updated",
    "audience": "audience",
    "primary audience": "audience",
    "service": "services",
    "services": "services",
    "category": "category",
    "team": "team",
}

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


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


@dataclass
class FileResult:
    path: str
    status: str
    slug: str = ""
    reason: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    root: str
    dry_run: bool = False
    results: list[FileResult] = field(default_factory=list)

    def _with(self, status: str) -> list[FileResult]:
        return [r for r in self.results if r.status == status]

    @property
    def created(self) -> list[FileResult]:
        return self._with(CREATED)

    @property
    def updated(self) -> list[FileResult]:
        return self._with(UPDATED)

    @property
    def unchanged(self) -> list[FileResult]:
        return self._with(UNCHANGED)

    @property
    def failed(self) -> list[FileResult]:
        return self._with(FAILED)

    @property
    def skipped(self) -> list[FileResult]:
        return self._with(SKIPPED)

    @property
    def warnings(self) -> list[FileResult]:
        return [r for r in self.results if r.warnings]

    @property
    def counts(self) -> dict[str, int]:
        return {status: len(self._with(status)) for status in STATUSES}

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary_line(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in self.counts.items())
        return f"{'Dry run: ' if self.dry_run else ''}{counts}"

    def result_for(self, path: str) -> FileResult | None:
        return next((r for r in self.results if r.path == path), None)


class SkipFile(Exception):
    """Not a runbook (an index or an empty section page): reported as skipped."""


class FileProblem(Exception):
    """The file cannot be imported: reported as failed with this message."""


# --------------------------------------------------------------------------
# Parsing (pure functions: no database)
# --------------------------------------------------------------------------


@dataclass
class HistoryRow:
    date: dt.date | None
    trigger: str
    reference: str
    summary: str
    version: str
    reviewer: str

    def key(self) -> tuple[str, ...]:
        return (
            self.date.isoformat() if self.date else "",
            self.trigger,
            self.reference,
            self.summary,
            self.version,
            self.reviewer,
        )


@dataclass
class ParsedFile:
    rel: str
    front: dict[str, Any]
    body: str
    headings: list[tuple[int, str]]
    history: list[HistoryRow]
    lines: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    slug: str = ""


def outside_fences(lines: list[str]) -> Iterable[tuple[int, str]]:
    fence = ""
    for i, line in enumerate(lines):
        match = _FENCE_RE.match(line)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = ""
            continue
        if match:
            fence = match.group(1)
            continue
        yield i, line


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, text) of every ATX heading outside code fences."""
    found = []
    for i, line in outside_fences(lines):
        match = _ATX_RE.match(line)
        if match:
            found.append((i, len(match.group(1)), _plain(match.group(2))))
    return found


def _plain(text: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return text.replace("`", "").replace("**", "").strip()


def split_row(line: str) -> list[str]:
    """Cells of a markdown table row, honouring escaped pipes."""
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    cells = re.split(r"(?<!\\)\|", text)
    return [cell.strip().replace("\\|", "|") for cell in cells]


def _is_separator(line: str) -> bool:
    cells = split_row(line)
    return bool(cells) and all(re.fullmatch(r":?-{1,}:?", cell) for cell in cells)


def parse_tables(lines: list[str], start: int = 0, end: int | None = None) -> list[tuple[int, int, list[str], list[list[str]]]]:
    """(first line, line after, header cells, rows) for each pipe table in lines[start:end]."""
    end = len(lines) if end is None else end
    tables = []
    i = start
    while i < end - 1:
        if "|" in lines[i] and _is_separator(lines[i + 1]):
            header = split_row(lines[i])
            j = i + 2
            rows = []
            while j < end and "|" in lines[j] and lines[j].strip():
                rows.append(split_row(lines[j]))
                j += 1
            tables.append((i, j, header, rows))
            i = j
        else:
            i += 1
    return tables


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def _history_column(header: str) -> str | None:
    words = _words(header)
    if words & {"reviewer", "reviewed", "signoff", "sign", "approved", "approver", "approval"}:
        return "reviewer"
    if words & {"date", "when", "day"}:
        return "date"
    if words & {"version", "ver", "rev"}:
        return "version"
    if words & {"trigger", "type", "event", "reason", "cause"}:
        return "trigger"
    if words & {"reference", "ref", "incident", "ticket", "drill", "commit", "id", "pr", "issue"}:
        return "reference"
    if words & {"summary", "change", "changes", "description", "details", "notes", "comment", "what"}:
        return "summary"
    return None


def _trigger_of(text: str) -> tuple[str, bool]:
    """(trigger, whether the text is only a trigger word rather than a reference)."""
    lowered = text.strip().lower()
    for value, label in HistoryTrigger.choices:
        if lowered in (value, label.lower()):
            return value, True
    if lowered.startswith("inc") or "incident" in lowered or "outage" in lowered:
        return HistoryTrigger.INCIDENT, False
    if lowered.startswith("dr-") or "drill" in lowered:
        return HistoryTrigger.DRILL, False
    if "review" in lowered:
        return HistoryTrigger.REVIEW, False
    if "import" in lowered:
        return HistoryTrigger.IMPORT, False
    return HistoryTrigger.CHANGE, False


def parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        pass
    try:
        return date_parser.parse(text, default=dt.datetime(2000, 1, 1)).date()
    except (ValueError, OverflowError):
        return None


def _history_rows(header: list[str], rows: list[list[str]], warnings: list[str]) -> list[HistoryRow]:
    columns = [_history_column(cell) for cell in header]
    parsed = []
    for n, cells in enumerate(rows, start=1):
        values: dict[str, str] = {}
        for column, cell in zip(columns, cells, strict=False):
            if column and column not in values:
                values[column] = cell.replace("<br>", "\n").strip()
        if not any(values.values()):
            continue
        trigger, bare = _trigger_of(values.get("trigger", ""))
        reference = values.get("reference", "")
        if not reference and not bare:
            reference = values.get("trigger", "")
        date = parse_date(values.get("date"))
        if date is None:
            warnings.append(f"history row {n}: unreadable date {values.get('date', '')!r}, used the import date")
        parsed.append(
            HistoryRow(
                date=date,
                trigger=trigger,
                reference=reference[:200],
                summary=values.get("summary", ""),
                version=values.get("version", "")[:20],
                reviewer=values.get("reviewer", "")[:200],
            )
        )
    return parsed


def _extract_history(lines: list[str], warnings: list[str]) -> tuple[list[str], list[HistoryRow]]:
    """Remove the last "Document history" section (heading + table) from lines."""
    headings = _headings(lines)
    for pos in range(len(headings) - 1, -1, -1):
        index, level, text = headings[pos]
        if not _HISTORY_HEADING_RE.match(text.strip().rstrip(":")):
            continue
        end = next((i for i, lvl, _ in headings[pos + 1 :] if lvl <= level), len(lines))
        tables = parse_tables(lines, index + 1, end)
        if not tables:
            return lines, []
        first, after, header, rows = tables[0]
        if not {"date", "summary"} & {_history_column(h) for h in header}:
            return lines, []
        rows_parsed = _history_rows(header, rows, warnings)
        kept = lines[:index] + _without(lines[index + 1 : end], first - index - 1, after - index - 1) + lines[end:]
        return kept, rows_parsed
    return _trailing_history(lines, warnings)


def _trailing_history(lines: list[str], warnings: list[str]) -> tuple[list[str], list[HistoryRow]]:
    """A history heading + table that ends the file, even after an unclosed code fence.

    Some real runbooks forget to close a fence; renderers then run the code block
    to the end of the file, but the history table an export appended is still
    the file's last section.
    """
    i = len(lines) - 1
    while i >= 0 and not lines[i].strip():
        i -= 1
    table_end = i + 1
    while i >= 0 and lines[i].strip().startswith("|"):
        i -= 1
    table_start = i + 1
    while i >= 0 and not lines[i].strip():
        i -= 1
    heading = _ATX_RE.match(lines[i]) if i >= 0 else None
    if heading is None or table_end - table_start < 2 or not _HISTORY_HEADING_RE.match(_plain(heading.group(2)).rstrip(":")):
        return lines, []
    tables = parse_tables(lines, table_start, table_end)
    if not tables or not {"date", "summary"} & {_history_column(h) for h in tables[0][2]}:
        return lines, []
    return lines[:i], _history_rows(tables[0][2], tables[0][3], warnings)


def _without(section: list[str], start: int, stop: int) -> list[str]:
    rest = section[:start] + section[stop:]
    # Only blank lines and rules left: the section was just the table.
    if all(not line.strip() or re.fullmatch(r"\s*([-*_])(\s*\1){2,}\s*", line) for line in rest):
        return []
    while rest and not rest[0].strip():
        rest = rest[1:]
    return rest


def _field_lines(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for _, line in outside_fences(lines):
        match = _FIELD_LINE_RE.match(line)
        if not match:
            continue
        key = _FIELD_LINE_KEYS.get(" ".join(match.group("key").lower().split()))
        if key and key not in found:
            found[key] = match.group("value").strip().strip("`").strip()
    return found


def normalise_body(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() if not line.strip() else line for line in text.split("\n")]
    return "\n".join(lines).strip("\n") + "\n"


def parse_file(rel: str, text: str) -> ParsedFile:
    """Split one file into front matter, body (without history table) and what it states."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        front, body = frontmatter.split(text)
    except frontmatter.FrontMatterError as exc:
        raise FileProblem(str(exc)) from exc
    front = {key.strip().lower(): value for key, value in (front or {}).items()}
    warnings: list[str] = []
    lines = normalise_body(body).split("\n") if body.strip() else []
    lines, history = _extract_history(lines, warnings)
    body = normalise_body("\n".join(lines)) if any(line.strip() for line in lines) else ""
    if not body:
        if history:
            raise FileProblem("the file has a document-history table but no runbook text")
        raise SkipFile("no runbook text (front matter only: a section page)")
    body_lines = body.split("\n")
    headings = [(level, text) for _, level, text in _headings(body_lines)]
    return ParsedFile(
        rel=rel,
        front=front,
        body=body,
        headings=headings,
        history=history,
        lines=_field_lines(body_lines),
        warnings=warnings,
    )


def guess_kind(headings: list[str]) -> str:
    lowered = [h.lower() for h in headings]
    best, best_score = Kind.INCIDENT.value, 0
    for kind, sections in shapes.REQUIRED_SECTIONS.items():
        score = sum(1 for section in sections if section.is_present(lowered))
        if score > best_score:
            best, best_score = kind, score
    return best


def _choice(value: Any, choices: Iterable[tuple[str, str]], words: Iterable[tuple[str, str]]) -> str | None:
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


def first_paragraph(body: str, limit: int = 300) -> str:
    paragraph: list[str] = []
    for _, line in outside_fences(body.split("\n")):
        stripped = line.strip()
        is_prose = stripped and not re.match(r"^(#|\||[-*+]\s|\d+[.)]\s|>|<|!\[|\*\*[^*]+:\*\*|```|~~~)", stripped)
        if is_prose:
            paragraph.append(stripped)
        elif paragraph:
            break
    text = _plain(" ".join(paragraph))
    if len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return text


# --------------------------------------------------------------------------
# Slugs, links and README indexes
# --------------------------------------------------------------------------


def _path_slug(parts: tuple[str, ...]) -> str:
    return slugify("-".join(parts))[:200].strip("-") or "runbook"


def assign_slugs(parsed: list[ParsedFile]) -> None:
    """Front matter slug, else the file stem; same-named files get their folders as prefix."""
    derived: dict[str, list[ParsedFile]] = defaultdict(list)
    for item in parsed:
        explicit = item.front.get("slug")
        if explicit:
            slug = slugify(str(explicit))[:200]
            if slug != str(explicit):
                item.warnings.append(f"front matter slug {explicit!r} is not a valid slug, used {slug!r}")
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
                _path_slug(PurePosixPath(o.rel).with_suffix("").parts[-depth:]) == slug for o in items if o is not item
            ):
                depth += 1
                slug = _path_slug(parts[-depth:])
            item.slug = slug


def _link_target(rel: str, target: str, link_map: dict[str, str]) -> str | None:
    """The slug a relative .md link points to, or None to leave the link alone."""
    hugo = _HUGO_REF_RE.match(target)
    if hugo:
        target = hugo.group(1)
    if target.startswith("<") and target.endswith(">"):
        target = target[1:-1]
    if not target or target.startswith(("/", "#")) or _SCHEME_RE.match(target):
        return None
    path, _, fragment = target.partition("#")
    if not path.lower().endswith(MARKDOWN_SUFFIXES):
        return None
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(rel), path))
    slug = link_map.get(resolved)
    if slug is None:
        return None
    return f"/runbooks/{slug}/" + (f"#{fragment}" if fragment else "")


def rewrite_links(rel: str, body: str, link_map: dict[str, str]) -> str:
    lines = body.split("\n")
    for i, line in outside_fences(lines):
        if "](" in line:

            def inline(match: re.Match[str]) -> str:
                new = _link_target(rel, match.group(3), link_map)
                return match.group(0) if new is None else f"{match.group(1)}{new}{match.group(4)}"

            line = INLINE_LINK_RE.sub(inline, line)
        definition = REF_DEF_RE.match(line)
        if definition:
            new = _link_target(rel, definition.group(2), link_map)
            if new is not None:
                line = f"{definition.group(1)}{new}{definition.group(3)}"
        lines[i] = line
    return "\n".join(lines)


_LINK_IN_CELL_RE = re.compile(r"\[([^\]]*)\]\(\s*<?([^)\s>]+)>?[^)]*\)")


def _index_column(header: str) -> str | None:
    words = _words(header)
    if words & {"audience", "who", "role"}:
        return "audience"
    if words & {"severity", "priority", "sev"}:
        return "severity"
    if words & {"summary", "description", "purpose", "what", "use"}:
        return "summary"
    if words & {"category", "area", "group"}:
        return "category"
    return None


def parse_index(rel: str, text: str) -> dict[str, dict[str, str]]:
    """README tables: {linked file's relative path: {audience, severity, summary, category}}."""
    try:
        _, body = frontmatter.split(text.replace("\r\n", "\n"))
    except frontmatter.FrontMatterError:
        body = text
    lines = body.split("\n")
    headings = _headings(lines)
    values: dict[str, dict[str, str]] = {}
    for first, _after, header, rows in parse_tables(lines):
        columns = [_index_column(cell) for cell in header]
        heading = next((h for i, _, h in reversed(headings) if i < first), "")
        group_category = to_category(heading) if heading else None
        for cells in rows:
            target = None
            for cell in cells:
                link = _LINK_IN_CELL_RE.search(cell)
                if link and link.group(2).split("#")[0].lower().endswith(MARKDOWN_SUFFIXES):
                    target = link.group(2).split("#")[0]
                    break
            if target is None or _SCHEME_RE.match(target) or target.startswith("/"):
                continue
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
            entry: dict[str, str] = {}
            if group_category:
                entry["category"] = group_category
            for column, cell in zip(columns, cells, strict=False):
                if column and cell:
                    entry[column] = _plain(cell)
            values[resolved] = entry
    return values


# --------------------------------------------------------------------------
# Reading the folder safely
# --------------------------------------------------------------------------


def _discover(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.lower().endswith(MARKDOWN_SUFFIXES):
                found.append(Path(dirpath) / name)
    return found


def _read(path: Path, root: Path) -> str:
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise FileProblem("symlink pointing outside the imported folder; not read")
    if not resolved.is_file():
        raise FileProblem("not a regular file")
    size = resolved.stat().st_size
    if size > settings.IMPORT_MAX_FILE_BYTES:
        raise FileProblem(f"file is {size:,} bytes, over the {settings.IMPORT_MAX_FILE_BYTES:,}-byte limit")
    with resolved.open("rb") as handle:
        # Read one byte past the limit: the file may have grown since stat().
        raw = handle.read(settings.IMPORT_MAX_FILE_BYTES + 1)
    if len(raw) > settings.IMPORT_MAX_FILE_BYTES:
        raise FileProblem(f"file is over the {settings.IMPORT_MAX_FILE_BYTES:,}-byte limit")
    if not raw.strip():
        raise FileProblem("empty file")
    nul = raw.find(b"\x00")
    if nul != -1:
        # Valid UTF-8 can carry NULs (UTF-16 text without a BOM, binaries);
        # PostgreSQL would refuse them at save time and SQLite keep garbage.
        raise FileProblem(f"not UTF-8 text (NUL byte at offset {nul}: UTF-16 or binary?)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(f"not UTF-8 text (invalid byte at offset {exc.start})") from exc


# --------------------------------------------------------------------------
# Deciding what a file says about its runbook
# --------------------------------------------------------------------------


@dataclass
class Plan:
    """Field values a file states (explicit) and the defaults used only when creating."""

    fields: dict[str, Any]
    defaults: dict[str, Any]
    labels: dict[str, list[str]]
    version: str
    history_date: dt.date | None


class _Directory:
    """Users and teams looked up once per import."""

    def __init__(self) -> None:
        self.users: dict[str, Any] = {}
        self.teams: dict[str, Team | None] = {}

    def user(self, name: str) -> Any:
        key = name.strip().lstrip("@").lower()
        if key not in self.users:
            User = get_user_model()
            self.users[key] = (
                User.objects.filter(Q(username__iexact=key) | Q(email__iexact=key)).order_by("pk").first()
            )
        return self.users[key]

    def team(self, name: str) -> Team:
        key = name.strip()
        team = self.teams.get(key.lower())
        if team is None or team.pk is None:
            team = Team.objects.filter(Q(name__iexact=key) | Q(slug=slugify(key))).first()
            if team is None:
                team = Team.objects.create(name=key[:100])
            self.teams[key.lower()] = team
        return team


def plan_for(item: ParsedFile, index_values: dict[str, str], directory: _Directory) -> Plan:
    front, lines, warnings = item.front, item.lines, item.warnings
    fields: dict[str, Any] = {}
    defaults: dict[str, Any] = {}

    title = front.get("title")
    if title is not None and str(title).strip():
        fields["title"] = str(title).strip()[:200]
    else:
        h1 = next((text for level, text in item.headings if level == 1), "")
        fields["title"] = (h1 or _humanise(PurePosixPath(item.rel).stem))[:200]

    def stated(key: str, *front_keys: str, line_key: str | None = None, index_key: str | None = None) -> tuple[bool, Any, str]:
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
        present, raw, source = stated(name, *extra_keys, line_key=line_key, index_key=name if name in ("category", "severity") else None)
        if present and raw not in (None, ""):
            value = convert(raw)
            if value is None:
                warnings.append(f"unknown {name.replace('_', ' ')} {str(raw)!r} in {source}; kept the default")
            else:
                fields[name] = value
    if "kind" not in fields:
        defaults["kind"] = guess_kind([text for _, text in item.headings])

    present, raw, _ = stated("audience", "primary audience", "primary_audience", line_key="audience", index_key="audience")
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
                fields["team"] = directory.team(name)
                warnings.append(f"owner {name!r} is not a user here; recorded as the team")
            else:
                warnings.append(f"owner {name!r} is not a user here; left unassigned")
        elif not name or user is not None:
            fields["owner"] = user

    present, raw, _ = stated("team", line_key="team")
    if present:
        name = str(raw or "").strip()
        fields["team"] = directory.team(name) if name else None

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

    updated_raw = front.get("last_updated", front.get("last updated", front.get("date", lines.get("last_updated"))))
    history_date = parse_date(updated_raw) if updated_raw else None
    if updated_raw and history_date is None:
        warnings.append(f"unreadable last-updated date {str(updated_raw)!r}; used today")
    return Plan(fields=fields, defaults=defaults, labels=labels, version=version, history_date=history_date)


def _humanise(stem: str) -> str:
    words = re.sub(r"[-_]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else "Untitled runbook"


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def _history_entries(runbook: Runbook, rows: list[HistoryRow], author: Any, fallback: dt.date) -> list[HistoryEntry]:
    revision = runbook.current_revision
    return [
        HistoryEntry(
            runbook=runbook,
            date=row.date or fallback,
            trigger=row.trigger,
            reference=row.reference,
            summary=row.summary,
            version=row.version,
            reviewer=row.reviewer,
            revision=revision if revision is not None and row.version == revision.version else None,
            created_by=author if getattr(author, "pk", None) else None,
        )
        for row in rows
    ]


def _entry_key(entry: HistoryEntry) -> tuple[str, ...]:
    return (entry.date.isoformat(), entry.trigger, entry.reference, entry.summary, entry.version, entry.reviewer)


def _create(item: ParsedFile, plan: Plan, author: Any, owner: Any, team: Team | None) -> Runbook:
    values = {"owner": owner, "team": team, **plan.defaults, **plan.fields}
    runbook = Runbook.create_with_revision(
        author=author,
        body=item.body,
        change_summary=f"Imported from {item.rel}"[:300],
        trigger=HistoryTrigger.IMPORT,
        history_date=plan.history_date,
        alert_names=plan.labels.get("alert_names", ()),
        services=plan.labels.get("services", ()),
        tags=plan.labels.get("tags", ()),
        slug=item.slug,
        # The exported version keeps a round trip lossless; the file's own table
        # is the history, else an "imported" row would grow on every round trip.
        version=plan.version or "1.0",
        record_history=not item.history,
        **values,
    )
    if item.history:
        HistoryEntry.objects.bulk_create(
            _history_entries(runbook, item.history, author, plan.history_date or timezone.localdate())
        )
    return runbook


def _label_names(runbook: Runbook, name: str) -> list[str]:
    return sorted(obj.name for obj in getattr(runbook, name).all())


def _update(item: ParsedFile, plan: Plan, author: Any, pk: int) -> bool:
    """Apply what changed; return whether anything did."""
    locked = Runbook.objects.select_for_update(of=("self",)).select_related("current_revision").get(pk=pk)
    changed_fields = []
    for name, value in plan.fields.items():
        current = getattr(locked, name)
        if current != value:
            setattr(locked, name, value)
            changed_fields.append(name)
    labels = {}
    for name, wanted in plan.labels.items():
        normalised = [w.strip().lower() if name == "tags" else w.strip() for w in wanted]
        if sorted(dict.fromkeys(n for n in normalised if n)) != _label_names(locked, name):
            labels[name] = wanted
            changed_fields.append(name)
    current_body = locked.current_revision.body if locked.current_revision else ""
    body_changed = normalise_body(current_body) != item.body
    existing = {_entry_key(e) for e in HistoryEntry.objects.filter(runbook=locked)}
    fallback = plan.history_date or timezone.localdate()
    new_rows = [row for row in item.history if _entry_key(_history_entries(locked, [row], None, fallback)[0]) not in existing]
    if not (changed_fields or body_changed or new_rows):
        return False
    if changed_fields:
        locked.update_details(by=author, changed_fields=changed_fields, labels=labels)
    if body_changed:
        locked.add_revision(
            author=author,
            body=item.body,
            change_summary=f"Imported from {item.rel}"[:300],
            trigger=HistoryTrigger.IMPORT,
            history_date=plan.history_date,
        )
    if new_rows:
        HistoryEntry.objects.bulk_create(_history_entries(locked, new_rows, author, fallback))
    return True


def _resolve_user(value: Any) -> Any:
    if value is None or getattr(value, "pk", None):
        return value
    user = _Directory().user(str(value))
    if user is None:
        raise ValueError(f"no user named {value!r}")
    return user


def import_directory(
    path: Path,
    *,
    owner: Any = None,
    team: Any = None,
    dry_run: bool = False,
    progress: bool = False,
    author: Any = None,
) -> ImportReport:
    """Import every markdown file under `path`; see the module docstring for the rules.

    `owner` (a user or username) and `team` (a Team or a name) apply to runbooks
    whose files do not name their own. `author` is recorded on revisions and
    audit rows (defaults to `owner`). With `dry_run`, everything is written and
    then rolled back, so the report is exactly what a real run would say.
    """
    root = Path(path).resolve()
    if not root.is_dir():
        raise ValueError(f"{path} is not a folder")
    owner_user = _resolve_user(owner)
    author = author if author is not None else owner_user
    report = ImportReport(root=str(path), dry_run=dry_run)

    files = _discover(root)
    texts: dict[str, str] = {}
    results: dict[str, FileResult] = {}
    for file in files:
        rel = file.relative_to(root).as_posix()
        try:
            if file.is_symlink() and not file.resolve().is_relative_to(root):
                raise FileProblem("symlink pointing outside the imported folder; not read")
            texts[rel] = _read(file, root)
        except FileProblem as exc:
            results[rel] = FileResult(rel, FAILED, reason=str(exc))
        except OSError as exc:
            results[rel] = FileResult(rel, FAILED, reason=f"cannot read: {exc.strerror or exc}")

    index_values: dict[str, dict[str, str]] = {}
    parsed: list[ParsedFile] = []
    for rel, text in sorted(texts.items()):
        if PurePosixPath(rel).name.lower() in INDEX_NAMES:
            found = parse_index(rel, text)
            for target, values in found.items():
                index_values.setdefault(target, {}).update(values)
            # A README with an index table, or the one describing the whole folder,
            # is not a runbook; a nested README with prose (how to update a
            # diagram, say) is.
            if found or "/" not in rel:
                results[rel] = FileResult(rel, SKIPPED, reason=f"index page: values for {len(found)} linked runbook(s)")
                continue
        try:
            parsed.append(parse_file(rel, text))
        except SkipFile as exc:
            results[rel] = FileResult(rel, SKIPPED, reason=str(exc))
        except FileProblem as exc:
            results[rel] = FileResult(rel, FAILED, reason=str(exc))

    assign_slugs(parsed)
    link_map = {item.rel: item.slug for item in parsed}
    slug_owner: dict[str, str] = {}
    for item in parsed:
        if item.slug in slug_owner:
            results[item.rel] = FileResult(
                item.rel, FAILED, slug=item.slug, reason=f"slug {item.slug!r} is already used by {slug_owner[item.slug]}"
            )
        else:
            slug_owner[item.slug] = item.rel
    parsed = [item for item in parsed if item.rel not in results]

    with transaction.atomic() if dry_run else contextlib.nullcontext():
        directory = _Directory()
        default_team = (team if isinstance(team, Team) else directory.team(str(team))) if team else None
        existing = _existing_runbooks([item.slug for item in parsed])
        bar = tqdm(parsed, total=len(parsed), file=sys.stderr, disable=not progress, unit="file", desc="Importing")
        for item in bar:
            item.body = rewrite_links(item.rel, item.body, link_map)
            result = FileResult(item.rel, FAILED, slug=item.slug)
            try:
                with transaction.atomic():
                    plan = plan_for(item, index_values.get(item.rel, {}), directory)
                    current = existing.get(item.slug)
                    if current is None:
                        _create(item, plan, author, owner_user, default_team)
                        result.status = CREATED
                    else:
                        result.status = UPDATED if _update(item, plan, author, current) else UNCHANGED
            except Exception as exc:  # one bad file must not stop the others
                directory.teams.clear()
                result.status, result.reason = FAILED, f"could not be saved: {exc}"
            result.warnings = item.warnings
            results[item.rel] = result
        bar.close()
        if dry_run:
            transaction.set_rollback(True)

    report.results = [results[rel] for rel in sorted(results)]
    return report


def _existing_runbooks(slugs: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(slugs), 500):
        found.update(Runbook.objects.filter(slug__in=slugs[start : start + 500]).values_list("slug", "pk"))
    return found


# --------------------------------------------------------------------------
# Uploaded .zip archives
# --------------------------------------------------------------------------

MAX_ZIP_MEMBERS = 5000
# Markdown compresses about 3-8x; a ratio far above that is a zip bomb.
MAX_ZIP_RATIO = 100
_RATIO_CHECK_BYTES = 64 * 1024
_CHUNK = 64 * 1024


class UnsafeArchive(ValueError):
    """The uploaded archive is refused as a whole; the message says why."""


def _safe_member_name(name: str) -> PurePosixPath | None:
    """The member's relative path, or None for a directory entry; UnsafeArchive if it escapes."""
    if "\\" in name or "\x00" in name:
        raise UnsafeArchive(f"refused: member name {name!r} contains a backslash or NUL")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise UnsafeArchive(f"refused: member {name!r} has an absolute path")
    path = PurePosixPath(name)
    if ".." in path.parts:
        raise UnsafeArchive(f"refused: member {name!r} points outside the archive (../)")
    if name.endswith("/"):
        return None
    return path


def extract_zip(source: Any, target: Path) -> int:
    """Check and extract the markdown files of a zip into `target`; return how many.

    Nothing is written unless every member passes the name, count, size and
    ratio checks; sizes are enforced again while inflating, because a member's
    declared size can lie.
    """
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsafeArchive("not a readable .zip file") from exc
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise UnsafeArchive(f"refused: {len(members):,} entries, more than the {MAX_ZIP_MEMBERS:,} allowed")
        limit = settings.IMPORT_MAX_ZIP_BYTES
        declared = sum(member.file_size for member in members)
        if declared > limit:
            raise UnsafeArchive(f"refused: {declared:,} bytes uncompressed, over the {limit:,}-byte limit")
        wanted = []
        for member in members:
            path = _safe_member_name(member.filename)
            if path is None:
                continue
            if stat.S_ISLNK(member.external_attr >> 16):
                raise UnsafeArchive(f"refused: member {member.filename!r} is a symbolic link")
            if member.flag_bits & 0x1:
                raise UnsafeArchive(f"refused: member {member.filename!r} is encrypted")
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > _RATIO_CHECK_BYTES and ratio > MAX_ZIP_RATIO:
                raise UnsafeArchive(
                    f"refused: member {member.filename!r} expands {ratio:,.0f}x (more than {MAX_ZIP_RATIO}x: a zip bomb?)"
                )
            if path.suffix.lower() in MARKDOWN_SUFFIXES and not any(part.startswith(".") for part in path.parts):
                wanted.append((member, path))
        root = target.resolve()
        written = 0
        for member, path in wanted:
            destination = (root / path).resolve()
            if not destination.is_relative_to(root):
                raise UnsafeArchive(f"refused: member {member.filename!r} points outside the archive")
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as stream, destination.open("wb") as out:
                while chunk := stream.read(_CHUNK):
                    written += len(chunk)
                    if written > limit:
                        raise UnsafeArchive(f"refused: more than {limit:,} bytes once uncompressed")
                    out.write(chunk)
        return len(wanted)
