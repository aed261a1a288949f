from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from runbooks.models import AuditEvent
from runbooks.roles import VIEWER, has_role
from search.models import ApiToken, TokenScope


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What the token is for.")
        parser.add_argument(
            "--scope",
            choices=TokenScope.values,
            default=TokenScope.READ,
            help="read (the default) or write: what the token may do through /api/v1/.",
        )

    def handle(self, *args: object, **options: object) -> None:
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: options["username"]})
        except User.DoesNotExist as exc:
            raise CommandError(f"No user named {options['username']!r}.") from exc
        if not has_role(user, VIEWER):
            raise CommandError(f"{user} has no role; give them at least the viewer role first.")
        token, raw = ApiToken.issue(user, str(options["name"]), scope=str(options["scope"]))
        AuditEvent.record(
            None,
            "api_token.created",
            token,
            {"user": user.get_username(), "name": token.name, "scope": token.scope},
        )
        self.stdout.write(raw)
