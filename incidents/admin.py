from django.contrib import admin

from .models import CorrectiveAction, Drill, DrillRunbook, Incident, IncidentRunbook, TimelineEntry


class TimelineInline(admin.TabularInline):
    model = TimelineEntry
    extra = 0
    readonly_fields = ("at", "author", "kind", "text")
    can_delete = False


class AttachmentInline(admin.TabularInline):
    model = IncidentRunbook
    extra = 0
    readonly_fields = ("runbook", "revision", "attached_by", "attached_at")
    can_delete = False


class CorrectiveActionInline(admin.TabularInline):
    model = CorrectiveAction
    extra = 0
    raw_id_fields = ("owner", "created_by")


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("number", "title", "severity", "status", "detected_at", "commander")
    list_filter = ("status", "severity")
    search_fields = ("number", "title")
    # Status and timestamps change through Incident's methods so the timeline and history stay whole.
    readonly_fields = ("number", "status", "resolved_at", "reviewed_at", "created_by", "created_at", "updated_at")
    raw_id_fields = ("commander",)
    inlines = [AttachmentInline, CorrectiveActionInline, TimelineInline]


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
