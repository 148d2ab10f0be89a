"""The participation rollups (ParticipantFact, ParticipantDay, EnrolledDay): who Goodword knew,
who advocated and who referred by a day, kept as `rollups` keeps the others: the facts of the
changed participants are recomputed, then the days they were and are in.

A participant is known by the end of a period when first seen before it, or active before it
(`activity._known`). Without a program that is `known_on`, the earlier of `base_on` (created,
first purchase, first referred) and their first advocate's day. With one, only that program's
enrolment counts: known by `end` = known without enrolment by `end` (ParticipantDay.based) plus
the program's advocates enrolled by `end` whose participant was not otherwise known by then
(EnrolledDay.early, +1 when enrolled and -1 when otherwise known, summed to `end`)."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

from django.db import connection

from goodword.analytics import rollup_db as db
from goodword.analytics import scratch
from goodword.analytics.models import AdvocateFact, EnrolledDay, ParticipantDay, ParticipantFact
from goodword.analytics.rollup_sql import day
from goodword.ingest.models import Event
from goodword.participants.models import Advocate, Participant
from goodword.referrals.models import Referral

FACTS, PDAYS, EDAYS = (m._meta.db_table for m in (ParticipantFact, ParticipantDay, EnrolledDay))
ADVOCATES, PEOPLE = AdvocateFact._meta.db_table, Participant._meta.db_table
ADVOCATE_ROWS, REFERRALS = Advocate._meta.db_table, Referral._meta.db_table
WorkspaceDay = tuple[int, date]
ProgramDay = tuple[int, int, date]
# Per participant: their fact's row (first "") and their advocates' rows.
Snapshot = dict[int, tuple[tuple[Any, ...], ...]]


def _least(*values: str) -> str:
    name = "LEAST" if connection.vendor == "postgresql" else "MIN"
    return f"{name}({', '.join(values)})"


def participant_facts(where: str) -> str:
    """INSERT the facts of the participants matching `where` (on `p`), after their advocates'."""
    created = day("p.created_at")
    referred = (
        f"(SELECT MIN(r.created_at) FROM {Referral._meta.db_table} r WHERE r.referee_id = p.id)"
    )
    base = _least(
        created,
        f"COALESCE({day('p.first_purchase_at')}, {created})",
        f"COALESCE({day(referred)}, {created})",
    )
    first = f"(SELECT MIN(af.{{}}) FROM {ADVOCATES} af WHERE af.participant_id = p.id)"
    # Materialized: else both databases write `x` into the outer query, where each of its
    # subqueries runs once per use, six per participant instead of three (SQLite did).
    return f"""WITH x AS MATERIALIZED (SELECT p.id, p.workspace_id, p.test, {base} AS base_on,
  {first.format("first_on")} AS advocate_on, {first.format("came_on")} AS referring_on
  FROM {PEOPLE} p WHERE {where})
INSERT INTO {FACTS} (participant_id, workspace_id, test, base_on, known_on,
  advocate_on, referring_on)
SELECT id, workspace_id, test, base_on, {_least("base_on", "COALESCE(advocate_on, base_on)")},
  advocate_on, referring_on FROM x"""


def participant_days(known: str, based: str, advocate: str, referring: str) -> str:
    """INSERT the workspace-days of the facts matching the conditions on each day column."""
    return f"""INSERT INTO {PDAYS} (workspace_id, day, known, based, advocates, referring)
SELECT workspace_id, day, SUM(known), SUM(based), SUM(advocates), SUM(referring) FROM (
  SELECT workspace_id, known_on AS day, 1 AS known, 0 AS based, 0 AS advocates, 0 AS referring
  FROM {FACTS} WHERE NOT test AND ({known})
  UNION ALL SELECT workspace_id, base_on, 0, 1, 0, 0 FROM {FACTS} WHERE NOT test AND ({based})
  UNION ALL SELECT workspace_id, advocate_on, 0, 0, 1, 0 FROM {FACTS}
  WHERE advocate_on IS NOT NULL AND ({advocate})
  UNION ALL SELECT workspace_id, referring_on, 0, 0, 0, 1 FROM {FACTS}
  WHERE referring_on IS NOT NULL AND ({referring})
) x GROUP BY workspace_id, day"""


def enrolled_days(first: str, came: str, based: str) -> str:
    """INSERT the program-days of the advocate facts (`af`, with their participant's `pf`)
    matching the conditions: on `af.first_on`, `af.came_on` and `pf.base_on`."""
    early = "NOT pf.test AND af.first_on < pf.base_on"
    return f"""INSERT INTO {EDAYS} (workspace_id, program_id, day, variant, enrolled, referring,
  early)
SELECT workspace_id, program_id, day, variant, SUM(enrolled), SUM(referring), SUM(early) FROM (
  SELECT af.workspace_id, af.program_id, af.first_on AS day, af.variant, 1 AS enrolled,
    0 AS referring, CASE WHEN {early} THEN 1 ELSE 0 END AS early
  FROM {ADVOCATES} af LEFT JOIN {FACTS} pf ON pf.participant_id = af.participant_id
  WHERE ({first})
  UNION ALL SELECT af.workspace_id, af.program_id, af.came_on, af.variant, 0, 1, 0
  FROM {ADVOCATES} af WHERE af.came_on IS NOT NULL AND ({came})
  UNION ALL SELECT af.workspace_id, af.program_id, pf.base_on, af.variant, 0, 0, -1
  FROM {ADVOCATES} af JOIN {FACTS} pf ON pf.participant_id = af.participant_id
  WHERE {early} AND ({based})
) x GROUP BY workspace_id, program_id, day, variant"""


