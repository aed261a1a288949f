from django.contrib import admin
from django.db.models import F
from django.utils import timezone

from runbooks.models import AuditEvent

from .models import CorrectiveAction, Drill, DrillRunbook, Incident, IncidentRunbook, TimelineEntry


class TimelineInline(admin.TabularInline):
    """The timeline is append-only: entries come from the incident's actions and notes."""

    model = TimelineEntry
    extra = 0
    readonly_fields = ("at", "author", "kind", "text")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class AttachmentInline(admin.TabularInline):
    model = IncidentRunbook
    extra = 0
    readonly_fields = ("runbook", "revision", "attached_by", "attached_at")
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # attaching pins a revision and writes the timeline: the incident page does it


class CorrectiveActionInline(admin.TabularInline):
    model = CorrectiveAction
    extra = 0
    raw_id_fields = ("owner", "created_by")


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("number", "title", "severity", "status", "detected_at", "commander")
    list_filter = ("status", "severity")
    search_fields = ("number", "title")
    # Status and timestamps change through Incident's actions so the timeline and history stay whole.
    readonly_fields = (
        "number",
        "status",
        "detected_at",
        "acknowledged_at",
        "mitigated_at",
        "resolved_at",
        "reviewed_at",
        "created_by",
        "created_at",
        "updated_at",
    )
    raw_id_fields = ("commander",)
    inlines = [AttachmentInline, CorrectiveActionInline, TimelineInline]

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # an incident is evidence for the runbooks it used

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        if change:
            # Edit pages opened before this admin save must see they are stale.
            Incident.objects.filter(pk=obj.pk).update(
                row_version=F("row_version") + 1, updated_at=timezone.now()
            )
            AuditEvent.record(
                request.user, "incident.admin_changed", obj, {"fields": form.changed_data}
            )


@admin.register(CorrectiveAction)
class CorrectiveActionAdmin(admin.ModelAdmin):
    list_display = ("title", "incident", "owner", "due_date", "status")
    list_filter = ("status",)
    raw_id_fields = ("incident", "owner", "created_by")


class DrillRunbookInline(admin.TabularInline):
    model = DrillRunbook
    extra = 0
    readonly_fields = ("runbook", "revision")
    can_delete = False


@admin.register(Drill)
class DrillAdmin(admin.ModelAdmin):
    list_display = ("number", "date", "outcome", "recorded_by")
    list_filter = ("outcome",)
    readonly_fields = ("number", "recorded_by", "created_at")
    inlines = [DrillRunbookInline]

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # a drill is evidence for the runbooks it exercised
