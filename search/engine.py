"""The query API: `search(q, filters)` returns ranked hits with highlighted snippets.

The page, the JSON API, the alert lookup and the benchmarks all call this one
function. Each engine runs its own full-text machinery (PostgreSQL tsvector +
websearch_to_tsquery + ts_headline; SQLite FTS5 + bm25 + snippet()) from the
same sanitised query plan, and the result format is the same on both.

Per request the number of queries is bounded whatever the library size: the
strict match, then (only when it finds fewer than RELAX_BELOW runbooks) a
spelling check, a corrected match and an any-word match, and finally one
query for the result rows.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from runbooks import review_policy
from runbooks.models import ReviewState, Runbook

from .queries import ParsedQuery, parse

DEFAULT_LIMIT = 20
MAX_LIMIT = 50
RELAX_BELOW = 3
# Private-use characters: they never occur in runbook text, so after escaping
# everything only the engine's own highlight markers turn into <mark>.
MARK_START, MARK_STOP = "\ue000", "\ue001"
# Relevance ties are decided on the score rounded to this many decimals, so
# "equally relevant" is not defeated by floating-point noise.
SCORE_DECIMALS = 4
# bm25 column weights: title, alert names, summary + symptoms, body, labels.
FTS5_WEIGHTS = "10.0, 10.0, 4.0, 1.0, 2.0"
# ts_rank weights in {D, C, B, A} order: labels, body, summary + symptoms, title + alert names.
TS_WEIGHTS = "{0.05, 0.2, 0.4, 1.0}"
SNIPPET_WORDS = 24
TITLE_BONUS = 3.0
TS_TITLE_BONUS = 0.1
# "Did you mean": nearest vocabulary words by trigram similarity, then the fewest edits.
CANDIDATES = 10
TRIGRAM_THRESHOLD = 0.3  # pg_trgm's default similarity_threshold


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
            queryset = queryset.filter(review_policy.state_filter(self.review, now))
        return queryset


@dataclass
class Hit:
    runbook: Runbook
    score: float
    snippet: SafeString
    review_state: str

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
            "alert_names": [a.name for a in self.runbook.alert_names.all()],
        }


@dataclass
class SearchResult:
    query: str
    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    suggestion: str = ""
    # True when nothing matched as typed and the hits are for `suggestion`.
    corrected: bool = False
    # True when some hits match only some of the words.
    relaxed: bool = False
    # How many of the hits (the first ones) match every word.
    matched_all: int = 0

    @property
    def top(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    def as_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "suggestion": self.suggestion or None,
            "corrected": self.corrected,
            "results": [hit.as_json() for hit in self.hits],
        }


@dataclass
class _RawHit:
    id: int
    score: float
    snippet: str


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

    raw, total = backend.match(parsed, filters, now, limit)
    if len(raw) < RELAX_BELOW:
        corrections = backend.corrections(parsed)
        if corrections:
            fixed = parsed.replaced(corrections)
            result.suggestion = fixed.text()
            if not raw:
                raw, total = backend.match(fixed, filters, now, limit)
                result.corrected = bool(raw)
                if raw:
                    parsed = fixed
    result.matched_all = len(raw)
    if len(raw) < RELAX_BELOW and len(parsed.terms) > 1:
        seen = {h.id for h in raw}
        extra, extra_total = backend.match(parsed.relaxed(), filters, now, limit)
        more = [h for h in extra if h.id not in seen][: limit - len(raw)]
        result.relaxed = bool(more)
        raw += more
        total = max(total, extra_total)
    result.total = total
    runbooks = _rows([h.id for h in raw])
    result.hits = [
        Hit(runbooks[h.id], h.score, highlight(h.snippet), str(runbooks[h.id].review_state(now)))
        for h in raw
        if h.id in runbooks
    ]
    return result


def _rows(ids: list[int]) -> dict[int, Runbook]:
    if not ids:
        return {}
    return (
        Runbook.objects.select_related("owner", "team").prefetch_related("alert_names").in_bulk(ids)
    )


def _browse(result: SearchResult, filters: Filters, now: dt.datetime, limit: int) -> None:
    """Filters without words: the matching runbooks, stalest first, so gaps are visible."""
    queryset = filters.apply(Runbook.objects.all(), now).distinct()
    runbooks = list(
        queryset.select_related("owner", "team")
        .prefetch_related("alert_names")
        .order_by("next_review_due", "title")[:limit]
    )
    result.total = queryset.count() if len(runbooks) == limit else len(runbooks)
    result.hits = [Hit(r, 0.0, highlight(r.summary[:300]), str(r.review_state(now))) for r in runbooks]
    result.matched_all = len(result.hits)


def _filter_sql(filters: Filters, now: dt.datetime) -> tuple[str, list[Any]]:
    if not filters.any():
        return "", []
    inner = filters.apply(Runbook.objects.all(), now).values("id")
    sql, params = inner.query.sql_with_params()
    return f" AND r.id IN ({sql})", list(params)


def _freshness_sql(now: dt.datetime) -> tuple[str, list[Any]]:
    """The review state's rank (runbooks.review_policy.STATE_RANK) as an ORDER BY key."""
    return review_policy.state_rank_sql(now, alias="r")


