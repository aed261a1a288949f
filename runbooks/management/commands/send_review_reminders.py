from django.core.management.base import BaseCommand, CommandError

from runbooks import reminders


class Command(BaseCommand):
    help = "Email each owner one digest of runbooks due for review (same work as the Celery beat task)."

    def handle(self, *args: object, **options: object) -> None:
        try:
            report = reminders.send_review_reminders()
        except reminders.SEND_ERRORS as exc:
            raise CommandError(f"Could not send every digest ({exc}); run again once the mail server is back.") from exc
        self.stdout.write(report.summary())
