"""Markdown rendering for runbook bodies.

Pipeline: Python-Markdown (+ a few extensions) -> bleach ``Cleaner`` with the
explicit allow-list below -> a small html5lib filter that adds the copy button
around code blocks, ``rel`` on external links and normalises task checkboxes.

Raw HTML inside the markdown is allowed, but only what survives the allow-list.
This module deliberately does not import Django.

Every render has a budget: bodies whose shape is known to make the parsers
slow (deep HTML nesting, thousands of raw tags or emphasis markers in one
paragraph) are refused up front, and the render itself runs in a child process
with a hard time limit (``runbooks.render_budget``). Either way the caller gets
``RenderTooComplex`` with a message a person can act on.
"""

from __future__ import annotations

import html
import logging
import re
import threading
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

import markdown
from bleach.css_sanitizer import CSSSanitizer
from bleach.html5lib_shim import Filter, getTreeWalker  # type: ignore[attr-defined]  # bleach's vendored html5lib; stubs omit these re-exports
from bleach.sanitizer import Cleaner
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

from . import render_budget

logger = logging.getLogger(__name__)

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_CSS_PROPERTIES",
    "ALLOWED_PROTOCOLS",
    "ALLOWED_TAGS",
    "SANITIZER_POLICY_VERSION",
    "RenderTooComplex",
    "Rendered",
    "heading_titles",
    "is_pathological",
    "parser",
    "render",
    "render_markdown",
]

# ---------------------------------------------------------------------------
# Allow-list
# ---------------------------------------------------------------------------

# Bump whenever the allow-list, the filter or the markdown extensions change
# what stored HTML would look like; ``manage.py rerender`` then brings stored
# revisions up to this version.
SANITIZER_POLICY_VERSION = 1


def current_policy_version() -> int:
    """The default for a new revision's policy stamp (a callable, so a bump needs no migration)."""
    return SANITIZER_POLICY_VERSION

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "p",
        "br",
        "hr",
        "strong",
        "em",
        "del",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "a",
        "img",
        "input",
        "div",
        "span",
        "button",
        "sup",
        "sub",
        "dl",
        "dt",
        "dd",
        "details",
        "summary",
    }
)

_HEADING_ATTRS = ["id"]
_BOX_ATTRS = ["class", "data-copy"]
_CELL_ATTRS = ["align", "style"]

ALLOWED_ATTRIBUTES: dict[str, list[str]] = {
    "h1": _HEADING_ATTRS,
    "h2": _HEADING_ATTRS,
    "h3": _HEADING_ATTRS,
    "h4": _HEADING_ATTRS,
    "h5": _HEADING_ATTRS,
    "h6": _HEADING_ATTRS,
    "a": ["href", "title", "class"],
    "img": ["src", "alt", "title"],
    "input": ["type", "checked", "disabled"],
    "div": _BOX_ATTRS,
    "span": _BOX_ATTRS,
    "button": ["type", *_BOX_ATTRS],
    "code": ["class"],
    "ul": ["class"],
    "ol": ["class", "start"],
    "li": ["class"],
    "th": _CELL_ATTRS,
    "td": _CELL_ATTRS,
}

ALLOWED_PROTOCOLS: frozenset[str] = frozenset({"http", "https", "mailto"})

# Only for Python-Markdown's table alignment (style="text-align: left;").
ALLOWED_CSS_PROPERTIES: frozenset[str] = frozenset({"text-align"})

# Protocols allowed for <img src> (relative URLs are allowed as well).
_IMG_PROTOCOLS = frozenset({"http", "https"})

_ALIGN_VALUES = frozenset({"left", "right", "center", "justify"})
_TEXT_ALIGN_RE = re.compile(
    r"\s*text-align\s*:\s*(?:left|right|center|justify)\s*;?\s*", re.IGNORECASE
)
_ID_RE = re.compile(r"[\w-]{1,200}")
_DIGITS_RE = re.compile(r"\d{1,9}")
# Same normalisation bleach applies before looking at a URI's scheme.
_URI_JUNK_RE = re.compile(r"[`\x00-\x20\x7f-\xa0\s]+")
_SCHEME_RE = re.compile(r"([a-z][a-z0-9+.-]*):")


