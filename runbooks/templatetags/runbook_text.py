"""How a runbook's rendered text sits on its page."""

from __future__ import annotations

import html
import re

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_LEADING_H1 = re.compile(r"^\s*<h1\b[^>]*>(.*?)</h1>\s*", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_PERMALINK = "\u00b6"


def _plain(fragment: str) -> str:
    return " ".join(
        html.unescape(_TAG.sub("", fragment)).replace(_PERMALINK, "").split()
    ).casefold()


@register.filter
def without_title(body_html: str, title: str) -> SafeString:
    """The rendered body without a leading level-1 heading that repeats the page title.

    Imported runbooks start with "# <title>"; the page already shows the title,
    so the text would show it twice. The stored revision keeps its heading
    (export writes the text back unchanged).
    """
    body_html = body_html or ""
    match = _LEADING_H1.match(body_html)
    if match and _plain(match.group(1)) == " ".join((title or "").split()).casefold():
        body_html = body_html[match.end() :]
    # The body is the sanitised HTML stored with the revision (render_markdown's output).
    return mark_safe(body_html)  # noqa: S308
