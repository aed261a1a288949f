"""From a markdown file's text to what it states: front matter, body, history table, index tables.

Pure functions: no database, no file system.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from dateutil import parser as date_parser

from .. import frontmatter
from ..markdown import RenderTooComplex, check_budget
from ..models import HistoryTrigger
from ..outline import outline
from .links import MARKDOWN_SUFFIXES, SCHEME_RE, outside_fences
from .report import FileProblem, SkipFile
from .values import to_category, type_problems

_ATX_RE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_HISTORY_HEADING_RE = re.compile(
    r"^(document|change|revision|version)[ -]?(history|log)$|^changelog$", re.IGNORECASE
)
_FIELD_LINE_RE = re.compile(
    r"^\s*(?:[-*+]\s+)?\*\*(?P<key>[A-Za-z][A-Za-z ]{1,30}?)\s*:?\s*\*\*\s*:?\s*(?P<value>.+?)\s*$"
)

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


def parse_tables(
    lines: list[str], start: int = 0, end: int | None = None
) -> list[tuple[int, int, list[str], list[list[str]]]]:
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
    if words & {
        "summary",
        "change",
        "changes",
        "description",
        "details",
        "notes",
        "comment",
        "what",
    }:
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


def _history_rows(
    header: list[str], rows: list[list[str]], warnings: list[str]
) -> list[HistoryRow]:
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
            warnings.append(
                f"history row {n}: unreadable date {values.get('date', '')!r}, used the import date"
            )
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
        kept = (
            lines[:index]
            + _without(lines[index + 1 : end], first - index - 1, after - index - 1)
            + lines[end:]
        )
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
    if (
        heading is None
        or table_end - table_start < 2
        or not _HISTORY_HEADING_RE.match(_plain(heading.group(2)).rstrip(":"))
    ):
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
    problems = type_problems(front)
    if problems:
        raise FileProblem("; ".join(problems))
    warnings: list[str] = []
    lines = normalise_body(body).split("\n") if body.strip() else []
    lines, history = _extract_history(lines, warnings)
    body = normalise_body("\n".join(lines)) if any(line.strip() for line in lines) else ""
    if not body:
        if history:
            raise FileProblem("the file has a document-history table but no runbook text")
        raise SkipFile("no runbook text (front matter only: a section page)")
    body_lines = body.split("\n")
    try:
        # The outline parses like the page renders; the budget keeps a hostile file from stalling it.
        check_budget(body)
    except RenderTooComplex as exc:
        raise FileProblem(str(exc)) from exc
    headings = [(section.level, section.title) for section in outline(body).sections if section.level]
    return ParsedFile(
        rel=rel,
        front=front,
        body=body,
        headings=headings,
        history=history,
        lines=_field_lines(body_lines),
        warnings=warnings,
    )


def first_paragraph(body: str, limit: int = 300) -> str:
    paragraph: list[str] = []
    for _, line in outside_fences(body.split("\n")):
        stripped = line.strip()
        is_prose = stripped and not re.match(
            r"^(#|\||[-*+]\s|\d+[.)]\s|>|<|!\[|\*\*[^*]+:\*\*|```|~~~)", stripped
        )
        if is_prose:
            paragraph.append(stripped)
        elif paragraph:
            break
    text = _plain(" ".join(paragraph))
    if len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return text


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
            if target is None or SCHEME_RE.match(target) or target.startswith("/"):
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
