"""A referral's story as people read it: the steps in time order with how long each took, the
rule decisions in plain words, and the rewards with their ledger transactions.

The steps come from the rows (the click, the invite, the referral's and its rewards' own
timestamps, in business time, and refunds of the converting order); each domain event about
the referral or a reward adds who did it and why to the step it records, and the events that
no timestamp records (a clawback, an adjustment, a coupon used) are steps of their own, at
the time they were recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from goodword.dashboard.referrals.queries import ReferralFacts
from goodword.dashboard.rewards.common import BADGES, value_of
from goodword.dashboard.templatetags.dashboard import duration
from goodword.events import catalogue
from goodword.events.models import DomainEvent
from goodword.ingest.models import Event
from goodword.lib import money
from goodword.participants.models import Participant
from goodword.referrals.models import Referral
from goodword.rewards.models import LedgerTransaction, Reward

# People's names for the statuses, and their badge colours (app.css): amber while the friend
# may still convert, green once they did, red when it will never pay.
STATUSES: dict[str, tuple[str, str]] = {
    Referral.Status.CLICKED: ("Clicked", ""),
    Referral.Status.SIGNED_UP: ("Signed up", "warn"),
    Referral.Status.CONVERTED: ("Converted", "ok"),
    Referral.Status.REWARDED: ("Rewarded", "ok"),
    Referral.Status.REJECTED: ("Rejected", "bad"),
    Referral.Status.REVERSED: ("Reversed", "bad"),
}

SOURCES: dict[str, str] = {
    Referral.Source.CODE: "their referral code",
    Referral.Source.TOKEN: "their link",
    Referral.Source.EMAIL: "an email invite",
    Referral.Source.COUPON: "a coupon code on the order",
}

REJECTIONS = {
    "self_referral": "the friend is the advocate themself (the same customer or email "
    "address), and nobody may refer themself.",
    "existing_customer": "the friend had bought before they were referred, and only new "
    "customers count.",
    "expired": "the attribution window passed without a conversion.",
    "holdout": "the advocate is in the experiment's holdout, who get no program (so that its "
    "lift can be measured).",
}

# Why a rule gave nothing at the conversion (`Referral.stopped`, decided by
# goodword/decisions/decide.py).
STOPS = {
    "before_rule_start": "the conversion came before the rule started",
    "after_rule_end": "the conversion came after the rule ended",
    "variant": "the rule is not for the advocate's experiment variant",
    "advocate_attributes": "the advocate's attributes do not meet the rule's conditions",
    "friend_attributes": "the friend's attributes do not meet the rule's conditions",
    "no_order": "the rule needs an order, and the referral converted without one (at signup)",
    "currency": "the order{order} was in another currency than the rule's",
    "min_amount": "the order{order} was below the rule's minimum",
    "max_amount": "the order{order} was above the rule's maximum",
    "purchase_number": "the order was not the friend's purchase the rule counts",
    "product_ids": "the order had none of the rule's products",
    "category_ids": "the order had none of the rule's product categories",
    "advocate_tier": "the advocate's tier is not one the rule is for",
    "not_a_milestone": "this conversion is not one of the rule's milestones",
    "amount_zero": "the rule's share of the order came to nothing",
    "max_total": "the rule had already given its most for this referral",
}
CAP_SCOPES = {"advocate": "per advocate", "friend": "per friend", "program": "for the program"}
CAP_PERIODS = {
    "lifetime": "for all time",
    "month": "in the calendar month",
    "year": "in the calendar year",
    "rolling": "in its rolling window of days",
}

# The row timestamp a domain event records: that event adds its details to the step.
RECORDS = {
    "referral.created": "created_at",
    "referral.converted": "converted_at",
    "referral.rewarded": "rewarded_at",
    "referral.rejected": "rejected_at",
    "referral.reversed": "reversed_at",
    "reward.created": "created_at",
    "reward.approved": "approved_at",
    "reward.fulfilled": "fulfilled_at",
    "reward.rejected": "rejected_at",
    "reward.reversed": "reversed_at",
    "credit.expired": "expired_at",
    "coupon.used": "coupon_used_at",
}

# Where a contact's phone number may be kept among a participant's attributes.
PHONE_KEYS = ("phone", "phone_number", "mobile", "tel")

Who = Callable[[str], str]


@dataclass
class Step:
    at: datetime
    title: str
    details: list[str] = field(default_factory=list)
    tone: str = ""  # a badge colour: "ok", "warn", "bad" or ""
    since: str = ""  # how long after the step before it

    @property
    def detail(self) -> str:
        return "; ".join(d for d in self.details if d)


def status_of(referral: Referral) -> tuple[str, str]:
    """(label, badge colour) of the referral's status."""
    return STATUSES.get(referral.status, (referral.status, ""))


