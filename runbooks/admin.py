from django.contrib import admin
from django.db.models import F
from django.utils import timezone

from . import signals
from .models import (
    AlertName,
    AuditEvent,
    HistoryEntry,
    Revision,
    Runbook,
    Service,
    Tag,
    Team,
)


class AlertNameInline(admin.TabularInline):
    model = AlertName
    extra = 0
    fields = ["name"]


class ReadOnlyAdminMixin:
    """Evidence rows: visible in the admin, never changed or deleted there (superusers included)."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class HistoryEntryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = HistoryEntry
    extra = 0
    fields = ("date", "trigger", "reference", "version", "summary", "reviewer")
    readonly_fields = ("date", "trigger", "reference", "version", "summary", "reviewer")
    show_change_link = True


@admin.register(Runbook)
class RunbookAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "kind",
        "category",
        "severity",
        "owner",
        "team",
        "review_cadence",
        "next_review_due",
        "version",
        "archived_at",
    ]
    list_filter = ["kind", "category", "severity", "review_cadence", "team"]
    search_fields = ["title", "slug", "summary", "alert_names__name"]
    list_select_related = ["owner", "team", "current_revision"]
    autocomplete_fields = ["owner", "related"]
    filter_horizontal = ["services", "tags"]
    # Archiving and deleting go through the runbook page, which checks use and writes the history row.
    readonly_fields = [
        "current_revision",
        "missing_sections",
        "archived_at",
        "created_at",
        "updated_at",
    ]
    inlines = [AlertNameInline, HistoryEntryInline]

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def save_related(self, request, form, formsets, change):  # type: ignore[no-untyped-def]
        super().save_related(request, form, formsets, change)
        runbook = form.instance
        # Admin edits bypass update_details(): keep the page cache key, open edit forms,
        # search index and audit in step.
        Runbook.objects.filter(pk=runbook.pk).update(
            updated_at=timezone.now(), row_version=F("row_version") + 1
        )
        runbook.refresh_from_db()
        AuditEvent.record(
            request.user, "runbook.admin_changed", runbook, {"fields": form.changed_data}
        )
        signals.runbook_changed.send(sender=Runbook, runbook=runbook)


@admin.register(Revision)
class RevisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["runbook", "number", "version", "author", "created_at", "change_summary"]
    list_select_related = ["runbook", "author"]
    search_fields = ["runbook__title", "change_summary"]
    readonly_fields = [f.name for f in Revision._meta.fields]


@admin.register(HistoryEntry)
class HistoryEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["runbook", "date", "trigger", "reference", "version", "reviewer"]
    list_filter = ["trigger"]
    list_select_related = ["runbook"]
    search_fields = ["runbook__title", "reference", "summary", "reviewer"]
    readonly_fields = [f.name for f in HistoryEntry._meta.fields]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "actor", "action", "object_repr"]
    list_filter = ["action"]
    list_select_related = ["actor"]
    search_fields = ["object_repr", "action"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "lead", "change_control"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


admin.site.register(Service, search_fields=["name"])
admin.site.register(Tag, search_fields=["name"])
