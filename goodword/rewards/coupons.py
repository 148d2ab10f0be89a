"""Coupon rewards: codes generated from a rule's `coupon` spec, or drawn from a coupon pool the
business uploaded (codes made in its shop).

A generated code is unique among the workspace's coupon codes: a collision draws again. A pool
code is drawn oldest first and given once; PostgreSQL's SKIP LOCKED hands racing draws
different rows, and SQLite has one writer. A pool that has run dry leaves the reward waiting
(`pending_fulfilment`, with a Fulfilment row `waiting_for="pool_codes"`) and says so
(`coupon_pool.empty`): codes uploaded later go to the waiting rewards, oldest first.

Locks: a draw locks only the code row it takes. The pool row is locked by an upload, and by a
draw that found the pool empty before it looks again: so a reward never starts waiting unseen
by an upload committing at the same moment.
"""

from __future__ import annotations

import random
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet

from goodword.events import services as events
from goodword.lib.codes import SAFE_ALPHABET
from goodword.lib.errors import Conflict, Invalid
from goodword.programs.models import RewardRule
from goodword.programs.rules import CouponSpec, OfferSpec, RewardSpec
from goodword.rewards import fulfilment
from goodword.rewards.models import CouponCode, CouponPool, Fulfilment, Reward

POOL_CODES = "pool_codes"  # `Fulfilment.waiting_for` of a coupon waiting for its pool's codes
MAX_ATTEMPTS = 20  # generated codes tried before giving up; 31**6 codes make a retry rare
# Random characters of generated codes. A module attribute so that a test can seed it.
_rng: random.Random = secrets.SystemRandom()


# Codes and specs.


def spec_of(reward: Reward) -> CouponSpec:
    """The coupon options of `reward`: its rule's `coupon`, or the coupon offer among the rule's
    `choices` the beneficiary took; the defaults for a manual reward."""
    rule: RewardRule | None = reward.rule
    if rule is None:
        return CouponSpec()
    if rule.kind == RewardRule.Kind.COUPON:
        return _stored(rule.coupon)
    offers: list[dict[str, Any]] = rule.choices or []
    offer = next((c for c in offers if c.get("kind") == "coupon"), {})
    return _stored(offer.get("coupon"))


def _stored(coupon: dict[str, Any] | None) -> CouponSpec:
    # Validated when the rule was saved; stored with its defaults filled in (`prefix`, `length`
    # beside `pool`), which validating again would refuse as "both".
    return CouponSpec.model_construct(**(coupon or {}))


def generate(spec: CouponSpec) -> str:
    """A code by `spec`: each X of `pattern` a random character of the safe alphabet, or
    `prefix` and `length` random characters."""
    if spec.pattern is not None:
        return "".join(_rng.choice(SAFE_ALPHABET) if c == "X" else c for c in spec.pattern)
    return spec.prefix + "".join(_rng.choice(SAFE_ALPHABET) for _ in range(spec.length))


def _taken(workspace_id: int, code: str) -> bool:
    return (
        Reward.objects.for_workspace(workspace_id).filter(coupon_code=code).exists()
        or CouponCode.objects.filter(workspace_id=workspace_id, code=code).exists()
    )


def _unique_code(workspace_id: int, spec: CouponSpec) -> str:
    for _ in range(MAX_ATTEMPTS):
        code = generate(spec)
        if not _taken(workspace_id, code):
            return code
    raise Conflict(
        f"no unused coupon code found in {MAX_ATTEMPTS} tries: make the rule's codes longer",
        code="coupon_codes_exhausted",
    )


# Issue and revoke: called by `services.issue` and `services.undo`.


