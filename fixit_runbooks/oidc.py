"""Single sign-on through OpenID Connect (mozilla-django-oidc), used only when OIDC_RP_CLIENT_ID is set."""

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from runbooks.roles import ROLE_NAMES

from .auth_backends import RoleBackend


class RoleOIDCBackend(OIDCAuthenticationBackend, RoleBackend):
    """Signs people in by the provider's verified email; a new user gets OIDC_DEFAULT_ROLE."""

    def create_user(self, claims: dict[str, Any]) -> Any:
        user = super().create_user(claims)
        user.first_name = str(claims.get("given_name", ""))[:150]
        user.last_name = str(claims.get("family_name", ""))[:150]
        user.save(update_fields=["first_name", "last_name"])
        role = settings.OIDC_DEFAULT_ROLE
        if role in ROLE_NAMES:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        return user

    def get_username(self, claims: dict[str, Any]) -> str:
        # The part before the @ reads well in history and audit rows; the email keeps it unique.
        return str(claims.get("preferred_username") or claims.get("email", ""))[:150]
