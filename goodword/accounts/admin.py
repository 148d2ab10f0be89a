from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from goodword.accounts.models import ApiKey, AuditEntry, Invitation, Membership, Workspace
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


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Invitations are made, revoked and accepted in the dashboard (the rules of who may
    invite whom live in its services); the staff area only shows them."""

    list_display = ("email", "role", "workspace", "created_at", "expires_at", "accepted_at")
    list_filter = ("role",)
    search_fields = ("email", "public_id")
    exclude = ("token_hash",)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "workspace", "actor", "action", "subject", "ip")
    list_filter = ("action",)
    search_fields = ("actor", "action", "subject")
    date_hierarchy = "created_at"
