"""Keep the attribution rollups (AttributionFact, AttributionDay) up to date.

First-touch credit is each conversion's referral advocate's, so its daily sums are computed
again from the referral facts for the conversion days they were or are in (after them). The
other models move credit only for the conversions another advocate touched by then: those are
recomputed per referral, in Python with the same code as the raw computation (`touches`), when
the referral changed or an event with a touch came for its friend (such an event changes the
credits and writes no domain event for the referral). One set of queries for all the
referrals (stored in `scratch`), whatever their number of touches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from goodword.analytics import rollup_db as db
from goodword.analytics import scratch, touches
from goodword.analytics.models import AttributionDay, AttributionFact, ReferralFact
from goodword.events.models import DomainEvent
from goodword.ingest.models import Event
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import Program
from goodword.referrals.models import Referral

CHUNK = 500
MODELS = (AttributionFact, AttributionDay)
Part = tuple[int, int | None, date]  # workspace, program, day


def rebuild() -> None:
    """Every fact and day from scratch, after the referral facts."""
    db.run(_days_sql("1 = 1"))
    _facts(Referral.objects.filter(test=False, converted_at__isnull=False))


def update(referrals: set[int], days: set[Part]) -> None:
    """Recompute the facts of these referrals, and the days of these program-days (after
    the referral facts)."""
    if referrals:
        chosen = scratch.put("attributed", referrals)
        db.run(f"DELETE FROM {AttributionFact._meta.db_table} WHERE {chosen.has('referral_id')}")  # noqa: S608
        stored = RawSQL(chosen.select, [])  # noqa: S611 - a fixed statement
        _facts(
            Referral.objects.filter(
                pk__range=(chosen.low, chosen.high), pk__in=stored, test=False,
                converted_at__isnull=False,
            )
        )  # fmt: skip
    parts = {(w, p, d) for w, p, d in days if p is not None}
    if parts:
        on = scratch.days_in(parts, "day")
        db.run(f"DELETE FROM {AttributionDay._meta.db_table} WHERE {on}")  # noqa: S608
        db.run(_days_sql(scratch.days_in(parts, "converted_on")))


def changed(named: QuerySet[DomainEvent], since: int, top: int) -> set[int]:
    """The converted referrals whose credits these domain events and the events with ids in
    (since, top] may have changed, though they name no referral: those whose friend got an
    event with a touch, and every one of a program whose attribution window changed."""
    windows = set()
    for subject, data in named.filter(name="program.updated").values_list("subject_id", "data"):
        fields = data.get("fields", []) if isinstance(data, dict) else []
        if "attribution_days" in fields or "config" in fields:
            windows.add(subject)
    programs = Program.objects.filter(public_id__in=windows)
    return _touched(since, top) | set(
        Referral.objects.filter(program__in=programs, converted_at__isnull=False).values_list(
            "pk", flat=True
        )
    )


def _touched(since: int, top: int) -> set[int]:
    """The converted referrals whose friend got an event with a touch of an advocate of the
    referral's program among the events with ids in (since, top]."""
    events, advocates = Event._meta.db_table, Advocate._meta.db_table
    friends, referrals = Participant._meta.db_table, Referral._meta.db_table
    rows = db.rows(
        f"""SELECT DISTINCT r.id FROM {events} e
JOIN {advocates} a ON a.id = e.advocate_id
JOIN {friends} f ON f.workspace_id = e.workspace_id AND f.external_id = e.customer_external_id
JOIN {referrals} r ON r.workspace_id = e.workspace_id AND r.referee_id = f.id
  AND r.program_id = a.program_id
WHERE e.id > %s AND e.id <= %s AND e.touched_at IS NOT NULL
  AND r.converted_at IS NOT NULL""",  # noqa: S608 - table names
        [int(since), int(top)],
    )
    return {int(row[0]) for row in rows}


def _facts(conversions: QuerySet[Referral]) -> None:
    """INSERT the facts of the multi-touch conversions among `conversions`."""
    found = touches.candidates(conversions)
    net = touches.net_by_referral(conversions, [c.pk for c in found])
    by_workspace: dict[int, list[touches.Conversion]] = defaultdict(list)
    for c in found:
        by_workspace[c.workspace].append(c)
    rows: list[AttributionFact] = []
    for workspace, some in by_workspace.items():
        seen = touches.touches_of(workspace, some)
        for c in some:
            counted = touches.others(c, seen)
            if counted:
                rows.extend(_rows_of(c, counted, net.get(c.pk, {})))
    # A period's facts of one model stored together: a page reads them from a few blocks.
    rows.sort(key=lambda f: (f.workspace_id, f.model, f.day, f.referral_id))
    AttributionFact.objects.bulk_create(rows, batch_size=CHUNK)


def _rows_of(
    c: touches.Conversion, counted: list[touches.Touch], net: dict[str, int]
) -> Iterable[AttributionFact]:
    people = [c.advocate, *sorted({t.advocate for t in counted} - {c.advocate})]
    (currency, amount), *_ = [*net.items(), ("", 0)]
    for model in touches.MODELS:
        mine = touches.shares_of(model, c, counted)
        parts = touches.split(amount, mine) if currency else {}
        for advocate in people:
            locked = advocate == c.advocate
            yield AttributionFact(
                referral_id=c.pk, workspace_id=c.workspace, program_id=c.program,
                advocate_id=advocate, model=model, day=touches.day_of(c.converted_at),
                live=c.live, locked=locked, share=mine.get(advocate), currency=currency,
                revenue=parts.get(advocate, 0) - (amount if locked else 0),
            )  # fmt: skip


def _days_sql(where: str) -> str:
    """INSERT the first-touch daily sums of the referral facts matching `where`."""
    days, facts = AttributionDay._meta.db_table, ReferralFact._meta.db_table
    return f"""INSERT INTO {days} (workspace_id, program_id, advocate_id, day, currency,
  converted, orders, revenue)
SELECT workspace_id, program_id, advocate_id, converted_on, currency,
  SUM(CASE WHEN live THEN 1 ELSE 0 END), SUM(CASE WHEN amount IS NULL THEN 0 ELSE 1 END),
  COALESCE(SUM(amount - refunded), 0)
FROM {facts} WHERE converted_on IS NOT NULL AND ({where})
GROUP BY workspace_id, program_id, advocate_id, converted_on, currency
ORDER BY workspace_id, converted_on"""  # noqa: S608 - a period's rows stored together