def issue(reward: Reward, *, now: datetime, actor: str = "") -> None:
    """Give an approved coupon reward its code, or leave it waiting for its pool's codes.

    Runs in the approval's transaction, which has claimed the reward: it is `approved` here.
    """
    spec = spec_of(reward)
    details = dict(reward.details)
    if spec.min_order is not None:
        details["min_order"] = spec.min_order
    if spec.pool is None:
        code = _unique_code(reward.workspace_id, spec)
        fulfilled = _fulfil(reward, code=code, spec=spec, details=details, now=now, actor=actor)
        assert fulfilled  # noqa: S101 - the approval claimed the reward in this transaction
        return
    details["pool"] = spec.pool  # also how an upload finds the rewards waiting for the pool
    pool = CouponPool.objects.for_workspace(reward.workspace_id).filter(public_id=spec.pool)
    found = pool.first()
    taken = _next_free(found) if found is not None else None
    if taken is None and found is not None:
        pool.select_for_update(no_key=True).get()  # see the module's docstring
        taken = _next_free(found)
    if found is None or taken is None:
        if found is not None:
            # Racing draws may each have counted the others' codes as left: the low warning
            # goes out at the latest when a reward has to wait.
            _check_low(found, now=now)
        _wait(reward, pool_id=spec.pool, details=details, now=now)
        return
    fulfilled = _fulfil(reward, code=taken.code, spec=spec, details=details, now=now, actor=actor)
    assert fulfilled  # noqa: S101 - the approval claimed the reward in this transaction
    _give(taken, reward, now=now)
    _check_low(found, now=now)


def revoke(reward: Reward, *, now: datetime) -> None:
    """A reversed coupon reward: its code must no longer be honoured (`coupon.revoked`, for
    the shops), and a pool code is never given out again (it keeps its reward). A coupon still
    waiting for its pool's codes stops waiting: its Fulfilment is cancelled."""
    fulfilment.cancel(reward, now=now)
    code = Reward.objects.values_list("coupon_code", flat=True).get(pk=reward.pk)
    if not code:
        return
    pool = CouponPool.objects.filter(codes__reward_id=reward.pk).values_list("public_id", flat=True)
    _record_reward("coupon.revoked", reward, now, code=code, pool=pool.first())


def _fulfil(
    reward: Reward,
    *,
    code: str,
    spec: CouponSpec,
    details: dict[str, Any],
    now: datetime,
    was: str = Reward.Status.APPROVED,
    actor: str = "",
) -> bool:
    """Claim `reward` from `was` to `fulfilled` with its code; False when it left `was`."""
    expires = now + timedelta(days=spec.expires_days) if spec.expires_days else None
    claimed = Reward.objects.filter(pk=reward.pk, status=was).update(
        status=Reward.Status.FULFILLED,
        fulfilled_at=now,
        coupon_code=code,
        coupon_expires_at=expires,
        details=details,
    )
    if not claimed:
        return False
    reward.status, reward.fulfilled_at = Reward.Status.FULFILLED, now
    reward.coupon_code, reward.coupon_expires_at, reward.details = code, expires, details
    _record_reward("reward.fulfilled", reward, now, **({"actor": actor} if actor else {}))
    return True


def _wait(reward: Reward, *, pool_id: str, details: dict[str, Any], now: datetime) -> None:
    """No code left: the reward waits for the pool's next codes, and the business is told."""
    Reward.objects.filter(pk=reward.pk).update(details=details)
    reward.details = details
    fulfilment.queue(reward, now=now, waiting_for=POOL_CODES)
    events.record(
        "coupon_pool.empty",
        workspace_id=reward.workspace_id,
        subject_id=pool_id,
        data={
            "reward": reward.public_id,
            "waiting": _waiting(reward.workspace_id, pool_id).count(),
        },
        now=now,
    )


def _record_reward(name: str, reward: Reward, now: datetime, **data: object) -> None:
    events.record(
        name,
        workspace_id=reward.workspace_id,
        subject_id=reward.public_id,
        data={"referral": reward.referral.public_id if reward.referral else None, **data},
        now=now,
    )


# Pool codes.


def _free(pool: CouponPool) -> QuerySet[CouponCode]:
    # `issued_at` too: a code whose reward was deleted (SET NULL) was still given out once.
    return CouponCode.objects.filter(pool=pool, reward__isnull=True, issued_at__isnull=True)


