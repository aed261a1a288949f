from django.contrib import admin

from .models import AlertGroup, IncidentAlert


@admin.register(AlertGroup)
class AlertGroupAdmin(admin.ModelAdmin):
    list_display = ["source", "group_key", "incident", "updated_at"]
    list_filter = ["source"]
    readonly_fields = [f.name for f in AlertGroup._meta.fields]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(IncidentAlert)
class IncidentAlertAdmin(admin.ModelAdmin):
    list_display = ["alertname", "status", "incident", "last_seen_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in IncidentAlert._meta.fields]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
