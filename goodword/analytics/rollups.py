"""Keep the rollups (goodword.analytics.models) up to date from what changed.

A refresh reads the domain events, ingested events and clicks written since the last one:
- the referrals, rewards and advocates they name get their facts recomputed from their rows
  (the SQL in `rollup_sql`, the definitions of `queries` written set-wise);
- the program-days those facts were in, before and after, get their daily sums recomputed
  from the facts; clicks' program-days from the clicks.
Everything is recomputed, never adjusted by a difference, so running a refresh twice, or over
rows it has already seen, changes nothing: that is what lets it read again the rows near the
end that a slower transaction may still be adding to (RollupState).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from goodword.analytics import rollup_attribution as attribution
from goodword.analytics import rollup_customers as customers
from goodword.analytics import rollup_people as people
from goodword.analytics import rollup_sql as sql
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
from goodword.referrals.models import Click, Referral
from goodword.rewards.models import Reward

# Rows are read again until a refresh this much later has seen them (RollupState).
LAG = timedelta(seconds=30)
CHUNK = 5_000
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


SOURCES = ("domain_events", "events", "clicks")
ROLLUPS = (
    ReferralFact, ReferralDay, StatusDay, ClickDay, RewardFact, RewardDay, AdvocateDay,
    AdvocateFact, PurchaseFact, TookDay, ParticipantFact, ParticipantDay, EnrolledDay,
    *customers.MODELS, *attribution.MODELS,
)  # fmt: skip


def _tops() -> dict[str, int]:
    """The highest id of each source, in one query (every read of the numbers asks)."""
    tables = (DomainEvent, Event, Click)
    columns = ", ".join(f"(SELECT MAX(id) FROM {m._meta.db_table})" for m in tables)  # noqa: S608
    top = _rows(f"SELECT {columns}")[0]
    return {source: int(n or 0) for source, n in zip(SOURCES, top, strict=True)}


def refresh() -> dict[str, int]:
    """Bring the rollups up to date, reading again the rows of the last `LAG` (the
    scheduler's sweep); returns how many referrals, rewards and days it recomputed."""
    with transaction.atomic():
        state, _ = RollupState.objects.select_for_update().get_or_create(pk=1)
        now = timezone.now()
        tops = _tops()
        changed = _changed({s: getattr(state, f"{s}_done") for s in SOURCES}, tops)
        _update(changed)
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
        _update(_changed(since, tops))
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
        counts = {
            "referrals": _run(sql.referral_facts("1 = 1")),
            "rewards": _run(sql.reward_facts("1 = 1")),
        }
        # The daily sums: how many rows, not program-days (a refresh counts those).
        days = sum(_run(statement) for statement in sql.referral_days("1 = 1", "1 = 1"))
        days += _run(sql.status_days("1 = 1")) + _run(sql.reward_days("1 = 1"))
        days += _run(sql.took_days("1 = 1"))
        days += _run(sql.click_days("1 = 1"))
        days += _run(sql.advocate_days("1 = 1", "1 = 1", "1 = 1"))
        _run(sql.advocate_facts("1 = 1"))
        _run(sql.purchase_facts("1 = 1"))
        # The statements below join the facts just written: without their statistics
        # PostgreSQL planned nested loops, and a rebuild of 400 referrals took 150 s.
        for model in (ReferralFact, RewardFact, AdvocateFact, AdvocateDay, PurchaseFact):
            _run(f"ANALYZE {model._meta.db_table}")
        people.rebuild()
        customers.rebuild()
        attribution.rebuild()
        counts["rows"] = days
        RollupState.objects.filter(pk=1).update(
            **{f"{s}_{mark}": n for s, n in top.items() for mark in ("done", "seen", "read")},
            seen_at=timezone.now(),
        )
        # The planner's statistics of tables just refilled: stale ones chose plans that ran
        # for minutes on a seeded history.
        for model in ROLLUPS:
            _run(f"ANALYZE {model._meta.db_table}")
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # And their visibility maps: until a VACUUM, PostgreSQL's index-only reads (sharing,
        # the leaderboard) visit every row's page; 28 -> 90 ms at 100,000 referrals. VACUUM
        # cannot run in a transaction (nor, so, inside a test's).
        for model in ROLLUPS:
            _run(f"VACUUM {model._meta.db_table}")
    return counts


def _run(statement: str, params: Sequence[Any] = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return max(int(cursor.rowcount), 0)


def _rows(statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall())


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
    clicks = Click.objects.filter(pk__gt=since["clicks"], pk__lte=tops["clicks"])
    return Changed(
        referrals=set(refs.values_list("pk", flat=True))
        | set(refunded.values_list("pk", flat=True)),
        rewards=set(rewards.values_list("pk", flat=True)),
        advocates=set(advocates.values_list("pk", flat=True))
        | set(updated.values_list("pk", flat=True))
        | {int(row[0]) for row in _rows(sql.advocates_attributed(since["events"], tops["events"]))},
        purchases={
            int(row[0]) for row in _rows(sql.purchases_changed(since["events"], tops["events"]))
        },
        participants=set(
            Participant.objects.filter(
                public_id__in=named.filter(subject_id__startswith="par_").values("subject_id")
            ).values_list("pk", flat=True)
        )
        | people.of_events(since["events"], tops["events"]),
        touched=attribution.changed(named, since["events"], tops["events"]),
        click_days=set(
            clicks.annotate(day=TruncDate("created_at", tzinfo=UTC))
            .values_list("workspace_id", "program_id", "day")
            .distinct()
        ),
    )


def _update(changed: Changed) -> None:
    referral_days = _refacts(
        changed.referrals, ReferralFact, "referral_id", sql.referral_facts, "r.id",
        [("workspace_id, program_id, created_on", ""),
         ("workspace_id, program_id, converted_on", " AND converted_on IS NOT NULL")],
    )  # fmt: skip
    reward_days = _refacts(
        changed.rewards, RewardFact, "reward_id", sql.reward_facts, "w.id",
        [("workspace_id, program_id, day", "")],
    )  # fmt: skip
    for (w, p), days in _by_program(referral_days).items():
        for some in _chunks(sorted(days)):
            _days(ReferralDay, w, p, some).delete()
            _days(StatusDay, w, p, some).delete()
            _days(TookDay, w, p, some).delete()
            came, params = _where(w, p, "created_on", some)
            converted, _ = _where(w, p, "converted_on", some)
            for statement in sql.referral_days(came, converted):
                _run(statement, params)
            _run(sql.status_days(came), params)
            _run(sql.took_days(converted), params)
    for (w, p), days in _by_program(reward_days).items():
        for some in _chunks(sorted(days)):
            _days(RewardDay, w, p, some).delete()
            _run(sql.reward_days(_where(w, p, "day", some)[0]), _where(w, p, "day", some)[1])
    for (w, p), days in _by_program(changed.click_days).items():
        for some in _chunks(sorted(days)):
            _days(ClickDay, w, p, some).delete()
            within, params = _clicks_on(w, p, some)
            _run(sql.click_days(within), params)
    advocates = changed.advocates | _advocate_days(referral_days | changed.click_days)
    persons = people.people(advocates, changed.referrals, changed.participants)
    participation_days = people.touched(persons)  # before their advocates' facts change
    for chunk in _chunks(sorted(advocates)):
        inside = f"({', '.join(str(int(i)) for i in chunk)})"  # ids: integers, no quoting
        AdvocateFact.objects.filter(advocate_id__in=chunk).delete()
        _run(sql.advocate_facts(f"a.id IN {inside}"))
    for chunk in _chunks(sorted(changed.purchases)):
        inside = f"({', '.join(str(int(i)) for i in chunk)})"  # ids: integers, no quoting
        PurchaseFact.objects.filter(event_id__in=chunk).delete()
        _run(sql.purchase_facts(f"e.id IN {inside}"))
    people.update(persons, participation_days)
    customers.update(changed.participants, changed.referrals)
    attribution.update(changed.referrals | changed.touched, referral_days)
    changed.counts = {
        "referrals": len(changed.referrals),
        "rewards": len(changed.rewards),
        "days": len(referral_days) + len(reward_days) + len(changed.click_days),
    }


def _advocate_days(days: set[Part]) -> set[int]:
    """Recompute the advocates' days of these program-days; returns the advocates they had or
    have, whose facts may have changed."""
    advocates: set[int] = set()
    for (w, p), chosen in _by_program(days).items():
        for some in _chunks(sorted(chosen)):
            rows = _days(AdvocateDay, w, p, some)
            advocates.update(rows.values_list("advocate_id", flat=True).distinct())
            rows.delete()
            clicks, click_params = _clicks_on(w, p, some)
            came, params = _where(w, p, "created_on", some)
            converted, _ = _where(w, p, "converted_on", some)
            _run(sql.advocate_days(clicks, came, converted), [*click_params, *params, *params])
            advocates.update(rows.values_list("advocate_id", flat=True).distinct())
    return advocates


def _clicks_on(workspace: int, program: int | None, days: list[date]) -> tuple[str, list[Any]]:
    """A condition on the clicks (`c`) of one program's days, with its parameters."""
    first = datetime.combine(days[0], datetime.min.time(), UTC)
    last = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time(), UTC)
    within, params = _where(workspace, program, sql.day("c.created_at"), days, prefix="c.")
    adapt = connection.ops.adapt_datetimefield_value
    return (
        f"{within} AND c.created_at >= %s AND c.created_at < %s",
        [*params, adapt(first), adapt(last)],
    )


def _refacts(
    ids: set[int],
    model: type[ReferralFact] | type[RewardFact],
    key: str,
    insert: Callable[[str], str],
    source_key: str,
    days: list[tuple[str, str]],
) -> set[Part]:
    """Replace the facts of these rows; returns the program-days they were and are in."""
    parts: set[Part] = set()
    table = model._meta.db_table
    for chunk in _chunks(sorted(ids)):
        inside = f"({', '.join(str(int(i)) for i in chunk)})"  # ids: integers, no quoting
        distinct = " UNION ".join(
            f"SELECT DISTINCT {columns} FROM {table} WHERE {key} IN {inside}{extra}"  # noqa: S608
            for columns, extra in days
        )
        parts.update(_rows(distinct))  # the days they were in
        _run(f"DELETE FROM {table} WHERE {key} IN {inside}")  # noqa: S608 - integers
        _run(insert(f"{source_key} IN {inside}"))
        parts.update(_rows(distinct))  # and are in now
    return {(w, p, _as_date(d)) for w, p, d in parts}


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _where(
    workspace: int, program: int | None, column: str, days: list[date], prefix: str = ""
) -> tuple[str, list[Any]]:
    """A condition on one program's days, with its parameters."""
    adapt = connection.ops.adapt_datefield_value
    program_is = f"{prefix}program_id IS NULL" if program is None else f"{prefix}program_id = %s"
    where = (
        f"{prefix}workspace_id = %s AND {program_is}"
        f" AND {column} IN ({', '.join(['%s'] * len(days))})"
    )
    params = [workspace, *([] if program is None else [program]), *(adapt(d) for d in days)]
    return where, params


def _days(
    model: type[ReferralDay | StatusDay | RewardDay | ClickDay | AdvocateDay | TookDay],
    workspace: int,
    program: int | None,
    days: list[date],
) -> QuerySet[Any]:
    rows = model.objects.filter(workspace_id=workspace, day__in=days)
    return (
        rows.filter(program_id=program)
        if program is not None
        else rows.filter(program_id__isnull=True)
    )


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for at in range(0, len(items), CHUNK):
        yield items[at : at + CHUNK]


def _by_program(days: set[Part]) -> dict[tuple[int, int | None], list[date]]:
    out: dict[tuple[int, int | None], list[date]] = defaultdict(list)
    for w, p, d in days:
        out[(w, p)].append(d)
    return out
