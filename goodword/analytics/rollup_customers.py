"""Keep the customer rollups (cohorts, customer value, new customers) up to date.

A customer's start and what counts of their purchases depend on all of their purchases and
referrals, so the unit recomputed is the customer: every customer who bought, was refunded,
converted or changed has their facts computed again from their rows (after the purchase and
referral facts), and every start day (cohorts) or first-purchase day (new customers) they were
or are in has its sums computed again from the facts. As in `rollups`, nothing is adjusted by a
difference.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from goodword.analytics import rollup_db as db
from goodword.analytics import rollup_sql as sql
from goodword.analytics import scratch
from goodword.analytics.models import (
    CohortDay,
    CustomerFact,
    NewCustomerDay,
    NewCustomerFact,
    PurchaseFact,
)
from goodword.participants.models import Participant
from goodword.referrals.models import Referral

MODELS = (CustomerFact, CohortDay, NewCustomerFact, NewCustomerDay)
PEOPLE, REFERRALS = Participant._meta.db_table, Referral._meta.db_table


def rebuild() -> None:
    """Every fact and day from scratch, after the purchase and referral facts."""
    db.run(sql.customer_facts("1 = 1"))
    db.run(sql.cohort_days("1 = 1"))
    db.run(sql.new_customer_facts("1 = 1"))
    db.run(sql.new_customer_days("1 = 1"))


def update(participants: set[int], referrals: set[int]) -> int:
    """Recompute the facts of these participants and of the friends of these referrals, and
    the days they touch; returns how many customers."""
    people = set(participants)
    if referrals:
        chosen = scratch.put("referrals", referrals)
        people.update(_ids(f"SELECT referee_id FROM {REFERRALS} WHERE {chosen.has('id')}"))  # noqa: S608
    if people:
        chosen = scratch.put("customers", people)
        _cohorts(chosen)
        _new_customers(chosen)
    return len(people)


def _cohorts(people: scratch.Ids) -> None:
    """Recompute the facts of these participants as customers, and the start days they were
    and are in."""
    facts = CustomerFact._meta.db_table
    if connection.vendor == "postgresql":
        customers = f"SELECT workspace_id, external_id FROM {PEOPLE} WHERE {people.has('id')}"  # noqa: S608
        chosen = mine = f"(workspace_id, customer) IN ({customers})"
    else:
        # SQLite reads a pair IN a subquery from the whole table (or its index by workspace,
        # all of one workspace): 5 s at a million referrals. Joined from the participants,
        # each customer's rows are looked up.
        chosen = _of_people(PurchaseFact._meta.db_table, "event_id", people)
        mine = _of_people(facts, "id", people)
    delete, insert = f"DELETE FROM {facts} WHERE {mine}", sql.customer_facts(chosen)  # noqa: S608
    days: set[tuple[Any, ...]] = set()
    if connection.vendor == "postgresql":
        # The start days the facts were and are in, from the rows deleted and inserted: each
        # look-up of the customers' facts is one more read of them (a second at a million).
        for statement in (delete, insert):
            returned = f"WITH x AS ({statement} RETURNING workspace_id, start_on)"
            days.update(db.rows(f"{returned} SELECT DISTINCT workspace_id, start_on FROM x"))  # noqa: S608
    else:
        starts = f"SELECT DISTINCT workspace_id, start_on FROM {facts} WHERE {mine}"  # noqa: S608
        days.update(db.rows(starts))
        db.run(delete)
        db.run(insert)
        days.update(db.rows(starts))
    if days:
        on = scratch.days_in({(w, None, db.as_date(d)) for w, d in days}, "start_on", program=None)
        db.run(f"DELETE FROM {CohortDay._meta.db_table} WHERE {on}")  # noqa: S608
        db.run(sql.cohort_days(on))


def _of_people(table: str, key: str, people: scratch.Ids) -> str:
    """A condition: `key` is that of a row of `table` (by workspace and customer) of one of
    these participants."""
    return f"""{key} IN (SELECT x.{key} FROM {PEOPLE} p JOIN {table} x
  ON x.workspace_id = p.workspace_id AND x.customer = p.external_id WHERE {people.has("p.id")})"""  # noqa: S608


def _new_customers(people: scratch.Ids) -> None:
    """Recompute the new-customer facts of these participants, and the days they were and
    are in."""
    facts = NewCustomerFact._meta.db_table
    where = f"SELECT DISTINCT workspace_id, day FROM {facts} WHERE {people.has('participant_id')}"  # noqa: S608
    days = set(db.rows(where))
    db.run(f"DELETE FROM {facts} WHERE {people.has('participant_id')}")  # noqa: S608
    db.run(sql.new_customer_facts(people.has("p.id")))
    days.update(db.rows(where))
    if days:
        on = scratch.days_in({(w, None, db.as_date(d)) for w, d in days}, "day", program=None)
        db.run(f"DELETE FROM {NewCustomerDay._meta.db_table} WHERE {on}")  # noqa: S608
        db.run(sql.new_customer_days(on))


def _ids(statement: str) -> set[int]:
    return {int(row[0]) for row in db.rows(statement)}
