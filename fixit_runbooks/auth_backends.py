from django.contrib.auth.backends import ModelBackend

from runbooks.roles import ADMIN, has_role


class RoleBackend(ModelBackend):
    """Users in the admin group hold every model permission, like superusers."""

    def has_perm(self, user_obj, perm, obj=None):  # type: ignore[no-untyped-def]
        if user_obj.is_active and has_role(user_obj, ADMIN):
            return True
        return super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj, app_label):  # type: ignore[no-untyped-def]
        if user_obj.is_active and has_role(user_obj, ADMIN):
            return True
        return super().has_module_perms(user_obj, app_label)
