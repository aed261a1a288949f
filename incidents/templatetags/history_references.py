"""Links from a runbook's document history to the incidents and drills it names.

"INC-2025-0042" or "DR-007" in a history row's reference becomes a link when
that record exists here; a reference to a record that does not (an imported
history naming another tracker's incident) stays plain text, marked external.
One query for the whole table, so the runbook page keeps a constant
query count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from incidents.models import Drill, Incident

register = template.Library()

REFERENCE = re.compile(r"\b(?:INC-\d{4}-\d{1,6}|INC-\d{1,6}|DR-\d{1,6})\b")


def _references(entries: Iterable[Any]) -> set[str]:
    return {
        match
        for entry in entries
        for match in REFERENCE.findall(getattr(entry, "reference", "") or "")
    }


@register.simple_tag
def reference_links(entries: Iterable[Any]) -> dict[str, str]:
    """URL of every incident or drill the rows name that exists here (one query)."""
    names = _references(list(entries))
    # The empty name matches nothing; it keeps the query (and the page's query count) the
    # same whether or not the table names any record.
    incidents = Incident.objects.filter(
        number__in=["", *(n for n in names if n.startswith("INC-"))]
    )
    drills = Drill.objects.filter(number__in=["", *(n for n in names if n.startswith("DR-"))])
    # Model orderings are not allowed inside a UNION.
    known = (
        incidents.order_by()
        .values_list("number", flat=True)
        .union(drills.order_by().values_list("number", flat=True))
    )
    return {
        number: reverse(
            "drills:detail" if number.startswith("DR-") else "incidents:detail", args=[number]
        )
        for number in known
    }


@register.filter
def linked_reference(reference: str, links: dict[str, str]) -> SafeString:
    """The reference with each known INC-/DR- number linked and unknown ones marked external."""
    reference = reference or ""
    parts: list[tuple[str, str, str]] = []
    position = 0
    for match in REFERENCE.finditer(reference):
        parts.append(("text", reference[position : match.start()], ""))
        name = match.group(0)
        parts.append(("link", name, links[name]) if name in links else ("external", name, ""))
        position = match.end()
    parts.append(("text", reference[position:], ""))
    return format_html_join(
        "",
        "{}",
        (
            (
                format_html('<a href="{}">{}</a>', url, text)
                if kind == "link"
                else format_html(
                    '<span class="reference-external" title="Not a record in this library">{} (external)</span>',
                    text,
                )
                if kind == "external"
                else text,
            )
            for kind, text, url in parts
            if text
        ),
    )
