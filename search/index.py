"""Keep the full-text index in step with the runbooks' published revisions.

Every write goes through `reindex(ids)`, which runs a fixed number of
statements per batch of ids whatever their number: on PostgreSQL an
INSERT … SELECT … ON CONFLICT that builds the weighted tsvectors in the
database, on SQLite one read of the batch and two executemany writes into the
FTS5 table and the vocabulary. The receivers run inside the writing
transaction (see runbooks.signals), so the index commits or rolls back with
the change that caused it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection, transaction

from .queries import STOPWORDS, split_camel

BATCH = 500

# The Symptoms (incident runbooks) or Meaning (Prometheus-style runbooks)
# section, up to the next heading: weighted with the summary. The same
# pattern runs in PostgreSQL's regex engine and in Python's.
SYMPTOMS_PATTERN = r"(?:^|\n)##+ *(?:[Ss]ymptoms|[Mm]eaning)[^\n]*\n((?:[^\n]|\n(?!#))*)"
SYMPTOMS_RE = re.compile(SYMPTOMS_PATTERN)
CAMEL_SQL = r"'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])'"
VOCABULARY_RE = re.compile(r"[^\W_]+")

_PG_SOURCE = f"""
    SELECT r.id,
           r.title || ' ' || regexp_replace(r.title, {CAMEL_SQL}, ' ', 'g') AS title_text,
           coalesce(a.names, '') || ' ' || regexp_replace(coalesce(a.names, ''), {CAMEL_SQL}, ' ', 'g')
               AS alert_text,
           r.summary || ' ' || coalesce(substring(rev.body FROM %(symptoms)s), '') AS summary_text,
           r.summary AS summary,
           coalesce(rev.body, '') AS body,
           coalesce(m.meta, '') AS meta
      FROM runbooks_runbook r
      LEFT JOIN runbooks_revision rev ON rev.id = r.current_revision_id
      LEFT JOIN LATERAL (
          SELECT string_agg(al.name, ' ' ORDER BY al.name) AS names
            FROM runbooks_alertname al WHERE al.runbook_id = r.id
      ) a ON true
      LEFT JOIN LATERAL (
          SELECT string_agg(label, ' ') AS meta FROM (
              SELECT s.name AS label FROM runbooks_runbook_services rs
                JOIN runbooks_service s ON s.id = rs.service_id WHERE rs.runbook_id = r.id
              UNION ALL
              SELECT t.name FROM runbooks_runbook_tags rt
                JOIN runbooks_tag t ON t.id = rt.tag_id WHERE rt.runbook_id = r.id
              UNION ALL
              SELECT tm.name FROM runbooks_team tm WHERE tm.id = r.team_id
          ) labels
      ) m ON true
     WHERE r.id = ANY(%(ids)s)
"""

PG_UPSERT = f"""
    INSERT INTO search_runbooksearchdocument (runbook_id, document, snippet_text, names)
    SELECT src.id,
           setweight(to_tsvector('english', src.title_text), 'A')
           || setweight(to_tsvector('english', src.alert_text), 'A')
           || setweight(to_tsvector('english', src.summary_text), 'B')
           || setweight(to_tsvector('english', src.body), 'C')
           || setweight(to_tsvector('english', src.meta), 'D'),
           src.summary || E'\\n\\n' || src.body,
           lower(src.title_text || ' ' || src.alert_text)
      FROM ({_PG_SOURCE}) src
    ON CONFLICT (runbook_id) DO UPDATE
       SET document = EXCLUDED.document, snippet_text = EXCLUDED.snippet_text, names = EXCLUDED.names
"""

PG_VOCABULARY = f"""
    INSERT INTO search_searchword (word)
    SELECT DISTINCT w FROM (
        SELECT regexp_split_to_table(
                   lower(src.title_text || ' ' || src.alert_text || ' ' || src.summary || ' ' || src.body),
                   '[^[:alnum:]]+') AS w
          FROM ({_PG_SOURCE}) src
    ) words
     WHERE length(w) BETWEEN 3 AND 40 AND w !~ '^[0-9]+$' AND NOT (w = ANY(%(stopwords)s))
    ON CONFLICT (word) DO NOTHING
