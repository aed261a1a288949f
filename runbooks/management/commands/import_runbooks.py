"""python manage.py import_runbooks PATH [--dry-run] [--collection NAME] [--theirs | --ours] [--owner USER] [--team TEAM]"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from runbooks.importing import CONFLICT, FAILED, OURS, THEIRS, ImportReport, import_directory


class Command(BaseCommand):
    help = (
        "Import every markdown runbook under PATH (recursively), then print a per-file report. "
        "Files are matched to the runbooks imported earlier from the same collection and path."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would happen; write nothing."
        )
        parser.add_argument(
            "--collection",
            help="Name this folder is remembered by (default: the folder's own name).",
        )
        choice = parser.add_mutually_exclusive_group()
        choice.add_argument(
            "--theirs",
            action="store_true",
            help="For files changed both here and in the folder since the last import: apply the file.",
        )
        choice.add_argument(
            "--ours",
            action="store_true",
            help="For files changed both here and in the folder since the last import: keep the library's text.",
        )
        parser.add_argument(
            "--owner", help="Username owning runbooks whose files name no owner; also the author."
        )
        parser.add_argument(
            "--team", help="Team for runbooks whose files name none (created if missing)."
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        side = THEIRS if options["theirs"] else OURS if options["ours"] else None
        try:
            report = import_directory(
                options["path"],
                owner=options["owner"],
                team=options["team"],
                dry_run=options["dry_run"],
                progress=not options["no_progress"],
                collection=options["collection"],
                resolve_all=side,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.print_report(report)
        if report.conflicts:
            self.stdout.write(
                self.style.WARNING(
                    f"{len(report.conflicts)} file(s) changed in both places were not applied; "
                    "run again with --theirs to apply them or --ours to keep the library's text."
                )
            )
        if report.failed:
            raise CommandError(f"{len(report.failed)} file(s) failed")

    def print_report(self, report: ImportReport) -> None:
        self.stdout.write(f"Collection: {report.collection}")
        for result in report.results:
            line = f"{result.status:<15} {result.path}"
            if result.slug and result.status != FAILED:
                line += f" -> {result.slug}"
            if result.reason:
                line += f": {result.reason}"
            style = (
                self.style.ERROR
                if result.status == FAILED
                else self.style.WARNING
                if result.status == CONFLICT
                else (lambda text: text)
            )
            self.stdout.write(style(line))
            for warning in result.warnings:
                self.stdout.write(self.style.WARNING(f"                warning: {warning}"))
        self.stdout.write(self.style.SUCCESS(report.summary_line()))
