"""Export the library as a folder of markdown files (or an offline HTML bundle).

One ``<slug>.md`` per runbook: YAML front matter with every field the app
stores for it (see ``front_matter``; the README's "Export format" lists them),
the current body with app links turned back into relative ``.md`` links, and
the document history as a table at the end; plus a ``README.md`` index
grouped by category. Files are UTF-8 without a byte-order mark, with LF line
endings. Importing the folder into an empty library gives the same runbooks,
and exporting that again gives byte-identical files
(tests/runbooks/test_exporter.py holds both to it).

A folder export is atomic: everything is written into a temporary folder
beside the target, which then replaces the target in one rename, so a
failure leaves the previous export as it was.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils.html import strip_tags

from . import frontmatter
from .importing import links
from .models import Category, HistoryEntry, HistoryTrigger, Runbook

HISTORY_HEADER = ("Date", "Version", "Trigger", "Reference", "Change summary", "Reviewer sign-off")
INDEX_HEADER = ("Runbook", "Audience", "Severity", "Summary")
_HTML_APP_LINK_RE = re.compile(r'href="/runbooks/([-\w]+)/(#[^"]*)?"')
OFFLINE_TEXT_CHARS = 4000


RESERVED_NAMES = ("readme", "index")


def file_name(slug: str, suffix: str = ".md") -> str:
    """A runbook's file name; never one the export uses for its own index."""
    return f"{slug}-runbook{suffix}" if slug.lower() in RESERVED_NAMES else f"{slug}{suffix}"


def library_queryset() -> QuerySet[Runbook]:
    return (
        Runbook.objects.select_related("owner", "team", "current_revision", "last_reviewed_by")
        .prefetch_related("alert_names", "services", "tags", "related")
        .order_by("slug")
    )


def _cell(value: Any) -> str:
    text = str(value or "").replace("\r\n", "\n").strip()
    return text.replace("|", "\\|").replace("\n", "<br>")


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _moment(value: dt.datetime | None) -> str:
    """A stored time as ISO 8601 in UTC, to the second the database kept."""
    return value.astimezone(dt.UTC).isoformat() if value is not None else ""


def front_matter(runbook: Runbook) -> dict[str, Any]:
    return {
        "title": runbook.title,
        "slug": runbook.slug,
        "kind": runbook.kind,
        "category": runbook.category,
        "severity": runbook.severity,
        "audience": runbook.audience,
        "owner": runbook.owner.get_username() if runbook.owner else "",
        "team": runbook.team.name if runbook.team else "",
        "services": [service.name for service in runbook.services.all()],
        "tags": [tag.name for tag in runbook.tags.all()],
        "alerts": [alert.name for alert in runbook.alert_names.all()],
        "related": sorted(other.slug for other in runbook.related.all()),
        "review_cadence": runbook.review_cadence,
        "last_reviewed_at": _moment(runbook.last_reviewed_at),
        "last_reviewed_by": runbook.last_reviewed_by.get_username()
        if runbook.last_reviewed_by
        else "",
        "next_review_due": _moment(runbook.next_review_due),
        "archived": _moment(runbook.archived_at),
        "summary": runbook.summary,
        "version": runbook.version,
    }


def relative_links(body: str, slugs: set[str], suffix: str = ".md") -> str:
    """Turn /runbooks/<slug>/ links to exported runbooks back into file links."""
    return links.to_file_links(body, {slug: file_name(slug, suffix) for slug in slugs})


def history_table(entries: Iterable[HistoryEntry]) -> str:
    labels = dict(HistoryTrigger.choices)
    rows = [
        (
            entry.date.isoformat(),
            entry.version,
            labels.get(entry.trigger, entry.trigger),
            entry.reference,
            entry.summary,
            entry.reviewer or (entry.reviewer_user.get_username() if entry.reviewer_user else ""),
        )
        for entry in entries
    ]
    return _table(HISTORY_HEADER, rows)


def runbook_markdown(runbook: Runbook, history: list[HistoryEntry], slugs: set[str]) -> str:
    body = runbook.current_revision.body if runbook.current_revision else ""
    body = relative_links(body.replace("\r\n", "\n"), slugs).strip("\n")
    parts = [frontmatter.dump(front_matter(runbook)), "\n", body, "\n"]
    if history:
        parts += ["\n## Document history\n\n", history_table(history)]
    return "".join(parts)


def _histories(runbooks: list[Runbook]) -> dict[int, list[HistoryEntry]]:
    grouped: dict[int, list[HistoryEntry]] = {runbook.pk: [] for runbook in runbooks}
    ids = list(grouped)
    for start in range(0, len(ids), 500):
        entries = (
            HistoryEntry.objects.filter(runbook_id__in=ids[start : start + 500])
            .select_related("reviewer_user")
            .order_by("date", "id")
        )
        for entry in entries:
            grouped[entry.runbook_id].append(entry)
    return grouped


