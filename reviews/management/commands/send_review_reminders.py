import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reviews import reminders


class Command(BaseCommand):
    help = "Email each owner one digest of runbooks due for review (same work as the Celery beat task)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--day",
            type=dt.date.fromisoformat,
            help="Finish the digests of this day (YYYY-MM-DD) instead of today.",
        )
        parser.add_argument(
            "--retry",
            action="store_true",
            help="Only send digests left unfinished (retrying, or a worker died).",
        )

    def handle(self, *args: object, **options: object) -> None:
        day = options["day"]
        if options["retry"]:
            days = [day] if isinstance(day, dt.date) else reminders.days_to_retry()
            reports = [reminders.send_review_reminders(day=d, retry_only=True) for d in days]
        else:
            reports = [
                reminders.send_review_reminders(day=day if isinstance(day, dt.date) else None)
            ]
        for report in reports:
            self.stdout.write(report.summary())
        failed = [
            f"{user} ({kind}): {reason}"
            for report in reports
            for user, kind, reason in report.failed
        ]
        if failed:
            raise CommandError(
                "Some digests were not sent; they are retried automatically, or run this command again: "
                + "; ".join(failed)
            )