def phone_of(participant: Participant) -> str:
    attributes = participant.attributes if isinstance(participant.attributes, dict) else {}
    for key in PHONE_KEYS:
        if value := attributes.get(key):
            return str(value)
    return ""


def _order(referral: Referral) -> str:
    if referral.order_amount is None or not referral.order_currency:
        return ""
    return f" ({money.display(referral.order_amount, referral.order_currency)})"


def stop_sentence(stop: Mapping[str, Any], referral: Referral) -> str:
    """One entry of `Referral.stopped` as a sentence: which rule gave whom nothing, and why."""
    rule, beneficiary = str(stop.get("rule") or ""), str(stop.get("beneficiary") or "")
    reason = str(stop.get("reason") or "")
    if reason.startswith("cap_"):
        per, _, period = reason.removeprefix("cap_").partition("_")
        why = (
            f"the rule's cap {CAP_SCOPES.get(per, per)} {CAP_PERIODS.get(period, period)} "
            "was reached"
        )
    elif reason in STOPS:
        why = STOPS[reason].format(order=_order(referral))
    else:
        why = f"its condition “{reason}” was not met"
    whom = f"the {beneficiary}" if beneficiary else "anyone"
    name = f"The rule “{rule}”" if rule else f"The {beneficiary or 'unnamed'} rule"
    return f"{name} gave {whom} nothing: {why}."


def decisions(referral: Referral) -> list[str]:
    """The referral's rejection and the rules that gave nothing, in plain words."""
    out = []
    if referral.reject_reason:
        reason = REJECTIONS.get(
            referral.reject_reason, f"the reason given was “{referral.reject_reason}”."
        )
        out.append(f"Rejected: {reason}")
    out.extend(stop_sentence(s, referral) for s in referral.stopped if isinstance(s, dict))
    return out


def reward_label(reward: Reward) -> str:
    """ "$10.00 credit for alice (advocate)"."""
    kind = reward.get_kind_display().lower()
    role = f" ({reward.beneficiary})" if reward.beneficiary else ""
    return f"{value_of(reward)} {kind} for {reward.participant.external_id}{role}"


def rule_label(reward: Reward) -> str:
    if reward.rule is None:
        return "By hand"
    rule = reward.rule
    return rule.name or f"{rule.get_beneficiary_display()}'s {rule.get_kind_display().lower()}"


@dataclass(frozen=True)
class EntryView:
    account: str
    amount: str


@dataclass(frozen=True)
class TransactionView:
    txn: LedgerTransaction
    entries: list[EntryView]


@dataclass(frozen=True)
class RewardView:
    reward: Reward
    label: str
    value: str
    badge: str
    rule: str
    transactions: list[TransactionView]


def reward_views(facts: ReferralFacts) -> list[RewardView]:
    by_reward: dict[int, list[TransactionView]] = {}
    for txn in facts.transactions:
        entries = []
        for entry in txn.entries.all():
            acct = entry.account
            owner = acct.participant.external_id if acct.participant else "Workspace"
            entries.append(
                EntryView(
                    f"{owner} · {acct.get_kind_display().lower()}",
                    money.display(entry.amount, acct.currency),
                )
            )
        by_reward.setdefault(txn.reward_id or 0, []).append(TransactionView(txn, entries))
    return [
        RewardView(
            reward=r,
            label=reward_label(r),
            value=value_of(r),
            badge=BADGES.get(r.status, ""),
            rule=rule_label(r),
            transactions=by_reward.get(r.pk, []),
        )
        for r in facts.rewards
    ]


