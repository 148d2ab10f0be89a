"""Keep the customer rollups (cohorts, customer value, new customers) up to date.

A customer's start and what counts of their purchases depend on all of their purchases and
referrals, so the unit recomputed is the customer: every customer who bought, was refunded,
converted or changed has their facts computed again from their rows (after the purchase and
referral facts), and every start day (cohorts) or first-purchase day (new customers) they were
or are in has its sums computed again from the facts. As in `rollups`, nothing is adjusted by a
difference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.db import connection

from goodword.analytics import rollup_sql as sql
from goodword.analytics.models import CohortDay, CustomerFact, NewCustomerDay, NewCustomerFact
from goodword.participants.models import Participant
from goodword.referrals.models import Referral

CHUNK = 5_000
MODELS = (CustomerFact, CohortDay, NewCustomerFact, NewCustomerDay)


def rebuild() -> None:
    """Every fact and day from scratch, after the purchase and referral facts."""
    _run(sql.customer_facts("1 = 1"))
    _run(sql.cohort_days("1 = 1"))
    _run(sql.new_customer_facts("1 = 1"))
    _run(sql.new_customer_days("1 = 1"))


def update(participants: set[int], referrals: set[int]) -> int:
    """Recompute the facts of these participants and of the friends of these referrals, and
    the days they touch; returns how many customers."""
    people = set(participants)
    for chunk in _chunks(sorted(referrals)):
        people.update(Referral.objects.filter(pk__in=chunk).values_list("referee_id", flat=True))
    customers: dict[int, set[str]] = defaultdict(set)
    for chunk in _chunks(sorted(people)):
        for workspace, external_id in Participant.objects.filter(pk__in=chunk).values_list(
            "workspace_id", "external_id"
        ):
            customers[workspace].add(external_id)
    for workspace, names in customers.items():
        _cohorts(workspace, sorted(names))
    _new_customers(people)
    return len(people)


def _cohorts(workspace: int, customers: list[str]) -> None:
    starts: set[date] = set()
    for some in _chunks(customers):
        facts = CustomerFact.objects.filter(workspace_id=workspace, customer__in=some)
        starts.update(facts.values_list("start_on", flat=True).distinct())
        facts.delete()
        marks = ", ".join(["%s"] * len(some))
        _run(sql.customer_facts(f"workspace_id = %s AND customer IN ({marks})"), [workspace, *some])
        starts.update(facts.values_list("start_on", flat=True).distinct())
    for days in _chunks(sorted(_as_date(d) for d in starts)):
        CohortDay.objects.filter(workspace_id=workspace, start_on__in=days).delete()
        _run(sql.cohort_days(_on("start_on", days)), [workspace, *_dates(days)])


def _new_customers(people: set[int]) -> None:
    days: set[tuple[int, date]] = set()
    for chunk in _chunks(sorted(people)):
        facts = NewCustomerFact.objects.filter(participant_id__in=chunk)
        days.update(facts.values_list("workspace_id", "day").distinct())
        facts.delete()
        _run(sql.new_customer_facts(f"p.id IN ({', '.join(str(int(i)) for i in chunk)})"))
        days.update(facts.values_list("workspace_id", "day").distinct())
    by_workspace: dict[int, set[date]] = defaultdict(set)
    for workspace, day in days:
        by_workspace[workspace].add(_as_date(day))
    for workspace, chosen in by_workspace.items():
        for some in _chunks(sorted(chosen)):
            NewCustomerDay.objects.filter(workspace_id=workspace, day__in=some).delete()
            _run(sql.new_customer_days(_on("day", some)), [workspace, *_dates(some)])


def _on(column: str, days: Sequence[date]) -> str:
    return f"workspace_id = %s AND {column} IN ({', '.join(['%s'] * len(days))})"


def _dates(days: Sequence[date]) -> list[Any]:
    return [connection.ops.adapt_datefield_value(d) for d in days]


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _run(statement: str, params: Sequence[Any] = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return max(int(cursor.rowcount), 0)


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for at in range(0, len(items), CHUNK):
        yield items[at : at + CHUNK]
