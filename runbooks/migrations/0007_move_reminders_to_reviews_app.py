"""ReminderPreference, ReminderDigest and ComplianceSnapshot now belong to the reviews app.

Only Django's model state moves: the tables stay where they are, and
reviews.0001 adopts them under their old names, so no row is copied.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("runbooks", "0006_review_request_kind_and_assignee"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ComplianceSnapshot"),
                migrations.DeleteModel(name="ReminderDigest"),
                migrations.DeleteModel(name="ReminderPreference"),
            ],
            database_operations=[],
        ),
    ]