class _Builder:
    def __init__(self, facts: ReferralFacts, who: Who) -> None:
        self.facts, self.who = facts, who
        self.steps: list[Step] = []
        # (subject public id, timestamp field) -> the step it made, for the events to enrich.
        self.stages: dict[tuple[str, str], Step] = {}
        self.rewards = {r.public_id: r for r in facts.rewards}

    def add(self, at: datetime | None, title: str, *details: str, tone: str = "") -> Step | None:
        if at is None:
            return None
        step = Step(at=at, title=title, details=list(details), tone=tone)
        self.steps.append(step)
        return step

    def stage(self, subject: str, name: str, step: Step | None) -> None:
        if step is not None:
            self.stages[(subject, name)] = step

    def referral(self) -> None:
        f = self.facts
        r = f.referral
        advocate = r.advocate.participant.external_id
        if f.click is not None:
            c = f.click
            utm = " / ".join(v for v in (c.utm_source, c.utm_medium, c.utm_campaign) if v)
            self.add(
                c.created_at,
                f"Clicked {advocate}'s link",
                f"channel {c.channel}" if c.channel else "",
                f"UTM {utm}" if utm else "",
                f"from {c.referrer}" if c.referrer else "",
                f"on a {c.ua_class}" if c.ua_class else "",
            )
        if f.invite is not None:
            self.add(f.invite.created_at, f"{advocate} invited {f.invite.email} by email")
        how = f"with {SOURCES.get(r.source, r.source)}"
        if r.signed_up_at is not None and r.signed_up_at == r.created_at:
            # One step: the sign-up is what made the referral.
            step = self.add(r.created_at, "Signed up", f"referred by {advocate} {how}")
            self.stage(r.public_id, "created_at", step)
        else:
            step = self.add(r.created_at, f"Referred by {advocate}", how)
            self.stage(r.public_id, "created_at", step)
            self.add(r.signed_up_at, "Signed up")
        self.stage(r.public_id, "converted_at", self._conversion(r))
        # Refunds before the reversal they cause, when both happened at one instant.
        for order in reversed(f.orders):
            if order.type == Event.Type.REFUND and r.order_id and order.order_id == r.order_id:
                self._refund(order)
        for name, title, tone in (
            ("rejected_at", "Rejected", "bad"),
            ("rewarded_at", "Rewarded: the first reward was approved", "ok"),
            ("reversed_at", "Reversed", "bad"),
        ):
            step = self.add(getattr(r, name), title, tone=tone)
            if step is not None and name == "rejected_at" and r.reject_reason:
                step.details.append(REJECTIONS.get(r.reject_reason, r.reject_reason).rstrip("."))
            self.stage(r.public_id, name, step)

    def _conversion(self, r: Referral) -> Step | None:
        if r.order_id and r.order_amount is not None:
            what = f"order {r.order_id} for {money.display(r.order_amount, r.order_currency)}"
        elif r.order_id:
            what = f"order {r.order_id}"
        else:
            what = "at signup"
        return self.add(r.converted_at, "Converted", what, tone="ok")

    def _refund(self, order: Event) -> None:
        amount = (
            f"{money.display(order.amount, order.currency or self.facts.referral.order_currency)}"
            if order.amount is not None
            else "in full"
        )
        self.add(order.occurred_at, f"Order {order.order_id} refunded", amount, tone="bad")

    def reward(self, w: Reward) -> None:
        label = reward_label(w)
        held = ""
        if w.hold_until > w.created_at:
            held = f"held until {timezone.localtime(w.hold_until):%Y-%m-%d %H:%M}"
        version = f"program version {w.program_version}" if w.program_version else ""
        created = self.add(w.created_at, f"Reward granted: {label}", rule_label(w), held, version)
        self.stage(w.public_id, "created_at", created)
        because = f"reason: {w.status_reason}" if w.status_reason else ""
        fulfilled = "Coupon code issued" if w.kind == "coupon" else "Reward fulfilled"
        for name, title, tone, extra in (
            ("approved_at", "Reward approved", "ok", ""),
            ("fulfilled_at", fulfilled, "ok", w.fulfilment_reference or w.coupon_code),
            ("rejected_at", "Reward rejected", "bad", because),
            ("reversed_at", "Reward reversed", "bad", because),
            ("expired_at", "Credit expired", "", ""),
            ("coupon_used_at", "Coupon used", "ok", w.coupon_code),
        ):
            step = self.add(getattr(w, name), f"{title}: {label}", extra, tone=tone)
            self.stage(w.public_id, name, step)

    def event(self, event: DomainEvent) -> None:
        data = event.data if isinstance(event.data, dict) else {}
        reward = self.rewards.get(event.subject_id)
        details = self._event_details(event.name, data, reward)
        recorded = RECORDS.get(event.name)
        step = self.stages.pop((event.subject_id, recorded), None) if recorded else None
        if step is not None:
            step.details.extend(d for d in details if d not in step.details)
            return
        label = reward_label(reward) if reward is not None else "the referral"
        title = _EVENT_TITLES.get(event.name, "")
        if not title:
            title = catalogue.get(event.name).description.rstrip(".")
        self.add(event.created_at, title.format(label=label), *details)

    def _event_details(
        self, name: str, data: Mapping[str, Any], reward: Reward | None
    ) -> list[str]:
        currency = reward.currency if reward is not None else str(data.get("currency") or "")

        def amount(key: str) -> str:
            value = data.get(key)
            return money.display(value, currency) if isinstance(value, int) and currency else ""

        out = []
        if actor := data.get("actor"):
            out.append(f"by {self.who(str(actor))}")
        elif name == "reward.approved":
            out.append("its hold ended")
        if data.get("early"):
            out.append("before its hold ended")
        if reason := data.get("reason"):
            out.append("a refund" if reason == "refund" else f"reason: {reason}")
        if reference := data.get("reference"):
            out.append(f"reference {reference}")
        if name == "reward.clawed_back":
            if taken := amount("amount"):
                out.append(f"{taken} taken back")
            if data.get("debt"):
                out.append(f"{amount('debt')} more than the balance held, now owed")
        if name == "reward.adjusted":
            out.append(f"from {amount('was')} to {amount('amount')}")
        if name in ("reward.reversed", "reward.revised") and data.get("was"):
            out.append(f"was {str(data['was']).replace('_', ' ')}")
        if name == "referral.revised":
            out.append(f"now {data.get('status', '')}, was {data.get('was', '')}".replace("_", " "))
        if name in ("credit.expiring", "credit.expired") and amount("amount"):
            out.append(f"{amount('amount')} unspent")
        if name == "coupon.used" and data.get("order_id"):
            out.append(f"on order {data['order_id']}")
        if name == "reward.chosen":
            choice = data.get("by")
            out.append("the recipient chose" if choice == "beneficiary" else "no choice made")
        if code := data.get("code"):
            out.append(f"code {code}")
        return out


