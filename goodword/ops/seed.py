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

import itertools
import random
import secrets
from collections.abc import Callable, Sequence
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
HOLD = timedelta(days=14)  # the program's hold period
EXPIRY = timedelta(days=30)  # a referral that never converted is rejected as expired after it

# The columns the writer gives, in the order of its row tuples; every other column is the same
# in all rows (`_Writer.fixed`) or the model's default.
PARTICIPANT = ("id", "external_id", "email", "email_normalized", "name", "purchase_count")
ADVOCATE = ("id", "participant_id", "code", "code_normalized", "variant")
CLICK = ("id", "click_id", "advocate_id", "created_at", "channel")
REFERRAL = (
    "id", "advocate_id", "referee_id", "source", "click_id", "created_at", "clicked_at",
    "status", "reject_reason", "order_id", "order_amount", "order_currency", "signed_up_at",
    "converted_at", "rewarded_at", "rejected_at", "reversed_at",
)  # fmt: skip
EVENT = (
    "id", "type", "external_id", "customer_external_id", "order_id", "amount", "currency",
    "occurred_at", "created_at",
)  # fmt: skip
REWARD = (
    "id", "referral_id", "rule_id", "beneficiary", "participant_id", "kind", "status",
    "hold_until", "created_at", "earned_at", "approved_at", "reversed_at",
)  # fmt: skip
Row = tuple[Any, ...]


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


@dataclass(slots=True)
class _Referral:
    """A referral being made up; `row()` gives it in the order of `REFERRAL`."""

    id: int
    advocate: int
    referee: int
    click_id: str
    came: datetime
    status: str = Status.CLICKED
    reject_reason: str = ""
    order_id: str = ""
    order_amount: int | None = None
    signed_up_at: datetime | None = None
    converted_at: datetime | None = None
    rewarded_at: datetime | None = None
    rejected_at: datetime | None = None
    reversed_at: datetime | None = None

    def row(self) -> Row:
        clicked = bool(self.click_id)
        return (
            self.id, self.advocate, self.referee,
            Referral.Source.TOKEN if clicked else Referral.Source.CODE, self.click_id,
            self.came, self.came if clicked else None, self.status, self.reject_reason,
            self.order_id, self.order_amount, "USD" if self.order_id else "",
            self.signed_up_at, self.converted_at, self.rewarded_at, self.rejected_at,
            self.reversed_at,
        )  # fmt: skip


