from typing import Any

from django.http import HttpRequest

from .roles import ADMIN, EDITOR, REVIEWER, VIEWER, has_role


def roles(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "can_read": has_role(user, VIEWER),
        "can_edit": has_role(user, EDITOR),
        "can_review": has_role(user, REVIEWER),
        "is_admin": has_role(user, ADMIN),
    }
