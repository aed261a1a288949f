"""YAML front matter: split it off a markdown file safely, and write it back.

Only a block that starts on the very first line with ``---`` counts, so a
horizontal rule further down a file is never mistaken for one.

Front matter comes from files anyone can upload, so it is read defensively:
a block over ``MAX_BYTES`` is refused unread, anchors and aliases are refused
from the parser's event stream before anything is constructed (a "billion
laughs" is never expanded), and a key stated twice is refused rather than
letting the last one win silently.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

MAX_BYTES = 16 * 1024

_OPENING = re.compile(r"\A---[ \t]*\n")
_CLOSING = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)


class FrontMatterError(ValueError):
    """The file starts a front matter block that is not a safe, valid YAML mapping."""


def _line_of(mark: Any) -> str:
    # +2: the opening --- is line 1 of the file, and marks count from 0.
    return f" (line {mark.line + 2})" if mark is not None else ""


def _refuse_anchors(raw: str) -> None:
    for event in yaml.parse(raw, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise FrontMatterError(
                f"front matter uses YAML anchors or aliases{_line_of(event.start_mark)}; they are not accepted"
            )


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping stating the same key twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, (list, dict)):
                    raise FrontMatterError(
                        f"front matter has a list or mapping as a key{_line_of(key_node.start_mark)}"
                    )
                if key in seen:
                    raise FrontMatterError(
                        f"front matter states {key!r} twice{_line_of(key_node.start_mark)}"
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def split(text: str) -> tuple[dict[str, Any] | None, str]:
    """Return (front matter or None when there is none, the rest of the text)."""
    opening = _OPENING.match(text)
    if not opening:
        return None, text
    closing = _CLOSING.search(text, opening.end())
    if closing is None:
        raise FrontMatterError("front matter starts with --- but is never closed")
    raw = text[opening.end() : closing.start()]
    size = len(raw.encode("utf-8"))
    if size > MAX_BYTES:
        raise FrontMatterError(f"front matter is {size:,} bytes, over the {MAX_BYTES:,}-byte limit")
    try:
        _refuse_anchors(raw)
        data = yaml.load(raw, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FrontMatterError(
            f"front matter is not valid YAML{_line_of(mark)}: {problem}"
        ) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FrontMatterError(
            f"front matter must be a mapping of keys to values, not a {type(data).__name__}"
        )
    rest = text[closing.end() :]
    return {str(key): value for key, value in data.items()}, rest.removeprefix("\n")


def dump(data: dict[str, Any]) -> str:
    """The ``---`` block for `data`, keys in the given order."""
    body = yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000
    )
    return f"---\n{body}---\n"
