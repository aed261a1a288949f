import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("runbooks", "0005_archive_and_row_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="runbook",
            name="review_request_kind",
            field=models.CharField(
                blank=True, choices=[("review", "Review"), ("changes", "Changes")], max_length=10
            ),
        ),
        migrations.AddField(
            model_name="runbook",
            name="review_requested_for",
            field=models.ForeignKey(
                blank=True,
                help_text="Who the open review request is assigned to.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        # Requests opened before requests had a kind asked for a look.
        migrations.RunSQL(
            "UPDATE runbooks_runbook SET review_request_kind = 'review' WHERE review_requested_at IS NOT NULL",
            migrations.RunSQL.noop,
        ),
    ]
