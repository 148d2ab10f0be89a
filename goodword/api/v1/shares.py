"""`POST /shares`: a share made through the business's own share buttons, counted with the
shares Goodword's portal and widget record (docs/sharing-qr.md, "Reporting shares")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from pydantic import field_validator

from goodword.api.v1.programs import get_program
from goodword.api.v1.schemas import ERRORS
from goodword.lib.schemas import ExternalId
from goodword.participants.models import Advocate
from goodword.referrals import shares
from goodword.referrals.models import Share

router = Router(tags=["shares"])
CHANNELS = sorted(Share.Channel.values)


class ShareIn(Schema):
    program: str = Field(max_length=64, description="the program's id (prg_...)")
    advocate: ExternalId = Field(description="the advocate's participant external id")
    channel: str = Field(max_length=32, description=f"one of: {', '.join(CHANNELS)}")

    model_config = {"extra": "forbid"}

    @field_validator("channel")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in shares.CHANNELS:
            raise ValueError(f"unknown channel; use one of: {', '.join(CHANNELS)}")
        return value


class ShareOut(Schema):
    program: str
    advocate: str
    channel: str
    source: str
    created_at: datetime


@router.post("/shares", response={201: ShareOut, **ERRORS})
def record_share(request: HttpRequest, body: ShareIn) -> Status[dict[str, Any]]:
    program = get_program(request, body.program)
    advocate = get_object_or_404(
        Advocate.objects.select_related("participant"),
        program=program,
        participant__external_id=body.advocate,
    )
    share = shares.record(advocate, body.channel, Share.Source.API)
    return Status(
        201,
        {
            "program": program.public_id,
            "advocate": advocate.participant.external_id,
            "channel": share.channel,
            "source": share.source,
            "created_at": share.created_at,
        },
    )
