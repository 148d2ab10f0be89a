"""Coupon pools: codes made in the shop, uploaded here (one per line), drawn one per coupon
reward. The same services as `/coupon-pools` in the API (`goodword.rewards.coupons`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.db import transaction
from django.db.models import Case, CharField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff
from goodword.dashboard.audit import audit
from goodword.dashboard.lists import Filter, listing
from goodword.dashboard.rewards.forms import CodesForm, PoolForm
from goodword.lib.errors import DomainError
from goodword.rewards import coupons
from goodword.rewards.models import CouponCode, CouponPool


@dataclass(frozen=True)
class PoolRow:
    pool: CouponPool
    counts: coupons.PoolCounts

    @property
    def is_low(self) -> bool:
        return self.counts.left <= self.pool.low_threshold


def _list_page(
    request: HttpRequest, form: PoolForm | None = None, status: int = 200
) -> HttpResponse:
    found = listing(
        request,
        CouponPool.objects.for_workspace(request.workspace),  # type: ignore[attr-defined]
        search=("name", "public_id"),
        sorts=("created_at", "name"),
    )
    counts = coupons.counts(found.rows)
    context = {
        "title": "Coupon pools",
        "listing": found,
        "rows": [PoolRow(p, counts[p.pk]) for p in found.rows],
        "form": form or PoolForm(),
    }
    return render(request, "dashboard/rewards/pools.html", context, status=status)


@staff(Can.VIEW)
def pools(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@require_POST
@staff(Can.MANAGE)
def create(request: HttpRequest) -> HttpResponse:
    form = PoolForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    name, threshold = str(form.cleaned_data["name"]), int(form.cleaned_data["low_threshold"])
    try:
        with transaction.atomic():
            pool = coupons.create_pool(
                workspace_id=request.workspace.pk,  # type: ignore[attr-defined]
                name=name,
                low_threshold=threshold,
                now=timezone.now(),
            )
            audit(request, "coupon_pool.create", pool.public_id, name=name, low_threshold=threshold)
    except DomainError as error:
        form.add_error(None, error.message)
        return _list_page(request, form, status=error.status)
    messages.success(request, f"Pool “{pool.name}” created: upload its codes.")
    return redirect("dashboard:coupon_pool", pool_id=pool.public_id)


def _get(request: HttpRequest, pool_id: str) -> CouponPool:
    qs = CouponPool.objects.for_workspace(request.workspace)  # type: ignore[attr-defined]
    return get_object_or_404(qs, public_id=pool_id)


def _page(
    request: HttpRequest, pool: CouponPool, form: CodesForm | None = None, status: int = 200
) -> HttpResponse:
    codes = (
        CouponCode.objects.filter(workspace_id=pool.workspace_id, pool=pool)
        .select_related("reward")
        .annotate(
            state=Case(
                When(reward__isnull=True, issued_at__isnull=True, then=Value("free")),
                default=Value("issued"),
                output_field=CharField(),
            )
        )
    )
    found = listing(
        request,
        codes,
        search=("code",),
        filters={"state": Filter("Status", "state", [("free", "Free"), ("issued", "Used")])},
        sorts=("created_at", "issued_at", "code"),
    )
    context = {
        "title": f"Coupon pool {pool.name}",
        "pool": pool,
        "row": PoolRow(pool, coupons.counts([pool])[pool.pk]),
        "listing": found,
        "form": form or CodesForm(),
    }
    return render(request, "dashboard/rewards/pool.html", context, status=status)


@staff(Can.VIEW)
def pool(request: HttpRequest, pool_id: str) -> HttpResponse:
    return _page(request, _get(request, pool_id))


@require_POST
@staff(Can.MANAGE)
def upload(request: HttpRequest, pool_id: str) -> HttpResponse:
    """Add up to 10,000 codes; those already in the pool are counted, not added. Rewards
    waiting for the pool's codes get them at once, oldest first."""
    found = _get(request, pool_id)
    form = CodesForm(request.POST)
    if not form.is_valid():
        return _page(request, found, form, status=400)
    codes: list[str] = form.cleaned_data["codes"]
    try:
        with transaction.atomic():
            added = coupons.add_codes(pool=found, codes=codes, now=timezone.now())
            audit(
                request,
                "coupon_pool.add_codes",
                found.public_id,
                added=added.added,
                duplicates=added.duplicates,
                filled=added.filled,
            )
    except DomainError as error:
        form.add_error(None, error.message)
        return _page(request, found, form, status=error.status)
    text = f"Added {added.added:,} code{'s' if added.added != 1 else ''}"
    if added.duplicates:
        text += f" ({added.duplicates:,} already in the pool or repeated)"
    if added.filled:
        text += f"; {added.filled:,} waiting reward{'s' if added.filled != 1 else ''} got one"
    messages.success(request, text + ".")
    return redirect("dashboard:coupon_pool", pool_id=found.public_id)
