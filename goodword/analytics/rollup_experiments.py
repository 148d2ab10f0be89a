"""Keep the experiment's rollups up to date: the bought facts (BoughtFact), the purchases that
count for the holdout lift (`experiments._bought`), per referral; and the experiment days
(ExperimentDay), the variants' revenue and reward cost per day their friends came.

Whether a friend's purchase counts depends on the referral (its first touch, advocate and
whether it is a self-referral), on every purchase of the friend (one before the first touch
makes them an existing customer), on the refunds of its order, on the emails of the friend
and of the advocate, and on the program's attribution window. So the unit recomputed is the
referral: every referral that changed, whose friend bought or was refunded, whose friend or
advocate is a participant who changed, or of a program whose window changed has its facts
computed again from its rows, in SQL, set-wise. A purchase comes with no domain event: its
friend is found among the customers of the new events (`people.of_events`); a window change
is found by comparing each program's window with the one its facts were computed with
(BoughtWindow), so it needs no event either. The days are summed again from the referral and
reward facts for the days the changed referrals and the changed rewards' referrals came. As
in `rollups`, nothing is adjusted by a difference.
"""

from __future__ import annotations

from datetime import date

from django.db import connection

from goodword.analytics import queries, scratch
from goodword.analytics import rollup_db as db
from goodword.analytics.models import (
    BoughtFact,
    BoughtWindow,
    ExperimentDay,
    ExperimentTotal,
    ReferralFact,
    RewardFact,
)
from goodword.analytics.rollup_sql import least
from goodword.decisions.experiments import HOLDOUT
from goodword.ingest.models import Event
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import Program
from goodword.referrals.models import Referral
from goodword.rewards.models import Reward

MODELS = (BoughtFact, BoughtWindow, ExperimentDay, ExperimentTotal)
Part = tuple[int, int | None, date]  # workspace, program, day
FACTS, WINDOWS, DAYS, TOTALS = (m._meta.db_table for m in MODELS)
REFERRAL_FACTS, REWARD_FACTS = ReferralFact._meta.db_table, RewardFact._meta.db_table
REWARDS = Reward._meta.db_table
# Reward statuses whose value is a cost (queries.COST_GROUPS).
COSTS = ", ".join(f"'{s.value}'" for s in queries.LIVE_REWARDS)
EVENTS, PROGRAMS = Event._meta.db_table, Program._meta.db_table
REFERRALS, ADVOCATES = Referral._meta.db_table, Advocate._meta.db_table
PEOPLE = Participant._meta.db_table
# The holdout lift's groups: the holdout, and every other variant ("").
ARM = f"CASE WHEN variant = '{HOLDOUT}' THEN '{HOLDOUT}' ELSE '' END"
# The first touch: the click, else the referral's start.
FIRST = "COALESCE(r.clicked_at, r.created_at)"


def bought_facts(where: str) -> str:
    """INSERT the bought facts of the referrals matching `where` (on `r`): `_bought`'s rule
    written set-wise: the friend's live purchase events (by external id in the workspace),
    test ones neither counted nor making an existing customer; refunds are
    `queries.refunded`'s (live ones)."""
    refunds = (
        f"(SELECT SUM(COALESCE(x.amount, e.amount)) FROM {EVENTS} x"  # noqa: S608 - a table
        " WHERE x.workspace_id = e.workspace_id AND x.type = 'refund' AND NOT x.test"
        " AND x.order_id = e.order_id AND x.customer_external_id = e.customer_external_id)"
    )
    if connection.vendor == "postgresql":
        # Whole days of 24 hours, as Python's timedelta(days=...): no calendar, no DST.
        window = f"e.occurred_at <= {FIRST} + p.attribution_days * INTERVAL '24 hours'"
    else:  # in exact microseconds: SQLite's datetime() drops them
        window = (
            f"django_timestamp_diff(e.occurred_at, {FIRST}) <= p.attribution_days * 86400000000"
        )
    return f"""INSERT INTO {FACTS} (referral_id, event_id, workspace_id, program_id, advocate_id,
  variant, at, prev_at, currency, net)
SELECT referral_id, event_id, workspace_id, program_id, advocate_id, variant, at,
  LAG(at) OVER (PARTITION BY referral_id ORDER BY at, event_id), currency, net
FROM (SELECT r.id AS referral_id, e.id AS event_id, r.workspace_id, r.program_id, r.advocate_id,
  a.variant, e.occurred_at AS at, e.currency,
  CASE WHEN e.amount IS NULL THEN NULL
    ELSE e.amount - {least(f"COALESCE({refunds}, 0)", "e.amount")} END AS net
FROM {REFERRALS} r
JOIN {ADVOCATES} a ON a.id = r.advocate_id
JOIN {PEOPLE} ap ON ap.id = a.participant_id
JOIN {PEOPLE} f ON f.id = r.referee_id
JOIN {PROGRAMS} p ON p.id = r.program_id
JOIN {EVENTS} e ON e.workspace_id = r.workspace_id AND e.customer_external_id = f.external_id
  AND e.type = 'purchase' AND NOT e.test
WHERE NOT r.test AND a.variant <> '' AND r.reject_reason <> 'self_referral'
  AND r.referee_id <> a.participant_id
  AND (f.email_normalized <> ap.email_normalized OR f.email_normalized = '')
  AND e.occurred_at >= {FIRST} AND {window}
  AND NOT EXISTS (SELECT 1 FROM {EVENTS} b WHERE b.workspace_id = r.workspace_id
    AND b.customer_external_id = f.external_id AND b.type = 'purchase' AND NOT b.test
    AND b.occurred_at < {FIRST})
  AND ({where})) c"""  # noqa: S608 - tables and fixed conditions


