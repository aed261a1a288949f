"""Fill `{{label}}` placeholders in a runbook's commands with an alert's label values.

Works on the stored, sanitised HTML: only text inside <code> elements is
touched, each value is HTML-escaped before it goes in, and it is wrapped in a
<mark> so a reader sees which parts came from the alert. The copy button
copies the element's text, so it copies the filled command.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
CODE_ELEMENT = re.compile(r"(<code\b[^>]*>)(.*?)(</code>)", re.DOTALL)
LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_LABELS = 50
MAX_VALUE_LENGTH = 500


@dataclass(frozen=True)
class AlertLabels:
    values: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.values)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> AlertLabels:
        """Keep what can be a Prometheus label (name and value), bounded; ignore the rest."""
        values: dict[str, str] = {}
        for name, value in pairs:
            if len(values) >= MAX_LABELS:
                break
            if LABEL_NAME.match(name) and len(name) <= 100:
                values[name] = value.replace("\x00", "")[:MAX_VALUE_LENGTH]
        return cls(values)

    @property
    def cache_part(self) -> str:
        """Joins a page-fragment cache key: empty for the plain page, a digest per label set."""
        if not self.values:
            return ""
        return hashlib.sha256(repr(sorted(self.values.items())).encode()).hexdigest()[:20]

    def items(self) -> list[tuple[str, str]]:
        return sorted(self.values.items())


def placeholders_in(html: str) -> list[str]:
    names: set[str] = set()
    for match in CODE_ELEMENT.finditer(html):
        names.update(PLACEHOLDER.findall(match.group(2)))
    return sorted(names)


def _placeholder_html(labels: Mapping[str, str]) -> Callable[[re.Match[str]], str]:
    def placeholder(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in labels:
            return f'<mark class="alert-value" title="From the alert label {name}">{escape(labels[name])}</mark>'
        return f'<mark class="alert-missing" title="No alert label {name}">{match.group(0)}</mark>'

    return placeholder


def fill_text(text: str, labels: Mapping[str, str]) -> SafeString:
    """A plain-text command (a checklist step's) as escaped HTML with its placeholders filled."""
    # Escaping leaves "{{ name }}" as it is, so placeholders are found in the escaped text.
    return mark_safe(PLACEHOLDER.sub(_placeholder_html(labels), str(escape(text))))  # noqa: S308


def fill_commands(html: str, labels: Mapping[str, str]) -> SafeString:
    placeholder = _placeholder_html(labels)

    def code(match: re.Match[str]) -> str:
        return match.group(1) + PLACEHOLDER.sub(placeholder, match.group(2)) + match.group(3)

    # The input is our own sanitised HTML and every inserted value is escaped.
    return mark_safe(CODE_ELEMENT.sub(code, html))  # noqa: S308
