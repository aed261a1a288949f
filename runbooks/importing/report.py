"""What an import did (or, in a dry run, would do), file by file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

CREATED, UPDATED, UNCHANGED, CONFLICT, FAILED, SKIPPED = (
    "created",
    "updated",
    "unchanged",
    "changed in both",
    "failed",
    "skipped",
)
STATUSES = (CREATED, UPDATED, UNCHANGED, CONFLICT, FAILED, SKIPPED)

# How a "changed in both" file is resolved: the file's text, or the library's.
THEIRS, OURS = "theirs", "ours"


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
    collection: str = ""
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
    def conflicts(self) -> list[FileResult]:
        return self._with(CONFLICT)

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

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for storing a browser import's report as JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportReport:
        results = [FileResult(**result) for result in data.get("results", [])]
        return cls(
            root=data.get("root", ""),
            collection=data.get("collection", ""),
            dry_run=data.get("dry_run", False),
            results=results,
        )


class SkipFile(Exception):
    """Not a runbook (an index or an empty section page): reported as skipped."""


class FileProblem(Exception):
    """The file cannot be imported: reported as failed with this message."""
