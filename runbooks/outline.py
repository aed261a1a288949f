"""The structure of a runbook's markdown: its sections and, in each, its blocks.

Built from the element tree Python-Markdown makes while rendering (same
extensions, same rules for fences, lists and headings), so what the checklist,
the required-section check and the importer read is exactly what the page
shows. Nothing here parses markdown lines itself.

    outline(text).headings        every heading's plain text, in order
    outline(text).title           the first level-1 heading, or ""
    outline(text).sections        Section(level, title, anchor, path, blocks)

Fenced code is kept as `Command`s (language, code) wherever it appears: at
section level as a block, inside list items as the item's commands.
"""

from __future__ import annotations

import html
import re
import threading
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field
from typing import Any, Literal

import markdown as python_markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from .markdown import is_pathological, parser

__all__ = ["Block", "Command", "Item", "Outline", "Section", "outline"]

BlockKind = Literal["paragraph", "list", "code", "table", "quote", "html", "other"]

_HEADING_TAGS = {f"h{level}": level for level in range(1, 7)}
# Python-Markdown stashes fenced code and raw HTML as placeholders in the tree.
_STASH_PLACEHOLDER = re.compile("\x02wzxhzdk:(\\d+)\x03")
_CODE = re.compile(r"<code(?:\s+class=\"(?:language-)?([^\"]*)\")?[^>]*>(.*?)</code>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Command:
    """A fenced code block: shown ready to copy."""

    code: str
    language: str = ""


@dataclass(frozen=True)
class Item:
    """One list item: its own paragraphs (nested lists and code excluded), its code, its sub-lists."""

    paragraphs: tuple[str, ...]
    ordered: bool
    task: bool = False
    checked: bool = False
    commands: tuple[Command, ...] = ()
    children: tuple[Block, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(self.paragraphs)


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str = ""
    ordered: bool = False
    items: tuple[Item, ...] = ()
    command: Command | None = None


@dataclass(frozen=True)
class Section:
    """A heading and the blocks up to the next heading of any level.

    ``path`` holds the titles of the enclosing headings and this one
    ("Resolution", "Immediate actions"), so a sub-section knows it belongs to
    a resolution. The content before the first heading is a level-0 section
    with an empty title.
    """

    level: int
    title: str
    anchor: str = ""
    path: tuple[str, ...] = ()
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True)
class Outline:
    sections: tuple[Section, ...] = field(default=())

    @property
    def headings(self) -> list[str]:
        return [section.title for section in self.sections if section.level]

    @property
    def title(self) -> str:
        return next((section.title for section in self.sections if section.level == 1), "")


class _CaptureTree(Treeprocessor):
    """Keeps the finished tree (after inline parsing and unescaping) for the outline."""

    def run(self, root: etree.Element) -> None:
        self.root = root


class _CaptureExtension(Extension):
    def __init__(self) -> None:
        super().__init__()
        self.capture: _CaptureTree | None = None

    def extendMarkdown(self, md: python_markdown.Markdown) -> None:  # noqa: N802 - Python-Markdown's API name
        self.capture = _CaptureTree(md)
        # Lowest priority: runs after every other tree step (inline, toc, unescape).
        md.treeprocessors.register(self.capture, "outline-capture", -100)


# Markdown instances are not thread-safe: one per thread, reset per call.
_local = threading.local()


def _instance() -> tuple[python_markdown.Markdown, _CaptureExtension]:
    pair = getattr(_local, "pair", None)
    if pair is None:
        capture = _CaptureExtension()
        pair = (parser(capture), capture)
        _local.pair = pair
    pair[0].reset()
    return pair


def outline(text: str) -> Outline:
    """The outline of a markdown text; empty for a body rendering shows as plain text."""
    if not text or not text.strip() or is_pathological(text):
        return Outline()
    md, capture = _instance()
    md.convert(text)
    assert capture.capture is not None
    return _Reader(md.htmlStash.rawHtmlBlocks).read(capture.capture.root)


class _Reader:
    def __init__(self, stash: list[Any]) -> None:
        self.stash = [str(block) for block in stash]

    def read(self, root: etree.Element) -> Outline:
        sections: list[Section] = []
        path: list[tuple[int, str]] = []
        level, title, anchor, blocks = 0, "", "", []
        for element in root:
            heading_level = _HEADING_TAGS.get(element.tag)
            if heading_level is None:
                block = self.block(element)
                if block is not None:
                    blocks.append(block)
                continue
            if level or blocks:
                sections.append(
                    Section(level, title, anchor, tuple(t for _, t in path), tuple(blocks))
                )
            while path and path[-1][0] >= heading_level:
                path.pop()
            level, title, anchor, blocks = (
                heading_level,
                self.text(element),
                element.get("id", ""),
                [],
            )
            path.append((level, title))
        if level or blocks:
            sections.append(Section(level, title, anchor, tuple(t for _, t in path), tuple(blocks)))
        return Outline(tuple(sections))

    # --- blocks -----------------------------------------------------------

    def block(self, element: etree.Element) -> Block | None:
        tag = element.tag
        if tag == "p":
            command = self.command(element)
            if command is not None:
                return Block("code", command=command)
            if self.raw_html(element):
                return Block("html")
            text = self.text(element)
            return Block("paragraph", text=text) if text else None
        if tag in ("ol", "ul"):
            return Block(
                "list",
                ordered=tag == "ol",
                items=tuple(self.item(li, tag == "ol") for li in element),
            )
        if tag == "pre":
            code = "".join(element.itertext()).strip("\n")
            return Block("code", command=Command(code))
        if tag == "table":
            return Block("table", text=self.text(element))
        if tag == "blockquote":
            return Block(
                "quote", text=" ".join(filter(None, (self.text(child) for child in element)))
            )
        if tag == "hr":
            return None
        return Block("other", text=self.text(element))

    def item(self, li: etree.Element, ordered: bool) -> Item:
        commands: list[Command] = []
        children: list[Block] = []
        task = "task-list-item" in (li.get("class") or "")
        # pymdownx.tasklist stashes the checkbox as raw HTML at the start of the item's text.
        first = li.find("p")
        leading = (li.text or "") + (first.text or "" if first is not None else "")
        checked = task and any(
            "checked" in self.stash_html(m) for m in _STASH_PLACEHOLDER.finditer(leading)
        )
        # A tight item's text sits in the <li> itself; a loose item's in <p>s.
        paragraphs: list[str] = []
        inline: list[str] = [_clean(li.text or "")]
        for child in li:
            command = self.command(child) if child.tag == "p" else None
            if child.tag in ("ol", "ul"):
                block = self.block(child)
                if block is not None:
                    children.append(block)
            elif command is not None:
                commands.append(command)
            elif child.tag == "pre":
                commands.append(Command("".join(child.itertext()).strip("\n")))
            elif child.tag in ("p", "blockquote", "table", "div"):
                paragraphs.append(self.text(child))
            else:
                self._collect_child(child, inline)
                continue
            inline.append(" " + _clean(child.tail or ""))
        lead = _squash("".join(inline))
        texts = tuple(text for text in (lead, *paragraphs) if text)
        return Item(texts, ordered, task, checked, tuple(commands), tuple(children))

    # --- text -------------------------------------------------------------

    def command(self, paragraph: etree.Element) -> Command | None:
        """The fenced block a placeholder paragraph stands for, if it is one."""
        if len(paragraph) or not paragraph.text:
            return None
        match = _STASH_PLACEHOLDER.fullmatch(paragraph.text.strip())
        if match is None:
            return None
        raw = self.stash[int(match.group(1))] if int(match.group(1)) < len(self.stash) else ""
        code = _CODE.search(raw)
        if not raw.lstrip().startswith(("<pre", "<div")) or code is None:
            return None
        body = html.unescape(_TAG.sub("", code.group(2)))
        return Command(body.strip("\n"), code.group(1) or "")

    def stash_html(self, match: re.Match[str]) -> str:
        index = int(match.group(1))
        return self.stash[index] if index < len(self.stash) else ""

    def raw_html(self, paragraph: etree.Element) -> bool:
        return not len(paragraph) and bool(
            _STASH_PLACEHOLDER.fullmatch((paragraph.text or "").strip())
        )

    def text(self, element: etree.Element) -> str:
        """Readable plain text; code spans keep their backticks, link targets are dropped."""
        out: list[str] = []
        self._collect(element, out)
        return _squash("".join(out))

    def _collect(self, element: etree.Element, out: list[str]) -> None:
        out.append(_clean(element.text or ""))
        for child in element:
            self._collect_child(child, out)

    def _collect_child(self, child: etree.Element, out: list[str]) -> None:
        if child.tag == "code":
            # Code spans keep Python-Markdown's escaping until serialised: undo it here.
            out.append(f"`{html.unescape(''.join(child.itertext()))}`")
        elif child.tag in ("input", "pre"):
            pass
        elif child.tag in ("ol", "ul", "p", "li", "tr", "td", "th", "br"):
            out.append(" ")
            self._collect(child, out)
            out.append(" ")
        else:
            self._collect(child, out)
        out.append(_clean(child.tail or ""))


def _clean(text: str) -> str:
    return _STASH_PLACEHOLDER.sub("", text)


def _squash(text: str) -> str:
    return " ".join(text.split())
