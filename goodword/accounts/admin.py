from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from goodword.accounts.models import ApiKey, Membership, Workspace
from goodword.accounts.services import revoke_api_key
from goodword.lib.admin import ReadOnlyAdmin


@admin.register(Workspace)
class WorkspaceAdmin(ReadOnlyAdmin):
    workspace_lookup = "pk"
    list_display = ("name", "public_id", "created_at")
    search_fields = ("name", "public_id")


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("workspace", "user", "role", "created_at")


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ("prefix", "name", "workspace", "created_at", "last_used_at", "revoked_at")
    exclude = ("key_hash",)
    actions = ["revoke"]

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        now = timezone.now()
        revoked = sum(revoke_api_key(key=key, now=now) for key in queryset)
        self.message_user(request, f"Revoked {revoked} key(s).")
