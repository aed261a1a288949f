"""YAML front matter: split it off a markdown file, and write it back.

Only a block that starts on the very first line with ``---`` counts, so a
horizontal rule further down a file is never mistaken for one.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_OPENING = re.compile(r"\A---[ \t]*\n")
_CLOSING = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)


class FrontMatterError(ValueError):
    """The file starts a front matter block that is not a valid YAML mapping."""


def split(text: str) -> tuple[dict[str, Any] | None, str]:
    """Return (front matter or None when there is none, the rest of the text)."""
    opening = _OPENING.match(text)
    if not opening:
        return None, text
    closing = _CLOSING.search(text, opening.end())
    if closing is None:
        raise FrontMatterError("front matter starts with --- but is never closed")
    raw = text[opening.end() : closing.start()]
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FrontMatterError(f"front matter is not valid YAML{where}: {problem}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FrontMatterError(f"front matter must be a mapping of keys to values, not a {type(data).__name__}")
    rest = text[closing.end() :]
    return {str(key): value for key, value in data.items()}, rest.removeprefix("\n")


def dump(data: dict[str, Any]) -> str:
    """The ``---`` block for `data`, keys in the given order."""
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
    return f"---\n{body}---\n"