class _Writer:
    """Makes the rows as plain tuples (a model instance per row cost more than the database's
    work to store it) and gives them their ids, which the children need."""

    def __init__(
        self,
        workspace: Workspace,
        program: Program,
        rng: random.Random,
        tag: str,
        days: int,
        progress: Callable[[str], None],
    ) -> None:
        self.rng = rng
        self.tag = tag
        self.now = timezone.now().replace(microsecond=0)
        self.start = self.now - timedelta(days=days)
        self.span = int((self.now - self.start).total_seconds())
        self.progress = progress
        self.advocate_ids: list[int] = []
        self.people: dict[int, int] = {}
        self.rules = {r.beneficiary: r.pk for r in RewardRule.objects.filter(program=program)}
        self.rows: dict[str, int] = {}
        self.ids: dict[type[models.Model], itertools.count[int]] = {}
        ours = {"workspace_id": workspace.pk, "program_id": program.pk}
        stamped = {"created_at": self.now, "updated_at": self.now}  # what auto_now would set
        self.fixed: dict[type[models.Model], dict[str, Any]] = {
            Participant: {"workspace_id": workspace.pk, **stamped},
            Advocate: {**ours, "created_at": self.now},
            Click: ours,
            Referral: ours,
            Event: {"workspace_id": workspace.pk, "source": "seed", "body_hash": "seed"},
            Reward: {**ours, "amount": 1000, "currency": "USD", "trigger_event": "purchase"},
        }

    def _ids(self, model: type[models.Model]) -> itertools.count[int]:
        """The ids for `model`'s rows, given here: COPY returns none."""
        if model not in self.ids:
            top = model._default_manager.aggregate(top=models.Max("pk"))["top"]
            self.ids[model] = itertools.count((top or 0) + 1)
        return self.ids[model]

    def _write(self, model: type[models.Model], columns: Sequence[str], rows: list[Row]) -> None:
        bulk.write_rows(model, columns, rows, fixed=self.fixed[model])
        table = model._meta.db_table
        self.rows[table] = self.rows.get(table, 0) + len(rows)

    def _when(self) -> datetime:
        return self.start + timedelta(seconds=self.rng.randrange(self.span))

    def advocates(self, count: int) -> None:
        people, ids = self._ids(Participant), self._ids(Advocate)
        persons = [
            (next(people), f"adv-{n}", f"advocate{n}@example.com", f"Advocate {n}")
            for n in range(count)
        ]
        advocates = [
            (
                next(ids),
                person,
                f"S{self.tag}{n}".upper(),
                f"s{self.tag}{n}",
                self.rng.choices(VARIANTS, weights=(45, 45, 10))[0],
            )
            for n, (person, *_) in enumerate(persons)
        ]
        with transaction.atomic():
            rows = [(pk, ext, email, email, name, 1) for pk, ext, email, name in persons]
            self._write(Participant, PARTICIPANT, rows)
            self._write(Advocate, ADVOCATE, advocates)
        self.advocate_ids = [a[0] for a in advocates]
        self.people = {a[0]: a[1] for a in advocates}  # advocate -> their participant

    def _advocate(self) -> int:
        # A few advocates bring most friends, as in real programs.
        return self.advocate_ids[int(len(self.advocate_ids) * self.rng.random() ** 2)]

    def referrals(self, first: int, count: int) -> int:
        """Write `count` friends with their clicks, referrals, events and rewards; returns the
        number of events written."""
        rng = self.rng
        click_ids, people, referral_ids = (
            self._ids(Click), self._ids(Participant), self._ids(Referral)
        )  # fmt: skip
        clicks: list[Row] = []
        friends: list[Row] = []
        refs: list[_Referral] = []
        for n in range(first, first + count):
            advocate = self._advocate()
            came = self._when()
            click_id = f"c{self.tag}{n}" if rng.random() < 0.85 else ""
            channel = rng.choice(CHANNELS)
            if click_id:
                clicks.append((next(click_ids), click_id, advocate, came, channel))
            if rng.random() < 0.5:  # a click of someone who never signed up
                at = self._when()
                clicks.append((next(click_ids), f"x{self.tag}{n}", advocate, at, channel))
            friend = next(people)
            email = f"friend{n}@example.com"
            friends.append((friend, f"friend-{n}", email, email, "", 0))
            refs.append(_Referral(next(referral_ids), advocate, friend, click_id, came))
        for model in (Event, Reward):  # the counters `_event` and `_reward` take ids from
            self._ids(model)
        events: list[Row] = []
        rewards: list[Row] = []
        for n, ref in enumerate(refs, start=first):
            if self._referral(ref, f"friend-{n}", f"o{self.tag}{n}", events):
                rewards.append(self._reward(ref, "advocate", "credit"))
                rewards.append(self._reward(ref, "friend", "coupon"))
        with transaction.atomic():
            self._write(Click, CLICK, clicks)
            self._write(Participant, PARTICIPANT, friends)
            self._write(Referral, REFERRAL, [ref.row() for ref in refs])
            self._write(Event, EVENT, events)
            self._write(Reward, REWARD, rewards)
        return len(events)

    def _event(
        self, kind: str, customer: str, at: datetime, order: str = "", amount: int | None = None
    ) -> Row:
        currency = "" if amount is None else "USD"
        external = f"{kind}-{customer}-{order}"
        return (next(self.ids[Event]), kind, external, customer, order, amount, currency, at, at)

    def _referral(self, ref: _Referral, customer: str, order: str, events: list[Row]) -> bool:
        """Decide what became of `ref`, appending the friend's events; returns whether it
        converted (and so earned rewards)."""
        rng = self.rng
        came = ref.came
        roll = rng.random()
        if roll < 0.04:
            ref.status, ref.rejected_at = Status.REJECTED, came
            ref.reject_reason = rng.choice(
                [Referral.RejectReason.SELF_REFERRAL, Referral.RejectReason.EXISTING_CUSTOMER]
            )
            return False
        signed = came + timedelta(minutes=rng.randrange(1, 600))
        if roll < 0.75 and signed < self.now:
            ref.status, ref.signed_up_at = Status.SIGNED_UP, signed
            events.append(self._event("signup", customer, signed))
        converted = signed + timedelta(minutes=int(rng.expovariate(1 / 3000)))
        if roll >= 0.45 or converted >= self.now or ref.signed_up_at is None:
            if roll >= 0.93 and came < self.now - EXPIRY:
                ref.status, ref.rejected_at = Status.REJECTED, came + EXPIRY
                ref.reject_reason = Referral.RejectReason.EXPIRED
            return False
        amount = rng.randrange(2000, 15_000, 50)
        ref.order_id, ref.order_amount = order, amount
        ref.converted_at = converted
        ref.status = Status.CONVERTED
        events.append(self._event("purchase", customer, converted, order, amount))
        for k in range(rng.choice((0, 0, 0, 1, 2, 3))):  # repeat orders
            at = converted + timedelta(days=rng.randrange(1, 120))
            if at < self.now:
                price = rng.randrange(1000, 12_000, 50)
                events.append(self._event("purchase", customer, at, f"{order}-{k}", price))
        refund = rng.random()
        refunded_at = converted + timedelta(days=rng.randrange(1, 10))
        if refund < 0.03 and refunded_at < self.now:  # the whole order: the referral reversed
            ref.status, ref.reversed_at = Status.REVERSED, refunded_at
            events.append(self._event("refund", customer, refunded_at, order))
        elif refund < 0.08 and refunded_at < self.now:  # part of it
            events.append(self._event("refund", customer, refunded_at, order, amount // 4))
        if ref.status == Status.CONVERTED and converted < self.now - HOLD:
            ref.status, ref.rewarded_at = Status.REWARDED, converted + HOLD
        return True

    def _reward(self, ref: _Referral, beneficiary: str, kind: str) -> Row:
        earned = ref.converted_at or self.now
        hold_until = earned + HOLD
        status = Reward.Status.PENDING
        if ref.status == Status.REVERSED:
            status = Reward.Status.REVERSED
        elif hold_until <= self.now:
            status = Reward.Status.FULFILLED if kind == "coupon" else Reward.Status.APPROVED
        return (
            next(self.ids[Reward]), ref.id, self.rules[beneficiary], beneficiary,
            ref.referee if beneficiary == "friend" else self.people[ref.advocate], kind, status,
            hold_until, earned, earned, hold_until if status != Reward.Status.PENDING else None,
            ref.reversed_at,
        )  # fmt: skip

    def reset_sequences(self) -> None:
        """Move the id sequences past the ids given here (PostgreSQL; SQLite needs nothing)."""
        statements = connection.ops.sequence_reset_sql(no_style(), list(self.ids))
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    def other_customers(self, events: int) -> None:
        """`events` purchases of customers who came by no referral, about three each."""
        rng = self.rng
        self._ids(Event)
        written = 0
        n = 0
        while written < events:
            batch: list[Row] = []
            for _ in range(min(CHUNK * 3, events - written)):
                at = self._when()
                price = rng.randrange(1000, 12_000, 50)
                batch.append(
                    self._event("purchase", f"cust-{n // 3}", at, f"p{self.tag}{n}", price)
                )
                n += 1
            with transaction.atomic():
                self._write(Event, EVENT, batch)
            written += len(batch)
            self.progress(f"{written:,} other purchases")
