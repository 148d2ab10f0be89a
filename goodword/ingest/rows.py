"""The rows a batch adds, changes and removes, kept in line with its decisions.

`Changes.align` brings a friend's referrals and rewards in one program in line with what the
decision core decided after an event, and records a domain event for every change; `write.flush`
writes the changes. Existing rows remember the status they were loaded with, which their UPDATE
requires: a concurrent approval makes it a conflict (the batch runs again), not a lost update.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from goodword.decisions import facts
from goodword.events import services as events
from goodword.ingest import load
from goodword.ingest.models import Event
from goodword.ingest.schemas import EventIn
from goodword.lib import ids, sql
from goodword.lib.errors import DomainError
from goodword.programs import counters
from goodword.programs.models import RewardRule
from goodword.referrals.models import Referral
from goodword.rewards.models import Reward


@dataclass
class Item:
    """One new event of the batch, and what became of it."""

    index: int
    data: EventIn
    event: Event  # the row to insert, its result filled in by `apply`
    error: DomainError | None = None
    advocate: load.AdvocateRow | None = None
    attribution: str = "none"
    ignored: bool = False  # a test event about a live customer: recorded, decides nothing
    granted: list[Reward] = field(default_factory=list)
    touched: list[tuple[Referral, str]] = field(default_factory=list)


@dataclass
class Group:
    """A friend's referrals in one program, keyed by advocate, with their rewards."""

    program_id: int
    referrals: dict[int, Referral] = field(default_factory=dict)
    # By referral, each reward by (rule, beneficiary, triggering event or "").
    rewards: dict[str, dict[tuple[int, str, str], Reward]] = field(default_factory=dict)
    settled: bool = False