def _uri_scheme(value: str) -> str | None:
    """Scheme of a URI after bleach-style normalisation, or None if relative."""
    normalized = _URI_JUNK_RE.sub("", html.unescape(value))
    normalized = re.sub(r"[^\x00-\x7f]", "", normalized).lower()
    if ":" not in normalized.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]:
        return None
    match = _SCHEME_RE.match(normalized)
    return match.group(1) if match else ""


def _allow_attribute(tag: str, name: str, value: str) -> bool:
    """Attribute filter: the ALLOWED_ATTRIBUTES list plus per-value checks."""
    if name not in ALLOWED_ATTRIBUTES.get(tag, ()):
        return False
    if name == "id":
        return bool(_ID_RE.fullmatch(value))
    if name == "style":
        return bool(_TEXT_ALIGN_RE.fullmatch(value))
    if name == "align":
        return value.strip().lower() in _ALIGN_VALUES
    if name == "start":
        return bool(_DIGITS_RE.fullmatch(value.strip()))
    if tag == "img" and name == "src":
        scheme = _uri_scheme(value)
        return scheme is None or scheme in _IMG_PROTOCOLS
    if tag == "input" and name == "type":
        return value.strip().lower() == "checkbox"
    if tag == "button" and name == "type":
        return value.strip().lower() == "button"
    if name == "data-copy":
        return value == ""
    return True


# ---------------------------------------------------------------------------
# Post-sanitisation filter
# ---------------------------------------------------------------------------

_EXTERNAL_REL = "nofollow noopener"
_HREF = (None, "href")


def _is_external(href: str) -> bool:
    normalized = _URI_JUNK_RE.sub("", html.unescape(href)).lower()
    return normalized.startswith(("http:", "https:", "//"))


class _RunbookFilter(Filter):
    """Runs after bleach's sanitizer on the already-cleaned token stream.

    * wraps every ``<pre>`` in ``<div class="code-block">`` with a copy button;
    * adds ``rel="nofollow noopener"`` to links that leave the site;
    * keeps ``<input>`` only as a disabled checkbox (task lists).
    """

    def __iter__(self):
        for token in super().__iter__():
            kind = token["type"]
            name = token.get("name")
            if kind == "StartTag" and name == "pre":
                yield from _copy_block_open()
                yield token
            elif kind == "EndTag" and name == "pre":
                yield token
                yield {"type": "EndTag", "name": "div", "namespace": token.get("namespace")}
            elif kind == "StartTag" and name == "a":
                attrs = token.get("data") or {}
                if _is_external(attrs.get(_HREF, "")):
                    attrs = dict(attrs)
                    attrs[(None, "rel")] = _EXTERNAL_REL
                    token["data"] = attrs
                yield token
            elif kind in ("StartTag", "EmptyTag") and name == "input":
                attrs = token.get("data") or {}
                if (None, "type") not in attrs:
                    continue  # the allow-list only keeps type="checkbox"
                new_attrs = {(None, "type"): "checkbox"}
                if (None, "checked") in attrs:
                    new_attrs[(None, "checked")] = ""
                new_attrs[(None, "disabled")] = ""
                token["data"] = new_attrs
                yield token
            else:
                yield token


_HTML_NS = "http://www.w3.org/1999/xhtml"


def _copy_block_open():
    yield {
        "type": "StartTag",
        "name": "div",
        "namespace": _HTML_NS,
        "data": {(None, "class"): "code-block"},
    }
    yield {
        "type": "StartTag",
        "name": "button",
        "namespace": _HTML_NS,
        "data": {
            (None, "type"): "button",
            (None, "class"): "copy-button",
            (None, "data-copy"): "",
        },
    }
    yield {"type": "Characters", "data": "Copy"}
    yield {"type": "EndTag", "name": "button", "namespace": _HTML_NS}


# A class chosen at runtime (getTreeWalker is untyped), so it can be subclassed below.
_EtreeWalker: Any = getTreeWalker("etree")
_DROP_WITH_CONTENT = frozenset(
    {"script", "style", "template", "iframe", "noscript", "noembed", "noframes", "xmp", "textarea"}
)


