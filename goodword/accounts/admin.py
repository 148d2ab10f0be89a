from django.contrib import admin

from goodword.accounts.models import ApiKey, Membership, Workspace
from goodword.lib.admin import ReadOnlyAdmin


@admin.register(Workspace)
class WorkspaceAdmin(ReadOnlyAdmin):
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
    def revoke(self, request, queryset):  # type: ignore[no-untyped-def]
        from django.utils import timezone

        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return bool(request.user.is_superuser) and obj is None