def experiment_days(where: str) -> str:
    """INSERT the experiment days of the referral facts `f` matching `where`: the friends'
    live converting orders (queries.revenue_by) and their referrals' rewards that are a cost
    (`experiments._cost`: the reward's program the referral's), per currency."""
    return f"""INSERT INTO {DAYS} (workspace_id, program_id, day, variant, currency, orders,
  revenue, rewards, cost)
SELECT workspace_id, program_id, day, variant, currency, SUM(orders), SUM(revenue),
  SUM(rewards), SUM(cost)
FROM (
  SELECT f.workspace_id, f.program_id, f.created_on AS day, f.variant, f.currency, 1 AS orders,
    f.amount - f.refunded AS revenue, 0 AS rewards, 0 AS cost
  FROM {REFERRAL_FACTS} f
  WHERE f.came AND f.variant <> '' AND f.live AND f.amount IS NOT NULL AND f.currency <> ''
    AND ({where})
  UNION ALL
  SELECT f.workspace_id, f.program_id, f.created_on, f.variant, x.currency, 0, 0, 1, x.amount
  FROM {REFERRAL_FACTS} f JOIN {REWARDS} w ON w.referral_id = f.referral_id
  JOIN {REWARD_FACTS} x ON x.reward_id = w.id
  WHERE f.came AND f.variant <> '' AND x.program_id = f.program_id
    AND x.status IN ({COSTS}) AND x.currency <> '{queries.POINTS}' AND ({where})
) y GROUP BY workspace_id, program_id, day, variant, currency"""  # noqa: S608 - tables, fixed conditions


def advocate_totals(facts: str, bought: str) -> str:
    """INSERT the experiment totals (ExperimentTotal) of the referral facts matching `facts`
    and the bought facts matching `bought`: per advocate, what `rolled_experiments` reads of
    each over all history."""
    return f"""INSERT INTO {TOTALS} (workspace_id, program_id, advocate_id, kind, variant, currency,
  value)
SELECT workspace_id, program_id, advocate_id, 'friends', variant, '', COUNT(*)
FROM {REFERRAL_FACTS} WHERE came AND variant <> '' AND live AND ({facts})
GROUP BY workspace_id, program_id, advocate_id, variant
UNION ALL
SELECT workspace_id, program_id, advocate_id, 'customers', {ARM}, '',
  SUM(CASE WHEN prev_at IS NULL THEN 1 ELSE 0 END)
FROM {FACTS} WHERE ({bought}) GROUP BY workspace_id, program_id, advocate_id, {ARM}
UNION ALL
SELECT workspace_id, program_id, advocate_id, 'revenue', {ARM}, currency, SUM(net)
FROM {FACTS} WHERE net IS NOT NULL AND currency <> '' AND ({bought})
GROUP BY workspace_id, program_id, advocate_id, {ARM}, currency"""  # noqa: S608 - tables and fixed conditions


def rebuild() -> None:
    """Every fact and day from scratch (the tables were emptied), and every program's window:
    after the referral and reward facts."""
    db.run(bought_facts("1 = 1"))
    db.run(experiment_days("1 = 1"))
    db.run(advocate_totals("1 = 1", "1 = 1"))
    db.run(f"INSERT INTO {WINDOWS} (program_id, days) SELECT id, attribution_days FROM {PROGRAMS}")  # noqa: S608


def update(referrals: set[int], rewards: set[int], participants: set[int], days: set[Part]) -> int:
    """Recompute the bought facts of these referrals, of the referrals these participants are
    the friend or the advocate of, and of every referral of a program whose window changed;
    and the experiment days of these program-days (the changed referral facts') and of these
    rewards' referrals (after the referral and reward facts). Returns how many referrals.

    `participants` must hold the customers of the new events (`people.of_events`): the friends
    of the purchases that changed (new, or of an order refunded since: the refund's customer
    is the purchase's) are among them, so their referrals are found as friends' referrals."""
    _days(days | _reward_days(rewards))
    ids = set(referrals)
    if participants:
        ids |= _ids(_of_participants(scratch.put("participants", participants)))
    windows = _windows_changed()
    for program, had, window in windows:
        # Recorded as read before the facts are computed: a window changed meanwhile differs
        # from it, and the next refresh computes them again.
        BoughtWindow.objects.update_or_create(program_id=program, defaults={"days": window})
        if had is None:  # a new program: the window of its first facts, computed now
            continue
        BoughtFact.objects.filter(program_id=program).delete()
        db.run(bought_facts(f"r.program_id = {int(program)}"))
        _totals(f"program_id = {int(program)}", f"program_id = {int(program)}")
    changed = [program for program, had, _ in windows if had is not None]
    if changed and ids:  # their every referral's facts were computed just now
        programs = ", ".join(str(int(program)) for program in changed)
        ids -= _ids(f"SELECT id FROM {REFERRALS} WHERE program_id IN ({programs})")  # noqa: S608
    if ids:
        chosen = scratch.put("bought", ids)
        db.run(f"DELETE FROM {FACTS} WHERE {chosen.has('referral_id')}")  # noqa: S608
        db.run(bought_facts(chosen.has("r.id")))
        _totals_of(chosen)
    return len(ids)


