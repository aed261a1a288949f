"""Each engine's own full-text machinery, created only on the engine it belongs to.

PostgreSQL: pg_trgm, a GIN index on the tsvectors, and a trigram index on the
vocabulary.
SQLite: an FTS5 table of weighted columns keyed by runbook id, a trigger that
drops a runbook's row with it, and an FTS5 trigram table mirroring the vocabulary.
"""

from django.db import migrations

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX search_document_gin ON search_runbooksearchdocument USING gin (document)",
    # "did you mean": nearest vocabulary words by trigram similarity, and prefix checks.
    "CREATE INDEX search_word_trgm ON search_searchword USING gin (word gin_trgm_ops)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS search_word_trgm",
    "DROP INDEX IF EXISTS search_document_gin",
]

SQLITE_FORWARD = [
    """
    CREATE VIRTUAL TABLE search_fts USING fts5(
        title, alerts, summary, body, meta,
        tokenize = 'porter unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER search_fts_runbook_deleted AFTER DELETE ON runbooks_runbook
    BEGIN DELETE FROM search_fts WHERE rowid = old.id; END
    """,
    "CREATE VIRTUAL TABLE search_word_trgm USING fts5(word, tokenize = 'trigram')",
    """
    CREATE TRIGGER search_word_added AFTER INSERT ON search_searchword
    BEGIN INSERT INTO search_word_trgm (rowid, word) VALUES (new.rowid, new.word); END
    """,
    """
    CREATE TRIGGER search_word_removed AFTER DELETE ON search_searchword
    BEGIN DELETE FROM search_word_trgm WHERE rowid = old.rowid; END
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS search_word_removed",
    "DROP TRIGGER IF EXISTS search_word_added",
    "DROP TABLE IF EXISTS search_word_trgm",
    "DROP TRIGGER IF EXISTS search_fts_runbook_deleted",
    "DROP TABLE IF EXISTS search_fts",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
    ]
