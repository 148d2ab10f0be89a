"""Seed a workspace with a large, realistic history written directly as rows: for benchmarks of
the dashboard and analytics at scale (a million referrals, five million events), where going
through the engine one event at a time would take hours.

The rows are what the engine would have written for the analytics' purposes (participants,
advocates, clicks, referrals in every status, signup/purchase/refund events, rewards); it
writes no ledger transactions and no domain events, so it is for measuring, not for
`check_ledger`. The demo seeds its smaller history through the engine instead. The rollups
learn of changes from domain events, which this does not write: run `goodword rollups
--rebuild` after it (the `seed` command does).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone

from goodword.accounts.models import Workspace
from goodword.accounts.services import create_workspace
from goodword.ingest.models import Event
from goodword.lib import bulk
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import Program, RewardRule
from goodword.programs.rules import ExperimentSpec, RewardSpec, TriggerSpec, VariantSpec
from goodword.programs.services import create_program
from goodword.referrals.models import Click, Referral
from goodword.rewards.models import Reward

CHUNK = 20_000  # referrals written per transaction
CHANNELS = ["", "", "email", "whatsapp", "sms", "facebook", "x", "qr"]
VARIANTS = ["A", "B", "holdout"]
Status = Referral.Status


@dataclass
class Seeded:
    workspace: Workspace
    program: Program
    api_key: str
    rows: dict[str, int] = field(default_factory=dict)


def seed(
    *,
    referrals: int,
    events: int,
    days: int = 365,
    name: str | None = None,
    owner_email: str = "owner@seed.goodword.local",
    progress: Callable[[str], None] = lambda _: None,
    random_seed: int = 1,
) -> Seeded:
    """A new workspace with one program and `referrals` referrals over the last `days` days,
    and `events` events in all (signups, purchases and refunds of the friends; the rest are
    purchases of customers who came by no referral). Deterministic for a given `random_seed`
    (ids apart)."""
    if referrals < 1 or days < 1:
        raise ValueError("referrals and days must be at least 1")
    rng = random.Random(random_seed)  # noqa: S311 - sample data, not security
    tag = secrets.token_hex(3)
    workspace, api_key = create_workspace(
        name=name or f"Seeded {referrals:,} referrals ({tag})",
        owner_email=owner_email.replace("@", f"+{tag}@"),
    )
    program = create_program(
        workspace=workspace,
        name="Give $10, get $10",
        destination_url="https://shop.example.com/",
        rewards=[
            RewardSpec(beneficiary="advocate", kind="credit", amount=1000, currency="USD"),
            RewardSpec(beneficiary="friend", kind="coupon", amount=1000, currency="USD"),
        ],
        trigger=TriggerSpec(event="purchase", min_amount=2000),
        hold_days=14,
        experiment=ExperimentSpec(
            name="Offer test",
            variants=[VariantSpec(name="A", weight=1), VariantSpec(name="B", weight=1)],
            holdout_percent=10,
        ),
    )
    writer = _Writer(workspace, program, rng, tag, days, progress)
    writer.advocates(max(1, referrals // 8))
    budget = events
    for first in range(0, referrals, CHUNK):
        budget -= writer.referrals(first, min(CHUNK, referrals - first))
        progress(f"{min(first + CHUNK, referrals):,} referrals")
    writer.other_customers(max(0, budget))
    writer.reset_sequences()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # the planner's statistics: stale ones choose nested loops
    return Seeded(workspace, program, api_key, writer.rows)


class _Writer:
    def __init__(
        self,
        workspace: Workspace,
        program: Program,
        rng: random.Random,
        tag: str,
        days: int,
        progress: Callable[[str], None],
    ) -> None:
        self.workspace = workspace
        self.program = program
        self.rng = rng
        self.tag = tag
        self.now = timezone.now().replace(microsecond=0)
        self.start = self.now - timedelta(days=days)
        self.span = int((self.now - self.start).total_seconds())
        self.progress = progress
        self.advocate_ids: list[int] = []
        self.people: dict[int, int] = {}
        self.rules = {r.beneficiary: r for r in RewardRule.objects.filter(program=program)}
        self.rows: dict[str, int] = {}
        self.next_ids: dict[str, int] = {}
        self.written: set[type[models.Model]] = set()

    def _write(self, model: type[models.Model], objs: list[Any]) -> list[Any]:
        """INSERT `objs` with ids given here (the children need them; no RETURNING)."""
        if not objs:
            return objs
        table = model._meta.db_table
        if table not in self.next_ids:
            top = model._default_manager.aggregate(top=models.Max("pk"))["top"]
            self.next_ids[table] = (top or 0) + 1
        first = self.next_ids[table]
        self.next_ids[table] += len(objs)
        for at, obj in enumerate(objs):
            obj.pk = first + at
            for f in model._meta.concrete_fields:  # what auto_now(_add) would set when saved
                automatic = getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False)
                if automatic and getattr(obj, f.attname) is None:
                    setattr(obj, f.attname, self.now)
        bulk.insert(model, objs)
        self.rows[table] = self.rows.get(table, 0) + len(objs)
        self.written.add(model)
        return objs

    def _when(self) -> datetime:
        return self.start + timedelta(seconds=self.rng.randrange(self.span))

    def advocates(self, count: int) -> None:
        with transaction.atomic():
            people = self._write(
                Participant,
                [
                    Participant(
                        workspace=self.workspace,
                        external_id=f"adv-{n}",
                        email=f"advocate{n}@example.com",
                        email_normalized=f"advocate{n}@example.com",
                        name=f"Advocate {n}",
                        purchase_count=1,
                    )
                    for n in range(count)
                ],
            )
            rows = self._write(
                Advocate,
                [
                    Advocate(
                        workspace=self.workspace,
                        program=self.program,
                        participant=person,
                        code=f"S{self.tag}{n}".upper(),
                        code_normalized=f"s{self.tag}{n}",
                        variant=self.rng.choices(VARIANTS, weights=(45, 45, 10))[0],
                    )
                    for n, person in enumerate(people)
                ],
            )
        self.advocate_ids = [a.pk for a in rows]
        self.people = {a.pk: a.participant_id for a in rows}  # advocate -> their participant

    def _advocate(self) -> int:
        # A few advocates bring most friends, as in real programs.
        return self.advocate_ids[int(len(self.advocate_ids) * self.rng.random() ** 2)]

    def referrals(self, first: int, count: int) -> int:
        """Write `count` friends with their clicks, referrals, events and rewards; returns the
        number of events written."""
        rng = self.rng
        clicks: list[Click] = []
        friends: list[Participant] = []
        plans: list[dict[str, Any]] = []
        for n in range(first, first + count):
            advocate = self._advocate()
            came = self._when()
            click_id = f"c{self.tag}{n}" if rng.random() < 0.85 else ""
            channel = rng.choice(CHANNELS)
            if click_id:
                clicks.append(self._click(click_id, advocate, came, channel))
            if rng.random() < 0.5:  # a click of someone who never signed up
                clicks.append(self._click(f"x{self.tag}{n}", advocate, self._when(), channel))
            friends.append(
                Participant(
                    workspace=self.workspace,
                    external_id=f"friend-{n}",
                    email=f"friend{n}@example.com",
                    email_normalized=f"friend{n}@example.com",
                )
            )
            plans.append({"advocate": advocate, "came": came, "click": click_id, "n": n})
        with transaction.atomic():
            self._write(Click, clicks)
            self._write(Participant, friends)
            made = [
                self._referral(plan, friend) for plan, friend in zip(plans, friends, strict=True)
            ]
            self._write(Referral, [ref for ref, _, _ in made])
            evs = [e for _, events, _ in made for e in events]
            self._write(Event, evs)
            self._write(Reward, [r for ref, _, rewards in made for r in rewards(ref)])
        return len(evs)

    def _click(self, click_id: str, advocate: int, at: datetime, channel: str) -> Click:
        return Click(
            click_id=click_id,
            workspace=self.workspace,
            program=self.program,
            advocate_id=advocate,
            created_at=at,
            channel=channel,
        )

    def _event(self, kind: str, customer: str, at: datetime, **fields: Any) -> Event:
        external = fields.pop("external_id", f"{kind}-{customer}-{fields.get('order_id', '')}")
        return Event(
            workspace=self.workspace,
            source="seed",
            external_id=external,
            body_hash="seed",
            type=kind,
            customer_external_id=customer,
            occurred_at=at,
            created_at=at,
            **fields,
        )

    def _referral(
        self, plan: dict[str, Any], friend: Participant
    ) -> tuple[Referral, list[Event], Callable[[Referral], list[Reward]]]:
        rng = self.rng
        came: datetime = plan["came"]
        customer = friend.external_id
        ref = Referral(
            workspace=self.workspace,
            program=self.program,
            advocate_id=plan["advocate"],
            referee=friend,
            source=Referral.Source.TOKEN if plan["click"] else Referral.Source.CODE,
            click_id=plan["click"],
            created_at=came,
            clicked_at=came if plan["click"] else None,
            status=Status.CLICKED,
        )
        events: list[Event] = []
        roll = rng.random()
        if roll < 0.04:
            ref.status, ref.rejected_at = Status.REJECTED, came
            ref.reject_reason = rng.choice(
                [Referral.RejectReason.SELF_REFERRAL, Referral.RejectReason.EXISTING_CUSTOMER]
            )
            return ref, events, lambda _: []
        signed = came + timedelta(minutes=rng.randrange(1, 600))
        if roll < 0.75 and signed < self.now:
            ref.status, ref.signed_up_at = Status.SIGNED_UP, signed
            events.append(self._event("signup", customer, signed))
        converted = signed + timedelta(minutes=int(rng.expovariate(1 / 3000)))
        if roll >= 0.45 or converted >= self.now or ref.signed_up_at is None:
            if roll >= 0.93 and came < self.now - timedelta(days=30):
                ref.status, ref.rejected_at = Status.REJECTED, came + timedelta(days=30)
                ref.reject_reason = Referral.RejectReason.EXPIRED
            return ref, events, lambda _: []
        amount = rng.randrange(2000, 15_000, 50)
        order = f"o{self.tag}{plan['n']}"
        ref.order_id, ref.order_amount, ref.order_currency = order, amount, "USD"
        ref.converted_at = converted
        ref.status = Status.CONVERTED
        events.append(
            self._event(
                "purchase", customer, converted, order_id=order, amount=amount, currency="USD"
            )
        )
        for k in range(rng.choice((0, 0, 0, 1, 2, 3))):  # repeat orders
            at = converted + timedelta(days=rng.randrange(1, 120))
            if at < self.now:
                events.append(
                    self._event(
                        "purchase",
                        customer,
                        at,
                        order_id=f"{order}-{k}",
                        amount=rng.randrange(1000, 12_000, 50),
                        currency="USD",
                    )  # fmt: skip
                )
        refund = rng.random()
        refunded_at = converted + timedelta(days=rng.randrange(1, 10))
        if refund < 0.03 and refunded_at < self.now:  # the whole order: the referral reversed
            ref.status, ref.reversed_at = Status.REVERSED, refunded_at
            events.append(self._event("refund", customer, refunded_at, order_id=order))
        elif refund < 0.08 and refunded_at < self.now:  # part of it
            events.append(
                self._event(
                    "refund",
                    customer,
                    refunded_at,
                    order_id=order,
                    amount=amount // 4,
                    currency="USD",
                )  # fmt: skip
            )
        if ref.status == Status.CONVERTED and converted < self.now - timedelta(days=14):
            ref.status, ref.rewarded_at = Status.REWARDED, converted + timedelta(days=14)

        def rewards(saved: Referral) -> list[Reward]:
            return [
                self._reward(saved, who, kind)
                for who, kind in (("advocate", "credit"), ("friend", "coupon"))
            ]

        return ref, events, rewards

    def _reward(self, ref: Referral, beneficiary: str, kind: str) -> Reward:
        earned = ref.converted_at or self.now
        hold_until = earned + timedelta(days=14)
        status = Reward.Status.PENDING
        if ref.status == Status.REVERSED:
            status = Reward.Status.REVERSED
        elif hold_until <= self.now:
            status = Reward.Status.FULFILLED if kind == "coupon" else Reward.Status.APPROVED
        return Reward(
            workspace=self.workspace,
            program=self.program,
            referral=ref,
            rule=self.rules[beneficiary],
            beneficiary=beneficiary,
            participant_id=ref.referee_id
            if beneficiary == "friend"
            else self.people[ref.advocate_id],
            kind=kind,
            amount=1000,
            currency="USD",
            status=status,
            hold_until=hold_until,
            created_at=earned,
            earned_at=earned,
            trigger_event="purchase",
            approved_at=hold_until if status != Reward.Status.PENDING else None,
            reversed_at=ref.reversed_at,
        )

    def reset_sequences(self) -> None:
        """Move the id sequences past the ids given here (PostgreSQL; SQLite needs nothing)."""
        statements = connection.ops.sequence_reset_sql(no_style(), list(self.written))
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    def other_customers(self, events: int) -> None:
        """`events` purchases of customers who came by no referral, about three each."""
        written = 0
        n = 0
        while written < events:
            batch: list[Event] = []
            for _ in range(min(CHUNK * 3, events - written)):
                customer = f"cust-{n // 3}"
                batch.append(
                    self._event(
                        "purchase",
                        customer,
                        self._when(),
                        order_id=f"p{self.tag}{n}",
                        amount=self.rng.randrange(1000, 12_000, 50),
                        currency="USD",
                    )  # fmt: skip
                )
                n += 1
            with transaction.atomic():
                self._write(Event, batch)
            written += len(batch)
            self.progress(f"{written:,} other purchases")
