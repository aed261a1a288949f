"""Roles are Django groups ranked viewer < editor < reviewer < admin.

A higher role can do everything a lower one can. Superusers are admins.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

VIEWER, EDITOR, REVIEWER, ADMIN = "viewer", "editor", "reviewer", "admin"
RANKS = {VIEWER: 1, EDITOR: 2, REVIEWER: 3, ADMIN: 4}
ROLE_NAMES = tuple(RANKS)


def role_rank(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    cached = getattr(user, "_role_rank", None)
    if cached is None:
        if user.is_superuser:
            cached = RANKS[ADMIN]
        else:
            names = user.groups.filter(name__in=ROLE_NAMES).values_list("name", flat=True)
            cached = max((RANKS[name] for name in names), default=0)
        user._role_rank = cached
    return cached


def role_rank_expression(user: Any) -> Any:
    """The user's rank as a subquery, so a page can read it with its own row, saving a query.

    Ignores superuser status: pass the result to `remember_role_rank`, which does not.
    """
    from django.contrib.auth.models import Group
    from django.db.models import Case, IntegerField, Value, When

    rank = Case(
        *(When(name=name, then=Value(value)) for name, value in RANKS.items()),
        default=Value(0),
        output_field=IntegerField(),
    )
    groups = Group.objects.filter(user=user.pk, name__in=ROLE_NAMES).annotate(rank=rank)
    return groups.order_by("-rank").values("rank")[:1]


def remember_role_rank(user: Any, group_rank: int | None) -> None:
    """Keep a rank read by `role_rank_expression` for this request's role checks."""
    if getattr(user, "is_authenticated", False) and not user.is_superuser:
        user._role_rank = group_rank or 0


def has_role(user: Any, role: str) -> bool:
    return role_rank(user) >= RANKS[role]


def role_required(role: str) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Deny (403) users below `role`; login itself is enforced by LoginRequiredMiddleware."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not has_role(request.user, role):
                raise PermissionDenied(f"This needs the {role} role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
