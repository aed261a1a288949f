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

import html
import re
import textwrap
from dataclasses import dataclass, field

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


_CODE_SPAN = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Step:
    index: int
    section: str
    text: str
    # Fenced code inside the step's list item: the copy-paste-ready commands.
    commands: tuple[str, ...] = field(default=())

    @property
    def text_html(self) -> str:
        """The step text escaped, with `code` spans as <code>."""
        return _CODE_SPAN.sub(r"<code>\1</code>", html.escape(self.text))


def _is_step_section(title: str) -> bool:
    lowered = title.lower()
    return any(word in lowered for word in STEP_SECTION_WORDS)


def _items(body: str) -> list[tuple[str, bool, str, tuple[str, ...]]]:
    """Every list step candidate as (section title, section is a step section, text, commands).

    A step's text is its item's first paragraph: continuation lines are joined
    until a blank line, a fence, a heading or the next list item. A fenced
    block indented under the item (the way list items nest code) is one of
    its commands.
    """
    found: list[tuple[str, bool, list[str], list[str]]] = []
    section, in_step_section = "", False
    # (level, is a step section) of the enclosing headings: "### Immediate actions"
    # under "## Resolution" is part of the resolution.
    outline: list[tuple[int, bool]] = []

    def enter(level: int, title: str) -> bool:
        while outline and outline[-1][0] >= level:
            outline.pop()
        steps = _is_step_section(title) or any(is_steps for _, is_steps in outline)
        outline.append((level, steps))
        return steps
    fence: str | None = None
    fence_lines: list[str] | None = None
    previous = ""
    open_item: list[str] | None = None
    # The item an indented fence belongs to, until a heading or unindented text ends it.
    owner: list[str] | None = None
    for line in body.splitlines():
        fence_match = _FENCE.match(line)
        indented = line[:1] in (" ", "\t")
        if fence is not None:
            if fence_match and fence_match.group(1)[0] == fence[0] and len(fence_match.group(1)) >= len(fence):
                fence = None
                if fence_lines is not None and owner is not None:
                    owner.append(_dedent(fence_lines))
                fence_lines = None
            elif fence_lines is not None:
                fence_lines.append(line)
            previous = ""
            continue
        if fence_match:
            fence, open_item, previous = fence_match.group(1), None, ""
            fence_lines = [] if indented and owner is not None else None
            continue
        heading = _ATX_HEADING.match(line)
        item = _ORDERED_ITEM.match(line) or _TASK_ITEM.match(line)
        if heading:
            section, open_item, owner = heading.group(2).strip(), None, None
            in_step_section = enter(len(heading.group(1)), section)
        elif (
            _SETEXT_UNDERLINE.match(line)
            and previous.strip()
            and not _ORDERED_ITEM.match(previous)
            and not previous.lstrip().startswith(("-", "*", "+", "|", ">"))
        ):
            section, open_item, owner = previous.strip(), None, None
            in_step_section = enter(1 if line.strip().startswith("=") else 2, section)
            if found and found[-1][2] and found[-1][2][-1] == previous.strip():
                found[-1][2].pop()
        elif item:
            open_item, owner = [item.group(1)], []
            found.append((section, in_step_section, open_item, owner))
        elif not line.strip() or _BULLET.match(line):
            open_item = None
            if line.strip() and not indented:
                owner = None
        elif open_item is not None:
            open_item.append(line)
        elif not indented:
            owner = None
        previous = line
    return [
        (section, in_steps, " ".join(" ".join(lines).split())[:_MAX_STEP_CHARS], tuple(commands))
        for section, in_steps, lines, commands in found
    ]


def _dedent(lines: list[str]) -> str:
    return textwrap.dedent("\n".join(lines)).strip("\n")


def parse_steps(body: str) -> list[Step]:
    items = _items(body or "")
    chosen = [(section, text, commands) for section, in_steps, text, commands in items if in_steps]
    if not chosen:
        chosen = [(section, text, commands) for section, _, text, commands in items]
    return [
        Step(index=i, section=section, text=text, commands=commands)
        for i, (section, text, commands) in enumerate(chosen, start=1)
    ]
