from django.contrib import admin

from .models import BreakGlassInvocation, Proposal


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    """Proposals change only through their own page, where each step is checked and audited."""

    list_display = ["summary", "runbook", "author", "status", "updated_at"]
    list_filter = ["status"]
    list_select_related = ["runbook", "author"]
    search_fields = ["summary", "runbook__title"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(BreakGlassInvocation)
class BreakGlassInvocationAdmin(admin.ModelAdmin):
    """The record of emergency access; written only by following a break-glass runbook."""

    list_display = ["runbook", "invoked_by", "invoked_at", "revoke_by", "reminded_at"]
    list_select_related = ["runbook", "invoked_by"]
    search_fields = ["runbook__title", "reason"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
