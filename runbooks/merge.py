"""Three-way merge of runbook text against the revision both editors started from.

Edits that touch different lines merge on their own. Where both changed the
same lines the merged text keeps both sides between conflict markers, so a
save that makes no choice loses nothing; only an explicit choice per conflict
(`resolve`) keeps one side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import merge3

MINE, THEIRS, BOTH = "mine", "theirs", "both"
CHOICES = (BOTH, MINE, THEIRS)


@dataclass(frozen=True)
class Region:
    """One stretch of the merged text: unchanged, taken from one side, or a conflict."""

    kind: str  # "unchanged", "mine", "theirs", "same", "conflict"
    lines: list[str]
    base: list[str] = field(default_factory=list)
    mine: list[str] = field(default_factory=list)
    theirs: list[str] = field(default_factory=list)
    number: int = 0  # 1-based, conflicts only

    @property
    def is_conflict(self) -> bool:
        return self.kind == "conflict"


@dataclass(frozen=True)
class MergeResult:
    text: str
    regions: list[Region]

    @property
    def conflicts(self) -> list[Region]:
        return [region for region in self.regions if region.is_conflict]

    @property
    def clean(self) -> bool:
        return not self.conflicts


def _open_marker(number: int) -> str:
    return f"<<<<<<< conflict {number}: your change\n"


def _middle_marker(number: int) -> str:
    return f"======= conflict {number}: their change\n"


def _close_marker(number: int, their_label: str) -> str:
    return f">>>>>>> conflict {number} ends ({their_label})\n"


def _lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    # A last line without a newline would glue onto a marker that follows it.
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def three_way(
    base: str, mine: str, theirs: str, *, their_label: str = "their change"
) -> MergeResult:
    """Merge `mine` and `theirs`, both edited from `base`; conflicting hunks keep both, marked."""
    base_lines, my_lines, their_lines = _lines(base), _lines(mine), _lines(theirs)
    regions: list[Region] = []
    out: list[str] = []
    conflict_no = 0
    for region in merge3.Merge3(base_lines, my_lines, their_lines).merge_regions():
        kind = region[0]
        if kind == "unchanged":
            lines = base_lines[region[1] : region[2]]
        elif kind in ("a", "same"):
            lines = my_lines[region[1] : region[2]]
        elif kind == "b":
            lines = their_lines[region[1] : region[2]]
        else:
            z1, z2, a1, a2, b1, b2 = (int(bound) for bound in region[1:7])
            conflict_no += 1
            mine_part, theirs_part = my_lines[a1:a2], their_lines[b1:b2]
            lines = [
                _open_marker(conflict_no),
                *mine_part,
                _middle_marker(conflict_no),
                *theirs_part,
                _close_marker(conflict_no, their_label),
            ]
            regions.append(
                Region(
                    "conflict",
                    lines,
                    base=base_lines[z1:z2],
                    mine=mine_part,
                    theirs=theirs_part,
                    number=conflict_no,
                )
            )
            out += lines
            continue
        names = {"a": MINE, "b": THEIRS}
        regions.append(Region(names.get(kind, kind), lines))
        out += lines
    text = "".join(out)
    if (
        mine
        and not mine.endswith("\n")
        and theirs
        and not theirs.endswith("\n")
        and text.endswith("\n")
    ):
        text = text[:-1]
    return MergeResult(text=text, regions=regions)


_BLOCK = re.compile(
    r"^<<<<<<< conflict (?P<number>\d+): your change\n"
    r"(?P<mine>.*?)"
    r"^======= conflict (?P=number): their change\n"
    r"(?P<theirs>.*?)"
    r"^>>>>>>> conflict (?P=number) ends[^\n]*(?:\n|\Z)",
    re.MULTILINE | re.DOTALL,
)


def resolve(text: str, choices: dict[int, str]) -> str:
    """Apply the editor's choice to each conflict block still in the text.

    A block without a choice, or with "both", stays as it is: both texts kept,
    marked. Blocks the editor already resolved by hand are simply not found.
    """

    def choose(match: re.Match[str]) -> str:
        choice = choices.get(int(match["number"]), BOTH)
        if choice == MINE:
            return match["mine"]
        if choice == THEIRS:
            return match["theirs"]
        return match[0]

    return _BLOCK.sub(choose, text)


def unresolved(text: str) -> int:
    """How many conflict blocks the text still holds."""
    return len(_BLOCK.findall(text))
