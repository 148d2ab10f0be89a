"""`decide_friend`: one friend's referral in one program, from their history in business time.

The answer depends only on the set of facts, never on the order they arrived in: touches are
taken in the order they happened, and the conversion is the friend's earliest qualifying
purchase. So a purchase that arrives before the signup it follows still converts the referral,
and a refund that arrives before its purchase reverses the conversion once the purchase is in.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from goodword.decisions.experiments import HOLDOUT
from goodword.decisions.facts import (
    Cap,
    FriendDecision,
    FriendFacts,
    Grant,
    Occasion,
    Purchase,
    ReferralPlan,
    Refund,
    Rule,
    Tiers,
    Touch,
    Usage,
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
    if advocate.variant == HOLDOUT:
        return "holdout"  # held out of the program to measure its lift: nothing is earned
    if advocate.participant == facts.friend or (
        facts.friend_email and facts.friend_email == advocate.email
    ):
        return "self_referral"
    # A customer before the first touch was not brought by it; purchases after it, in business
    # time, count however late they arrive.
    if any(p.at < touch.at for p in facts.purchases) or (
        facts.bought_before is not None and facts.bought_before < touch.at
    ):
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
    if not notes:
        return plan
    events = plan.events + tuple(e for e in notes if e not in plan.events)
    return replace(plan, events=events, notes={**plan.notes, **notes})


def _converted(
    facts: FriendFacts, plan: ReferralPlan, *, at: datetime, event: str, order: Purchase | None
) -> ReferralPlan:
    program = facts.program
    owners = {"advocate": plan.advocate.participant, "friend": facts.friend}
    nth = sum(1 for p in facts.purchases if (p.at, p.event) <= (at, event)) if order else 0
    before = facts.referrals.get(plan.advocate.participant, ())
    tier = _tier(program.tiers, before, at)
    # This conversion's place among the advocate's qualified referrals, for milestones.
    place = sum(n for day, n, _ in before if day is None) + 1
    grants, stopped = [], []
    for rule in program.rules:
        if rule.follows:
            continue  # granted by later occasions: `_follow_ons`
        reason = _rule_stop(facts, plan, rule, at=at, order=order, nth=nth)
        if not reason and rule.conditions.tiers and tier not in rule.conditions.tiers:
            reason = "advocate_tier"
        if not reason and rule.is_milestone and not _milestone(rule, place):
            reason = "not_a_milestone"
        amount = rule.amount
        if not reason and rule.percent_of_order is not None:
            amount = _share(order, rule.percent_of_order) if order else None
            reason = "no_order" if order is None else "" if amount else "amount_zero"
        if not reason and rule.caps:
            reason = _capped(facts, rule, plan, at=at, amount=amount or 0)
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
                amount=amount,
                percent_off=rule.percent_off,
                currency=rule.currency,
                hold_until=at + timedelta(days=hold),
                earned_at=at,
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
        tier=tier,
    )
    if program.tiers is not None:
        day = at.replace(hour=0, minute=0, second=0, microsecond=0)
        revenue = order.amount if order else 0
        after = _tier(program.tiers, (*before, (day, 1, revenue), (None, 1, revenue)), at)
        plan = replace(plan, promoted_to=after if after != tier else "")
    if order is not None:
        plan = _refunded(facts, plan)
    return _follow_ons(facts, plan) if plan.status == CONVERTED else plan


def decide_follow_ons(facts: FriendFacts, plan: ReferralPlan) -> ReferralPlan:
    """The grants of the rules triggered after a settled referral's conversion (`plan`, as it
    was converted, without grants), from the friend's occasions and refunds."""
    return _follow_ons(facts, replace(plan, grants=(), events=(), notes={}))


