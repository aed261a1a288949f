"""Read a rendered form the way a browser submits it."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any


class _FormReader(HTMLParser):
    def __init__(self, form_class: str) -> None:
        super().__init__()
        self.form_class = form_class
        self.inside = False
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._textarea_opening = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = self.form_class in a.get("class", "").split()
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.data.setdefault(name, []).append(a.get("value", ""))
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self._textarea_opening = True
            self.data[name] = [""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            # Browsers drop the newline that opens a <textarea>'s content.
            if self._textarea_opening and data.startswith("\n"):
                data = data[1:]
            self._textarea_opening = False
            self.data[self._textarea][0] += data


def form_data(html: str, form_class: str) -> dict[str, Any]:
    """Field name → value (or list of values) of the first form with that CSS class."""
    reader = _FormReader(form_class)
    reader.feed(html)
    return {name: values if len(values) != 1 else values[0] for name, values in reader.data.items()}
