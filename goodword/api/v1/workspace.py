from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from pydantic import field_validator

from goodword.accounts.models import Workspace
from goodword.accounts.services import MAX_DOMAINS, clean_domains, update_workspace
from goodword.api.v1.auth import workspace_of
from goodword.api.v1.schemas import ERRORS, PatchIn, Unset
from goodword.lib.errors import DomainError

router = Router(tags=["workspace"])


class WorkspaceOut(Schema):
    id: str
    name: str
    allowed_domains: list[str]


class WorkspacePatch(PatchIn):
    name: Annotated[str, Field(min_length=1, max_length=200)] | Unset = None
    # `clean_domains` counts them, so the API and the dashboard say the same; the schema
    # still tells clients the limit.
    allowed_domains: (
        Annotated[list[str], Field(json_schema_extra={"maxItems": MAX_DOMAINS})] | Unset
    ) = None

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        try:
            return clean_domains(value)
        except DomainError as error:
            raise ValueError(error.message) from None


def render_workspace(ws: Workspace) -> dict[str, Any]:
    return {"id": ws.public_id, "name": ws.name, "allowed_domains": ws.allowed_domains}


@router.get("/workspace", response={200: WorkspaceOut, **ERRORS})
def read_workspace(request: HttpRequest) -> dict[str, Any]:
    return render_workspace(Workspace.objects.get(pk=workspace_of(request).pk))


@router.patch("/workspace", response={200: WorkspaceOut, **ERRORS})
def change_workspace(request: HttpRequest, body: WorkspacePatch) -> dict[str, Any]:
    ws, _ = update_workspace(
        workspace_id=workspace_of(request).pk, **body.model_dump(exclude_unset=True)
    )
    return render_workspace(ws)
