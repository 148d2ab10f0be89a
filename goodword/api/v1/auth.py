from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from goodword.accounts.models import ApiKey, Workspace
from goodword.accounts.services import authenticate_key


class WorkspaceRequest(HttpRequest):
    workspace: Workspace


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <secret key>`; never a query parameter."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = authenticate_key(token)
        if key is None:
            return None
        request.workspace = key.workspace  # type: ignore[attr-defined]
        now = timezone.now()
        # Note use at minute resolution: a write per request would double the cost of a call.
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return key


def workspace_of(request: HttpRequest) -> Workspace:
    workspace: Workspace = request.workspace  # type: ignore[attr-defined]
    return workspace
