from django.core.management.base import BaseCommand

from search.index import rebuild


class Command(BaseCommand):
    help = "Rebuild the full-text index and the spelling vocabulary from every runbook's published revision."

    def handle(self, *args: object, **options: object) -> None:
        count = rebuild()
        self.stdout.write(self.style.SUCCESS(f"Search index rebuilt: {count} runbooks."))
