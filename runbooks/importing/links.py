"""Links between runbooks, both ways: file links to app links on import, and back on export.

Both directions walk the same lines (outside code fences) and the same two
link forms (inline ``[text](target)`` and reference definitions
``[id]: target``); only the mapping of one target differs.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable

MARKDOWN_SUFFIXES = (".md", ".markdown")

FENCE_RE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
INLINE_LINK_RE = re.compile(r"(\]\()(\s*)(<[^>]*>|[^)\s]+)((?:\s+\"[^\"]*\")?\s*\))")
REF_DEF_RE = re.compile(r"^(\s{0,3}\[[^\]]+\]:\s*)(\S+)(.*)$")
SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_HUGO_REF_RE = re.compile(r"^\{\{<\s*(?:rel)?ref\s+\"([^\"]+)\"\s*>\}\}$")
APP_LINK_RE = re.compile(r"^/runbooks/([-\w]+)/(#\S*)?$")


def outside_fences(lines: list[str]) -> Iterable[tuple[int, str]]:
    """(index, line) of every line that is not inside a fenced code block."""
    fence = ""
    for i, line in enumerate(lines):
        match = FENCE_RE.match(line)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = ""
            continue
        if match:
            fence = match.group(1)
            continue
        yield i, line


def rewrite(body: str, target: Callable[[str], str | None]) -> str:
    """Replace each link target for which `target` returns a new one; code blocks untouched."""
    lines = body.split("\n")
    for i, line in outside_fences(lines):
        if "](" in line:

            def inline(match: re.Match[str]) -> str:
                new = target(match.group(3))
                return match.group(0) if new is None else f"{match.group(1)}{new}{match.group(4)}"

            line = INLINE_LINK_RE.sub(inline, line)
        definition = REF_DEF_RE.match(line)
        if definition and (new := target(definition.group(2))) is not None:
            line = f"{definition.group(1)}{new}{definition.group(3)}"
        lines[i] = line
    return "\n".join(lines)


def app_url(slug: str) -> str:
    """The runbook page's path as stored in bodies; exports turn it back with APP_LINK_RE."""
    return f"/runbooks/{slug}/"


def to_app_links(rel: str, body: str, slugs_by_path: dict[str, str]) -> str:
    """Relative links to other imported files become links to their runbook pages."""

    def target(value: str) -> str | None:
        hugo = _HUGO_REF_RE.match(value)
        if hugo:
            value = hugo.group(1)
        if value.startswith("<") and value.endswith(">"):
            value = value[1:-1]
        if not value or value.startswith(("/", "#")) or SCHEME_RE.match(value):
            return None
        path, _, fragment = value.partition("#")
        if not path.lower().endswith(MARKDOWN_SUFFIXES):
            return None
        slug = slugs_by_path.get(posixpath.normpath(posixpath.join(posixpath.dirname(rel), path)))
        if slug is None:
            return None
        return app_url(slug) + (f"#{fragment}" if fragment else "")

    return rewrite(body, target)


def to_file_links(body: str, file_names: dict[str, str]) -> str:
    """Links to runbook pages in `file_names` (slug → exported file name) become relative file links."""

    def target(value: str) -> str | None:
        match = APP_LINK_RE.match(value)
        if match is None or match.group(1) not in file_names:
            return None
        return f"{file_names[match.group(1)]}{match.group(2) or ''}"

    return rewrite(body, target)
