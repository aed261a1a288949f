"""Keep the full-text index in step with the runbooks' published revisions.

Both engines index the same text, cut in Python by `document_fields`:

* names — title and alert names, with CamelCase and snake_case split into words;
* lead — summary, the body's first paragraph and its Meaning / Symptoms /
  Impact sections: what a runbook is about, weighted above the rest;
* body — the whole text, with the CamelCase words in it also split;
* meta — services, tags and team.

With semantic re-ranking on (search.semantic), each row also stores the
embedding of the names and lead, computed in one call per batch.

Every write goes through `reindex(ids)`, which runs a fixed number of
statements per batch of ids whatever their number. Archived runbooks are
removed from the index (and so from search, the API and suggestions). The
receivers run inside the writing transaction (see runbooks.signals), so the
index commits or rolls back with the change that caused it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection, transaction

from . import semantic
from .vocabulary import STOPWORDS, split_camel

BATCH = 500
TEXT_CONFIG = "fixit_english"
LEAD_MAX_CHARS = 4000

LEAD_SECTION_RE = re.compile(
    r"^#{1,6}[ \t]*(?:meaning|symptoms|impact|overview|summary|description)\b[^\n]*\n(.*?)(?=^#|\Z)",
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)
FRONT_MATTER_RE = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
CAMEL_WORD_RE = re.compile(r"\b\w*[a-z0-9][A-Z]\w*\b|\b\w+_\w+\b")
VOCABULARY_RE = re.compile(r"[^\W_]+")


def first_paragraph(body: str) -> str:
    text = FRONT_MATTER_RE.sub("", body)
    for block in re.split(r"\n\s*\n", text):
        block = block.strip()
        if block and not block.startswith(("#", "|", "```", "<", "---", ">", "![")):
            return block
    return ""


def with_split_words(text: str) -> str:
    """The text, then the CamelCase / snake_case words in it as separate words."""
    found = dict.fromkeys(CAMEL_WORD_RE.findall(text))
    return text + ("\n" + " ".join(split_camel(w) for w in found) if found else "")


def document_fields(
    title: str, alerts: str, summary: str, body: str, meta: str
) -> tuple[str, str, str, str]:
    """(names, lead, body, meta): the same text for both engines."""
    names = f"{title} {alerts} {split_camel(title)} {split_camel(alerts)}"
    sections = [m.group(1).strip() for m in LEAD_SECTION_RE.finditer(body)]
    lead = "\n".join([summary, first_paragraph(body), *sections])[:LEAD_MAX_CHARS]
    return names, with_split_words(lead), with_split_words(body), meta


def semantic_text(names: str, lead: str) -> str:
    """What the semantic re-ranking embeds: the names and the lead, not the whole body."""
    return f"{names}\n{lead}"


def exact_names(title: str, alerts: str) -> str:
    """Title and alert names squeezed to letters and digits: what the exact-name bonus compares."""
    squeeze = re.compile(r"[\W_]+")
    return " ".join(
        dict.fromkeys(squeeze.sub("", n).lower() for n in [title, *alerts.split()] if n)
    )


SOURCE = """
    SELECT r.id, r.title, r.summary, coalesce(rev.body, ''),
           coalesce((SELECT {concat_alerts} FROM runbooks_alertname al WHERE al.runbook_id = r.id), ''),
           coalesce((SELECT {concat_services} FROM runbooks_runbook_services rs
                      JOIN runbooks_service s ON s.id = rs.service_id WHERE rs.runbook_id = r.id), '')
           || ' ' ||
           coalesce((SELECT {concat_tags} FROM runbooks_runbook_tags rt
                      JOIN runbooks_tag t ON t.id = rt.tag_id WHERE rt.runbook_id = r.id), '')
           || ' ' || coalesce((SELECT tm.name FROM runbooks_team tm WHERE tm.id = r.team_id), '')
      FROM runbooks_runbook r
      LEFT JOIN runbooks_revision rev ON rev.id = r.current_revision_id
     WHERE r.id IN ({placeholders}) AND r.archived_at IS NULL