def rebuild() -> None:
    """Every fact and day from scratch, after the advocate facts."""
    db.run(participant_facts("1 = 1"))
    db.run(participant_days("1 = 1", "1 = 1", "1 = 1", "1 = 1"))
    db.run(enrolled_days("1 = 1", "1 = 1", "1 = 1"))


def of_events(since: int, top: int) -> set[int]:
    """The participants of the ingested events with ids in (since, top]: created, made live
    or given a first purchase by them."""
    rows = db.rows(
        f"SELECT DISTINCT p.id FROM {PEOPLE} p JOIN {Event._meta.db_table} e"
        " ON e.workspace_id = p.workspace_id AND e.customer_external_id = p.external_id"
        " WHERE e.id > %s AND e.id <= %s",
        [since, top],
    )
    return {int(r[0]) for r in rows}


def people(advocates: set[int], referrals: set[int], participants: set[int]) -> set[int]:
    """The participants whose facts these changes may change: the advocates', the friends'
    (first referred), and those changed themselves."""
    out = set(participants)
    if advocates:
        chosen = scratch.put("advocates", advocates)
        out.update(_ids(f"SELECT participant_id FROM {ADVOCATE_ROWS} WHERE {chosen.has('id')}"))
    if referrals:
        chosen = scratch.put("referrals", referrals)
        out.update(_ids(f"SELECT referee_id FROM {REFERRALS} WHERE {chosen.has('id')}"))
    return out


def touched(participants: set[int]) -> Snapshot:
    """The facts of these participants and of their advocates now, as the rows that place
    them in days: call before and after recomputing them."""
    if not participants:
        return {}
    chosen = scratch.put("people", participants)
    out: dict[int, list[tuple[Any, ...]]] = {}
    for p, *row in db.rows(
        "SELECT participant_id, workspace_id, test, base_on, known_on, advocate_on,"
        f" referring_on FROM {FACTS} WHERE {chosen.has('participant_id')}"
    ):
        out.setdefault(int(p), []).append(("", *row))
    for p, *row in db.rows(
        "SELECT participant_id, advocate_id, workspace_id, program_id, variant, first_on,"
        f" came_on FROM {ADVOCATES} WHERE {chosen.has('participant_id')}"
    ):
        out.setdefault(int(p), []).append(tuple(row))
    return {p: tuple(sorted(rows, key=repr)) for p, rows in out.items()}


def _days(snapshot: Snapshot, chosen: set[int]) -> tuple[set[WorkspaceDay], set[ProgramDay]]:
    """The workspace-days and program-days the chosen participants' facts are in."""
    days: set[WorkspaceDay] = set()
    parts: set[ProgramDay] = set()
    for p in chosen:
        rows = snapshot.get(p, ())
        person = next((row for row in rows if row[0] == ""), None)
        base = person[3] if person is not None else None
        if person is not None:
            days.update((int(person[1]), db.as_date(d)) for d in person[3:] if d is not None)
        for _, w, program, _, *on in (row for row in rows if row[0] != ""):
            parts.update((int(w), int(program), db.as_date(d)) for d in (*on, base) if d)
    return days, parts


def update(participants: set[int], before: Snapshot) -> int:
    """Recompute these participants' facts, then the days of those whose facts or whose
    advocates' facts changed (`before`, from `touched`); returns how many days."""
    if not participants:
        return 0
    chosen = scratch.put("people", participants)
    db.run(f"DELETE FROM {FACTS} WHERE {chosen.has('participant_id')}")
    db.run(participant_facts(chosen.has("p.id")))
    after = touched(participants)
    changed = {p for p in participants if before.get(p) != after.get(p)}
    (days, parts), (now_days, now_parts) = _days(before, changed), _days(after, changed)
    days, parts = days | now_days, parts | now_parts
    if days:
        on = partial(scratch.days_in, {(w, None, d) for w, d in days}, program=None)
        db.run(f"DELETE FROM {PDAYS} WHERE {on('day')}")
        db.run(participant_days(*map(on, ("known_on", "base_on", "advocate_on", "referring_on"))))
    if parts:
        on = partial(scratch.days_in, parts, workspace="af.workspace_id", program="af.program_id")
        db.run(f"DELETE FROM {EDAYS} WHERE {scratch.days_in(parts, 'day')}")
        db.run(enrolled_days(*map(on, ("af.first_on", "af.came_on", "pf.base_on"))))
    return len(days) + len(parts)


def _ids(statement: str) -> set[int]:
    return {int(row[0]) for row in db.rows(statement)}
