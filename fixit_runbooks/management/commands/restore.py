"""python manage.py restore PATH"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from fixit_runbooks.backup import restore


class Command(BaseCommand):
    help = "Replace this site's database with the backup in PATH (made by `manage.py backup`). Stop the web server and workers first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Restore even though this database already holds runbooks.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from runbooks.models import Runbook

        try:
            existing = Runbook.objects.count()
        except DatabaseError:  # a new, unmigrated database: the restore creates the tables
            existing = 0
        if existing and not options["replace"]:
            raise CommandError(
                f"This database already holds {existing} runbooks: pass --replace to overwrite them with the backup"
            )
        manifest = restore(options["path"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored the {manifest['vendor']} backup made at {manifest['created_at']}"
            )
        )
