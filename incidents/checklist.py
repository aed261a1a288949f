"""Turn a runbook revision's markdown into the steps of a checklist.

Steps are the ordered-list items and task-list items of the sections people
follow during an incident (procedure, diagnosis, resolution, verification,
execution). A runbook written in another shape still gets a checklist: with no
such section, every ordered or task item in the document counts.

The parser is line-based on purpose: it never fails on odd markdown, it skips
fenced code (a `1.` inside a shell snippet is not a step), and a step's index is
stable for a given text, which is what the pinned, immutable revision gives us.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STEP_SECTION_WORDS = (
    "procedure",
    "steps",
    "diagnos",
    "resolution",
    "mitigation",
    "remediation",
    "verif",
    "execution",
)

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_ORDERED_ITEM = re.compile(r"^\s*\d{1,9}[.)]\s+(?:\[[ xX]\]\s+)?(.+)$")
_TASK_ITEM = re.compile(r"^\s*[-*+]\s+\[[ xX]\]\s+(.+)$")
_BULLET = re.compile(r"^\s*[-*+]\s+")
_MAX_STEP_CHARS = 500


@dataclass(frozen=True)
class Step:
    index: int
    section: str
    text: str


def _is_step_section(title: str) -> bool:
    lowered = title.lower()
    return any(word in lowered for word in STEP_SECTION_WORDS)


def _items(body: str) -> list[tuple[str, bool, str]]:
    """Every list step candidate as (section title, section is a step section, text).

    A step's text is its item's first paragraph: continuation lines are joined
    until a blank line, a fence, a heading or the next list item.
    """
    found: list[tuple[str, bool, list[str]]] = []
    section, in_step_section = "", False
    fence: str | None = None
    previous = ""
    open_item: list[str] | None = None
    for line in body.splitlines():
        fence_match = _FENCE.match(line)
        if fence is not None:
            if fence_match and fence_match.group(1)[0] == fence[0] and len(fence_match.group(1)) >= len(fence):
                fence = None
            previous = ""
            continue
        if fence_match:
            fence, open_item, previous = fence_match.group(1), None, ""
            continue
        heading = _ATX_HEADING.match(line)
        item = _ORDERED_ITEM.match(line) or _TASK_ITEM.match(line)
        if heading:
            section, open_item = heading.group(2).strip(), None
            in_step_section = _is_step_section(section)
        elif (
            _SETEXT_UNDERLINE.match(line)
            and previous.strip()
            and not _ORDERED_ITEM.match(previous)
            and not previous.lstrip().startswith(("-", "*", "+", "|", ">"))
        ):
            section, open_item = previous.strip(), None
            in_step_section = _is_step_section(section)
            if found and found[-1][2] and found[-1][2][-1] == previous.strip():
                found[-1][2].pop()
        elif item:
            open_item = [item.group(1)]
            found.append((section, in_step_section, open_item))
        elif not line.strip() or _BULLET.match(line):
            open_item = None
        elif open_item is not None:
            open_item.append(line)
        previous = line
    return [
        (section, in_steps, " ".join(" ".join(lines).split())[:_MAX_STEP_CHARS]) for section, in_steps, lines in found
    ]


def parse_steps(body: str) -> list[Step]:
    items = _items(body or "")
    chosen = [(section, text) for section, in_steps, text in items if in_steps]
    if not chosen:
        chosen = [(section, text) for section, _, text in items]
    return [Step(index=i, section=section, text=text) for i, (section, text) in enumerate(chosen, start=1)]
