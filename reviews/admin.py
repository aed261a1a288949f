from django.contrib import admin
from django.http import HttpRequest

from .models import ComplianceSnapshot, ReminderDigest, ReminderPreference


@admin.register(ReminderPreference)
class ReminderPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "frequency", "on_leave", "delegate", "updated_at"]
    list_filter = ["frequency", "on_leave"]
    list_select_related = ["user", "delegate"]
    autocomplete_fields = ["user", "delegate"]


@admin.register(ReminderDigest)
class ReminderDigestAdmin(admin.ModelAdmin):
    """Every digest and how its delivery went; the scan owns these rows, so the page only reads."""

    list_display = [
        "day",
        "kind",
        "recipient",
        "status",
        "attempts",
        "last_error",
        "sent_at",
        "message_id",
    ]
    list_filter = ["status", "kind", "day"]
    list_select_related = ["recipient"]
    search_fields = ["recipient__username", "recipient__email", "subject", "message_id"]
    readonly_fields = [f.name for f in ReminderDigest._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ComplianceSnapshot)
class ComplianceSnapshotAdmin(admin.ModelAdmin):
    list_display = [
        "week_ending",
        "total",
        "current",
        "due_soon",
        "overdue",
        "never_reviewed",
        "requested",
        "changes_requested",
        "taken_at",
    ]
    readonly_fields = [f.name for f in ComplianceSnapshot._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