class _LinearWalker(_EtreeWalker):
    """html5lib's etree walker with an O(1) ``getParentNode``.

    The stock one does ``list(grandparent).count(parent)`` and ``.index(parent)``
    every time it climbs out of an element, which is quadratic in the number of
    siblings (a long runbook has thousands of top-level blocks). Here each
    grandparent's child positions are computed once per walk.
    """

    def __init__(self, tree):
        super().__init__(tree)
        self._positions: dict[int, dict[int, int]] = {}

    def __iter__(self):
        # Drop the *contents* of script/style & co. as well as the tags: their
        # text is code, not prose ("strip but keep text" applies to other tags).
        skipping = 0
        for token in super().__iter__():
            kind = token["type"]
            if kind in ("StartTag", "EndTag") and token["name"] in _DROP_WITH_CONTENT:
                skipping += 1 if kind == "StartTag" else -1
                skipping = max(skipping, 0)
                continue
            if not skipping:
                yield token

    def getParentNode(self, node):  # noqa: N802 - html5lib API name
        if not isinstance(node, tuple):
            return None
        element, key, parents, flag = node
        if flag == "text":
            return element if not parents else (element, key, parents, None)
        parent = parents.pop()
        if not parents:
            return parent
        grandparent = parents[-1]
        positions = self._positions.get(id(grandparent))
        if positions is None:
            positions = {id(child): i for i, child in enumerate(grandparent)}
            self._positions[id(grandparent)] = positions
        return parent, positions[id(parent)], parents, None


# Built once at import; Cleaner.clean() creates fresh per-call filter state.
_CLEANER = Cleaner(
    tags=ALLOWED_TAGS,
    attributes=_allow_attribute,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    css_sanitizer=CSSSanitizer(
        allowed_css_properties=ALLOWED_CSS_PROPERTIES,
        allowed_svg_properties=frozenset(),
    ),
    filters=[_RunbookFilter],
)
# Cleaner.walker holds a walker class at runtime; the stubs say an instance.
_CLEANER.walker = _LinearWalker  # type: ignore[assignment]
# Let the tokenizer see script/style & co. as real elements (instead of turning
# them into text in strip mode) so _LinearWalker can drop them with contents.
# bleach stores a frozenset here itself; the stubs say list.
_CLEANER.parser.tags = ALLOWED_TAGS | _DROP_WITH_CONTENT  # type: ignore[assignment]

# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------

_FENCE_LINE = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$")


class _FenceSpacing(Preprocessor):
    """Separates fences from the prose around them by a blank line.

    Runbooks written for GitHub put a fence right under its introducing line
    ("Check the pods:\n```shell"); GitHub shows a code block there, while
    Python-Markdown only starts one after a blank line and would show the
    command as inline text.
    """

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        fence = ""
        for line in lines:
            match = _FENCE_LINE.match(line)
            if fence:
                out.append(line)
                closes = match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence)
                if closes and match and not match.group(2).strip():
                    fence = ""
                    out.append("")
                continue
            # A backtick fence's info string never holds a backtick: "```x``` y" is inline code.
            if match and not (match.group(1)[0] == "`" and "`" in match.group(2)):
                if out and out[-1].strip():
                    out.append("")
                fence = match.group(1)
            out.append(line)
        return out


class _FenceSpacingExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - Python-Markdown's API name
        # Before superfences' own preprocessor (25).
        md.preprocessors.register(_FenceSpacing(md), "fence-spacing", 28)


# nl2br and attr_list are intentionally NOT enabled (attr_list lets authors set
# arbitrary attributes). superfences is used for fenced code because, unlike
# the stock fenced_code extension, it also handles fences nested in list items
# ("1. Run:\n\n    ```bash ..."), which is how runbook steps are written.
_EXTENSIONS: list[str | Extension] = [
    "tables",
    "sane_lists",
    "pymdownx.highlight",
    "pymdownx.superfences",
    "pymdownx.tasklist",
    "toc",
    _FenceSpacingExtension(),
]
_BASE_CONFIG = {
    "pymdownx.highlight": {"use_pygments": False},
    "pymdownx.tasklist": {"custom_checkbox": False, "clickable_checkbox": False},
}
_RENDER_CONFIG = {
    **_BASE_CONFIG,
    "toc": {"permalink": "\u00b6", "permalink_title": "Permanent link", "toc_depth": "1-6"},
}
_TITLES_CONFIG = {**_BASE_CONFIG, "toc": {"permalink": False, "toc_depth": "1-6"}}