# The title of an event that no timestamp records; `{label}` is the reward's.
_EVENT_TITLES = {
    "referral.created": "Referred",
    "referral.converted": "Converted",
    "referral.rewarded": "Rewarded",
    "referral.rejected": "Rejected",
    "referral.reversed": "Reversed",
    "referral.withdrawn": "Withdrawn: a late event changed the decision",
    "referral.revised": "Revised by a late event",
    "reward.created": "Reward granted: {label}",
    "reward.approved": "Reward approved: {label}",
    "reward.fulfilled": "Reward fulfilled: {label}",
    "reward.rejected": "Reward rejected: {label}",
    "reward.reversed": "Reward reversed: {label}",
    "reward.clawed_back": "Taken back through the ledger: {label}",
    "reward.adjusted": "Reward changed by a partial refund: {label}",
    "reward.chosen": "Reward's final form chosen: {label}",
    "reward.withdrawn": "Reward withdrawn by a late event: {label}",
    "reward.revised": "Reward revised by a late event: {label}",
    "coupon.revoked": "Coupon code revoked: {label}",
    "coupon.used": "Coupon used: {label}",
    "credit.expiring": "Expiry notice sent: {label}",
    "credit.expired": "Credit expired: {label}",
}


def timeline(facts: ReferralFacts, *, who: Who) -> list[Step]:
    """The referral's steps, oldest first (ties keep the story's order), each with how long
    after the one before it came."""
    builder = _Builder(facts, who)
    builder.referral()
    for reward in facts.rewards:
        builder.reward(reward)
    for event in facts.events:
        builder.event(event)
    steps = sorted(builder.steps, key=lambda s: s.at)  # stable: ties keep their order
    for before, step in zip(steps, steps[1:], strict=False):
        step.since = duration(step.at - before.at)
    return steps