class _Postgres:
    def match(self, parsed: ParsedQuery, filters: Filters, now: dt.datetime, limit: int) -> tuple[list[_RawHit], int]:
        where, where_params = _filter_sql(filters, now)
        fresh, fresh_params = _freshness_sql(now)
        # As on SQLite: each query word found in the title or alert names adds a bonus.
        terms = parsed.terms
        bonus = " + ".join(["(strpos(d.names, %s) > 0)::int"] * len(terms)) or "0"
        options = (
            f"StartSel={MARK_START}, StopSel={MARK_STOP}, MaxWords={SNIPPET_WORDS}, MinWords=10, "
            "MaxFragments=2, FragmentDelimiter=\" … \""
        )
        sql = f"""
            WITH q AS (
                SELECT websearch_to_tsquery('english', %s) || to_tsquery('english', %s) AS query
            ),
            matches AS (
                SELECT d.runbook_id AS id,
                       ts_rank('{TS_WEIGHTS}', d.document, q.query, 1) + {TS_TITLE_BONUS} * ({bonus}) AS score,
                       {fresh} AS freshness,
                       r.title
                  FROM search_runbooksearchdocument d
                  CROSS JOIN q
                  JOIN runbooks_runbook r ON r.id = d.runbook_id
                 WHERE d.document @@ q.query {where}
            ),
            top AS (
                SELECT id, score, freshness, title, count(*) OVER () AS total
                  FROM matches
                 ORDER BY round(score::numeric, {SCORE_DECIMALS}) DESC, freshness, title, id
                 LIMIT %s
            )
            SELECT top.id, top.score, top.total,
                   ts_headline('english', d.snippet_text, q.query, %s)
              FROM top
              JOIN search_runbooksearchdocument d ON d.runbook_id = top.id
              CROSS JOIN q
             ORDER BY round(top.score::numeric, {SCORE_DECIMALS}) DESC, top.freshness, top.title, top.id
        """
        params = [parsed.text(), parsed.tsquery_prefix(), *terms, *fresh_params, *where_params, limit, options]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        total = rows[0][2] if rows else 0
        return [_RawHit(pk, float(score), snippet or "") for pk, score, _, snippet in rows], total

    def corrections(self, parsed: ParsedQuery) -> dict[str, str]:
        terms = _suggestible(parsed)
        if not terms:
            return {}
        # Words neither in the vocabulary nor the beginning of a word in it,
        # with their nearest vocabulary words by trigram similarity.
        sql = """
            SELECT t.term, near.word
              FROM unnest(%s::text[]) AS t(term)
              CROSS JOIN LATERAL (
                  SELECT w.word FROM search_searchword w
                   WHERE w.word %% t.term
                   ORDER BY similarity(w.word, t.term) DESC, w.word
                   LIMIT %s
              ) near
             WHERE NOT EXISTS (SELECT 1 FROM search_searchword k WHERE k.word LIKE t.term || '%%')
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [terms, CANDIDATES])
            return _closest(cursor.fetchall())


class _Sqlite:
    def match(self, parsed: ParsedQuery, filters: Filters, now: dt.datetime, limit: int) -> tuple[list[_RawHit], int]:
        where, where_params = _filter_sql(filters, now)
        fresh, fresh_params = _freshness_sql(now)
        expression = parsed.fts5()
        # bm25's IDF falls to zero for words most runbooks share ("latency" in a
        # library of latency runbooks), which would hide a title match; each
        # query word found in the title or alert names adds a fixed bonus.
        terms = parsed.terms
        bonus = " + ".join(["(instr(lower(f.title || ' ' || f.alerts), %s) > 0)"] * len(terms)) or "0"
        sql = f"""
            WITH matches AS (
                SELECT f.rowid AS id,
                       -bm25(search_fts, {FTS5_WEIGHTS}) + {TITLE_BONUS} * ({bonus}) AS score,
                       {fresh} AS freshness, r.title
                  FROM search_fts f
                  JOIN runbooks_runbook r ON r.id = f.rowid
                 WHERE search_fts MATCH %s {where}
            )
            SELECT id, score, count(*) OVER () AS total
              FROM matches
             ORDER BY round(score, {SCORE_DECIMALS}) DESC, freshness, title, id
             LIMIT %s
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [*terms, *fresh_params, expression, *where_params, limit])
            rows = cursor.fetchall()
            if not rows:
                return [], 0
            ids = [row[0] for row in rows]
            # snippet() only runs inside a MATCH query; cutting it for the page of
            # hits only keeps its cost independent of how many runbooks matched.
            marks = f"'{MARK_START}', '{MARK_STOP}', ' … ', {SNIPPET_WORDS}"
            cursor.execute(
                f"""
                SELECT rowid, snippet(search_fts, 3, {marks}), snippet(search_fts, 2, {marks})
                  FROM search_fts
                 WHERE search_fts MATCH %s AND rowid IN ({", ".join(["%s"] * len(ids))})
                """,
                [expression, *ids],
            )
            snippets = {
                pk: body if MARK_START in body or MARK_START not in summary else summary
                for pk, body, summary in cursor.fetchall()
            }
        return [_RawHit(pk, float(score), snippets.get(pk, "")) for pk, score, _ in rows], rows[0][2]

    def corrections(self, parsed: ParsedQuery) -> dict[str, str]:
        terms = _suggestible(parsed)
        if not terms:
            return {}
        unions, params = [], []
        for term in terms:
            grams = {term[i : i + 3] for i in range(len(term) - 2)}
            unions.append(
                "SELECT * FROM (SELECT %s AS term, word FROM search_word_trgm"
                " WHERE search_word_trgm MATCH %s ORDER BY rank LIMIT 40)"
            )
            params += [term, " OR ".join(f'"{g}"' for g in sorted(grams))]
        known = " UNION ALL ".join(["SELECT %s AS term"] * len(terms))
        sql = f"""
            SELECT c.term, c.word FROM ({" UNION ALL ".join(unions)}) c
             WHERE c.term IN (
                 SELECT k.term FROM ({known}) k
                  WHERE NOT EXISTS (
                      SELECT 1 FROM search_searchword w
                       WHERE w.word >= k.term AND w.word < k.term || char(1114111))
             )
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *terms])
            rows = cursor.fetchall()
        candidates: dict[str, list[str]] = {}
        for term, word in rows:
            candidates.setdefault(term, []).append(word)
        # Keep the nearest by trigram similarity, as pg_trgm's % operator does.
        nearest = [
            (term, word)
            for term, words in candidates.items()
            for word in sorted(words, key=lambda w: (-trigram_similarity(term, w), w))[:CANDIDATES]
            if trigram_similarity(term, word) >= TRIGRAM_THRESHOLD
        ]
        return _closest(nearest)


def _closest(candidates: list[tuple[str, str]]) -> dict[str, str]:
    """Per misspelt term, the candidate fewest keystrokes away.

    Ties go to a word the term is a subsequence of, since a dropped letter is
    the commonest typo ("leadr" → "leader", not "lead"), then alphabetically.
    """
    best: dict[str, tuple[int, bool, str]] = {}
    for term, word in candidates:
        distance = edit_distance(term, word)
        key = (distance, not _is_subsequence(term, word), word)
        if distance <= _allowed_edits(term) and (term not in best or key < best[term]):
            best[term] = key
    return {term: key[2] for term, key in best.items()}


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
    return list(dict.fromkeys(t for t in parsed.terms if len(t) >= 4 and not t.isdigit()))[:5]


def _trigrams(word: str) -> set[str]:
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def trigram_similarity(a: str, b: str) -> float:
    """pg_trgm's similarity(): shared trigrams over all trigrams of the padded words."""
    left, right = _trigrams(a), _trigrams(b)
    return len(left & right) / len(left | right) if left or right else 0.0


def _backend() -> _Postgres | _Sqlite:
    return _Postgres() if connection.vendor == "postgresql" else _Sqlite()
