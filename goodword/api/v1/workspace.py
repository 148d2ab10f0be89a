from __future__ import annotations

import re
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from pydantic import field_validator

from goodword.accounts.models import Workspace
from goodword.accounts.services import update_workspace
from goodword.api.v1.auth import workspace_of
from goodword.api.v1.schemas import ERRORS, PatchIn, Unset

router = Router(tags=["workspace"])

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class WorkspaceOut(Schema):
    id: str
    name: str
    allowed_domains: list[str]


class WorkspacePatch(PatchIn):
    name: Annotated[str, Field(min_length=1, max_length=200)] | Unset = None
    allowed_domains: Annotated[list[str], Field(max_length=50)] | Unset = None

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        cleaned = [d.strip().lower().rstrip(".") for d in value]
        bad = [d for d in cleaned if not _DOMAIN.match(d) and d != "localhost"]
        if bad:
            raise ValueError(f"not a domain name: {', '.join(bad)}")
        return sorted(set(cleaned))


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