def readme(runbooks: list[Runbook], suffix: str = ".md") -> str:
    parts = [
        "# Runbook library\n\nExported from FixIt Runbooks: one file per runbook, grouped here by category.\n"
    ]
    for category, label in Category.choices:
        rows = [
            r for r in sorted(runbooks, key=lambda r: r.title.lower()) if r.category == category
        ]
        if not rows:
            continue
        table = _table(
            INDEX_HEADER,
            (
                (
                    f"[{r.title.replace(']', '')}]({file_name(r.slug, suffix)})",
                    r.audience,
                    r.severity,
                    r.summary,
                )
                for r in rows
            ),
        )
        parts.append(f"\n## {label}\n\n{table}")
    return "".join(parts)


def markdown_files(queryset: QuerySet[Runbook] | None = None) -> Iterator[tuple[str, str]]:
    """(relative path, text) of every file of a markdown export."""
    runbooks = list(queryset if queryset is not None else library_queryset())
    slugs = {runbook.slug for runbook in runbooks}
    histories = _histories(runbooks)
    for runbook in runbooks:
        yield file_name(runbook.slug), runbook_markdown(runbook, histories[runbook.pk], slugs)
    yield "README.md", readme(runbooks)
    # Contacts belong to services and teams, so they travel beside the runbooks.
    from contacts import portable

    contacts = portable.export_text()
    if contacts is not None:
        yield portable.FILE_NAME, contacts


def html_files(queryset: QuerySet[Runbook] | None = None) -> Iterator[tuple[str, str]]:
    """(relative path, text) of every page of the offline HTML bundle."""
    runbooks = list(queryset if queryset is not None else library_queryset())
    slugs = {runbook.slug for runbook in runbooks}
    histories = _histories(runbooks)

    def local(match: re.Match[str]) -> str:
        if match.group(1) not in slugs:
            return match.group(0)
        return f'href="{file_name(match.group(1), ".html")}{match.group(2) or ""}"'

    index = []
    for runbook in runbooks:
        html = runbook.current_revision.body_html if runbook.current_revision else ""
        html = _HTML_APP_LINK_RE.sub(local, html)
        alerts = [alert.name for alert in runbook.alert_names.all()]
        context = {
            "runbook": runbook,
            "body_html": html,
            "alerts": alerts,
            "history": histories[runbook.pk],
        }
        yield (
            file_name(runbook.slug, ".html"),
            render_to_string("runbooks/offline/page.html", context),
        )
        index.append(
            {
                "url": file_name(runbook.slug, ".html"),
                "title": runbook.title,
                "alerts": alerts,
                "summary": runbook.summary,
                "severity": runbook.severity,
                "category": runbook.get_category_display(),
                "text": " ".join(strip_tags(html).split())[:OFFLINE_TEXT_CHARS],
            }
        )
    yield (
        "index.html",
        render_to_string("runbooks/offline/index.html", {"entries": index, "count": len(index)}),
    )


class ExportFailed(Exception):
    """The export could not be written; the previous one (if any) is untouched."""


def export_directory(
    path: Path, *, html: bool = False, queryset: QuerySet[Runbook] | None = None
) -> int:
    """Write the export into `path`, replacing what was there in one rename; return how many files.

    The files go to a temporary folder beside `path` (same file system, so the
    rename is atomic); only a complete export replaces the old one. On POSIX the
    old folder is moved aside and deleted after the swap.
    """
    target = Path(path).absolute()
    if target.exists() and not target.is_dir():
        raise ExportFailed(f"{path} exists and is not a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.export-", dir=target.parent))
    except OSError as exc:
        raise ExportFailed(f"cannot write beside {path}: {exc.strerror or exc}") from exc
    count = 0
    try:
        for name, text in (html_files if html else markdown_files)(queryset):
            with open(staging / name, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            count += 1
        os.chmod(staging, 0o755)
        if target.exists():
            previous = Path(tempfile.mkdtemp(prefix=f".{target.name}.previous-", dir=target.parent))
            os.replace(target, previous / "export")
            try:
                os.replace(staging, target)
            except OSError:
                os.replace(previous / "export", target)
                raise
            shutil.rmtree(previous, ignore_errors=True)
        else:
            os.replace(staging, target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ExportFailed(
            f"export to {path} failed, previous export left as it was: {exc.strerror or exc}"
        ) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return count


def write_zip(
    stream: IO[bytes],
    *,
    folder: str = "runbooks",
    html: bool = False,
    queryset: QuerySet[Runbook] | None = None,
) -> int:
    """Write the markdown export (or the offline bundle) into a zip under `folder`/."""
    count = 0
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in (html_files if html else markdown_files)(queryset):
            archive.writestr(f"{folder}/{name}", text)
            count += 1
    return count