def _totals_of(referrals: scratch.Ids) -> None:
    """Sum again the experiment totals of the advocates of these referrals (their referral
    and bought facts are new); a referral's advocate is set when it is made."""
    advocates = _ids(f"SELECT DISTINCT advocate_id FROM {REFERRALS} WHERE {referrals.has('id')}")  # noqa: S608
    if advocates:
        among = _among(scratch.put("experiment_advocates", advocates).select)
        of_referrals = f"SELECT id FROM {REFERRALS} WHERE advocate_id {among}"  # noqa: S608
        _totals(f"advocate_id {among}", f"referral_id {_among(of_referrals)}")


def _among(select: str) -> str:
    """A condition: a column is one of the ids `select` selects. An array on PostgreSQL, read
    by an index per id: a day's advocates are spread over every id, and as `IN` it read whole
    tables of facts (1.7 s for 1,000 advocates at a million referrals, 0.3 as an array)."""
    if connection.vendor == "postgresql":
        return f"= ANY(ARRAY({select}))"
    return f"IN ({select})"


def _totals(facts: str, bought: str) -> None:
    """Replace the experiment totals of the advocates whose facts match `facts` (referral
    facts) and `bought` (bought facts): every fact of each of them."""
    db.run(f"DELETE FROM {TOTALS} WHERE {facts}")  # noqa: S608 - a table, fixed conditions
    db.run(advocate_totals(facts, bought))


def _reward_days(rewards: set[int]) -> set[Part]:
    """The program-days of the referrals of these rewards (the day each friend came)."""
    if not rewards:
        return set()
    chosen = scratch.put("rewards", rewards)
    rows = db.rows(
        f"""SELECT DISTINCT f.workspace_id, f.program_id, f.created_on FROM {REWARDS} w
JOIN {REFERRAL_FACTS} f ON f.referral_id = w.referral_id WHERE {chosen.has("w.id")}"""  # noqa: S608 - tables
    )
    return {(int(w), int(p), db.as_date(d)) for w, p, d in rows}


def _days(days: set[Part]) -> None:
    """Sum again the experiment days of these program-days (a program's: none is None)."""
    parts = {(w, p, d) for w, p, d in days if p is not None}
    if not parts:
        return
    db.run(f"DELETE FROM {DAYS} WHERE {scratch.days_in(parts, 'day')}")  # noqa: S608
    where = scratch.days_in(
        parts, "f.created_on", workspace="f.workspace_id", program="f.program_id"
    )
    db.run(experiment_days(where))


def _of_participants(people: scratch.Ids) -> str:
    """The referrals (of advocates in an experiment) these participants are the friend or the
    advocate of: an email changed makes or unmakes a self-referral."""
    # A union, not an OR across the two tables: each side reads its own index.
    return f"""SELECT r.id FROM {REFERRALS} r JOIN {ADVOCATES} a ON a.id = r.advocate_id
WHERE a.variant <> '' AND {people.has("r.referee_id")}
UNION SELECT r.id FROM {ADVOCATES} a JOIN {REFERRALS} r ON r.advocate_id = a.id
WHERE a.variant <> '' AND {people.has("a.participant_id")}"""  # noqa: S608 - tables, integers


def _windows_changed() -> list[tuple[int, int | None, int]]:
    """The programs whose window is not the one their facts were computed with: that one
    (None for a program with no window yet) and the window now. A program's referrals get
    bought facts only from a rebuild, which records every program's window, or from a refresh,
    which records it when it first sees the program: so a program with none has no facts
    yet, and its first ones are computed with its window now, which need not be computed
    again (a new program's day of referrals took 5 s more at a million referrals)."""
    rows = db.rows(
        f"""SELECT p.id, w.days, p.attribution_days FROM {PROGRAMS} p
LEFT JOIN {WINDOWS} w ON w.program_id = p.id
WHERE w.program_id IS NULL OR w.days <> p.attribution_days"""  # noqa: S608 - tables
    )
    return [(int(p), None if had is None else int(had), int(now)) for p, had, now in rows]


def _ids(statement: str) -> set[int]:
    return {int(row[0]) for row in db.rows(statement)}
