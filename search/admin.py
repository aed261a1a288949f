from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from .models import ApiToken, hash_token


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "key_prefix", "created_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("name", "user__username", "key_prefix")
    readonly_fields = ("key_prefix", "created_at", "last_used_at")
    fields = ("user", "name", "key_prefix", "created_at", "last_used_at")

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # The raw token is shown once, here; only its hash is stored.
        raw = ApiToken.new_raw()
        obj.key_hash, obj.key_prefix = hash_token(raw), raw[:12]
        super().save_model(request, obj, form, change)
        messages.warning(
            request, f"API token for {obj.user}: {raw} — copy it now, it is not shown again."
        )