class Changes:
    def __init__(
        self,
        *,
        workspace_id: int,
        now: datetime,
        advocates: Mapping[int, load.AdvocateRow],
        programs: Mapping[int, load.ProgramRow],
    ) -> None:
        self.workspace_id, self.now = workspace_id, now
        self.advocates, self.programs = advocates, programs
        self.referral_status: dict[int, str] = {}
        self.reward_status: dict[int, str] = {}
        self.new_referrals: list[Referral] = []
        self.changed_referrals: dict[int, Referral] = {}
        self.gone_referrals: list[Referral] = []
        self.new_rewards: list[Reward] = []
        self.changed_rewards: dict[int, Reward] = {}
        self.gone_rewards: list[Reward] = []
        self.clawbacks: list[Referral] = []  # settled referrals a refund reverses
        # Rewards of settled referrals that a partial refund reverses (new amount 0) or
        # shrinks: (reward, new amount, by how much, the refund's event id).
        self.settlements: list[tuple[Reward, int, int, str]] = []
        # Issued coupons an order carried for the first time: reward id -> (its row, the code
        # as given, the event).
        self.coupons_used: dict[int, tuple[load.CouponRow, str, Item]] = {}
        # Caps: the scopes each capped rule counts in, and what it has granted there by UTC
        # day; the batch's own friends' rewards are counted from their rows as they change.
        self.capped: dict[int, set[str]] = {}
        self.usage: dict[tuple[int, str, int], dict[datetime | None, list[int]]] = {}
        # Tiers and milestones: advocates' qualified referrals by (program, advocate's
        # participant) and UTC day, [referrals, revenue]; None is all time.
        self.referrals: dict[tuple[int, int], dict[datetime | None, list[int]]] = {}
        # What the batch changes in the counters (`programs.counters`), by counter and day.
        self.deltas: dict[tuple[counters.Key, date], list[int]] = {}

    def count_group(self, group: Group, sign: int) -> None:
        """Add (1) or take out (-1) what a friend's group counts toward caps, tiers and
        milestones: in memory for the batch's decisions, and as changes to the counters."""
        for referral in group.referrals.values():
            if referral.converted_at is None or referral.test:
                continue  # a test referral counts toward no cap, tier or milestone
            day = counters.day_of(referral.converted_at)
            advocate = self.advocates[referral.advocate_id].facts.participant
            if referral.status in (Referral.Status.CONVERTED, Referral.Status.REWARDED):
                key = counters.referral_key(group.program_id, advocate)
                value = referral.order_amount or 0
                self._count(self.referrals, (group.program_id, advocate), key, day, sign, value)
            scopes = {"advocate": advocate, "friend": referral.referee_id, "program": 0}
            for reward in group.rewards.get(referral.public_id, {}).values():
                rule = reward.rule_id
                if rule is None or reward.status in (
                    Reward.Status.REVERSED,
                    Reward.Status.REJECTED,
                ):
                    continue
                earned = counters.day_of(reward.earned_at) if reward.earned_at else day
                for per in self.capped.get(rule, ()):
                    if per == "friend":
                        continue  # see `counters.reward_keys`: all of it is in this group
                    scope = (rule, per, scopes[per])
                    key = (group.program_id, *scope)
                    self._count(self.usage, scope, key, earned, sign, reward.amount or 0)

    def _count(
        self,
        memory: dict[Any, dict[datetime | None, list[int]]],
        scope: Any,
        key: counters.Key,
        day: date,
        sign: int,
        value: int,
    ) -> None:
        counts = memory.setdefault(scope, {})
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for slot in (start, None):
            entry = counts.setdefault(slot, [0, 0])
            entry[0] += sign
            entry[1] += sign * value
        change = self.deltas.setdefault((key, day), [0, 0])
        change[0] += sign
        change[1] += sign * value

    def referrals_of(self, program_id: int) -> dict[int, facts.Usage]:
        return {
            advocate: tuple((day, n, v) for day, (n, v) in counts.items())
            for (program, advocate), counts in self.referrals.items()
            if program == program_id
        }

    def usage_of(self, rules: tuple[facts.Rule, ...]) -> dict[tuple[int, str, int], facts.Usage]:
        ids = {rule.id for rule in rules if rule.caps}
        return {
            key: tuple((day, n, v) for day, (n, v) in counts.items())
            for key, counts in self.usage.items()
            if key[0] in ids
        }

    def align(
        self,
        group: Group,
        plans: tuple[facts.ReferralPlan, ...],
        item: Item,
        *,
        referee: int,
        test: bool = False,
    ) -> None:
        """Bring the group's rows in line with the decision after `item`; `test`: the friend
        is a test participant, so are the referrals."""
        wanted = {plan.advocate.id: plan for plan in plans}
        for advocate_id, gone in list(group.referrals.items()):
            if advocate_id not in wanted:
                self._withdraw(group, gone)
                del group.referrals[advocate_id]
        for plan in plans:
            referral = group.referrals.get(plan.advocate.id)
            was = referral.status if referral is not None else ""
            if referral is None:
                referral = group.referrals[plan.advocate.id] = self._new_referral(group, plan)
                self._record(
                    "referral.created",
                    referral,
                    advocate=self.advocates[plan.advocate.id].public_id,
                    source=plan.source,
                )
            if _set_referral(referral, plan, referee, self._stopped(plan), test) and referral.pk:
                self.changed_referrals[referral.pk] = referral
            self._record_transition(referral, was, plan)
            self._align_rewards(group, referral, plan, item)
            if item.event.public_id in plan.events:
                item.touched.append((referral, plan.notes.get(item.event.public_id, "")))

    def _stopped(self, plan: facts.ReferralPlan) -> list[dict[str, str]]:
        rules = {r.id: r for r in self.programs[plan.advocate.program].facts.rules}
        return [
            {"rule": rules[rule].name, "beneficiary": rules[rule].beneficiary, "reason": reason}
            for rule, reason in plan.stopped
        ]

    def _new_referral(self, group: Group, plan: facts.ReferralPlan) -> Referral:
        referral = sql.instance(
            Referral,
            public_id=ids.new_ref_id(),
            workspace_id=self.workspace_id,
            program_id=group.program_id,
            rewarded_at=None,
        )
        self.new_referrals.append(referral)
        group.rewards[referral.public_id] = {}
        return referral

    def _record_transition(self, referral: Referral, was: str, plan: facts.ReferralPlan) -> None:
        now = plan.status
        if was == now:
            return
        forward = {
            ("", "rejected"): ["referral.rejected"],
            ("", "converted"): ["referral.converted"],
            ("", "reversed"): ["referral.converted", "referral.reversed"],
            ("signed_up", "rejected"): ["referral.rejected"],
            ("signed_up", "converted"): ["referral.converted"],
            ("signed_up", "reversed"): ["referral.converted", "referral.reversed"],
            ("converted", "reversed"): ["referral.reversed"],
        }
        promoted = plan.promoted_to and not referral.test  # a test conversion lifts no one
        if promoted and now in ("converted", "reversed") and was in ("", "signed_up"):
            advocate = self.advocates[plan.advocate.id]
            events.record(
                "advocate.promoted",
                workspace_id=self.workspace_id,
                subject_id=advocate.public_id,
                data={
                    "program": self.programs[referral.program_id].public_id,
                    "tier": plan.promoted_to,
                    "was": plan.tier,
                    "referral": referral.public_id,
                },
                now=self.now,
            )
        for name in forward.get((was, now), ["referral.revised"] if was else []):
            if name == "referral.rejected":
                self._record(name, referral, reason=plan.reject_reason)
            elif name == "referral.converted":
                order = plan.order
                self._record(
                    name,
                    referral,
                    order_id=order.order_id if order else "",
                    amount=order.amount if order else None,
                    currency=order.currency if order else "",
                )
            elif name == "referral.reversed":
                self._record(name, referral, reason="refund")
            else:
                self._record(name, referral, status=now, was=was)

    def _align_rewards(
        self, group: Group, referral: Referral, plan: facts.ReferralPlan, item: Item
    ) -> None:
        have = group.rewards.setdefault(referral.public_id, {})
        want = {g.key: g for g in plan.grants}
        for key, gone in list(have.items()):
            if key not in want:
                self._withdraw_reward(gone, referral)
                del have[key]
        for key, grant in want.items():
            reward = have.get(key)
            if reward is None:
                self.add_reward(group, referral, grant, item)
                continue
            if _by_hand(reward):
                continue  # staff rejected or reversed it: a later event does not undo that
            was, amount = reward.status, reward.amount
            # A choice made (or closed) is the beneficiary's: a late event keeps the offer.
            chosen = reward.choices is None and bool(
                self.programs[group.program_id].rules[grant.rule].choices
            )
            if _set_reward(reward, grant, keep_offer=chosen) and reward.pk is not None:
                self.changed_rewards[reward.pk] = reward
            if was != reward.status:
                name = "reward.reversed" if grant.reversed_at else "reward.revised"
                self._record_reward(name, reward, referral, was=was)
            elif amount != reward.amount and amount is not None and reward.amount is not None:
                reason = "refund" if item.data.type == "refund" else "late_event"
                self._record_reward(
                    "reward.adjusted",
                    reward,
                    referral,
                    amount=reward.amount,
                    was=amount,
                    reason=reason,
                )

    def add_reward(
        self, group: Group, referral: Referral, grant: facts.Grant, item: Item
    ) -> Reward:
        """A new reward for `grant`, with what it copies from its rule when granted: the
        program's version, what it gives, the choices it offers."""
        program = self.programs[group.program_id]
        rule = program.rules[grant.rule]
        reward = sql.instance(
            Reward,
            public_id=ids.new_rwd_id(),
            workspace_id=self.workspace_id,
            program_id=group.program_id,
            coupon_code="",
            created_at=self.now,
            approved_at=None,
            fulfilled_at=None,
            program_version=program.version,
            details=grant_details(rule),
            choices=rule.choices or None,
            choose_by=self.now + timedelta(days=rule.choice_days or 0) if rule.choices else None,
        )
        reward.referral = referral
        group.rewards.setdefault(referral.public_id, {})[grant.key] = reward
        self.new_rewards.append(reward)
        item.granted.append(reward)
        _set_reward(reward, grant)
        self._record_reward("reward.created", reward, referral, beneficiary=grant.beneficiary)
        if grant.reversed_at is not None:
            self._record_reward("reward.reversed", reward, referral, was="pending")
        return reward

    def _withdraw(self, group: Group, referral: Referral) -> None:
        """A late event took this referral away (an earlier touch, say): it never was."""
        for reward in group.rewards.pop(referral.public_id, {}).values():
            self._withdraw_reward(reward, referral)
        if referral.pk is None:
            self.new_referrals.remove(referral)
        else:
            self.changed_referrals.pop(referral.pk, None)
            self.gone_referrals.append(referral)
        self._record("referral.withdrawn", referral, reason="late_event")

    def _withdraw_reward(self, reward: Reward, referral: Referral) -> None:
        if reward.pk is None:
            self.new_rewards.remove(reward)
        else:
            self.changed_rewards.pop(reward.pk, None)
            self.gone_rewards.append(reward)
        self._record_reward("reward.withdrawn", reward, referral, reason="late_event")

    def _record(self, name: str, referral: Referral, **data: Any) -> None:
        program = self.programs[referral.program_id].public_id
        events.record(
            name,
            workspace_id=self.workspace_id,
            subject_id=referral.public_id,
            data={"program": program, **data},
            now=self.now,
        )

    def _record_reward(self, name: str, reward: Reward, referral: Referral, **data: Any) -> None:
        events.record(
            name,
            workspace_id=self.workspace_id,
            subject_id=reward.public_id,
            data={"referral": referral.public_id, **data},
            now=self.now,
        )


