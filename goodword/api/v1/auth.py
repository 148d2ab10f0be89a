from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from goodword.accounts.models import ApiKey, Workspace
from goodword.accounts.services import authenticate_key
from goodword.lib.errors import DomainError


class PublishableKeyRefused(DomainError):
    status = 403
    code = "publishable_key_not_allowed"


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <secret key>`; never a query parameter.

    A publishable key (`gw_pk_…`, public in the business's pages) passes only where the
    operation says `publishable=True`; elsewhere it gets 403 `publishable_key_not_allowed`.
    """

    def __init__(self, *, publishable: bool = False) -> None:
        super().__init__()
        self.publishable = publishable

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = authenticate_key(token)
        if key is None:
            return None
        if key.is_publishable and not self.publishable:
            raise PublishableKeyRefused(
                "a publishable key (gw_pk_…) can only look up referrers and run the widget; "
                "call this operation from your server with a secret key (gw_sk_…)"
            )
        request.workspace = key.workspace  # type: ignore[attr-defined]
        return key


def workspace_of(request: HttpRequest) -> Workspace:
    workspace: Workspace = request.workspace  # type: ignore[attr-defined]
    return workspace
