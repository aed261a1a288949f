"""The query API: `search(q, filters)` returns ranked hits with highlighted snippets.

The page, the JSON API, the alert lookup, the incident attach box and the
benchmarks all call this one function.

How a query runs (a bounded number of statements whatever the library size):

1. Words no runbook uses are looked up in the vocabulary; a close word
   (any length: "etdc" → "etcd") replaces them ("showing results for").
2. Candidates: each engine's full-text index (PostgreSQL GIN on tsvectors,
   SQLite FTS5) gives at most CANDIDATES runbooks whose title, alert names
   or lead hold every clause, and as many more from anywhere in the text;
   when fewer than a page match every clause, runbooks matching any clause
   join them. Nothing is ranked that was not gathered, so a query matching
   most of the library costs about what a narrow one does. The capped count
   and the runbooks whose alert name was typed come in the same statement,
   on PostgreSQL with the candidates' places and incident uses as well (one
   round trip for steps 2 and 3).
3. Ranking, the same Python on both engines: per clause, the best place it
   occurs in the runbook (names 3, lead 2, body 1) times the clause's rarity
   (idf from capped document counts), summed; an exact alert name typed adds
   EXACT_NAME_BONUS; then × freshness (search.freshness) × incident learning
   (search.learning).
4. Semantic re-ranking (search.semantic, on unless SEARCH_SEMANTIC_RERANK is
   False): the first candidates reordered by a blend of that score and the
   cosine between the query's embedding and each runbook's stored one.
5. Full rows, and snippets cut in Python from their text (search.snippets,
   the same on both engines), only for the hits that can be shown; the rows
   statement also reads the re-ranked head's vectors.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from runbooks.models import ReviewState, Runbook, Team

from . import freshness, learning, semantic, snippets
from .index import TEXT_CONFIG
from .queries import Clause, ParsedQuery, parse
from .vocabulary import STOPWORDS, known_words

DEFAULT_LIMIT = 20
MAX_LIMIT = 50
# Runbooks gathered before ranking: from the title, alert names and lead, and
# from anywhere in the text (fewer: a body-only match rarely reaches page one).
HEAD_CANDIDATES = 60
BODY_CANDIDATES = 30
# When few runbooks hold every clause: each clause brings its own share, so a
# rare word's runbooks are all gathered even when a common word matches hundreds.
CLAUSE_CANDIDATES = 160
MIN_PER_CLAUSE = 20
# Document counts stop here; a commoner clause counts as in COMMON_SHARE of the library.
DF_CAP = 2000
# Up to this many runbooks (PostgreSQL), candidates come through the GIN index only (see _index_only).
INDEX_ONLY_LIBRARY = 25_000
COMMON_SHARE = 0.5
COUNT_CAP = 1000
FIELD_WEIGHTS = {"names": 3.0, "lead": 2.0, "body": 1.0}
# The backends' places statements number the places.
PLACE_LABELS = {3: "names", 2: "lead", 1: "body"}
EXACT_NAME_BONUS = 20.0
PARTIAL_NAME_CHARS = 6
PARTIAL_NAME_SHARE = 0.6
SCORE_DECIMALS = 4
# Term statistics and spelling fixes change slowly; cached this long.
STATS_TTL = 60
# Private-use characters: they never occur in runbook text, so after escaping
# everything only the engine's own highlight markers turn into <mark>.
MARK_START, MARK_STOP = "\ue000", "\ue001"
SNIPPET_WORDS = 24
# Snippets are cut from this much of a runbook's text at most (search.snippets).
SNIPPET_TEXT_CHARS = 20_000
# "Did you mean": nearest vocabulary words, then the fewest edits.
SPELLING_CANDIDATES = 10
TRIGRAM_THRESHOLD = 0.3  # pg_trgm's default similarity_threshold
SHORT_TERM = 5
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class Filters:
    kind: str = ""
    category: str = ""
    severity: str = ""
    team: str = ""  # team slug
    service: str = ""
    tag: str = ""
    review: str = ""  # a ReviewState value

    def any(self) -> bool:
        return any(vars(self).values())

    def apply(self, queryset: QuerySet[Runbook], now: dt.datetime) -> QuerySet[Runbook]:
        for name in ("kind", "category", "severity"):
            if getattr(self, name):
                queryset = queryset.filter(**{name: getattr(self, name)})
        if self.team:
            queryset = queryset.filter(team__slug=self.team)
        if self.service:
            queryset = queryset.filter(services__name=self.service)
        if self.tag:
            queryset = queryset.filter(tags__name=self.tag.lower())
        if self.review:
            queryset = queryset.filter(freshness.review_state_filter(self.review, now))
        return queryset


@dataclass
class Hit:
    runbook: Runbook
    score: float
    snippet: SafeString
    review_state: str
    # False when the runbook holds only some of the query's words.
    full_match: bool = True
    # Incidents in which responders searching similar words attached this runbook.
    used_in: int = 0
    # The runbook's alert names, read with its row (see _rows).
    alert_names: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.runbook.get_absolute_url()

    @property
    def review_label(self) -> str:
        return str(ReviewState(self.review_state).label)

    def as_json(self) -> dict[str, Any]:
        reviewed = self.runbook.last_reviewed_at
        return {
            "slug": self.runbook.slug,
            "title": self.runbook.title,
            "url": self.url,
            "snippet": str(self.snippet),
            "score": round(self.score, 6),
            "severity": self.runbook.severity,
            "review_state": self.review_state,
            "last_reviewed_at": reviewed.isoformat() if reviewed else None,
            "owner": self.runbook.owner.get_username() if self.runbook.owner else None,
            "alert_names": self.alert_names,
            "used_in_incidents": self.used_in,
        }


@dataclass
class SearchResult:
    query: str
    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    # True when more runbooks match than were counted (total is a floor).
    total_capped: bool = False
    suggestion: str = ""
    # True when words no runbook uses were replaced and the hits are for `suggestion`.
    corrected: bool = False
    # True when some hits match only some of the words.
    relaxed: bool = False
    # How many of the hits match every word.
    matched_all: int = 0

    @property
    def top(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    def as_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "total_capped": self.total_capped,
            "suggestion": self.suggestion or None,
            "corrected": self.corrected,
            "results": [hit.as_json() for hit in self.hits],
        }


# Markdown punctuation that reads as noise in a one-line snippet: heading hashes,
# emphasis stars, code backticks, table pipes, list bullets and task boxes.
MARKDOWN_BLOCK_MARKS = re.compile(r"(^|\s)(?:#{1,6}|[-*+]|\d+\.|\[[ xX]\]|\|)(?=\s|$)")
MARKDOWN_INLINE_MARKS = re.compile(r"\*\*|__|`+")


def highlight(raw: str) -> SafeString:
    """Escape everything, then turn the engine's markers (and only those) into <mark>."""
    if raw.count(MARK_START) != raw.count(MARK_STOP):
        raw = raw.replace(MARK_START, "").replace(MARK_STOP, "")
    raw = MARKDOWN_INLINE_MARKS.sub("", MARKDOWN_BLOCK_MARKS.sub(r"\1", raw))
    html = escape(" ".join(raw.split()))
    return mark_safe(html.replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>"))  # noqa: S308


@dataclass
class _Scored:
    id: int
    score: float
    full_match: bool
    state: str
    title: str
    used_in: int


def search(q: str, filters: Filters | None = None, *, limit: int = DEFAULT_LIMIT) -> SearchResult:
    filters = filters or Filters()
    limit = max(1, min(limit, MAX_LIMIT))
    now = timezone.now()
    parsed = parse(q)
    result = SearchResult(query=q)
    backend = _backend()
    if parsed.is_empty:
        if filters.any():
            _browse(result, filters, now, limit)
        return result

    corrections = _corrections(backend, parsed)
    if corrections:
        parsed = parsed.replaced(corrections)
        result.suggestion = parsed.text()
        result.corrected = True
    parsed = parsed.whole_words(_whole_words(backend, parsed))

    scope, scope_params = _scope_sql(filters, now)
    index_only = _index_only(backend, parsed.clauses, every=True)
    # On PostgreSQL the candidates' places and uses come in the candidates' round trip.
    ids, found, exact_ids, placed = backend.candidates(parsed, scope, scope_params, index_only)
    result.total, result.total_capped = min(found, COUNT_CAP), found > COUNT_CAP
    if result.total < DEFAULT_LIMIT and len(parsed.clauses) > 1:
        # Symptom sentences rarely share every word with a runbook: any clause will do.
        more = backend.candidates_per_clause(
            parsed.clauses,
            scope,
            scope_params,
            _index_only(backend, parsed.clauses, every=False),
        )
        if set(more) - set(ids) - set(exact_ids):
            placed = None  # places for the whole set, read again below
        ids = list(dict.fromkeys(ids + more))
    ids = list(dict.fromkeys(exact_ids + ids))
    if not ids:
        return result

    scored = _rank(backend, parsed, ids, now, placed)
    scored.sort(
        key=lambda s: (
            -round(s.score, SCORE_DECIMALS),
            freshness.ORDER[ReviewState(s.state)],
            s.title,
            s.id,
        )
    )
    rerank = semantic.enabled()
    # One statement reads the rows, the text to cut snippets from and (re-ranking on) the
    # vectors of every runbook that can be shown: the re-ranked head and the page.
    head = scored[: max(limit, semantic.RERANK_DEPTH) if rerank else limit]
    rows, vectors = _rows([s.id for s in head], with_vectors=rerank)
    if rerank:
        scored = _semantic_order(q if not result.corrected else result.suggestion, scored, vectors)
    shown = [s for s in scored[:limit] if s.id in rows]
    result.matched_all = sum(1 for s in scored if s.full_match)
    result.relaxed = any(not s.full_match for s in shown)
    result.total = max(result.total, result.matched_all)
    matcher = snippets.Matcher.for_clauses(parsed.clauses)
    related: dict[tuple[str, int], Any] = {}
    for s in shown:
        runbook, text = _runbook(rows[s.id], related)
        snippet = snippets.snippet(
            text, matcher, words=SNIPPET_WORDS, start=MARK_START, stop=MARK_STOP
        )
        result.hits.append(
            Hit(
                runbook,
                s.score,
                highlight(snippet),
                s.state,
                s.full_match,
                s.used_in,
                _alert_names(runbook),
            )
        )
    return result


# Per candidate its places, its exact names, its rank row; and the candidates' uses
# (None: search.learning reads them).
_Placed = tuple[dict[int, dict[int, str]], dict[int, set[str]], list["_RankRow"], list[Any] | None]


def _rank(
    backend: _Postgres | _Sqlite,
    parsed: ParsedQuery,
    ids: list[int],
    now: dt.datetime,
    placed: _Placed | None = None,
) -> list[_Scored]:
    clauses = parsed.clauses
    places, exact, rows, uses = placed if placed is not None else backend.places(clauses, ids)
    idf = _idf(backend, clauses)
    boosts = (
        learning.boosts_from_uses(parsed.terms, uses, now)
        if uses is not None
        else learning.boosts(parsed.terms, ids, now)
    )
    scored = []
    for runbook in rows:
        found = places.get(runbook.pk, {})
        relevance = sum(idf[i] * FIELD_WEIGHTS[place] for i, place in found.items())
        relevance += name_bonus(parsed.compact, exact.get(runbook.pk, ()))
        full = any(
            all(clauses.index(c) in found for c in alt.clauses) for alt in parsed.alternatives
        )
        state = freshness.review_state(runbook, now)
        boost = boosts.get(runbook.pk)
        score = (
            relevance
            * freshness.freshness_factor(runbook, state, now)
            * (boost.factor if boost else 1.0)
        )
        scored.append(
            _Scored(runbook.pk, score, full, state, runbook.title, boost.incidents if boost else 0)
        )
    return scored


def _semantic_order(query: str, scored: list[_Scored], vectors: dict[int, bytes]) -> list[_Scored]:
    """The first RERANK_DEPTH candidates in search.semantic's blended order, the rest as they were."""
    head = scored[: semantic.RERANK_DEPTH]
    if len(head) < 2:
        return scored
    by_id = {s.id: s for s in head}
    order = semantic.rerank(query, [(s.id, s.score) for s in head], vectors)
    return [by_id[pk] for pk in order] + scored[semantic.RERANK_DEPTH :]


def name_bonus(typed: str, names: Iterable[str]) -> float:
    """EXACT_NAME_BONUS for an alert name or title typed whole; a share of it for most of one.

    Half-typed names ("coredns errors" for CoreDNSErrorsHigh) earn the share
    of the name typed, from PARTIAL_NAME_SHARE of it and PARTIAL_NAME_CHARS
    letters on, so a common word that only starts many names earns nothing.
    """
    names = list(names)
    if typed in names:
        return EXACT_NAME_BONUS
    if len(typed) < PARTIAL_NAME_CHARS:
        return 0.0
    share = max((len(typed) / len(n) for n in names if n.startswith(typed)), default=0.0)
    return EXACT_NAME_BONUS * share if share >= PARTIAL_NAME_SHARE else 0.0


@dataclass(slots=True)
class _RankRow:
    """The fields ranking reads; a Django model instance per candidate would cost more than the query."""

    pk: int
    title: str
    review_requested_at: dt.datetime | None
    review_request_kind: str
    last_reviewed_at: dt.datetime | None
    next_review_due: dt.datetime | None
    review_cadence: str
    last_drilled_at: dt.datetime | None


# The active candidates' title and review fields (raw SQL: the ORM's IN list costs more than
# the query), read with each one's alert names in the backends' places statement.
RANK_COLUMNS = ", ".join(f"r.{name}" for name in ("id", "title", *freshness.FIELDS))
RANK_WIDTH = 2 + len(freshness.FIELDS)


def _rank_row(values: tuple[Any, ...]) -> _RankRow:
    return _RankRow(values[0], values[1], **_review_values(values[2:]))


def _review_values(values: tuple[Any, ...]) -> dict[str, Any]:
    # SQLite hands datetimes back as text.
    return {
        name: _to_datetime(value) if name.endswith(("_at", "_due")) else value
        for name, value in zip(freshness.FIELDS, values, strict=True)
    }


def _to_datetime(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _idf(backend: _Postgres | _Sqlite, clauses: list[Clause]) -> list[float]:
    """Rarity of each clause: ln(1 + N / df), document counts cached for STATS_TTL seconds."""
    counts, total = _document_counts(backend, clauses)
    idf = []
    for count in counts:
        df = max(count, total * COMMON_SHARE) if count >= DF_CAP else count
        idf.append(math.log(1 + total / max(1, df)))
    return idf


def _index_only(backend: _Postgres | _Sqlite, clauses: list[Clause], *, every: bool) -> bool:
    """Whether candidates are gathered through the full-text index only (no sequential scan).

    Reading rows in order stops at the LIMIT but tests every row it passes;
    the index hands over only possible matches, but builds all of them first.
    So: the index for a library up to INDEX_ONLY_LIBRARY runbooks, or when the
    matches are few: a clause under DF_CAP runbooks when every clause must
    match, every clause under it when any may; otherwise the planner's choice.
    """
    counts, total = _document_counts(backend, clauses)
    bound = min(counts, default=0) if every else max(counts, default=0)
    return total <= INDEX_ONLY_LIBRARY or bound < DF_CAP


def _document_counts(backend: _Postgres | _Sqlite, clauses: list[Clause]) -> tuple[list[int], int]:
    """Per clause, how many runbooks match (capped at DF_CAP), and the library size; cached."""
    keys = {
        f"search:df:{connection.vendor}:{_cache_key(c.tsquery())}": i for i, c in enumerate(clauses)
    }
    keys["search:df:total"] = -1
    cached = cache.get_many(list(keys))
    missing = [i for key, i in keys.items() if key not in cached]
    if missing:
        counts = backend.document_frequencies(
            [clauses[i] for i in missing if i >= 0], with_total=-1 in missing
        )
        fresh = {key: counts.pop(0) for key in keys if key not in cached}
        cache.set_many(fresh, STATS_TTL)
        cached.update(fresh)
    total = max(1, cached["search:df:total"])
    return [cached[key] for key, i in keys.items() if i >= 0], total


def _cache_key(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _exact_name_sql(parsed: ParsedQuery, scope: str, params: list[Any]) -> tuple[str, list[Any]]:
    """A UNION ALL part (kind 2) for the candidates statement: runbooks with an alert
    name equal to what was typed, squeezed ("kube_hpa_maxed_out"); none under 4 letters."""
    if len(parsed.compact) < 4:
        return "", []
    return (
        " UNION ALL SELECT DISTINCT a.runbook_id, 2 FROM runbooks_alertname a"
        f" WHERE a.name_lower = %s {scope.format(id='a.runbook_id')}",
        [parsed.compact, *params],
    )


def _split_candidates(rows: list[tuple[int, int]]) -> tuple[list[int], int, list[int]]:
    """(head and body ids, the capped count, exact-name ids) from the kinds 0, 1 and 2."""
    ids = list(dict.fromkeys(pk for pk, kind in rows if kind == 0))
    exact = [pk for pk, kind in rows if kind == 2]
    return ids, next(n for n, kind in rows if kind == 1), exact


def _run(cursor: Any, sql: str, params: list[Any], index_only: bool) -> list[Any]:
    """The statement's rows; with index_only, planned with sequential scans off, still one round trip.

    With a LIMIT the planner expects a sequential scan to meet enough matches
    early, but each row it reads costs a detoasted tsvector, and it misjudges
    how many rows match an expanded or phrase query. SET LOCAL lasts for this
    implicit transaction (or, inside atomic(), until it is turned back on here).
    """
    if not index_only:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    cursor.execute(f"SET LOCAL enable_seqscan = off; {sql}; SET LOCAL enable_seqscan = on", params)
    cursor.nextset()
    return list(cursor.fetchall())


def _alert_names_sql(runbook_id: str) -> str:
    """A subquery: the alert names (sorted) of the runbook whose id is the column `runbook_id`,
    as one value (an array on PostgreSQL, a JSON list on SQLite)."""
    if connection.vendor == "postgresql":
        return (
            "(SELECT coalesce(array_agg(a.name ORDER BY a.name), '{}') FROM runbooks_alertname a"
            f" WHERE a.runbook_id = {runbook_id})"
        )
    return (
        "(SELECT json_group_array(name) FROM (SELECT a.name FROM runbooks_alertname a"
        f" WHERE a.runbook_id = {runbook_id} ORDER BY a.name))"
    )


def _with_alert_names(queryset: QuerySet[Runbook]) -> QuerySet[Runbook]:
    """The runbooks with their alert names (sorted) as one column, not a prefetch:
    prefetch_related costs a second statement and more CPU than the first one."""
    return queryset.annotate(alert_list=RawSQL(_alert_names_sql("runbooks_runbook.id"), ()))


def _alert_names(runbook: Runbook) -> list[str]:
    names = runbook.alert_list  # type: ignore[attr-defined]
    return list(json.loads(names) if isinstance(names, str) else names)


# What the result page and the API read from a hit's runbook; the other fields
# stay deferred (loaded on first use). One raw statement: the ORM's compiling and
# converting cost several times the query for twenty rows.
HIT_FIELDS = (
    "id",
    "title",
    "slug",
    "kind",
    "category",
    "severity",
    "owner_id",
    "team_id",
    "last_reviewed_at",
    *(name for name in freshness.FIELDS if name != "last_reviewed_at"),
    "archived_at",
)


def _rows(
    ids: list[int], *, with_vectors: bool = False
) -> tuple[dict[int, tuple[Any, ...]], dict[int, bytes]]:
    """The rows of the active runbooks among `ids` (for _runbook) and, if asked, their vectors."""
    if not ids:
        return {}, {}
    if connection.vendor == "postgresql":
        where = "r.id = ANY(%s)"
        params: list[Any] = [ids]
    else:
        where = f"r.id IN ({_placeholders(ids)})"
        params = list(ids)
    columns = ", ".join(f"r.{name}" for name in HIT_FIELDS)
    vector = "d.embedding" if with_vectors else "NULL"
    sql = f"""
        SELECT {columns}, {_alert_names_sql("r.id")}, u.username, t.name, t.slug,
               r.summary, substr(coalesce(rev.body, ''), 1, {SNIPPET_TEXT_CHARS}), {vector}
          FROM runbooks_runbook r
          LEFT JOIN auth_user u ON u.id = r.owner_id
          LEFT JOIN runbooks_team t ON t.id = r.team_id
          LEFT JOIN runbooks_revision rev ON rev.id = r.current_revision_id
          {"LEFT JOIN search_runbooksearchdocument d ON d.runbook_id = r.id" if with_vectors else ""}
         WHERE {where} AND r.archived_at IS NULL
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    rows = {row[0]: row for row in fetched}
    vectors = {row[0]: bytes(row[-1]) for row in fetched if row[-1] is not None}
    return rows, vectors


# from_db takes the loaded fields in the model's order.
HIT_ORDER = [f.attname for f in Runbook._meta.concrete_fields if f.attname in HIT_FIELDS]
HIT_POSITIONS = [HIT_FIELDS.index(name) for name in HIT_ORDER]
HIT_DATES = [name.endswith(("_at", "_due")) for name in HIT_ORDER]


def _runbook(row: tuple[Any, ...], related: dict[tuple[str, int], Any]) -> tuple[Runbook, str]:
    """A row of _rows as a Runbook (owner and team assigned, one instance of each per
    search through `related`) and the text its snippet is cut from."""
    values = [
        _to_datetime(row[i]) if date else row[i]
        for i, date in zip(HIT_POSITIONS, HIT_DATES, strict=True)
    ]
    runbook = Runbook.from_db(connection.alias, HIT_ORDER, values)
    width = len(HIT_FIELDS)
    runbook.alert_list = row[width]  # type: ignore[attr-defined]
    username, team_name, team_slug, summary, body = row[width + 1 : width + 6]
    # Assigned, so reading them costs no query; None is cached the same way.
    owner = team = None
    if runbook.owner_id is not None:
        owner = related.get(("owner", runbook.owner_id))
        if owner is None:
            owner = related[("owner", runbook.owner_id)] = get_user_model().from_db(
                connection.alias, ["id", "username"], [runbook.owner_id, username]
            )
    if runbook.team_id is not None:
        team = related.get(("team", runbook.team_id))
        if team is None:
            team = related[("team", runbook.team_id)] = Team.from_db(
                connection.alias, ["id", "name", "slug"], [runbook.team_id, team_name, team_slug]
            )
    runbook.owner = owner
    runbook.team = team
    return runbook, f"{summary}\n\n{body}"


def _browse(result: SearchResult, filters: Filters, now: dt.datetime, limit: int) -> None:
    """Filters without words: the matching runbooks, stalest first, so gaps are visible."""
    queryset = filters.apply(Runbook.objects.active(), now).distinct()
    runbooks = list(
        _with_alert_names(queryset.select_related("owner", "team")).order_by(
            "next_review_due", "title"
        )[:limit]
    )
    result.total = queryset.count() if len(runbooks) == limit else len(runbooks)
    result.hits = [
        Hit(
            r,
            0.0,
            highlight(r.summary[:300]),
            freshness.review_state(r, now),
            alert_names=_alert_names(r),
        )
        for r in runbooks
    ]
    result.matched_all = len(result.hits)


def _scope_sql(filters: Filters, now: dt.datetime) -> tuple[str, list[Any]]:
    """A condition on the index row's runbook id: the filters, if any.

    Archived runbooks have no index rows (search.index), and the rows ranked
    and shown are read from Runbook.objects.active() as well.
    """
    if not filters.any():
        return "", []
    inner = filters.apply(Runbook.objects.active(), now).values("id")
    sql, params = inner.query.sql_with_params()
    return f" AND {{id}} IN ({sql})", list(params)


def _placeholders(values: list[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _place_columns(clauses: list[Clause]) -> tuple[str, list[str]]:
    """PostgreSQL: per clause its best place as 3 (names), 2 (lead), 1 (body) or 0. CASE stops
    at the first place that matches, so the whole document is tested only when the head fails."""
    columns, params = [], []
    for clause in clauses:
        columns.append(
            f"CASE WHEN d.head @@ to_tsquery('{TEXT_CONFIG}', %s) THEN 3"
            f" WHEN d.head @@ to_tsquery('{TEXT_CONFIG}', %s) THEN 2"
            f" WHEN d.document @@ to_tsquery('{TEXT_CONFIG}', %s) THEN 1 ELSE 0 END"
        )
        params += [clause.tsquery("A"), clause.tsquery(), clause.tsquery()]
    return ", ".join(columns), params


def _placed_rows(
    fetched: Iterable[tuple[Any, ...]], clauses: int
) -> tuple[dict[int, dict[int, str]], dict[int, set[str]], list[_RankRow]]:
    """Rows of (RANK_COLUMNS, names, one place per clause) as places, exact names and rank rows."""
    places: dict[int, dict[int, str]] = {}
    exact: dict[int, set[str]] = {}
    rows: list[_RankRow] = []
    for row in fetched:
        rows.append(_rank_row(row[:RANK_WIDTH]))
        pk: int = row[0]
        names: str | None = row[RANK_WIDTH]
        if names is None:
            continue  # not indexed (yet): no places, no names
        exact[pk] = set(names.split())
        places[pk] = {
            i: PLACE_LABELS[rank]
            for i, rank in enumerate(row[RANK_WIDTH + 1 : RANK_WIDTH + 1 + clauses])
            if rank
        }
    return places, exact, rows


class _Postgres:
    def candidates_per_clause(
        self, clauses: list[Clause], scope: str, params: list[Any], index_only: bool
    ) -> list[int]:
        scope = scope.format(id="d.runbook_id")
        share = max(MIN_PER_CLAUSE, CLAUSE_CANDIDATES // len(clauses))
        parts = [
            f"(SELECT d.runbook_id FROM search_runbooksearchdocument d"
            f" WHERE d.head @@ to_tsquery('{TEXT_CONFIG}', %s) {scope} LIMIT {share})"
            for _ in clauses
        ]
        parts.append(
            f"(SELECT d.runbook_id FROM search_runbooksearchdocument d"
            f" WHERE d.document @@ to_tsquery('{TEXT_CONFIG}', %s) {scope} LIMIT {BODY_CANDIDATES})"
        )
        values: list[Any] = []
        for clause in clauses:
            values += [clause.tsquery(), *params]
        values += [" | ".join(c.tsquery() for c in clauses), *params]
        with connection.cursor() as cursor:
            return [row[0] for row in _run(cursor, " UNION ".join(parts), values, index_only)]

    def candidates(
        self, parsed: ParsedQuery, scope: str, params: list[Any], index_only: bool
    ) -> tuple[list[int], int, list[int], _Placed]:
        """Head and body candidates, the (capped) count of matches and the exact-name
        runbooks, with their places, in one statement: the candidates stay in the
        server, each comes back with its rank row and places, and one more row
        carries the count and the candidates' newest uses as JSON."""
        exact_sql, exact_params = _exact_name_sql(parsed, scope, params)
        scope = scope.format(id="d.runbook_id")
        columns, column_params = _place_columns(parsed.clauses)
        nulls = ", ".join(["NULL"] * (RANK_WIDTH + 1 + len(parsed.clauses)))
        sql = f"""
            WITH body AS MATERIALIZED (
                SELECT d.runbook_id FROM search_runbooksearchdocument d
                 WHERE d.document @@ to_tsquery('{TEXT_CONFIG}', %s) {scope} LIMIT {COUNT_CAP + 1}
            ),
            found AS MATERIALIZED (
                (SELECT d.runbook_id AS id, 0 AS kind FROM search_runbooksearchdocument d
                  WHERE d.head @@ to_tsquery('{TEXT_CONFIG}', %s) {scope} LIMIT {HEAD_CANDIDATES})
                UNION ALL
                (SELECT runbook_id, 0 FROM body LIMIT {BODY_CANDIDATES})
                {exact_sql}
            ),
            candidate AS (SELECT id, max(kind) AS kind FROM found GROUP BY id)
            SELECT false, c.kind, {RANK_COLUMNS}, d.names, {columns}, NULL::json
              FROM candidate c
              JOIN runbooks_runbook r ON r.id = c.id AND r.archived_at IS NULL
              LEFT JOIN search_runbooksearchdocument d ON d.runbook_id = r.id
            UNION ALL
            SELECT true, (SELECT count(*) FROM body), {nulls},
                   (SELECT coalesce(json_agg(json_build_array(u.runbook_id, u.incident_id, u.terms, u.created_at)), '[]')
                      FROM ({learning.uses_sql("SELECT id FROM candidate")}) u)
        """
        expression = parsed.tsquery()
        values = [expression, *params, expression, *params, *exact_params, *column_params]
        with connection.cursor() as cursor:
            fetched = _run(cursor, sql, values, index_only)
        found, uses = 0, []
        rows, exact_ids = [], []
        for summary, kind, *row in fetched:
            if summary:
                found, uses = kind, _json(row[-1])
                continue
            rows.append(row[:-1])
            if kind == 2:
                exact_ids.append(row[0])
        ids = [row[0] for row in rows]
        return ids, found, exact_ids, (*_placed_rows(rows, len(parsed.clauses)), uses)

    def places(
        self, clauses: list[Clause], ids: list[int]
    ) -> _Placed:
        """Per candidate its rank row, names and places, and the candidates' uses (search.learning)
        from a second statement sent with the first: one round trip."""
        columns, params = _place_columns(clauses)
        sql = f"""
            SELECT {RANK_COLUMNS}, d.names, {columns}
              FROM runbooks_runbook r LEFT JOIN search_runbooksearchdocument d ON d.runbook_id = r.id
             WHERE r.id = ANY(%s) AND r.archived_at IS NULL
        """
        with connection.cursor() as cursor:
            cursor.execute(f"{sql}; {learning.uses_sql(_placeholders(ids))}", [*params, ids, *ids])
            fetched = cursor.fetchall()
            cursor.nextset()
            uses = cursor.fetchall()
        return (*_placed_rows(fetched, len(clauses)), uses)

    def document_frequencies(self, clauses: list[Clause], *, with_total: bool) -> list[int]:
        parts = [
            f"(SELECT count(*) FROM (SELECT 1 FROM search_runbooksearchdocument d"
            f" WHERE d.document @@ to_tsquery('{TEXT_CONFIG}', %s) LIMIT {DF_CAP}) c)"
            for _ in clauses
        ]
        if with_total:
            parts.append("(SELECT count(*) FROM search_runbooksearchdocument)")
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(parts), [c.tsquery() for c in clauses])
            return list(cursor.fetchone())

    def unknown(self, terms: list[str]) -> list[str]:
        sql = """
            SELECT t.term FROM unnest(%s::text[]) AS t(term)
             WHERE NOT EXISTS (SELECT 1 FROM search_searchword k WHERE k.word LIKE t.term || '%%')
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [terms])
            return [row[0] for row in cursor.fetchall()]

    def similar_words(self, terms: list[str]) -> list[tuple[str, str]]:
        sql = """
            SELECT t.term, near.word
              FROM unnest(%s::text[]) AS t(term)
              CROSS JOIN LATERAL (
                  SELECT w.word FROM search_searchword w
                   WHERE w.word %% t.term
                   ORDER BY similarity(w.word, t.term) DESC, w.word
                   LIMIT %s
              ) near
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [terms, SPELLING_CANDIDATES])
            return cursor.fetchall()

    def known(self, words: list[str]) -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT word FROM search_searchword WHERE word = ANY(%s)", [words])
            return {row[0] for row in cursor.fetchall()}


class _Sqlite:
    def candidates(
        self, parsed: ParsedQuery, scope: str, params: list[Any], index_only: bool
    ) -> tuple[list[int], int, list[int], _Placed | None]:
        """Head and body candidates, the (capped) count of matches and the exact-name runbooks
        (FTS5 has one plan); places are read by places() (no round trip to save)."""
        exact_sql, exact_params = _exact_name_sql(parsed, scope, params)
        scope = scope.format(id="rowid")
        sql = f"""
            WITH body AS MATERIALIZED (
                SELECT rowid AS id FROM search_fts WHERE search_fts MATCH %s {scope} LIMIT {COUNT_CAP + 1}
            )
            SELECT id, 0 FROM (SELECT rowid AS id FROM search_fts WHERE search_fts MATCH %s {scope}
                                LIMIT {HEAD_CANDIDATES})
            UNION ALL
            SELECT id, 0 FROM (SELECT id FROM body LIMIT {BODY_CANDIDATES})
            UNION ALL
            SELECT count(*), 1 FROM body
            {exact_sql}
        """
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                [parsed.fts5(), *params, parsed.fts5("names lead"), *params, *exact_params],
            )
            return (*_split_candidates(cursor.fetchall()), None)

    def candidates_per_clause(
        self, clauses: list[Clause], scope: str, params: list[Any], index_only: bool
    ) -> list[int]:
        scope = scope.format(id="rowid")
        share = max(MIN_PER_CLAUSE, CLAUSE_CANDIDATES // len(clauses))
        parts = [
            f"SELECT id FROM (SELECT rowid AS id FROM search_fts WHERE search_fts MATCH %s {scope} LIMIT {share})"
            for _ in clauses
        ]
        parts.append(
            f"SELECT id FROM (SELECT rowid AS id FROM search_fts WHERE search_fts MATCH %s {scope}"
            f" LIMIT {BODY_CANDIDATES})"
        )
        values: list[Any] = []
        for clause in clauses:
            values += [clause.fts5("names lead"), *params]
        values += [" OR ".join(c.fts5() for c in clauses), *params]
        with connection.cursor() as cursor:
            cursor.execute(" UNION ".join(parts), values)
            return [row[0] for row in cursor.fetchall()]

    def places(
        self, clauses: list[Clause], ids: list[int]
    ) -> _Placed:
        """As _Postgres.places; the uses are left to search.learning (no round trip to save)."""
        # Each clause's matches in full, kept to the candidates by "+rowid IN": the
        # "+" keeps that test away from FTS5, which would run the MATCH once per
        # listed id (twenty times slower); filtered in SQL, a clause matching
        # most of the library sends back only the candidates' rows. One MATCH per
        # clause: bm25() weighted to one column is below zero exactly when the
        # clause occurs in that column (its idf and term factors are positive),
        # so names and lead need no MATCH of their own.
        id_list = _placeholders(ids)
        candidates = json.dumps(ids)
        parts: list[str] = []
        params: list[Any] = []
        for i, clause in enumerate(clauses):
            parts.append(
                f"SELECT {i}, bm25(search_fts, 1, 0, 0, 0) < 0, bm25(search_fts, 0, 1, 0, 0) < 0, rowid"
                " FROM search_fts WHERE search_fts MATCH %s AND +rowid IN (SELECT value FROM json_each(%s))"
            )
            params += [clause.fts5(), candidates]
        best: dict[int, dict[int, int]] = {}
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            for i, in_names, in_lead, pk in cursor.fetchall():
                best.setdefault(pk, {})[i] = 3 if in_names else 2 if in_lead else 1
            cursor.execute(
                f"SELECT {RANK_COLUMNS}, d.names FROM runbooks_runbook r"
                " LEFT JOIN search_runbooksearchdocument d ON d.runbook_id = r.id"
                f" WHERE r.id IN ({id_list}) AND r.archived_at IS NULL",
                ids,
            )
            fetched = cursor.fetchall()
        rows = [_rank_row(row[:RANK_WIDTH]) for row in fetched]
        exact = {row[0]: set(row[-1].split()) for row in fetched if row[-1] is not None}
        places = {pk: {i: PLACE_LABELS[r] for i, r in found.items()} for pk, found in best.items()}
        return places, exact, rows, None

    def document_frequencies(self, clauses: list[Clause], *, with_total: bool) -> list[int]:
        parts = [
            f"(SELECT count(*) FROM (SELECT 1 FROM search_fts WHERE search_fts MATCH %s LIMIT {DF_CAP}))"
            for _ in clauses
        ]
        if with_total:
            parts.append("(SELECT count(*) FROM search_runbooksearchdocument)")
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(parts), [c.fts5() for c in clauses])
            return list(cursor.fetchone())

    def unknown(self, terms: list[str]) -> list[str]:
        known = " UNION ALL ".join(["SELECT %s AS term"] * len(terms))
        sql = f"""
            SELECT k.term FROM ({known}) k
             WHERE NOT EXISTS (
                 SELECT 1 FROM search_searchword w WHERE w.word >= k.term AND w.word < k.term || char(1114111))
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, terms)
            return [row[0] for row in cursor.fetchall()]

    def similar_words(self, terms: list[str]) -> list[tuple[str, str]]:
        unions, params = [], []
        for term in terms:
            grams = {term[i : i + 3] for i in range(len(term) - 2)}
            unions.append(
                "SELECT * FROM (SELECT %s AS term, word FROM search_word_trgm"
                " WHERE search_word_trgm MATCH %s ORDER BY rank LIMIT 40)"
            )
            params += [term, " OR ".join(f'"{g}"' for g in sorted(grams))]
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(unions), params)
            rows = cursor.fetchall()
        candidates: dict[str, list[str]] = {}
        for term, word in rows:
            candidates.setdefault(term, []).append(word)
        # Keep the nearest by trigram similarity, as pg_trgm's % operator does.
        return [
            (term, word)
            for term, words in candidates.items()
            for word in sorted(words, key=lambda w: (-trigram_similarity(term, w), w))[
                :SPELLING_CANDIDATES
            ]
            if trigram_similarity(term, word) >= TRIGRAM_THRESHOLD
        ]

    def known(self, words: list[str]) -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT word FROM search_searchword WHERE word IN ({_placeholders(words)})", words
            )
            return {row[0] for row in cursor.fetchall()}


def _corrections(backend: _Postgres | _Sqlite, parsed: ParsedQuery) -> dict[str, str]:
    """Words no runbook uses (not even as the start of a word) → the closest vocabulary word.

    Short words ("etdc", "kubelt") are matched by their one-edit variants looked
    up exactly, longer ones by trigram similarity. Cached for STATS_TTL seconds.
    """
    terms = _suggestible(parsed)
    if not terms:
        return {}
    keys = {f"search:fix:{connection.vendor}:{t}": t for t in terms}
    cached = cache.get_many(list(keys))
    missing = [t for key, t in keys.items() if key not in cached]
    if missing:
        unknown = backend.unknown(missing)
        found: dict[str, str] = {}
        if unknown:
            candidates: list[tuple[str, str]] = []
            short = [t for t in unknown if len(t) <= SHORT_TERM]
            long = [t for t in unknown if len(t) > SHORT_TERM]
            if short:
                variants = {t: _one_edit(t) for t in short}
                known = backend.known(sorted({v for vs in variants.values() for v in vs}))
                candidates += [(t, v) for t, vs in variants.items() for v in vs if v in known]
            if long:
                candidates += backend.similar_words(long)
            found = _closest(candidates)
        fresh = {f"search:fix:{connection.vendor}:{t}": found.get(t, "") for t in missing}
        cache.set_many(fresh, STATS_TTL)
        cached.update(fresh)
    return {t: cached[key] for key, t in keys.items() if cached.get(key)}


def _whole_words(backend: _Postgres | _Sqlite, parsed: ParsedQuery) -> set[str]:
    """The typed words that are words of the library or of the vocabulary file, cached like spelling fixes.

    Those match as whole words only: on PostgreSQL a prefix applies to the
    stem ("nearly" → near:* would find "NearFull"), on SQLite to the word.
    """
    terms = list(dict.fromkeys(parsed.terms))
    keys = {f"search:word:{connection.vendor}:{t}": t for t in terms}
    cached = cache.get_many(list(keys))
    missing = [t for key, t in keys.items() if key not in cached]
    if missing:
        known = backend.known(missing)
        fresh = {f"search:word:{connection.vendor}:{t}": t in known for t in missing}
        cache.set_many(fresh, STATS_TTL)
        cached.update(fresh)
    vocabulary = known_words()
    return {t for key, t in keys.items() if cached[key] or t in vocabulary}


def _one_edit(word: str) -> set[str]:
    """Every word one deletion, swap, replacement or insertion away (Norvig's edits1)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    swaps = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in ALPHABET]
    inserts = [a + c + b for a, b in splits for c in ALPHABET]
    return {w for w in (*deletes, *swaps, *replaces, *inserts) if len(w) >= 3 and w != word}


def _closest(candidates: list[tuple[str, str]]) -> dict[str, str]:
    """Per misspelt term, the candidate fewest keystrokes away.

    Ties go to the same letters in another order ("etdc" → "etcd", not "etc"),
    then to a word the term is a subsequence of, since a dropped letter is the
    commonest typo ("leadr" → "leader", not "lead"), then to the nearest length,
    then alphabetically.
    """
    best: dict[str, tuple[int, bool, bool, int, str]] = {}
    for term, word in candidates:
        if word in STOPWORDS:
            continue
        distance = edit_distance(term, word)
        key = (
            distance,
            sorted(term) != sorted(word),
            not _is_subsequence(term, word),
            abs(len(word) - len(term)),
            word,
        )
        if distance <= _allowed_edits(term) and (term not in best or key < best[term]):
            best[term] = key
    return {term: key[-1] for term, key in best.items()}


def _is_subsequence(short: str, long: str) -> bool:
    letters = iter(long)
    return all(char in letters for char in short)


def _allowed_edits(term: str) -> int:
    return 1 if len(term) <= 4 else 2 if len(term) <= 8 else 3


def edit_distance(a: str, b: str) -> int:
    """Damerau–Levenshtein (optimal string alignment): a swapped pair of letters is one typo."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _suggestible(parsed: ParsedQuery) -> list[str]:
    known = known_words()
    return list(
        dict.fromkeys(t for t in parsed.terms if len(t) >= 4 and not t.isdigit() and t not in known)
    )[:5]


def _trigrams(word: str) -> set[str]:
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def trigram_similarity(a: str, b: str) -> float:
    """pg_trgm's similarity(): shared trigrams over all trigrams of the padded words."""
    left, right = _trigrams(a), _trigrams(b)
    return len(left & right) / len(left | right) if left or right else 0.0


def _backend() -> _Postgres | _Sqlite:
    return _Postgres() if connection.vendor == "postgresql" else _Sqlite()
