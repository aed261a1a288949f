from django.core.management.base import BaseCommand, CommandError, CommandParser

from runbooks.demo import DEMO_USERS, seed


class Command(BaseCommand):
    help = "Load a deterministic demo library and the demo users (safe to run twice)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runbooks", type=int, default=48, help="How many runbooks (1–100000).")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if runbooks already exist.")

    def handle(self, *args: object, **options: object) -> None:
        from runbooks.models import Runbook

        count = int(options["runbooks"])  # type: ignore[call-overload]
        if not 1 <= count <= 100_000:
            raise CommandError("--runbooks must be between 1 and 100000")
        if options["if_empty"] and Runbook.objects.exists():
            self.stdout.write("The library already has runbooks; demo data not loaded.")
        else:
            created = seed(count, with_usage=True)
            self.stdout.write(self.style.SUCCESS(f"Demo library: {created} runbooks created."))
        self.stdout.write("Demo users (username / password / role):")
        for username, role, password in DEMO_USERS:
            self.stdout.write(f"  {username:<16} {password:<22} {role}")
