from django.contrib import admin

from .models import Contact, EscalationStep, bump_cache_version


class BumpsCache(admin.ModelAdmin):
    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        bump_cache_version()

    def delete_model(self, request, obj):  # type: ignore[no-untyped-def]
        super().delete_model(request, obj)
        bump_cache_version()


@admin.register(Contact)
class ContactAdmin(BumpsCache):
    list_display = ["name", "role", "service", "team", "phone", "email"]
    list_filter = ["role"]


@admin.register(EscalationStep)
class EscalationStepAdmin(BumpsCache):
    list_display = ["position", "who", "wait_minutes", "service", "team"]
