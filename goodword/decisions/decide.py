"""`decide_friend`: one friend's referral in one program, from their history in business time.

The answer depends only on the set of facts, never on the order they arrived in: touches are
taken in the order they happened, and the conversion is the friend's earliest qualifying
purchase. So a purchase that arrives before the signup it follows still converts the referral,
and a refund that arrives before its purchase reverses the conversion once the purchase is in.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from goodword.decisions.facts import (
    FriendDecision,
    FriendFacts,
    Grant,
    Purchase,
    ReferralPlan,
    Rule,
    Touch,
)

SIGNED_UP, CONVERTED, REJECTED, REVERSED = "signed_up", "converted", "rejected", "reversed"


def decide_friend(facts: FriendFacts) -> FriendDecision:
    """Decide every referral of the friend in the program. Pure: no database, no clock."""
    window = timedelta(days=facts.program.attribution_days)
    attribution: dict[str, str] = {}
    plans: list[ReferralPlan] = []
    live: ReferralPlan | None = None
    for touch in sorted(facts.touches, key=lambda t: (t.at, t.seen_at, t.event)):
        if touch.seen_at > touch.at + window:
            attribution[touch.event] = "expired"  # a link or invite too old to count
            continue
        if live is None:
            live = _open(facts, touch)
        elif touch.advocate.id == live.advocate.id:
            live = _involve(live, touch.event)
        elif live.status == SIGNED_UP and touch.at > _started(live) + window:
            # The first touch locks the friend until its window passes without a conversion.
            plans.append(
                replace(
                    live,
                    status=REJECTED,
                    reject_reason="expired",
                    rejected_at=touch.seen_at,
                    # The event that brought the new touch answers for the new referral.
                    events=tuple(e for e in live.events if e != touch.event),
                    notes={e: n for e, n in live.notes.items() if e != touch.event},
                )
            )
            live = _open(facts, touch)
        else:
            attribution[touch.event] = "locked_to_first_advocate"
            live = _involve(live, touch.event)
            continue
        attribution[touch.event] = "attributed"
    if live is not None:
        plans.append(live)
    return FriendDecision(referrals=tuple(plans), attribution=attribution)


def _started(plan: ReferralPlan) -> datetime:
    return plan.clicked_at or plan.created_at


def _involve(plan: ReferralPlan, event: str) -> ReferralPlan:
    return plan if event in plan.events else replace(plan, events=(*plan.events, event))


def _open(facts: FriendFacts, touch: Touch) -> ReferralPlan:
    """The referral a touch opens, carried as far as the friend's history takes it."""
    plan = ReferralPlan(
        advocate=touch.advocate,
        source=touch.source,
        click_id=touch.click_id,
        opened_by=touch.event,
        created_at=touch.seen_at,
        clicked_at=touch.at if touch.source == "token" else None,
        status=SIGNED_UP,
        events=(touch.event,),
    )
    reason = _rejection(facts, touch)
    if reason:
        return replace(plan, status=REJECTED, reject_reason=reason, rejected_at=touch.seen_at)
    return _convert(facts, plan, start=touch.at)


def _rejection(facts: FriendFacts, touch: Touch) -> str:
    advocate = touch.advocate
    if advocate.participant == facts.friend or (
        facts.friend_email and facts.friend_email == advocate.email
    ):
        return "self_referral"
    # A customer before the first touch was not brought by it; purchases after it, in business
    # time, count however late they arrive.
    if any(p.at < touch.at for p in facts.purchases):
        return "existing_customer"
    return ""


def _convert(facts: FriendFacts, plan: ReferralPlan, *, start: datetime) -> ReferralPlan:
    program = facts.program
    end = start + timedelta(days=program.attribution_days)
    if program.trigger == "signup":
        signups = sorted((s.at, s.event) for s in facts.signups if start <= s.at <= end)
        notes = {p.event: "trigger_is_signup" for p in facts.purchases if p.at >= start}
        if not signups:
            return _noted(plan, notes)
        at, event = signups[0]
        return _converted(facts, _involve(plan, event), at=at, event=event, order=None)
    purchases = sorted(facts.purchases, key=lambda p: (p.at, p.event))
    notes = {}
    for purchase in purchases:
        if purchase.at < start:
            continue
        reason = _purchase_rejection(facts, purchase, first=purchase is purchases[0], end=end)
        if not reason:
            plan = _noted(plan, notes)
            return _converted(
                facts, _involve(plan, purchase.event), at=purchase.at, event=purchase.event,
                order=purchase,
            )  # fmt: skip
        notes[purchase.event] = reason
    return _noted(plan, notes)