def _set(row: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _set_referral(
    referral: Referral,
    plan: facts.ReferralPlan,
    referee: int,
    stopped: list[dict[str, str]],
    test: bool,
) -> bool:
    order = plan.order
    return _set(
        referral,
        {
            "advocate_id": plan.advocate.id,
            "referee_id": referee,
            "status": plan.status,
            "source": plan.source,
            "reject_reason": plan.reject_reason,
            "click_id": plan.click_id,
            "stopped": stopped,
            "order_id": order.order_id if order else "",
            "order_amount": order.amount if order else None,
            "order_currency": order.currency if order else "",
            "created_at": plan.created_at,
            "clicked_at": plan.clicked_at,
            "signed_up_at": plan.created_at,
            "converted_at": plan.converted_at,
            "rejected_at": plan.rejected_at,
            "reversed_at": plan.reversed_at,
            "test": test,
        },
    )


def _by_hand(reward: Reward) -> bool:
    """Rejected, or reversed with a reason, by staff (a refund's reversal has no reason)."""
    return reward.status == Reward.Status.REJECTED or (
        reward.status == Reward.Status.REVERSED and bool(reward.status_reason)
    )


def _set_reward(reward: Reward, grant: facts.Grant, *, keep_offer: bool = False) -> bool:
    """Bring a reward in line with its grant; with `keep_offer`, all but what it gives (the
    beneficiary chose it)."""
    gone = grant.reversed_at is not None
    offer = {
        "kind": grant.kind,
        "amount": grant.amount,
        "percent_off": grant.percent_off,
        "currency": grant.currency,
    }
    return _set(
        reward,
        {
            "rule_id": grant.rule,
            "beneficiary": grant.beneficiary,
            "participant_id": grant.participant,
            **({} if keep_offer else offer),
            "hold_until": grant.hold_until,
            "status": Reward.Status.REVERSED if gone else Reward.Status.PENDING,
            "reversed_at": grant.reversed_at,
            "earned_at": grant.earned_at,
            "trigger_event": grant.occasion,
        },
    )


def grant_details(rule: RewardRule) -> dict[str, Any]:
    """What a reward of `rule` gives beyond its kind and value: a product's `sku`, a donation's
    `cause`, a custom reward's `description`, a coupon's `min_order`."""
    details: dict[str, Any] = {
        name: getattr(rule, name) for name in ("sku", "cause", "description") if getattr(rule, name)
    }
    if rule.coupon and rule.coupon.get("min_order") is not None:
        details["min_order"] = rule.coupon["min_order"]
    return details


def referral_summary(referral: Referral, note: str) -> dict[str, Any]:
    return {
        "id": referral.public_id,
        "status": referral.status,
        "reject_reason": referral.reject_reason or None,
        "note": note or None,
    }


def reward_summary(reward: Reward) -> dict[str, Any]:
    return {
        "id": reward.public_id,
        "beneficiary": reward.beneficiary,
        "kind": reward.kind,
        "amount": reward.amount,
        "percent_off": reward.percent_off,
        "currency": reward.currency,
        "status": reward.status,
        "hold_until": reward.hold_until.isoformat(),
    }
