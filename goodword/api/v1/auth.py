from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from goodword.accounts.models import ApiKey, Workspace
from goodword.accounts.services import authenticate_key


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <secret key>`; never a query parameter."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = authenticate_key(token)
        if key is not None:
            request.workspace = key.workspace  # type: ignore[attr-defined]
        return key


def workspace_of(request: HttpRequest) -> Workspace:
    workspace: Workspace = request.workspace  # type: ignore[attr-defined]
    return workspace