def _follow_ons(facts: FriendFacts, plan: ReferralPlan) -> ReferralPlan:
    """The grants of rules triggered after the conversion: each subscription payment within
    `recurring_months` (up to `max_total` in all), the first NPS answer, the first custom event
    of the rule's name. Each occasion is judged by the rule's conditions and caps on its own
    date, and a refund of a payment applies the rule's refund policy to its grant."""
    assert plan.converted_at is not None  # noqa: S101 - only converted plans come here
    if not facts.occasions or not any(rule.follows for rule in facts.program.rules):
        return plan
    start = plan.converted_at
    owners = {"advocate": plan.advocate.participant, "friend": facts.friend}
    grants, notes = list(plan.grants), dict[str, str]()
    for rule in facts.program.rules:
        if not rule.follows:
            continue
        occasions = sorted(
            (o for o in facts.occasions if _fits(rule, o, start)), key=lambda o: (o.at, o.event)
        )
        if rule.trigger != "subscription_payment":
            occasions = occasions[:1]
        total, mine = 0, list[tuple[datetime, int]]()
        for occasion in occasions:
            payment = None
            if occasion.amount is not None:
                payment = Purchase(
                    occasion.event, occasion.at, occasion.order_id, occasion.amount,
                    occasion.currency,
                )  # fmt: skip
            reason = _rule_stop(facts, plan, rule, at=occasion.at, order=payment, nth=0)
            amount = rule.amount
            if not reason and rule.percent_of_order is not None:
                amount = _share(payment, rule.percent_of_order) if payment else None
                reason = "no_order" if payment is None else "" if amount else "amount_zero"
            if not reason and rule.max_total is not None:
                amount = min(amount or 0, rule.max_total - total)
                reason = "" if amount > 0 else "max_total"
            if not reason and rule.caps:
                reason = _capped(facts, rule, plan, at=occasion.at, amount=amount or 0, mine=mine)
            if reason:
                notes[occasion.event] = reason
                continue
            hold = facts.program.hold_days if rule.hold_days is None else rule.hold_days
            grant = Grant(
                rule=rule.id,
                beneficiary=rule.beneficiary,
                participant=owners[rule.beneficiary],
                kind=rule.kind,
                amount=amount,
                percent_off=rule.percent_off,
                currency=rule.currency,
                hold_until=occasion.at + timedelta(days=hold),
                earned_at=occasion.at,
                occasion=occasion.event,
            )
            if payment is not None:
                grant = _payment_refunded(facts, grant, rule, payment)
            grants.append(grant)
            if grant.reversed_at is None:
                total += grant.amount or 0
                mine.append((occasion.at, grant.amount or 0))
            notes.setdefault(occasion.event, "")
    plan = replace(plan, grants=tuple(grants))
    for event in notes:
        plan = _involve(plan, event)
    return replace(plan, notes={**plan.notes, **{e: n for e, n in notes.items() if n}})


def _fits(rule: Rule, occasion: Occasion, start: datetime) -> bool:
    """Is `occasion` one that triggers `rule`, after a conversion at `start`?"""
    if occasion.at < start:
        return False
    if rule.trigger == "subscription_payment":
        months = rule.recurring_months
        return occasion.kind == rule.trigger and (
            months is None or occasion.at < _months_after(start, months)
        )
    if rule.trigger == "event":
        return occasion.kind == "event" and occasion.name == rule.event_name
    return occasion.kind == rule.trigger


