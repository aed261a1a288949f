"""Line diffs between two revision bodies, shaped for the templates."""

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class DiffRow:
    kind: str  # "equal", "insert", "delete", "replace"
    left_no: int | None
    left: str
    right_no: int | None
    right: str


@dataclass(frozen=True)
class InlineLine:
    kind: str  # "equal", "insert", "delete"
    old_no: int | None
    new_no: int | None
    text: str


def side_by_side(old: str, new: str) -> list[DiffRow]:
    a, b = old.splitlines(), new.splitlines()
    rows: list[DiffRow] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        left, right = a[i1:i2], b[j1:j2]
        for k in range(max(len(left), len(right))):
            rows.append(
                DiffRow(
                    kind=tag,
                    left_no=i1 + k + 1 if k < len(left) else None,
                    left=left[k] if k < len(left) else "",
                    right_no=j1 + k + 1 if k < len(right) else None,
                    right=right[k] if k < len(right) else "",
                )
            )
    return rows


def inline(old: str, new: str) -> list[InlineLine]:
    a, b = old.splitlines(), new.splitlines()
    lines: list[InlineLine] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            lines += [InlineLine("equal", i1 + k + 1, j1 + k + 1, a[i1 + k]) for k in range(i2 - i1)]
            continue
        # A replaced block reads best as all its deletions, then all its insertions.
        lines += [InlineLine("delete", i + 1, None, a[i]) for i in range(i1, i2)]
        lines += [InlineLine("insert", None, j + 1, b[j]) for j in range(j1, j2)]
    return lines


def stats(old: str, new: str) -> tuple[int, int]:
    added = removed = 0
    for line in inline(old, new):
        added += line.kind == "insert"
        removed += line.kind == "delete"
    return added, removed
