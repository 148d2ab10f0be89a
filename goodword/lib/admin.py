from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The staff area shows; the API and services change. Ledger rows are never edited.

    Staff see the workspaces they are members of; superusers see every workspace.
    """

    # How a row names its workspace, for scoping what a member sees.
    workspace_lookup = "workspace_id"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Model]:
        qs = super().get_queryset(request)
        user: Any = request.user
        if user.is_superuser:
            return qs
        mine = user.membership_set.values_list("workspace_id", flat=True)
        return qs.filter(**{f"{self.workspace_lookup}__in": mine})

    def get_list_filter(self, request: HttpRequest) -> Any:
        # A related filter lists every row of the related table, other workspaces' included;
        # offer only the values present in this (scoped) list.
        model: Any = self.model
        out: list[Any] = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and model._meta.get_field(item).is_relation:
                out.append((item, admin.RelatedOnlyFieldListFilter))
            else:
                out.append(item)
        return out

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
