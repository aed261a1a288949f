"""Import a folder of markdown runbooks (docs-as-code) into the library.

One module per step:

* ``reading``: find the markdown files under a folder (nothing outside it)
  and decode them (UTF-8 with or without BOM, UTF-16 with BOM);
* ``parsing`` and ``values``: what a file states: front matter (read by
  ``runbooks.frontmatter``, which refuses anchors, aliases, duplicate keys
  and oversized blocks), body, "Document history" table, ``**Owner:**``
  lines, README index tables;
* ``planning``: match each file to the runbook imported from the same
  collection and path, and decide create / update / unchanged / changed in
  both, reading only (a dry run stops here: no locks, no writes);
* ``links``: relative ``.md`` links become runbook links (and back on export);
* ``writing``: each file in its own transaction with the runbook row locked;
* ``archive``: the checks on an uploaded .zip;
* ``tasks``: the Celery task that runs a browser upload off the request.

Other rules worth knowing:

* Unknown ``kind`` / ``category`` / ``severity`` / ``review_cadence`` values
  and unknown owners fall back (to the guess, the README value or the
  default) with a warning in the report; the file is still imported.
* ``README.md`` files with an index table, and the one at the top of the
  folder, are indexes, not runbooks: their tables fill the audience,
  severity, category and summary of the runbooks they link to. Files with
  front matter but no text (Hugo ``_index.md`` section pages) are skipped.
* A trailing "Document history" table becomes history rows and is kept out
  of the stored body. On creation the table replaces the automatic "import"
  row (so export → import → export is stable); on update, rows not yet
  recorded are added.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from tqdm import tqdm

from ..models import Team
from . import links
from .archive import UnsafeArchive, extract_zip, single_top_folder
from .parsing import ParsedFile, parse_file, parse_index
from .planning import Directory, decide, plan_for
from .reading import INDEX_NAMES, discover, read, text_hash
from .report import (
    CONFLICT,
    CREATED,
    FAILED,
    OURS,
    SKIPPED,
    THEIRS,
    UNCHANGED,
    UPDATED,
    FileProblem,
    FileResult,
    ImportReport,
    SkipFile,
)
from .writing import create, set_related, update

__all__ = [
    "CONFLICT",
    "CREATED",
    "FAILED",
    "OURS",
    "SKIPPED",
    "THEIRS",
    "UNCHANGED",
    "UPDATED",
    "FileResult",
    "ImportReport",
    "UnsafeArchive",
    "extract_zip",
    "import_directory",
    "parse_file",
    "single_top_folder",
]


def _resolve_user(value: Any) -> Any:
    if value is None or getattr(value, "pk", None):
        return value
    user = Directory().user(str(value))
    if user is None:
        raise ValueError(f"no user named {value!r}")
    return user


def _read_all(root: Path, results: dict[str, FileResult]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for file in discover(root):
        rel = file.relative_to(root).as_posix()
        try:
            if file.is_symlink() and not file.resolve().is_relative_to(root):
                raise FileProblem("symlink pointing outside the imported folder; not read")
            texts[rel] = read(file, root)
        except FileProblem as exc:
            results[rel] = FileResult(rel, FAILED, reason=str(exc))
        except OSError as exc:
            results[rel] = FileResult(rel, FAILED, reason=f"cannot read: {exc.strerror or exc}")
    return texts


def _parse_all(
    texts: dict[str, str], results: dict[str, FileResult]
) -> tuple[list[ParsedFile], dict[str, dict[str, str]]]:
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
                results[rel] = FileResult(
                    rel, SKIPPED, reason=f"index page: values for {len(found)} linked runbook(s)"
                )
                continue
        try:
            parsed.append(parse_file(rel, text))
        except SkipFile as exc:
            results[rel] = FileResult(rel, SKIPPED, reason=str(exc))
        except FileProblem as exc:
            results[rel] = FileResult(rel, FAILED, reason=str(exc))
    return parsed, index_values


def import_directory(
    path: Path,
    *,
    owner: Any = None,
    team: Any = None,
    dry_run: bool = False,
    progress: bool = False,
    author: Any = None,
    collection: str | None = None,
    resolutions: dict[str, str] | None = None,
    resolve_all: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import every markdown file under `path`; see the module docstring for the rules.

    `collection` names the folder for provenance (default: the folder's own
    name); importing the same collection again matches files by their path in
    it. `resolutions` maps a relative path to THEIRS or OURS for files that
    are "changed in both"; `resolve_all` applies one of them to every such file. `owner` (a user or username) and `team` (a Team or
    a name) apply to runbooks whose files do not name their own. `author` is
    recorded on revisions and audit rows (defaults to `owner`). A dry run
    reads and decides, then stops: no writes, no locks.
    """
    root = Path(path).resolve()
    if not root.is_dir():
        raise ValueError(f"{path} is not a folder")
    collection = (collection or root.name).strip()[:200]
    if not collection:
        raise ValueError("the collection needs a name")
    owner_user = _resolve_user(owner)
    author = author if author is not None else owner_user
    report = ImportReport(root=str(path), collection=collection, dry_run=dry_run)

    results: dict[str, FileResult] = {}
    texts = _read_all(root, results)
    parsed, index_values = _parse_all(texts, results)
    choices = {item.rel: (resolutions or {}).get(item.rel, resolve_all) for item in parsed}
    decisions = decide(
        parsed, {item.rel: text_hash(texts[item.rel]) for item in parsed}, collection, choices
    )
    slugs_by_path = {item.rel: item.slug for item in parsed}
    directory = Directory()
    default_team = team.name if isinstance(team, Team) else (str(team).strip() if team else "")

    related: list[tuple[str, list[str]]] = []
    bar = tqdm(
        decisions,
        total=len(decisions),
        file=sys.stderr,
        disable=not progress,
        unit="file",
        desc="Importing",
    )
    for done, decision in enumerate(bar):
        if on_progress is not None:
            on_progress(done, len(decisions))
        item = decision.item
        result = FileResult(
            item.rel,
            decision.action,
            slug=item.slug,
            reason=decision.reason,
            warnings=item.warnings,
        )
        results[item.rel] = result
        if decision.action in (CREATED, UPDATED) or decision.remember_only:
            item.body = links.to_app_links(item.rel, item.body, slugs_by_path)
            try:
                plan = plan_for(item, index_values.get(item.rel, {}), directory)
                if not dry_run:
                    if decision.action == CREATED:
                        create(
                            decision,
                            plan,
                            author=author,
                            owner=owner_user,
                            team=directory.team(default_team) if default_team else None,
                            directory=directory,
                            collection=collection,
                        )
                    else:
                        result.status = update(
                            decision,
                            plan,
                            author=author,
                            directory=directory,
                            collection=collection,
                            resolution=choices[item.rel],
                        )
                        if result.status == CONFLICT and not result.reason:
                            result.reason = (
                                "the runbook was edited here while the import ran; not applied"
                            )
                if (
                    plan.related is not None
                    and result.status != CONFLICT
                    and not decision.remember_only
                ):
                    related.append((item.slug, plan.related))
            except Exception as exc:  # one bad file must not stop the others
                directory.teams.clear()
                result.status, result.reason = FAILED, f"could not be saved: {exc}"
    bar.close()
    if on_progress is not None:
        on_progress(len(decisions), len(decisions))
    if not dry_run:
        # Related runbooks are linked once every file's runbook exists.
        for slug, wanted in related:
            set_related(slug, wanted, author=author)

    _import_contacts(root, results, dry_run=dry_run, author=author)
    report.results = [results[rel] for rel in sorted(results)]
    return report


def _import_contacts(
    root: Path, results: dict[str, FileResult], *, dry_run: bool, author: Any
) -> None:
    """The export's contacts.yml, if there is one: contacts of services and teams."""
    from contacts import portable

    file = root / portable.FILE_NAME
    if not file.is_file() or file.is_symlink():
        return
    rel = portable.FILE_NAME
    try:
        entries = portable.parse(read(file, root))
        changed = portable.import_entries(entries, by=author, dry_run=dry_run)
    except (FileProblem, portable.ContactsFileProblem) as exc:
        results[rel] = FileResult(rel, FAILED, reason=str(exc))
        return
    status = UPDATED if changed else UNCHANGED
    results[rel] = FileResult(
        rel, status, reason=f"contacts of {len(entries)} service(s) and team(s)"
    )
