"""python manage.py export_runbooks PATH [--html]"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from runbooks.exporter import ExportFailed, export_directory


class Command(BaseCommand):
    help = (
        "Write every runbook to PATH as markdown with YAML front matter and a README index, "
        "or, with --html, as an offline HTML bundle with a client-side search. PATH is replaced "
        "as a whole once the export is complete; a failed export leaves it as it was."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--html", action="store_true", help="Write the offline HTML bundle instead."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        try:
            count = export_directory(path, html=options["html"])
        except ExportFailed as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Wrote {count} files to {path}"))