def _months_after(start: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months later (the month's last day if short)."""
    year, month = divmod(start.month - 1 + months, 12)
    year, month = start.year + year, month + 1
    last = calendar.monthrange(year, month)[1]
    return start.replace(year=year, month=month, day=min(start.day, last))


def _payment_refunded(facts: FriendFacts, grant: Grant, rule: Rule, payment: Purchase) -> Grant:
    """A grant for a payment after that payment's refunds, in business time."""
    refunded = 0
    for refund in sorted(
        (r for r in facts.refunds if r.order_id == payment.order_id),
        key=lambda r: (r.at, r.external_id, r.event),
    ):
        refunded = min(payment.amount, refunded + (refund.amount or payment.amount))
        if refunded >= payment.amount:
            return replace(grant, reversed_at=refund.at, reversed_by=refund.event)
        grant = _partly_refunded(facts, grant, rule, payment.amount - refunded, refund)
    return grant


def _tier(tiers: Tiers | None, referrals: Usage, at: datetime) -> str:
    """The highest level the advocate's qualified referrals up to `at`'s day reach."""
    if tiers is None:
        return ""
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    start = None
    if tiers.period == "month":
        start = day.replace(day=1)
    elif tiers.period == "year":
        start = day.replace(month=1, day=1)
    counted = _within(referrals, start, at)
    reached = sum(v if tiers.basis == "revenue" else n for n, v in counted)
    name = ""
    for level, minimum in tiers.levels:
        if reached >= minimum:
            name = level
    return name


def _milestone(rule: Rule, place: int) -> bool:
    if rule.milestone_every is not None:
        return place % rule.milestone_every == 0
    return place in rule.milestone_at


def _capped(
    facts: FriendFacts,
    rule: Rule,
    plan: ReferralPlan,
    *,
    at: datetime,
    amount: int,
    mine: Sequence[tuple[datetime, int]] = (),
) -> str:
    """The first of the rule's caps that this grant would exceed, or "" when none. `mine`:
    (when, value) of what the rule already granted in this decision (recurring grants)."""
    scopes = {"advocate": plan.advocate.participant, "friend": facts.friend, "program": 0}
    for cap in rule.caps:
        used = facts.usage.get((rule.id, cap.per, scopes[cap.per]), ())
        start = _period_start(cap, at)
        counted = _within(used, start, at)
        counted += [(1, v) for when, v in mine if start is None or when >= start]
        count, value = sum(n for n, _ in counted), sum(v for _, v in counted)
        if (cap.count is not None and count + 1 > cap.count) or (
            cap.amount is not None and value + amount > cap.amount
        ):
            return cap.name
    return ""


def _period_start(cap: Cap, at: datetime) -> datetime | None:
    """The first day a cap's period counts, or None for all time."""
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if cap.period == "month":
        return day.replace(day=1)
    if cap.period == "year":
        return day.replace(month=1, day=1)
    if cap.period == "rolling":
        return day - timedelta(days=cap.days - 1)
    return None


def _within(used: Usage, start: datetime | None, at: datetime) -> list[tuple[int, int]]:
    """(count, value) of the days from `start` to `at`, or the all-time total for None."""
    if start is None:
        return [(n, v) for day, n, v in used if day is None]
    return [(n, v) for day, n, v in used if day is not None and start <= day <= at]


def _share(order: Purchase, percent: int) -> int:
    return order.amount * percent // 100


def _refunded(facts: FriendFacts, plan: ReferralPlan) -> ReferralPlan:
    """Apply the refunds of the converting order, in business time, whichever arrived first.

    A refund of the whole order (no amount, or refunds adding up to the order) reverses the
    referral and every reward. A partial one applies each rule's refund policy to what is left.
    """
    order = plan.order
    assert order is not None  # noqa: S101 - only converted purchases come here
    refunds = sorted(
        (r for r in facts.refunds if r.order_id == order.order_id),
        key=lambda r: (r.at, r.external_id, r.event),
    )
    rules = {rule.id: rule for rule in facts.program.rules}
    refunded = 0
    for refund in refunds:
        plan = _involve(plan, refund.event)
        refunded = min(order.amount, refunded + (refund.amount or order.amount))
        if refunded >= order.amount:
            grants = tuple(
                g if g.reversed_at else replace(g, reversed_at=refund.at, reversed_by=refund.event)
                for g in plan.grants
            )
            return replace(
                plan,
                status=REVERSED,
                reversed_at=refund.at,
                reversed_by=refund.event,
                grants=grants,
            )
        left = order.amount - refunded
        kept = tuple(_partly_refunded(facts, g, rules[g.rule], left, refund) for g in plan.grants)
        plan = replace(plan, grants=kept)
    return plan


def _partly_refunded(
    facts: FriendFacts, grant: Grant, rule: Rule, left: int, refund: Refund
) -> Grant:
    """A grant after a partial refund leaves `left` of the order, by the rule's policy."""
    if grant.reversed_at is not None:
        return grant
    gone = replace(grant, reversed_at=refund.at, reversed_by=refund.event)
    if rule.refund_policy == "full":
        return gone
    if rule.refund_policy == "proportional":
        # A share of the order shrinks with it; a fixed reward stands until the whole order goes.
        if rule.percent_of_order is None:
            return grant
        share = left * rule.percent_of_order // 100
        return replace(grant, amount=share) if share else gone
    minimum = rule.conditions.min_amount
    if minimum is None:
        minimum = facts.program.min_amount
    return gone if minimum is not None and left < minimum else grant


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
    if c.variants and plan.advocate.variant not in c.variants:
        return "variant"
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
