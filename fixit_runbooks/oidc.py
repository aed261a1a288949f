"""Single sign-on through OpenID Connect (mozilla-django-oidc), used only when OIDC_RP_CLIENT_ID is set."""

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from runbooks.roles import ROLE_NAMES

from .auth_backends import RoleBackend


class RoleOIDCBackend(OIDCAuthenticationBackend, RoleBackend):
    """Matches people by the provider's verified email; a new user gets OIDC_DEFAULT_ROLE.

    Usernames stay the library's default (a hash of the email), which cannot
    collide with a local account's name; the real name is copied from the claims.
    """

    def create_user(self, claims: dict[str, Any]) -> Any:
        user = super().create_user(claims)
        user.first_name = str(claims.get("given_name", ""))[:150]
        user.last_name = str(claims.get("family_name", ""))[:150]
        user.save(update_fields=["first_name", "last_name"])
        role = settings.OIDC_DEFAULT_ROLE
        if role in ROLE_NAMES:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        return user