_TOC_LEVELS = (2, 3)

# Markdown instances are not thread-safe: keep one per thread, reset per call.
_local = threading.local()


def _markdown(kind: str, config: dict) -> markdown.Markdown:
    md = getattr(_local, kind, None)
    if md is None:
        md = markdown.Markdown(extensions=_EXTENSIONS, extension_configs=config)
        setattr(_local, kind, md)
    return md.reset()


_render_md = partial(_markdown, "render", _RENDER_CONFIG)
_titles_md = partial(_markdown, "titles", _TITLES_CONFIG)


def _toc_tokens(md: markdown.Markdown) -> list[dict]:
    # The toc extension adds this attribute to the instance; Markdown's stubs cannot know it.
    return cast(Any, md).toc_tokens


def _flatten_toc(tokens: list[dict]):
    for token in tokens:
        yield token
        yield from _flatten_toc(token.get("children", []))


def _token_text(token: dict) -> str:
    return " ".join(html.unescape(token.get("name", "")).split())


TOO_COMPLEX_MESSAGE = "This text is too complex to render"


class RenderTooComplex(ValueError):
    """The body is over the render budget; ``str()`` says why in plain words."""

    def __init__(self, reason: str):
        super().__init__(
            f"{TOO_COMPLEX_MESSAGE}: {reason}. Split it up or simplify it, then try again."
        )


@dataclass(frozen=True)
class Rendered:
    html: str
    toc: list[tuple[int, str, str]] = field(default_factory=list)
    # Every heading's text (h1-h6): what required-section checks read, from the same parse.
    headings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"html": self.html, "toc": self.toc, "headings": self.headings}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rendered:
        return cls(
            html=data["html"],
            toc=[(level, anchor, text) for level, anchor, text in data["toc"]],
            headings=list(data["headings"]),
        )


def render(text: str) -> Rendered:
    """Render markdown to sanitised HTML plus an h2/h3 table of contents.

    Raises RenderTooComplex when the body is over the render budget.
    """
    if not text:
        return Rendered(html="", toc=[])
    if _is_pathological(text):
        return Rendered(html=f"<pre>{html.escape(text)}</pre>", toc=[])
    check_budget(text)
    return Rendered.from_json(_bounded("render", text, render_unbounded))


def render_unbounded(text: str) -> Rendered:
    """The render itself, with no time limit: only for the budget's child process."""
    if not text:
        return Rendered(html="", toc=[])
    md = _render_md()
    raw_html = md.convert(text)
    tokens = list(_flatten_toc(_toc_tokens(md)))
    toc = [
        (token["level"], token["id"], _token_text(token))
        for token in tokens
        if token["level"] in _TOC_LEVELS
    ]
    headings = [_token_text(token) for token in tokens]
    return Rendered(html=_CLEANER.clean(raw_html), toc=toc, headings=headings)


def _bounded(operation: str, text: str, in_process: Any) -> Any:
    try:
        return render_budget.run(operation, text)
    except render_budget.RenderTimeout:
        raise RenderTooComplex(
            f"it took longer than {render_budget.time_limit():.1f} seconds"
        ) from None
    except render_budget.RenderFailed:
        raise RenderTooComplex("the renderer gave up on it") from None
    except OSError:
        # No child process could be started (process limit): render here, caps still applied.
        logger.exception("Rendering without a time limit: no render process could be started")
        result = in_process(text)
        return result.as_json() if isinstance(result, Rendered) else result


# Python-Markdown's inline parser is quadratic in the link brackets, escapes and
# entities of one paragraph (20,000 take minutes). Real paragraphs have a few, so
# a body with a paragraph holding more than this is shown as preformatted text.
MAX_INLINE_MARKERS_PER_BLOCK = 1000
_INLINE_MARKERS = ("[", "\\", "&")
_BLOCK_BREAK = re.compile(r"\n[ \t]*\n")


