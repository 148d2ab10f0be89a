"""Refer by name: `GET /referrers/lookup?q=` finds the advocate a friend names at checkout.

Secret or publishable key; a publishable key may call it from the browser of a page on the
workspace's allowed domains (CORS: `public.widget.cors`). Rate limited per key and client
address. The chosen `code` goes into the signup or purchase event's `referral_code`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Query, Router, Schema
from pydantic import Field, field_validator

from goodword.accounts.origins import origin_allowed
from goodword.api.v1.auth import ApiKeyAuth, workspace_of
from goodword.api.v1.schemas import ERRORS, ErrorOut
from goodword.lib.errors import DomainError
from goodword.lib.ratelimit import Limiter
from goodword.participants.lookup import MAX_QUERY, MIN_QUERY, find_referrers

router = Router(tags=["referrers"])
limiter = Limiter.new(settings.LOOKUP_RATE_PER_MINUTE)


class LookupQuery(Schema):
    q: str = Field(
        min_length=MIN_QUERY,
        max_length=MAX_QUERY,
        description="the advocate's email (exact, any case) or the start of a word of their name",
    )

    @field_validator("q", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return " ".join(value.split()) if isinstance(value, str) else value


class ReferrerOut(Schema):
    code: str = Field(description="the advocate's referral code: send it as `referral_code`")
    name: str = Field(description='the advocate\'s name, masked ("Alice S.")')
    program: str = Field(description="the program's id")


class LookupOut(Schema):
    data: list[ReferrerOut]


class OriginRefused(DomainError):
    status = 403
    code = "origin_not_allowed"


@router.get(
    "/referrers/lookup",
    response={200: LookupOut, 403: ErrorOut, 429: ErrorOut, **ERRORS},
    auth=ApiKeyAuth(publishable=True),
)
def lookup_referrers(request: HttpRequest, query: Query[LookupQuery]) -> Any:
    """At most 5 advocates of the workspace's active programs whose email is `q` or whose
    name has a word starting with `q`. The answer has the same shape whether or not any
    matched, and never holds an email."""
    workspace = workspace_of(request)
    origin = request.headers.get("Origin", "")
    if origin and not origin_allowed(workspace, origin):
        raise OriginRefused(
            f"{origin} is not on this workspace's allowed domains; add its host in the "
            "dashboard's Settings to call this from its pages"
        )
    wait = limiter.hit(f"{request.auth.pk}:{request.META.get('REMOTE_ADDR', '')}")  # type: ignore[attr-defined]
    if wait:
        return rate_limited(wait, settings.LOOKUP_RATE_PER_MINUTE)
    found = find_referrers(workspace_id=workspace.pk, query=query.q)
    return {"data": [{"code": m.code, "name": m.name, "program": m.program} for m in found]}


def rate_limited(wait: int, per_minute: int) -> HttpResponse:
    answer = JsonResponse(
        {
            "error": {
                "code": "rate_limited",
                "message": f"at most {per_minute} lookups a minute; try again in {wait} s",
                "details": {"retry_after": wait},
            }
        },
        status=429,
    )
    answer["Retry-After"] = str(wait)
    return answer
