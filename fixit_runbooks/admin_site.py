"""The Django admin, opened to the admin role rather than only to staff flags."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest

from runbooks.roles import ADMIN, has_role


class RunbooksAdminSite(admin.AdminSite):
    site_header = "FixIt Runbooks administration"
    site_title = "FixIt Runbooks admin"

    def has_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and (request.user.is_staff or has_role(request.user, ADMIN))


class RunbooksAdminConfig(AdminConfig):
    default_site = "fixit_runbooks.admin_site.RunbooksAdminSite"