def _next_free(pool: CouponPool) -> CouponCode | None:
    """The pool's oldest free code, locked for this transaction; rows racing draws hold are
    skipped (PostgreSQL; SQLite has one writer and ignores the lock)."""
    return _free(pool).select_for_update(skip_locked=True).order_by("pk").first()


def _give(code: CouponCode, reward: Reward, *, now: datetime) -> None:
    given = CouponCode.objects.filter(pk=code.pk, reward__isnull=True).update(
        reward=reward, issued_at=now
    )
    assert given  # noqa: S101 - the row is locked (PostgreSQL) or the only writer's (SQLite)


def _check_low(pool: CouponPool, *, now: datetime) -> None:
    """`coupon_pool.low` once when the codes left fall to the pool's `low_threshold`; adding
    codes above it arms it again (`add_codes`, `update_pool`)."""
    left = _free(pool).count()
    fired = CouponPool.objects.filter(
        pk=pool.pk, low_notified_at__isnull=True, low_threshold__gte=left
    ).update(low_notified_at=now)
    if fired:
        threshold = CouponPool.objects.values_list("low_threshold", flat=True).get(pk=pool.pk)
        events.record(
            "coupon_pool.low",
            workspace_id=pool.workspace_id,
            subject_id=pool.public_id,
            data={"left": left, "low_threshold": threshold},
            now=now,
        )


def _rearm_low(pool: CouponPool) -> None:
    left = _free(pool).count()
    CouponPool.objects.filter(pk=pool.pk, low_threshold__lt=left).update(low_notified_at=None)


def _waiting(workspace_id: int, pool_id: str) -> QuerySet[Fulfilment]:
    """The rewards waiting for codes of the pool `pool_id`, oldest first."""
    return Fulfilment.objects.for_workspace(workspace_id).filter(
        status=Fulfilment.Status.PENDING, waiting_for=POOL_CODES, reward__details__pool=pool_id
    )


def fill_waiting(pool: CouponPool, *, now: datetime) -> int:
    """Give the rewards waiting for `pool` its free codes, oldest first; how many got one.

    Call with the pool row locked (`add_codes`).
    """
    waiting = _waiting(pool.workspace_id, pool.public_id).select_related(
        "reward__rule", "reward__referral"
    )
    filled = 0
    for waiting_row in waiting.order_by("created_at", "pk"):
        code = _next_free(pool)
        if code is None:
            break
        reward = waiting_row.reward
        spec, details = spec_of(reward), reward.details
        # The reward before its fulfilment row: the order a reversal takes them in. A reward
        # reversed meanwhile is not claimed, and the code stays free for the next one.
        was = Reward.Status.PENDING_FULFILMENT
        if not _fulfil(reward, code=code.code, spec=spec, details=details, now=now, was=was):
            continue
        _give(code, reward, now=now)
        fulfilment.close(waiting_row, reward, reference=code.code, now=now)
        filled += 1
    if filled:
        _check_low(pool, now=now)
    return filled


# Pools: what the API does with them.


@dataclass(frozen=True)
class Added:
    added: int  # new codes in the pool
    duplicates: int  # codes already in the pool, or repeated in the upload
    filled: int  # waiting rewards given one of the new codes


@dataclass(frozen=True)
class PoolCounts:
    codes: int
    issued: int
    left: int
    waiting: int  # rewards waiting for codes


@transaction.atomic
def create_pool(*, workspace_id: int, name: str, low_threshold: int, now: datetime) -> CouponPool:
    pool = CouponPool.objects.create(
        workspace_id=workspace_id, name=name, low_threshold=low_threshold, created_at=now
    )
    events.record(
        "coupon_pool.created",
        workspace_id=workspace_id,
        subject_id=pool.public_id,
        data={"name": name, "low_threshold": low_threshold},
        now=now,
    )
    return pool


