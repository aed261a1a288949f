"""Adopt the reminder tables the runbooks app created, under their existing names.

Kept tables instead of new ones with a data copy: renaming nothing means no
copy step that could miss rows written meanwhile, no downtime, and the same
result on PostgreSQL and SQLite. The content types (and so the admin
permissions granted on them) move with the models.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MOVED = ("reminderpreference", "reminderdigest", "compliancesnapshot")


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="runbooks", model__in=MOVED).update(app_label="reviews")


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="reviews", model__in=MOVED).update(app_label="runbooks")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('runbooks', '0007_move_reminders_to_reviews_app'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ComplianceSnapshot',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('week_ending', models.DateField(help_text='The Sunday that ends the week.', unique=True)),
                        ('total', models.PositiveIntegerField(default=0)),
                        ('current', models.PositiveIntegerField(default=0)),
                        ('due_soon', models.PositiveIntegerField(default=0)),
                        ('overdue', models.PositiveIntegerField(default=0)),
                        ('requested', models.PositiveIntegerField(default=0)),
                        ('taken_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        'ordering': ['-week_ending'],
                        'db_table': 'runbooks_compliancesnapshot',
                    },
                ),
                migrations.CreateModel(
                    name='ReminderPreference',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('frequency', models.CharField(choices=[('daily', 'Daily'), ('weekly', 'Weekly (on Mondays)')], default='daily', max_length=10)),
                        ('on_leave', models.BooleanField(default=False, verbose_name='pause while on leave')),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('delegate', models.ForeignKey(blank=True, help_text='Receives your digests while you are on leave.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='reminder_preference', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'runbooks_reminderpreference',
                    },
                ),
                migrations.CreateModel(
                    name='ReminderDigest',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('owner', 'Runbooks you own'), ('escalation', 'Team escalation')], max_length=12)),
                        ('day', models.DateField()),
                        ('status', models.CharField(choices=[('sending', 'Sending'), ('sent', 'Sent')], default='sending', max_length=10)),
                        ('subject', models.CharField(blank=True, max_length=300)),
                        ('runbook_count', models.PositiveIntegerField(default=0)),
                        ('overdue_count', models.PositiveIntegerField(default=0)),
                        ('items', models.JSONField(blank=True, default=list)),
                        ('on_behalf_of', models.JSONField(blank=True, default=list, help_text='Usernames whose digests were delegated here.')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('recipient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='review_digests', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'ordering': ['-day', 'kind'],
                        'db_table': 'runbooks_reminderdigest',
                        'constraints': [models.UniqueConstraint(fields=('recipient', 'kind', 'day'), name='one_digest_per_recipient_kind_day')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
