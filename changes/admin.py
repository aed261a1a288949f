from django.contrib import admin

from .models import Proposal


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
