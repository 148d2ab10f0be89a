"""Coupon pools: codes made in the shop, uploaded here, drawn one per coupon reward of a rule
whose `coupon.pool` names the pool."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from pydantic import StringConstraints

from goodword.api.v1.auth import workspace_of
from goodword.api.v1.pagination import paginate
from goodword.api.v1.schemas import ERRORS, PatchIn, Unset
from goodword.rewards import coupons
from goodword.rewards.models import CouponCode, CouponPool
from goodword.rewards.schemas import CodesIn

router = Router(tags=["coupons"])

PoolName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Threshold = Annotated[int, Field(ge=0, le=1_000_000, strict=True)]


class PoolIn(Schema):
    name: PoolName
    low_threshold: Threshold = Field(
        default=0, description="`coupon_pool.low` is recorded when this many codes are left"
    )

    model_config = {"extra": "forbid"}


class PoolPatch(PatchIn):
    name: PoolName | Unset = None
    low_threshold: Threshold | Unset = None


class PoolOut(Schema):
    id: str
    name: str
    low_threshold: int
    codes: int  # uploaded
    issued: int  # given to a reward (also when the reward was reversed later)
    left: int  # free to give
    waiting: int  # coupon rewards waiting for codes (`pending_fulfilment`)
    low_notified_at: datetime | None  # when `coupon_pool.low` was last recorded
    created_at: datetime


class PoolList(Schema):
    data: list[PoolOut]
    next_cursor: str | None


class CodesAdded(Schema):
    added: int
    duplicates: int  # already in the pool, or repeated in the upload
    filled: int  # waiting rewards given one of the new codes


class CodeOut(Schema):
    id: str
    code: str
    status: Literal["free", "issued"]
    reward: str | None
    created_at: datetime
    issued_at: datetime | None


class CodeList(Schema):
    data: list[CodeOut]
    next_cursor: str | None


def render_pools(pools: list[CouponPool]) -> list[dict[str, Any]]:
    counts = coupons.counts(pools)
    return [
        {
            "id": p.public_id,
            "name": p.name,
            "low_threshold": p.low_threshold,
            "codes": counts[p.pk].codes,
            "issued": counts[p.pk].issued,
            "left": counts[p.pk].left,
            "waiting": counts[p.pk].waiting,
            "low_notified_at": p.low_notified_at,
            "created_at": p.created_at,
        }
        for p in pools
    ]


def render_code(c: CouponCode) -> dict[str, Any]:
    return {
        "id": c.public_id,
        "code": c.code,
        "status": "free" if c.issued_at is None else "issued",
        "reward": c.reward.public_id if c.reward is not None else None,
        "created_at": c.created_at,
        "issued_at": c.issued_at,
    }


def get_pool(request: HttpRequest, pool_id: str) -> CouponPool:
    qs = CouponPool.objects.for_workspace(workspace_of(request))
    return get_object_or_404(qs, public_id=pool_id)


def _one(request: HttpRequest, pool_id: str) -> dict[str, Any]:
    return render_pools([get_pool(request, pool_id)])[0]


@router.post("/coupon-pools", response={201: PoolOut, **ERRORS})
def create_pool(request: HttpRequest, body: PoolIn) -> Status[dict[str, Any]]:
    """Create an empty pool; upload its codes with `POST /coupon-pools/{id}/codes`."""
    pool = coupons.create_pool(
        workspace_id=workspace_of(request).pk,
        name=body.name,
        low_threshold=body.low_threshold,
        now=timezone.now(),
    )
    return Status(201, _one(request, pool.public_id))


@router.get("/coupon-pools", response={200: PoolList, **ERRORS})
def list_pools(request: HttpRequest, cursor: str | None = None, limit: int = 20) -> dict[str, Any]:
    qs = CouponPool.objects.for_workspace(workspace_of(request))
    page = paginate(qs, cursor=cursor, limit=limit, render=lambda p: p)
    page["data"] = render_pools(page["data"])
    return page


@router.get("/coupon-pools/{pool_id}", response={200: PoolOut, **ERRORS})
def read_pool(request: HttpRequest, pool_id: str) -> dict[str, Any]:
    return _one(request, pool_id)


@router.patch("/coupon-pools/{pool_id}", response={200: PoolOut, **ERRORS})
def change_pool(request: HttpRequest, pool_id: str, body: PoolPatch) -> dict[str, Any]:
    pool = get_pool(request, pool_id)
    coupons.update_pool(pool=pool, now=timezone.now(), **body.model_dump(exclude_unset=True))
    return _one(request, pool_id)


@router.post("/coupon-pools/{pool_id}/codes", response={200: CodesAdded, **ERRORS})
def add_codes(request: HttpRequest, pool_id: str, body: CodesIn) -> dict[str, int]:
    """Add up to 10,000 codes; codes already in the pool are counted as duplicates, not added.
    Rewards waiting for the pool's codes get them at once, oldest first (`filled`)."""
    added = coupons.add_codes(pool=get_pool(request, pool_id), codes=body.codes, now=timezone.now())
    return {"added": added.added, "duplicates": added.duplicates, "filled": added.filled}


@router.get("/coupon-pools/{pool_id}/codes", response={200: CodeList, **ERRORS})
def list_codes(
    request: HttpRequest,
    pool_id: str,
    cursor: str | None = None,
    limit: int = 20,
    status: Literal["free", "issued"] | None = None,
) -> dict[str, Any]:
    pool = get_pool(request, pool_id)
    qs = CouponCode.objects.filter(workspace_id=pool.workspace_id, pool=pool).select_related(
        "reward"
    )
    if status is not None:
        qs = qs.filter(issued_at__isnull=status == "free")
    return paginate(qs, cursor=cursor, limit=limit, render=render_code)
