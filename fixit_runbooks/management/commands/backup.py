"""python manage.py backup PATH"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from fixit_runbooks.backup import backup


class Command(BaseCommand):
    help = "Back up the database (pg_dump or SQLite's online backup) and a markdown export into the new folder PATH."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        manifest = backup(options["path"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up the {manifest['vendor']} database and the markdown export to {options['path']}"
            )
        )