@transaction.atomic
def update_pool(*, pool: CouponPool, now: datetime, **fields: Any) -> CouponPool:
    """Change `name` or `low_threshold`; a threshold now below the codes left arms
    `coupon_pool.low` again."""
    locked = CouponPool.objects.select_for_update(no_key=True).get(pk=pool.pk)
    changed = sorted(k for k, v in fields.items() if getattr(locked, k) != v)
    if not changed:
        return locked
    CouponPool.objects.filter(pk=pool.pk).update(**{k: fields[k] for k in changed})
    if "low_threshold" in changed:
        _rearm_low(locked)
    events.record(
        "coupon_pool.updated",
        workspace_id=pool.workspace_id,
        subject_id=pool.public_id,
        data={"fields": changed},
        now=now,
    )
    return CouponPool.objects.get(pk=pool.pk)


@transaction.atomic
def add_codes(*, pool: CouponPool, codes: Sequence[str], now: datetime) -> Added:
    """Add codes to `pool` (those already in it are counted, not added), then give the
    rewards waiting for it their codes, oldest first."""
    CouponPool.objects.select_for_update(no_key=True).filter(pk=pool.pk).get()
    unique = list(dict.fromkeys(codes))
    have: set[str] = set()
    for start in range(0, len(unique), 500):  # under every database's limit of parameters
        chunk = unique[start : start + 500]
        have |= set(
            CouponCode.objects.filter(pool=pool, code__in=chunk).values_list("code", flat=True)
        )
    new = [c for c in unique if c not in have]
    CouponCode.objects.bulk_create(
        (
            CouponCode(workspace_id=pool.workspace_id, pool=pool, code=c, created_at=now)
            for c in new
        ),
        batch_size=1000,
    )
    with events.batched():
        if new:
            _rearm_low(pool)
            events.record(
                "coupon_pool.codes_added",
                workspace_id=pool.workspace_id,
                subject_id=pool.public_id,
                data={"added": len(new), "duplicates": len(codes) - len(new)},
                now=now,
            )
        filled = fill_waiting(pool, now=now)
    return Added(added=len(new), duplicates=len(codes) - len(new), filled=filled)


def counts(pools: Sequence[CouponPool]) -> dict[int, PoolCounts]:
    """Codes, issued, left and waiting rewards of each pool, by primary key: three queries."""
    free = Q(reward__isnull=True, issued_at__isnull=True)
    rows = (
        CouponCode.objects.filter(pool__in=pools)
        .values("pool_id")
        .annotate(codes=Count("pk"), left=Count("pk", filter=free))
        .order_by()
    )
    per_pool = {row["pool_id"]: (row["codes"], row["left"]) for row in rows}
    ids = [p.public_id for p in pools]
    waiting = Counter(
        Fulfilment.objects.filter(
            workspace_id__in={p.workspace_id for p in pools},
            status=Fulfilment.Status.PENDING,
            waiting_for=POOL_CODES,
            reward__details__pool__in=ids,
        ).values_list("reward__details__pool", flat=True)
    )
    out = {}
    for pool in pools:
        total, left = per_pool.get(pool.pk, (0, 0))
        out[pool.pk] = PoolCounts(
            codes=total, issued=total - left, left=left, waiting=waiting[pool.public_id]
        )
    return out


def check_pools(*, workspace_id: int, rewards: Sequence[RewardSpec]) -> None:
    """Every coupon pool a program's rules name (or their choices) is a pool of the
    workspace: Invalid naming the first field that does not, before anything is written."""
    named: list[tuple[list[Any], str]] = []
    for i, rule in enumerate(rewards):
        offers: list[tuple[list[Any], OfferSpec]] = [([], rule)]
        offers += [(["choices", j], c) for j, c in enumerate(rule.choices or [])]
        for where, offer in offers:
            if offer.coupon is not None and offer.coupon.pool is not None:
                named.append((["rewards", i, *where, "coupon", "pool"], offer.coupon.pool))
    if not named:
        return
    known = set(
        CouponPool.objects.for_workspace(workspace_id)
        .filter(public_id__in={pool for _, pool in named})
        .values_list("public_id", flat=True)
    )
    for loc, pool in named:
        if pool not in known:
            field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
            msg = f"no coupon pool {pool!r} in this workspace"
            raise Invalid(
                f"{field}: {msg}",
                code="validation_error",
                details=[{"loc": ["body", "body", *loc], "msg": msg, "type": "unknown_pool"}],
            )
