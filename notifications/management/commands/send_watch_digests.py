from django.core.management.base import BaseCommand

from notifications.watching import send_watch_digests


class Command(BaseCommand):
    help = "Email each watcher one digest of runbook changes and reviews (what the beat task does)."

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(f"Sent {send_watch_digests()} digest(s).")