def _purchase_rejection(
    facts: FriendFacts, purchase: Purchase, *, first: bool, end: datetime
) -> str:
    """Why this purchase does not convert the referral, or "" when it does."""
    program = facts.program
    if purchase.at > end:
        return "expired"
    if program.first_purchase_only and not first:
        return "not_first_purchase"
    if program.min_amount is not None and (
        purchase.currency != program.currency or purchase.amount < program.min_amount
    ):
        return "below_min_amount"
    return ""


def _noted(plan: ReferralPlan, notes: dict[str, str]) -> ReferralPlan:
    events = plan.events + tuple(e for e in notes if e not in plan.events)
    return replace(plan, events=events, notes={**plan.notes, **notes})


def _converted(
    facts: FriendFacts, plan: ReferralPlan, *, at: datetime, event: str, order: Purchase | None
) -> ReferralPlan:
    program = facts.program
    owners = {"advocate": plan.advocate.participant, "friend": facts.friend}
    nth = sum(1 for p in facts.purchases if (p.at, p.event) <= (at, event)) if order else 0
    grants, stopped = [], []
    for rule in program.rules:
        reason = _rule_stop(facts, plan, rule, at=at, order=order, nth=nth)
        if reason:
            stopped.append((rule.id, reason))
            continue
        hold = program.hold_days if rule.hold_days is None else rule.hold_days
        grants.append(
            Grant(
                rule=rule.id,
                beneficiary=rule.beneficiary,
                participant=owners[rule.beneficiary],
                kind=rule.kind,
                amount=rule.amount,
                percent_off=rule.percent_off,
                currency=rule.currency,
                hold_until=at + timedelta(days=hold),
            )
        )
    plan = replace(
        plan,
        status=CONVERTED,
        converted_at=at,
        converted_by=event,
        order=order,
        grants=tuple(grants),
        stopped=tuple(stopped),
    )
    refunds = sorted(
        (r.at, r.event) for r in facts.refunds if order is not None and r.order_id == order.order_id
    )
    if not refunds:
        return plan
    # A refund reverses the conversion, whichever of the two arrived first.
    refunded_at, refund = refunds[0]
    reversed_plan = replace(plan, status=REVERSED, reversed_at=refunded_at, reversed_by=refund)
    return _involve(reversed_plan, refund)


def _rule_stop(
    facts: FriendFacts,
    plan: ReferralPlan,
    rule: Rule,
    *,
    at: datetime,
    order: Purchase | None,
    nth: int,
) -> str:
    """The condition that keeps `rule` from granting at this conversion, or "" when none."""
    c = rule.conditions
    if rule.starts_at is not None and at < rule.starts_at:
        return "before_rule_start"
    if rule.ends_at is not None and at >= rule.ends_at:
        return "after_rule_end"
    if not _attributes_match(c.advocate, plan.advocate.attributes):
        return "advocate_attributes"
    if not _attributes_match(c.friend, facts.friend_attributes):
        return "friend_attributes"
    needs_order = (c.min_amount, c.max_amount, c.currency, c.purchase_number) != (None,) * 4
    if order is None:
        return "no_order" if needs_order or c.product_ids or c.category_ids else ""
    if c.currency is not None and order.currency != c.currency:
        return "currency"
    if c.min_amount is not None and order.amount < c.min_amount:
        return "min_amount"
    if c.max_amount is not None and order.amount > c.max_amount:
        return "max_amount"
    if c.purchase_number is not None and nth != c.purchase_number:
        return "purchase_number"
    if c.product_ids and not set(c.product_ids) & set(order.product_ids):
        return "product_ids"
    if c.category_ids and not set(c.category_ids) & set(order.category_ids):
        return "category_ids"
    return ""


def _attributes_match(
    wanted: tuple[tuple[str, tuple[str, ...]], ...], attributes: dict[str, object]
) -> bool:
    """Every named attribute holds one of its listed values (compared as text; true/false)."""
    return all(_text(attributes.get(name, "")) in values for name, values in wanted)


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