def _is_pathological(text: str) -> bool:
    return any(
        sum(block.count(marker) for marker in _INLINE_MARKERS) > MAX_INLINE_MARKERS_PER_BLOCK
        for block in _BLOCK_BREAK.split(text)
    )


def is_pathological(text: str) -> bool:
    """Whether rendering shows ``text`` as preformatted instead of parsing it (see above)."""
    return _is_pathological(text)


def parser(*extensions: Extension) -> markdown.Markdown:
    """A fresh Markdown instance that parses exactly like rendering, plus ``extensions``.

    The outline (runbooks.outline) reads the element tree this builds, so
    sections and steps are what the page shows.
    """
    return markdown.Markdown(extensions=[*_EXTENSIONS, *extensions], extension_configs=cast(Any, _TITLES_CONFIG))


# Shapes that make the parsers slow, refused before they see them (measured on
# 2 cores: 4,000 unclosed "<a " in one paragraph take Python-Markdown 2 s, and
# 4,000 nested <div> take html5lib 0.7 s, both growing quadratically). A real
# runbook stays far below each cap.
MAX_HTML_NESTING = 100
MAX_HTML_TAGS_PER_BLOCK = 500
MAX_EMPHASIS_MARKERS_PER_BLOCK = 2000
MAX_BLOCKQUOTE_DEPTH = 20
_FENCED_CODE = re.compile(
    r"^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL
)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^<>]*?(/?)>|<[a-zA-Z/]")
_VOID_TAGS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)
_EMPHASIS = re.compile(r"\*+|_+|~~")
_BLOCKQUOTE_PREFIX = re.compile(r"^[ \t]*((?:>[ \t]*)+)", re.MULTILINE)


def check_budget(text: str) -> None:
    """Raise RenderTooComplex for shapes the parsers handle in quadratic time."""
    prose = _INLINE_CODE.sub("", _FENCED_CODE.sub("", text))
    depth = deepest = 0
    for match in _HTML_TAG.finditer(prose):
        closing, name, self_closing = match.group(1), (match.group(2) or "").lower(), match.group(3)
        if not name or name in _VOID_TAGS or self_closing:
            continue
        depth = max(depth - 1, 0) if closing else depth + 1
        deepest = max(deepest, depth)
    if deepest > MAX_HTML_NESTING:
        raise RenderTooComplex(f"HTML tags nest {deepest} deep (at most {MAX_HTML_NESTING})")
    for block in _BLOCK_BREAK.split(prose):
        if len(_HTML_TAG.findall(block)) > MAX_HTML_TAGS_PER_BLOCK:
            raise RenderTooComplex(
                f"one paragraph holds more than {MAX_HTML_TAGS_PER_BLOCK} HTML tags"
            )
        if len(_EMPHASIS.findall(block)) > MAX_EMPHASIS_MARKERS_PER_BLOCK:
            raise RenderTooComplex(
                f"one paragraph holds more than {MAX_EMPHASIS_MARKERS_PER_BLOCK} emphasis markers"
            )
    quote_depth = max(
        (prefix.count(">") for prefix in _BLOCKQUOTE_PREFIX.findall(prose)), default=0
    )
    if quote_depth > MAX_BLOCKQUOTE_DEPTH:
        raise RenderTooComplex(f"quotes nest {quote_depth} deep (at most {MAX_BLOCKQUOTE_DEPTH})")


def render_markdown(text: str) -> str:
    """Render markdown to sanitised HTML (safe to mark as safe in templates).

    Raises RenderTooComplex when the body is over the render budget.
    """
    return render(text).html


def heading_titles(text: str) -> list[str]:
    """Plain text of every markdown heading (h1-h6), in document order.

    Uses the same parser as rendering, so ``#`` lines inside fenced code blocks
    are not headings, and setext headings (``Title\\n=====``) are. Runs under
    the same budget as ``render``.
    """
    if not text or _is_pathological(text):
        return []
    check_budget(text)
    return list(_bounded("titles", text, heading_titles_unbounded))


def heading_titles_unbounded(text: str) -> list[str]:
    if not text:
        return []
    md = _titles_md()
    md.convert(text)
    return [_token_text(token) for token in _flatten_toc(_toc_tokens(md))]