"""

SQLITE_SOURCE = """
    SELECT r.id, r.title, r.summary, coalesce(rev.body, ''),
           (SELECT group_concat(name, ' ') FROM
               (SELECT al.name FROM runbooks_alertname al WHERE al.runbook_id = r.id ORDER BY al.name)),
           coalesce((SELECT group_concat(s.name, ' ') FROM runbooks_runbook_services rs
                      JOIN runbooks_service s ON s.id = rs.service_id WHERE rs.runbook_id = r.id), '')
           || ' ' ||
           coalesce((SELECT group_concat(t.name, ' ') FROM runbooks_runbook_tags rt
                      JOIN runbooks_tag t ON t.id = rt.tag_id WHERE rt.runbook_id = r.id), '')
           || ' ' || coalesce((SELECT tm.name FROM runbooks_team tm WHERE tm.id = r.team_id), '')
      FROM runbooks_runbook r
      LEFT JOIN runbooks_revision rev ON rev.id = r.current_revision_id
     WHERE r.id IN ({placeholders})
"""


def _batches(ids: Iterable[int]) -> Iterator[list[int]]:
    unique = sorted({int(i) for i in ids})
    for start in range(0, len(unique), BATCH):
        yield unique[start : start + BATCH]


def reindex(runbook_ids: Iterable[int]) -> None:
    with transaction.atomic():
        for batch in _batches(runbook_ids):
            if connection.vendor == "postgresql":
                _reindex_postgres(batch)
            else:
                _reindex_sqlite(batch)


def _reindex_postgres(ids: list[int]) -> None:
    params: dict[str, str | list[int] | list[str]] = {"ids": ids, "symptoms": SYMPTOMS_PATTERN, "stopwords": sorted(STOPWORDS)}
    with connection.cursor() as cursor:
        cursor.execute(PG_UPSERT, params)
        cursor.execute(PG_VOCABULARY, params)


def sqlite_columns(title: str, alerts: str, summary: str, body: str) -> tuple[str, str, str, str]:
    symptoms = SYMPTOMS_RE.search(body)
    return (
        f"{title} {split_camel(title)}",
        f"{alerts} {split_camel(alerts)}",
        f"{summary} {symptoms.group(1) if symptoms else ''}",
        body,
    )


def _vocabulary(texts: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for text in texts:
        for word in VOCABULARY_RE.findall(text.lower()):
            if 3 <= len(word) <= 40 and not word.isdigit() and word not in STOPWORDS:
                found.add(word)
    return found


def _reindex_sqlite(ids: list[int]) -> None:
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(SQLITE_SOURCE.format(placeholders=placeholders), ids)
        rows: list[Any] = []
        words: set[str] = set()
        for pk, title, summary, body, alerts, meta in cursor.fetchall():
            title_text, alert_text, summary_text, body_text = sqlite_columns(title, alerts or "", summary, body)
            rows.append((pk, title_text, alert_text, summary_text, body_text, meta))
            words |= _vocabulary((title_text, alert_text, summary, body_text))
        cursor.execute(f"DELETE FROM search_fts WHERE rowid IN ({placeholders})", ids)
        cursor.executemany(
            "INSERT INTO search_fts (rowid, title, alerts, summary, body, meta) VALUES (%s, %s, %s, %s, %s, %s)",
            rows,
        )
        cursor.executemany("INSERT OR IGNORE INTO search_searchword (word) VALUES (%s)", [(w,) for w in sorted(words)])


def rebuild() -> int:
    """Rebuild the whole index and vocabulary (drops words no runbook uses any more)."""
    from runbooks.models import Runbook

    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("DELETE FROM search_runbooksearchdocument")
            else:
                cursor.execute("DELETE FROM search_fts")
            cursor.execute("DELETE FROM search_searchword")
        ids = list(Runbook.objects.values_list("pk", flat=True))
        reindex(ids)
    return len(ids)


def fill_if_empty(**kwargs: Any) -> None:
    """After migrate: a library that existed before the search app gets its index once."""
    from runbooks.models import Runbook

    table = "search_runbooksearchdocument" if connection.vendor == "postgresql" else "search_fts"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")
        indexed = cursor.fetchone() is not None
    if not indexed and Runbook.objects.exists():
        rebuild()


def on_runbook_changed(sender: Any, runbook: Any, **kwargs: Any) -> None:
    reindex([runbook.pk])


def on_runbooks_bulk_changed(sender: Any, runbook_ids: Iterable[int], **kwargs: Any) -> None:
    reindex(runbook_ids)
