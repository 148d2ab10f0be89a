"""Keep the rollups (goodword.analytics.models) up to date from what changed.

A refresh reads the domain events, ingested events, clicks and shares written since the last
one:
- the referrals, rewards and advocates they name get their facts recomputed from their rows
  (the SQL in `rollup_sql`, the definitions of `queries` written set-wise);
- the program-days those facts were in, before and after, get their daily sums recomputed
  from the facts; clicks' and shares' program-days from the clicks and shares.
Everything is recomputed, never adjusted by a difference, so running a refresh twice, or over
rows it has already seen, changes nothing: that is what lets it read again the rows near the
end that a slower transaction may still be adding to (RollupState).
Each step is one statement over all the changed rows, however many: their ids and days are
written once to temporary tables (`scratch`) that the statements join.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from goodword.analytics import rollup_attribution as attribution
from goodword.analytics import rollup_customers as customers
from goodword.analytics import rollup_db as db
from goodword.analytics import rollup_experiments as experiments
from goodword.analytics import rollup_people as people
from goodword.analytics import rollup_segments as segments
from goodword.analytics import rollup_sharing as sharing
from goodword.analytics import rollup_sql as sql
from goodword.analytics import scratch
from goodword.analytics.models import (
    AdvocateDay,
    AdvocateFact,
    ClickDay,
    EnrolledDay,
    ParticipantDay,
    ParticipantFact,
    PurchaseFact,
    ReferralDay,
    ReferralFact,
    RewardDay,
    RewardFact,
    RollupState,
    StatusDay,
    TookDay,
)
from goodword.events.models import DomainEvent
from goodword.ingest.models import Event
from goodword.participants.models import Advocate, Participant
from goodword.referrals.models import Click, Referral, Share
from goodword.rewards.models import Reward

# Rows are read again until a refresh this much later has seen them (RollupState).
LAG = timedelta(seconds=30)
Part = tuple[int, int | None, date]  # workspace, program, day


@dataclass
class Changed:
    referrals: set[int] = field(default_factory=set)
    rewards: set[int] = field(default_factory=set)
    advocates: set[int] = field(default_factory=set)
    purchases: set[int] = field(default_factory=set)
    click_days: set[Part] = field(default_factory=set)
    participants: set[int] = field(default_factory=set)
    # Converted referrals whose attribution credits may have changed with no domain event.
    touched: set[int] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)


SOURCES = ("domain_events", "events", "clicks", "participants", "shares")
ROLLUPS = (
    ReferralFact, ReferralDay, StatusDay, ClickDay, RewardFact, RewardDay, AdvocateDay,
    AdvocateFact, PurchaseFact, TookDay, ParticipantFact, ParticipantDay, EnrolledDay,
    *customers.MODELS, *attribution.MODELS, *experiments.MODELS, *sharing.MODELS, *segments.MODELS,
)  # fmt: skip


def _tops() -> dict[str, int]:
    """The highest id of each source, in one query (every read of the numbers asks)."""
    tables = (DomainEvent, Event, Click, Participant, Share)
    columns = ", ".join(f"(SELECT MAX(id) FROM {m._meta.db_table})" for m in tables)  # noqa: S608
    top = db.rows(f"SELECT {columns}")[0]
    return {source: int(n or 0) for source, n in zip(SOURCES, top, strict=True)}


def refresh() -> dict[str, int]:
    """Bring the rollups up to date, reading again the rows of the last `LAG` (the
    scheduler's sweep); returns how many referrals, rewards and days it recomputed."""
    with transaction.atomic():
        state, _ = RollupState.objects.select_for_update().get_or_create(pk=1)
        now = timezone.now()
        tops = _tops()
        changed = _roll_up({s: getattr(state, f"{s}_done") for s in SOURCES}, tops)
        # Promote what the previous refresh saw, if it saw it long enough ago; remember now.
        if state.seen_at is None or now - state.seen_at >= LAG:
            for source in SOURCES:
                setattr(state, f"{source}_done", getattr(state, f"{source}_seen"))
                setattr(state, f"{source}_seen", tops[source])
            state.seen_at = now
        for source in SOURCES:
            setattr(state, f"{source}_read", max(getattr(state, f"{source}_read"), tops[source]))
        state.save()
    return changed.counts


@contextmanager
def caught_up() -> Iterator[None]:
    """Catch up once, then read: the reads inside do not look again (a page's twenty reads
    asked twenty times, 30 ms of a stats call)."""
    catch_up()
    token = _caught_up.set(True)
    try:
        yield
    finally:
        _caught_up.reset(token)


_caught_up: ContextVar[bool] = ContextVar("caught_up", default=False)


def catch_up() -> None:
    """Before a read: roll up the rows written since any refresh or read last looked (cheap
    when none were), so numbers show what was just sent. The rows of the last `LAG` are left
    for the scheduler's refresh to read again."""
    if _caught_up.get():
        return
    tops = _tops()
    state = RollupState.objects.filter(pk=1).first()
    if state is not None and all(getattr(state, f"{s}_read") >= tops[s] for s in SOURCES):
        return
    with transaction.atomic():
        state, _ = RollupState.objects.select_for_update().get_or_create(pk=1)
        tops = _tops()
        since = {s: max(getattr(state, f"{s}_read"), getattr(state, f"{s}_done")) for s in SOURCES}
        _roll_up(since, tops)
        for source in SOURCES:
            setattr(state, f"{source}_read", max(since[source], tops[source]))
        state.save()


def rebuild() -> dict[str, int]:
    """Recompute every fact and every day from scratch (after `goodword seed`, or to check)."""
    with transaction.atomic():
        RollupState.objects.select_for_update().get_or_create(pk=1)
        top = _tops()
        for model in ROLLUPS:
            model.objects.all().delete()
        db.run(sql.referral_facts("1 = 1"))
        counts = {
            # Counted, not the INSERT's row count: SQLite's driver gives none for `WITH ...`.
            "referrals": ReferralFact.objects.count(),
            "rewards": db.run(sql.reward_facts("1 = 1")),
        }
        # The daily sums: how many rows, not program-days (a refresh counts those).
        days = sum(db.run(statement) for statement in sql.referral_days("1 = 1", "1 = 1"))
        days += db.run(sql.status_days("1 = 1")) + db.run(sql.reward_days("1 = 1"))
        days += db.run(sql.took_days("1 = 1"))
        days += db.run(sql.click_days("1 = 1", "1 = 1"))
        days += db.run(sql.advocate_days("1 = 1", "1 = 1", "1 = 1", "1 = 1"))
        db.run(sql.advocate_facts("1 = 1"))
        db.run(sql.purchase_facts("1 = 1"))
        # The statements below join the facts just written: without their statistics
        # PostgreSQL planned nested loops, and a rebuild of 400 referrals took 150 s.
        for model in (ReferralFact, RewardFact, AdvocateFact, AdvocateDay, PurchaseFact):
            db.run(f"ANALYZE {model._meta.db_table}")
        people.rebuild()
        sharing.rebuild()
        segments.rebuild()
        customers.rebuild()
        attribution.rebuild()
        experiments.rebuild()
        counts["rows"] = days
        RollupState.objects.filter(pk=1).update(
            **{f"{s}_{mark}": n for s, n in top.items() for mark in ("done", "seen", "read")},
            seen_at=timezone.now(),
        )
        # The planner's statistics of tables just refilled: stale ones chose plans that ran
        # for minutes on a seeded history.
        for model in ROLLUPS:
            db.run(f"ANALYZE {model._meta.db_table}")
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # And their visibility maps: until a VACUUM, PostgreSQL's index-only reads (sharing,
        # the leaderboard) visit every row's page; 28 -> 90 ms at 100,000 referrals. VACUUM
        # cannot run in a transaction (nor, so, inside a test's).
        for model in ROLLUPS:
            db.run(f"VACUUM {model._meta.db_table}")
    return counts


def _changed(since: dict[str, int], tops: dict[str, int]) -> Changed:
    """What the rows with ids in (since, top] of each source changed."""
    named = DomainEvent.objects.filter(pk__gt=since["domain_events"], pk__lte=tops["domain_events"])
    refs = Referral.objects.filter(
        public_id__in=named.filter(subject_id__startswith="ref_").values("subject_id")
    )
    rewards = Reward.objects.filter(
        public_id__in=named.filter(subject_id__startswith="rwd_").values("subject_id")
    )
    advocates = Advocate.objects.filter(
        public_id__in=named.filter(subject_id__startswith="adv_").values("subject_id")
    )
    # A participant's attributes changed through the API: their advocates' segments did.
    # (Through an event, `sql.advocates_attributed` reads the event itself.)
    updated = Advocate.objects.filter(
        participant__public_id__in=named.filter(
            name="participant.updated", subject_id__startswith="par_"
        ).values("subject_id")
    )
    # A refund changes what was refunded of a converting order, with no domain event when
    # it reverses nothing: the referrals of its order are read again.
    refunds = Event.objects.filter(
        pk__gt=since["events"], pk__lte=tops["events"], type=Event.Type.REFUND
    )
    refunded = Referral.objects.filter(
        workspace_id__in=refunds.values("workspace_id"), order_id__in=refunds.values("order_id")
    )
    return Changed(
        referrals=set(refs.values_list("pk", flat=True))
        | set(refunded.values_list("pk", flat=True)),
        rewards=set(rewards.values_list("pk", flat=True)),
        advocates=set(advocates.values_list("pk", flat=True))
        | set(updated.values_list("pk", flat=True))
        | {
            int(row[0])
            for row in db.rows(sql.advocates_attributed(since["events"], tops["events"]))
        },
        purchases={
            int(row[0]) for row in db.rows(sql.purchases_changed(since["events"], tops["events"]))
        },
        participants=set(
            Participant.objects.filter(
                public_id__in=named.filter(subject_id__startswith="par_").values("subject_id")
            ).values_list("pk", flat=True)
        )
        | set(
            Participant.objects.filter(
                pk__gt=since["participants"], pk__lte=tops["participants"]
            ).values_list("pk", flat=True)
        )
        | people.of_events(since["events"], tops["events"]),
        touched=attribution.changed(named, since["events"], tops["events"]),
        click_days=_click_days(Click, since["clicks"], tops["clicks"])
        | _click_days(Share, since["shares"], tops["shares"]),
    )


def _click_days(model: type[Click] | type[Share], since: int, top: int) -> set[Part]:
    """The program-days of the clicks (or shares) with ids in (since, top]. In SQL, not
    TruncDate: on SQLite that parses each click's time in Python (0.5 s for a day's 135,000)."""
    days = f"SELECT DISTINCT workspace_id, program_id, {sql.day('created_at')}"
    rows = db.rows(
        f"{days} FROM {model._meta.db_table} WHERE id > %s AND id <= %s",  # noqa: S608 - a table
        [int(since), int(top)],
    )
    return {(int(w), None if p is None else int(p), db.as_date(d)) for w, p, d in rows}


def _roll_up(since: dict[str, int], tops: dict[str, int]) -> Changed:
    """Roll up what the rows with ids in (since, top] of each source changed."""
    with _tuned(), scratch.tables():
        changed = _changed(since, tops)
        _update(changed)
    return changed


# PostgreSQL's settings while rolling up, and why:
TUNED = {
    # It compiles a statement whose estimated cost is high (as a refresh's are, over 100,000
    # ids) to machine code first: a second per statement, more than most then take.
    "jit": "off",
    # The ids of a day of activity hashed, and its rows sorted, in memory: at 4MB (the
    # default) a day of 500,000 events spilled to disk.
    "work_mem": "64MB",
    # An index look-up costed as a read from memory, not a disk seek: at the default (4) a
    # day's few hundred customers were found by hashing every purchase fact (0.3 s at
    # 100,000 referrals, growing with the history) instead of 1,000 look-ups (2 ms).
    "random_page_cost": "1.1",
}


@contextmanager
def _tuned() -> Iterator[None]:
    """`TUNED` for this transaction while rolling up; as they were after."""
    if connection.vendor != "postgresql":
        yield
        return
    names = list(TUNED)
    were = db.rows(f"SELECT {', '.join(['current_setting(%s)'] * len(names))}", names)[0]
    _set(TUNED)
    yield
    _set(dict(zip(names, were, strict=True)))


def _set(settings: dict[str, str]) -> None:
    marks = ", ".join(["set_config(%s, %s, true)"] * len(settings))
    db.rows(f"SELECT {marks}", [x for pair in settings.items() for x in pair])


def _update(changed: Changed) -> None:
    referral_days = _refacts(
        "referrals", changed.referrals, ReferralFact, "referral_id", sql.referral_facts, "r.id",
        [("workspace_id, program_id, created_on", ""),
         ("workspace_id, program_id, converted_on", " AND converted_on IS NOT NULL")],
    )  # fmt: skip
    reward_days = _refacts(
        "rewards", changed.rewards, RewardFact, "reward_id", sql.reward_facts, "w.id",
        [("workspace_id, program_id, day", "")],
    )  # fmt: skip
    if referral_days:
        on = scratch.days_in(referral_days, "day")
        for model in (ReferralDay, StatusDay, TookDay):
            db.run(f"DELETE FROM {model._meta.db_table} WHERE {on}")  # noqa: S608
        came = scratch.days_in(referral_days, "created_on")
        converted = scratch.days_in(referral_days, "converted_on")
        for statement in sql.referral_days(came, converted):
            db.run(statement)
        db.run(sql.status_days(came))
        db.run(sql.took_days(converted))
    if reward_days:
        # By workspace-day: a manual reward's program is None, which no `IN` matches; the
        # other programs' sums of those days are recomputed too, as they were.
        on = scratch.days_in(reward_days, "day", program=None)
        db.run(f"DELETE FROM {RewardDay._meta.db_table} WHERE {on}")  # noqa: S608
        db.run(sql.reward_days(on))
    if changed.click_days:
        on = scratch.days_in(changed.click_days, "day")
        db.run(f"DELETE FROM {ClickDay._meta.db_table} WHERE {on}")  # noqa: S608
        db.run(
            sql.click_days(
                scratch.clicks_on(changed.click_days), scratch.clicks_on(changed.click_days, "s")
            )
        )
    advocates = changed.advocates | _advocate_days(referral_days | changed.click_days)
    sharing.update(advocates, referral_days | changed.click_days)
    persons = people.people(advocates, changed.referrals, changed.participants)
    participation_days = people.touched(persons)  # before their advocates' facts change
    if advocates:
        chosen = scratch.put("advocates", advocates)
        db.run(f"DELETE FROM {AdvocateFact._meta.db_table} WHERE {chosen.has('advocate_id')}")  # noqa: S608
        db.run(sql.advocate_facts(chosen.has("a.id")))
    segments.update(advocates, referral_days | changed.click_days, reward_days)
    if changed.purchases:
        chosen = scratch.put("purchases", changed.purchases)
        db.run(f"DELETE FROM {PurchaseFact._meta.db_table} WHERE {chosen.has('event_id')}")  # noqa: S608
        db.run(sql.purchase_facts(chosen.has("e.id")))
    people.update(persons, participation_days)
    customers.update(changed.participants, changed.referrals)
    attribution.update(changed.referrals | changed.touched, referral_days)
    experiments.update(changed.referrals, changed.rewards, changed.participants, referral_days)
    changed.counts = {
        "referrals": len(changed.referrals),
        "rewards": len(changed.rewards),
        "days": len(referral_days) + len(reward_days) + len(changed.click_days),
    }


def _advocate_days(days: set[Part]) -> set[int]:
    """Recompute the advocates' days of these program-days; returns the advocates they had or
    have, whose facts may have changed."""
    if not days:
        return set()
    on = scratch.days_in(days, "day")
    table = AdvocateDay._meta.db_table
    who = f"SELECT DISTINCT advocate_id FROM {table} WHERE {on}"  # noqa: S608
    advocates = {int(row[0]) for row in db.rows(who)}
    db.run(f"DELETE FROM {table} WHERE {on}")  # noqa: S608
    came, converted = scratch.days_in(days, "created_on"), scratch.days_in(days, "converted_on")
    db.run(
        sql.advocate_days(scratch.clicks_on(days), came, converted, scratch.clicks_on(days, "s"))
    )
    advocates.update(int(row[0]) for row in db.rows(who))
    return advocates


def _refacts(
    kind: str,
    ids: set[int],
    model: type[ReferralFact] | type[RewardFact],
    key: str,
    insert: Callable[[str], str],
    source_key: str,
    days: list[tuple[str, str]],
) -> set[Part]:
    """Replace the facts of these rows; returns the program-days they were and are in."""
    if not ids:
        return set()
    chosen = scratch.put(kind, ids)
    table = model._meta.db_table
    distinct = " UNION ".join(
        f"SELECT DISTINCT {columns} FROM {table} WHERE {chosen.has(key)}{extra}"  # noqa: S608
        for columns, extra in days
    )
    parts = set(db.rows(distinct))  # the days they were in
    db.run(f"DELETE FROM {table} WHERE {chosen.has(key)}")  # noqa: S608
    db.run(insert(chosen.has(source_key)))
    parts.update(db.rows(distinct))  # and are in now
    return {(w, p, db.as_date(d)) for w, p, d in parts}
