"""PostgreSQL: keep each row's tsvector in the row, and the snippet text and embedding out of it.

A row holds a tsvector (~2 kB), the snippet text and a 1 kB embedding, more
than fits in a row, so PostgreSQL moved the tsvector to the TOAST table too:
every row a sequential scan or a GIN recheck reads cost a second lookup. With
`document` stored MAIN and the other two EXTERNAL, the tsvector stays in the
row and only ts_headline and the semantic re-ranking (20-30 rows a query)
read TOAST. Existing rows are rewritten once so they take the new layout
(both ways: migrating back to 0005 restores the old one).
Nothing to do on SQLite (FTS5 stores its own index).
"""

from django.db import migrations

POSTGRES_FORWARD = [
    "ALTER TABLE search_runbooksearchdocument"
    " ALTER COLUMN document SET STORAGE MAIN,"
    " ALTER COLUMN snippet_text SET STORAGE EXTERNAL,"
    " ALTER COLUMN embedding SET STORAGE EXTERNAL",
    # A new value (not the old TOAST pointer) makes each row take the new layout.
    "UPDATE search_runbooksearchdocument SET document = document || ''::tsvector",
]
POSTGRES_BACKWARD = [
    "ALTER TABLE search_runbooksearchdocument"
    " ALTER COLUMN document SET STORAGE EXTENDED,"
    " ALTER COLUMN snippet_text SET STORAGE EXTENDED,"
    " ALTER COLUMN embedding SET STORAGE EXTENDED",
    "UPDATE search_runbooksearchdocument SET document = document || ''::tsvector,"
    " snippet_text = snippet_text || '', embedding = embedding || ''::bytea",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0005_api_token_scope"),
    ]

    operations = [
        migrations.RunPython(_run(POSTGRES_FORWARD), _run(POSTGRES_BACKWARD)),
    ]
