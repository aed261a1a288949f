"""Snippets are cut in Python from the shown rows' summary and body (search.snippets),
so the index no longer keeps its own copy of that text.

Going back adds the column empty; run `python manage.py rebuild_search_index`
afterwards so the older code's `ts_headline` has text to cut from.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0006_search_document_storage"),
    ]

    operations = [
        # A default first, so going back can add the column to existing rows.
        migrations.AlterField(
            model_name="runbooksearchdocument",
            name="snippet_text",
            field=models.TextField(default=""),
        ),
        migrations.RemoveField(model_name="runbooksearchdocument", name="snippet_text"),
    ]
