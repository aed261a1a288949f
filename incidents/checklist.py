"""Turn a runbook revision's markdown into the steps of a checklist.

Read from the runbook's outline (runbooks.outline, Python-Markdown's own parse
tree), inside the action sections people follow during an incident (diagnosis,
mitigation, resolution, procedure, verification, rollback…) and everything
under them. A step is any of:

- an ordered-list or task-list item (its first paragraph; its fenced code are
  its commands); a bullet item that carries a command;
- a fenced command block with the paragraph that introduces it (a block right
  after a list belongs to the item before it, the way authors indent it);
- a sub-heading under an action section whose content has none of the above:
  the heading and its first paragraph.

A runbook with no action section still gets a checklist: every ordered or task
item in the document counts.

Each step has a `key` derived from its text and commands (and which repeat of
that text it is), so recorded progress follows the step itself, not its
position, when the parser or the rules here change.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from runbooks.outline import Block, Command, Item, Section, outline

ACTION_SECTION_WORDS = (
    "diagnos",
    "mitigat",
    "resolution",
    "remediat",
    "procedure",
    "steps",
    "troubleshoot",
    "rollback",
    "roll back",
    "verif",
    "execution",
)
_MAX_STEP_CHARS = 500
_CODE_SPAN = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Step:
    index: int
    section: str
    text: str
    # Fenced code of the step: the copy-paste-ready commands.
    commands: tuple[str, ...] = field(default=())
    # The rest of the step's prose (later paragraphs of its item).
    detail: str = ""
    key: str = ""

    @property
    def text_html(self) -> str:
        """The step text escaped, with `code` spans as <code>."""
        return _code_html(self.text)

    @property
    def detail_html(self) -> str:
        return _code_html(self.detail)


def _code_html(text: str) -> str:
    return _CODE_SPAN.sub(r"<code>\1</code>", html.escape(text))


def is_action_section(title: str) -> bool:
    lowered = title.lower()
    return any(word in lowered for word in ACTION_SECTION_WORDS)


@dataclass
class _Draft:
    section: str
    text: str
    commands: list[str] = field(default_factory=list)
    detail: str = ""


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_STEP_CHARS else text[: _MAX_STEP_CHARS - 1].rstrip() + "…"


def _item_steps(
    section: str, items: Iterable[Item], *, all_items: bool, lists_only: bool
) -> list[_Draft]:
    drafts: list[_Draft] = []
    for item in items:
        counts = item.ordered or item.task or (all_items and not lists_only and bool(item.commands))
        if counts and (item.paragraphs or item.commands):
            lead = item.paragraphs[0] if item.paragraphs else "Run:"
            drafts.append(
                _Draft(
                    section, lead, [c.code for c in item.commands], " ".join(item.paragraphs[1:])
                )
            )
        for child in item.children:
            if child.kind == "list":
                drafts.extend(
                    _item_steps(section, child.items, all_items=all_items, lists_only=lists_only)
                )
    return drafts


def _section_steps(section: Section, *, lists_only: bool) -> list[_Draft]:
    drafts: list[_Draft] = []
    intro = ""
    previous: Block | None = None
    for block in section.blocks:
        if block.kind == "list":
            drafts.extend(
                _item_steps(section.title, block.items, all_items=True, lists_only=lists_only)
            )
        elif block.kind == "code" and not lists_only:
            command: Command = block.command or Command("")
            follows_list = previous is not None and previous.kind == "list" and drafts
            follows_code = previous is not None and previous.kind == "code" and drafts
            if follows_list or follows_code:
                drafts[-1].commands.append(command.code)
            else:
                drafts.append(
                    _Draft(section.title, intro or f"Run ({section.title}):", [command.code])
                )
        intro = block.text if block.kind == "paragraph" else ""
        previous = block
    return drafts


def _drafts(body: str) -> list[_Draft]:
    sections = outline(body).sections
    action_levels: list[int] = []
    found: list[_Draft] = []
    any_action = False
    for section in sections:
        while action_levels and action_levels[-1] >= section.level:
            action_levels.pop()
        under_action = bool(action_levels)
        if is_action_section(section.title):
            action_levels.append(section.level)
        elif not under_action:
            continue
        any_action = True
        drafts = _section_steps(section, lists_only=False)
        if not drafts and under_action and section.level:
            first = next((b.text for b in section.blocks if b.kind == "paragraph"), "")
            drafts = [
                _Draft(
                    section.path[-2] if len(section.path) > 1 else section.title,
                    section.title,
                    [],
                    first,
                )
            ]
        found.extend(drafts)
    if any_action and not found:
        found = _prose_steps(sections)
    if not any_action:
        for section in sections:
            found.extend(_section_steps(section, lists_only=True))
    return found


def _prose_steps(sections: Iterable[Section]) -> list[_Draft]:
    """Action sections written as prose only: each paragraph or bullet is a step to read and do."""
    drafts: list[_Draft] = []
    action_levels: list[int] = []
    for section in sections:
        while action_levels and action_levels[-1] >= section.level:
            action_levels.pop()
        if is_action_section(section.title):
            action_levels.append(section.level)
        if not action_levels:
            continue
        for block in section.blocks:
            if block.kind in ("paragraph", "quote"):
                drafts.append(_Draft(section.title, block.text))
            elif block.kind == "list":
                for item in block.items:
                    nested = "; ".join(child.text for child in _flat(_children(item)) if child.text)
                    if item.text:
                        drafts.append(_Draft(section.title, item.text, detail=nested))
    return drafts


def _children(item: Item) -> Iterable[Item]:
    for child in item.children:
        yield from child.items


def _flat(items: Iterable[Item]) -> Iterable[Item]:
    for item in items:
        yield item
        for child in item.children:
            yield from _flat(child.items)


_PROMPT = "$ "


def copy_ready(code: str) -> str:
    """A command block as it should be pasted: shell prompts dropped, shown output left out."""
    lines = code.splitlines()
    if not any(line.startswith(_PROMPT) for line in lines):
        return code
    return "\n".join(line[len(_PROMPT) :] for line in lines if line.startswith(_PROMPT))


def _key(draft: _Draft, seen: Counter[str]) -> str:
    content = "\x1f".join([" ".join(draft.text.split()), *draft.commands])
    digest = hashlib.sha256(content.encode()).hexdigest()[:24]
    seen[digest] += 1
    return f"{digest}-{seen[digest]}"


def parse_steps(body: str) -> list[Step]:
    seen: Counter[str] = Counter()
    return [
        Step(
            index=i,
            section=draft.section,
            text=_clip(draft.text),
            commands=tuple(copy_ready(command) for command in draft.commands),
            detail=_clip(draft.detail),
            key=_key(draft, seen),
        )
        for i, draft in enumerate(_drafts(body or ""), start=1)
    ]
