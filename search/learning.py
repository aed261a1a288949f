"""Learning from incidents: a (query → runbook) pair recorded when a responder
attaches a runbook to an incident after searching, and the boost it gives.

The boost is bounded and fades: each use counts 0.5 ** (age / HALF_LIFE), the
runbook's relevance is multiplied by 1 + min(MAX_BOOST, PER_USE × Σ counts),
and only uses whose words overlap the new query's words by at least
SIMILARITY (Jaccard) count. Hits show "used in N incidents for this".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .models import SearchUse
from .queries import parse

HALF_LIFE = dt.timedelta(days=90)
PER_USE = 0.08
MAX_BOOST = 0.25
SIMILARITY = 0.5
# The newest uses of the candidates that are read back: bounds the work per search.
USES_READ = 200


SUFFIXES = ("ing", "es", "ed", "s")


def _stem(word: str) -> str:
    """A light stem, so "timeout" and "timeouts" count as the same word."""
    for suffix in SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def query_terms(q: str) -> str:
    """The query's words, lightly stemmed, sorted and de-duplicated (what "similar" compares)."""
    return " ".join(sorted({_stem(t) for t in parse(q).terms}))[:200]


def record_use(query: str, runbook: Any, incident: Any) -> SearchUse | None:
    """Remember that `query` led to `runbook` in `incident`; a repeat or an empty query records nothing."""
    terms = query_terms(query)
    if not terms:
        return None
    try:
        with transaction.atomic():
            return SearchUse.objects.create(
                query=query[:200], terms=terms, runbook=runbook, incident=incident
            )
    except IntegrityError:
        return None  # this incident already recorded this query for this runbook


@dataclass(frozen=True)
class Boost:
    factor: float
    incidents: int


def _similar(a: set[str], b: set[str]) -> bool:
    return bool(a and b) and len(a & b) / len(a | b) >= SIMILARITY


def boosts(
    terms: list[str], runbook_ids: list[int], now: dt.datetime | None = None
) -> dict[int, Boost]:
    """Per runbook with similar past uses: its relevance factor and how many incidents used it."""
    if not runbook_ids or not terms:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(uses_sql(", ".join(["%s"] * len(runbook_ids))), list(runbook_ids))
        rows = cursor.fetchall()
    return boosts_from_uses(terms, rows, now)


def uses_sql(runbooks: str) -> str:
    """The statement reading the newest uses of `runbooks`: SQL for a list of ids (placeholders
    or a subquery), so a caller may send it with, or inside, a statement of its own."""
    # Raw SQL: the ORM's IN list over a few hundred ids costs more than the query.
    return (
        "SELECT runbook_id, incident_id, terms, created_at FROM search_searchuse"
        f" WHERE runbook_id IN ({runbooks}) ORDER BY created_at DESC LIMIT {USES_READ}"
    )


def boosts_from_uses(
    terms: list[str], rows: list[tuple[Any, ...]], now: dt.datetime | None = None
) -> dict[int, Boost]:
    """boosts() from the rows of uses_sql()."""
    if not terms:
        return {}
    now = now or timezone.now()
    wanted = {_stem(t) for t in terms}
    weight: dict[int, float] = {}
    incidents: dict[int, set[int]] = {}
    for runbook_id, incident_id, used_terms, created_at in rows:
        if not isinstance(created_at, dt.datetime):
            created_at = dt.datetime.fromisoformat(str(created_at))
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=dt.UTC)
        if not _similar(wanted, set(used_terms.split())):
            continue
        age = max(now - created_at, dt.timedelta(0))
        weight[runbook_id] = weight.get(runbook_id, 0.0) + 0.5 ** (age / HALF_LIFE)
        incidents.setdefault(runbook_id, set()).add(incident_id)
    return {
        pk: Boost(1.0 + min(MAX_BOOST, PER_USE * total), len(incidents[pk]))
        for pk, total in weight.items()
    }