"""


def _source_sql(count: int) -> str:
    if connection.vendor == "postgresql":
        concat = {
            "concat_alerts": "string_agg(al.name, ' ' ORDER BY al.name)",
            "concat_services": "string_agg(s.name, ' ')",
            "concat_tags": "string_agg(t.name, ' ')",
        }
    else:
        concat = {
            "concat_alerts": "group_concat(al.name, ' ')",
            "concat_services": "group_concat(s.name, ' ')",
            "concat_tags": "group_concat(t.name, ' ')",
        }
    return SOURCE.format(placeholders=", ".join(["%s"] * count), **concat)


PG_UPSERT = f"""
    INSERT INTO search_runbooksearchdocument (runbook_id, document, head, names, embedding)
    SELECT src.id,
           setweight(to_tsvector('{TEXT_CONFIG}', src.names), 'A')
           || setweight(to_tsvector('{TEXT_CONFIG}', src.lead), 'B')
           || setweight(to_tsvector('{TEXT_CONFIG}', src.body), 'C')
           || setweight(to_tsvector('{TEXT_CONFIG}', src.meta), 'D'),
           setweight(to_tsvector('{TEXT_CONFIG}', src.names), 'A')
           || setweight(to_tsvector('{TEXT_CONFIG}', src.lead), 'B'),
           src.exact, src.embedding
      FROM unnest(%s::int[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bytea[])
           AS src(id, names, lead, body, meta, exact, embedding)
    ON CONFLICT (runbook_id) DO UPDATE
       SET document = EXCLUDED.document, head = EXCLUDED.head,
           names = EXCLUDED.names, embedding = EXCLUDED.embedding
"""


def _batches(ids: Iterable[int]) -> Iterator[list[int]]:
    unique = sorted({int(i) for i in ids})
    for start in range(0, len(unique), BATCH):
        yield unique[start : start + BATCH]


def reindex(runbook_ids: Iterable[int]) -> None:
    with transaction.atomic():
        for batch in _batches(runbook_ids):
            _reindex_batch(batch)


def _vocabulary(texts: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for text in texts:
        for word in VOCABULARY_RE.findall(text.lower()):
            if 3 <= len(word) <= 40 and not word.isdigit() and word not in STOPWORDS:
                found.add(word)
    return found


def _reindex_batch(ids: list[int]) -> None:
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute(_source_sql(len(ids)), ids)
        rows: list[tuple[Any, ...]] = []
        words: set[str] = set()
        for pk, title, summary, body, alerts, meta in cursor.fetchall():
            names, lead, body_text, meta_text = document_fields(title, alerts, summary, body, meta)
            rows.append(
                (
                    pk,
                    names,
                    lead,
                    body_text,
                    meta_text,
                    exact_names(title, alerts),
                )
            )
            words |= _vocabulary((names, lead, body_text))
        # What a runbook is about (names and lead), embedded in one batch.
        texts = [semantic_text(row[1], row[2]) for row in rows]
        vectors: list[bytes | None] = (
            list(semantic.embed(texts)) if semantic.enabled() else [None] * len(rows)
        )
        rows = [(*row, vector) for row, vector in zip(rows, vectors, strict=True)]
        placeholders = ", ".join(["%s"] * len(ids))
        if postgres:
            cursor.execute(
                f"DELETE FROM search_runbooksearchdocument WHERE runbook_id IN ({placeholders})",
                ids,
            )
            if rows:
                cursor.execute(PG_UPSERT, [list(column) for column in zip(*rows, strict=True)])
            cursor.execute(
                "INSERT INTO search_searchword (word) SELECT unnest(%s::text[]) ON CONFLICT (word) DO NOTHING",
                [sorted(words)],
            )
        else:
            cursor.execute(f"DELETE FROM search_fts WHERE rowid IN ({placeholders})", ids)
            cursor.execute(
                f"DELETE FROM search_runbooksearchdocument WHERE runbook_id IN ({placeholders})",
                ids,
            )
            cursor.executemany(
                "INSERT INTO search_fts (rowid, names, lead, body, meta) VALUES (%s, %s, %s, %s, %s)",
                [row[:5] for row in rows],
            )
            # The plain table carries the exact names on SQLite too (no tsvectors there).
            cursor.executemany(
                "INSERT INTO search_runbooksearchdocument (runbook_id, document, names, embedding)"
                " VALUES (%s, '', %s, %s)",
                [(row[0], row[5], row[6]) for row in rows],
            )
            cursor.executemany(
                "INSERT OR IGNORE INTO search_searchword (word) VALUES (%s)",
                [(w,) for w in sorted(words)],
            )


def rebuild() -> int:
    """Rebuild the whole index and vocabulary (drops words no runbook uses any more)."""
    from runbooks.models import Runbook

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM search_runbooksearchdocument")
            if connection.vendor != "postgresql":
                cursor.execute("DELETE FROM search_fts")
            cursor.execute("DELETE FROM search_searchword")
        ids = list(Runbook.objects.values_list("pk", flat=True))
        reindex(ids)
    return len(ids)


def fill_if_empty(**kwargs: Any) -> None:
    """After migrate: a library that existed before the search app (or this index format) gets its index once."""
    from runbooks.models import Runbook

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM search_runbooksearchdocument LIMIT 1")
        indexed = cursor.fetchone() is not None
    if not indexed and Runbook.objects.active().exists():
        rebuild()
    elif indexed and semantic.enabled():
        # Rows written before semantic re-ranking was on get their vectors once.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT runbook_id FROM search_runbooksearchdocument WHERE embedding IS NULL"
            )
            missing = [row[0] for row in cursor.fetchall()]
        if missing:
            reindex(missing)


def on_runbook_changed(sender: Any, runbook: Any, **kwargs: Any) -> None:
    reindex([runbook.pk])


def on_runbooks_bulk_changed(sender: Any, runbook_ids: Iterable[int], **kwargs: Any) -> None:
    reindex(runbook_ids)
