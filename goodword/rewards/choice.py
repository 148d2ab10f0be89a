"""Recipient's choice: a rule with `choices` lets the beneficiary take one of those offers
instead of the rule's own reward (the default) until `choose_by`.

While the choice is open the reward stays `pending`, even past its hold: the approval sweep
leaves it alone until `choose_by`. Choosing makes the reward that offer; a choice not made by
`choose_by`, or an approval by hand before it, keeps the default. Either way `reward.chosen`
records what the reward gives from then on, and `choices` and `choose_by` are cleared.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from goodword.events import services as events
from goodword.events.models import DomainEvent
from goodword.lib.errors import Conflict, Invalid
from goodword.programs.rules import POINTS
from goodword.rewards.models import Reward


def details_of(offer: Mapping[str, Any]) -> dict[str, Any]:
    """What a reward giving `offer` (an `OfferSpec` as data) keeps in `Reward.details`: what a
    queued kind gives, a coupon's minimum order."""
    details = {k: offer[k] for k in ("sku", "cause", "description") if offer.get(k) is not None}
    coupon = offer.get("coupon") or {}
    if coupon.get("min_order") is not None:
        details["min_order"] = coupon["min_order"]
    return details


def _currency(offer: Mapping[str, Any], *, default: str) -> str:
    """An offer's currency: PTS for points, else its own (a rule fills it in) or the default's."""
    if offer["kind"] == "points":
        return POINTS
    return str(offer.get("currency") or default)


def offered_kinds(reward: Reward) -> list[str]:
    """The kinds the beneficiary may choose: the default's first, then the choices'."""
    return [reward.kind, *(str(c["kind"]) for c in reward.choices or [])]


@transaction.atomic
def choose(*, reward: Reward, kind: str, actor: str, now: datetime) -> Reward:
    """Take the offer of `kind` (one of the choices, or the default's) for a pending reward
    whose choice is open. Refused (409, 422), writing nothing: no choice, already chosen,
    past `choose_by`, not pending, or a kind not offered.
    """
    status, choices, choose_by = _choice_of(reward)
    is_open = status == Reward.Status.PENDING and choose_by is not None and choose_by > now
    if choices is None or not is_open:
        raise _refused(reward, status, choices, choose_by)
    reward.choices = choices
    offered = offered_kinds(reward)
    if kind not in offered:
        raise Invalid(
            f"kind {kind!r} is not offered by reward {reward.public_id}: choose one of "
            + ", ".join(offered),
            code="kind_not_offered",
            details={"offered": offered},
        )
    values: dict[str, Any] = {}
    if kind != reward.kind:
        # As the rule stored it (`programs.services.rule_values`): checked by OfferSpec then.
        offer = next(c for c in choices if c["kind"] == kind)
        values = {
            "kind": offer["kind"],
            "amount": offer.get("amount"),
            "percent_off": offer.get("percent_off"),
            "currency": _currency(offer, default=reward.currency),
            "details": details_of(offer),
        }
    # Claimed as it was read: an approval (or another choice) in between makes this 0 rows.
    claimed = Reward.objects.filter(
        pk=reward.pk,
        status=Reward.Status.PENDING,
        choices__isnull=False,
        choose_by__gt=now,
    ).update(choices=None, choose_by=None, **values)
    if not claimed:
        raise _refused(reward, *_choice_of(reward))
    for name, value in values.items():
        setattr(reward, name, value)
    reward.choices, reward.choose_by = None, None
    record_chosen(reward, now=now, by="beneficiary", actor=actor)
    return reward


def record_chosen(reward: Reward, *, now: datetime, by: str, **data: object) -> None:
    """Record `reward.chosen`: what the reward gives now, and `by` whom ("beneficiary", or
    "default" when the choice closed without one)."""
    events.record(
        "reward.chosen",
        workspace_id=reward.workspace_id,
        subject_id=reward.public_id,
        data={
            "referral": reward.referral.public_id if reward.referral else None,
            "by": by,
            "kind": reward.kind,
            "amount": reward.amount,
            "percent_off": reward.percent_off,
            "currency": reward.currency,
            "details": reward.details,
            **data,
        },
        now=now,
    )


def _choice_of(reward: Reward) -> tuple[str, list[dict[str, Any]] | None, datetime | None]:
    """The reward's status, choices and deadline as stored now."""
    return Reward.objects.values_list("status", "choices", "choose_by").get(pk=reward.pk)


def _refused(
    reward: Reward, status: str, choices: list[dict[str, Any]] | None, choose_by: datetime | None
) -> Conflict:
    """Why the choice of `reward` (as stored now) cannot be made."""
    rid = reward.public_id
    # The log of the choice says how it closed: the row keeps no trace of it.
    chosen = (
        DomainEvent.objects.filter(
            workspace_id=reward.workspace_id, subject_id=rid, name="reward.chosen"
        )
        .values_list("data", flat=True)
        .first()
    )
    if chosen is not None and chosen.get("by") == "beneficiary":
        code, message = "already_chosen", f"reward {rid} was already chosen: {chosen['kind']}"
    elif chosen is not None:
        code, message = "choice_closed", f"the choice of reward {rid} closed: it kept its default"
    elif choices is None or choose_by is None:
        code, message = "no_choice", f"reward {rid} offers no choice"
    elif status != Reward.Status.PENDING:
        code = "invalid_state"
        message = f"reward {rid} is {status}: only a pending reward's choice can be made"
    else:
        when = choose_by.astimezone(UTC).isoformat().replace("+00:00", "Z")
        code, message = "choice_closed", f"the choice of reward {rid} closed at {when}"
    return Conflict(message, code=code, details={"status": status})
