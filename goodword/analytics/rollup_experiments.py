"""Keep the experiment's rollups up to date: the bought facts (BoughtFact), the purchases that
count for the holdout lift (`experiments._bought`), per referral; and the experiment days
(ExperimentDay), the variants' revenue and reward cost per day their friends came.

Whether a friend's purchase counts depends on the referral (its first touch, advocate and
whether it is a self-referral), on every purchase of the friend (one before the first touch
makes them an existing customer), on the refunds of its order, on the emails of the friend
and of the advocate, and on the program's attribution window. So the unit recomputed is the
referral: every referral that changed, whose friend bought or was refunded, whose friend or
advocate is a participant who changed, or of a program whose window changed has its facts
computed again from its rows, in SQL, set-wise. A purchase comes with no domain event: it is
found among the new events (`rollup_sql.purchases_changed`); a window change is found by
comparing each program's window with the one its facts were computed with (BoughtWindow), so
it needs no event either. The days are summed again from the referral and reward facts for
the days the changed referrals and the changed rewards' referrals came. As in `rollups`,
nothing is adjusted by a difference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from django.db import connection

from goodword.analytics import queries
from goodword.analytics import rollup_db as db
from goodword.analytics.models import (
    BoughtFact,
    BoughtWindow,
    ExperimentDay,
    ReferralFact,
    RewardFact,
)
from goodword.analytics.rollup_sql import least
from goodword.ingest.models import Event
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import Program
from goodword.referrals.models import Referral
from goodword.rewards.models import Reward

MODELS = (BoughtFact, BoughtWindow, ExperimentDay)
Part = tuple[int, int | None, date]  # workspace, program, day
FACTS, WINDOWS, DAYS = (m._meta.db_table for m in MODELS)
REFERRAL_FACTS, REWARD_FACTS = ReferralFact._meta.db_table, RewardFact._meta.db_table
REWARDS = Reward._meta.db_table
# Reward statuses whose value is a cost (queries.COST_GROUPS).
COSTS = ", ".join(f"'{s.value}'" for s in queries.LIVE_REWARDS)
EVENTS, PROGRAMS = Event._meta.db_table, Program._meta.db_table
REFERRALS, ADVOCATES = Referral._meta.db_table, Advocate._meta.db_table
PEOPLE = Participant._meta.db_table
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


def rebuild() -> None:
    """Every fact and day from scratch (the tables were emptied), and every program's window:
    after the referral and reward facts."""
    db.run(bought_facts("1 = 1"))
    db.run(experiment_days("1 = 1"))
    db.run(f"INSERT INTO {WINDOWS} (program_id, days) SELECT id, attribution_days FROM {PROGRAMS}")  # noqa: S608


def update(
    referrals: set[int],
    rewards: set[int],
    purchases: set[int],
    participants: set[int],
    days: set[Part],
) -> int:
    """Recompute the bought facts of these referrals, of the friends of these purchase events
    (new, or of an order refunded since), of the referrals these participants are the friend
    or the advocate of, and of every referral of a program whose window changed; and the
    experiment days of these program-days (the changed referral facts') and of these rewards'
    referrals (after the referral and reward facts). Returns how many referrals."""
    _days(days | _reward_days(rewards))
    ids = set(referrals)
    for chunk in db.chunks(sorted(purchases)):
        ids.update(_ids(_of_purchases(chunk)))
    for chunk in db.chunks(sorted(participants)):
        ids.update(_ids(_of_participants(chunk)))
    for chunk in db.chunks(sorted(ids)):
        BoughtFact.objects.filter(referral_id__in=chunk).delete()
        db.run(bought_facts(f"r.id IN {_inside(chunk)}"))
    for program, window in _windows_changed():
        BoughtFact.objects.filter(program_id=program).delete()
        db.run(bought_facts(f"r.program_id = {int(program)}"))
        BoughtWindow.objects.update_or_create(program_id=program, defaults={"days": window})
    return len(ids)


def _reward_days(rewards: set[int]) -> set[Part]:
    """The program-days of the referrals of these rewards (the day each friend came)."""
    out: set[Part] = set()
    for chunk in db.chunks(sorted(rewards)):
        out.update(
            (int(w), int(p), db.as_date(d))
            for w, p, d in db.rows(
                f"""SELECT DISTINCT f.workspace_id, f.program_id, f.created_on FROM {REWARDS} w
JOIN {REFERRAL_FACTS} f ON f.referral_id = w.referral_id WHERE w.id IN {_inside(chunk)}"""  # noqa: S608 - tables, integers
            )
        )
    return out


def _days(days: set[Part]) -> None:
    by_program: dict[tuple[int, int], list[date]] = defaultdict(list)
    for w, p, d in days:
        if p is not None:
            by_program[(w, p)].append(d)
    adapt = connection.ops.adapt_datefield_value
    for (w, p), chosen in by_program.items():
        for some in db.chunks(sorted(chosen)):
            ExperimentDay.objects.filter(workspace_id=w, program_id=p, day__in=some).delete()
            marks = ", ".join(["%s"] * len(some))
            where = f"f.workspace_id = %s AND f.program_id = %s AND f.created_on IN ({marks})"
            params = [w, p, *(adapt(d) for d in some)]
            db.run(experiment_days(where), [*params, *params])


def _of_purchases(events: Sequence[int]) -> str:
    """The referrals (of advocates in an experiment) of the friends of these events."""
    return f"""SELECT r.id FROM {EVENTS} e
JOIN {PEOPLE} f ON f.workspace_id = e.workspace_id AND f.external_id = e.customer_external_id
JOIN {REFERRALS} r ON r.referee_id = f.id
JOIN {ADVOCATES} a ON a.id = r.advocate_id
WHERE e.id IN {_inside(events)} AND a.variant <> ''"""  # noqa: S608 - tables, integers


def _of_participants(people: Sequence[int]) -> str:
    """The referrals (of advocates in an experiment) these participants are the friend or the
    advocate of: an email changed makes or unmakes a self-referral."""
    inside = _inside(people)
    # A union, not an OR across the two tables: each side reads its own index.
    return f"""SELECT r.id FROM {REFERRALS} r JOIN {ADVOCATES} a ON a.id = r.advocate_id
WHERE a.variant <> '' AND r.referee_id IN {inside}
UNION SELECT r.id FROM {ADVOCATES} a JOIN {REFERRALS} r ON r.advocate_id = a.id
WHERE a.variant <> '' AND a.participant_id IN {inside}"""  # noqa: S608 - tables, integers


def _windows_changed() -> list[tuple[int, int]]:
    """The programs (and their window now) whose window is not the one their facts have."""
    rows = db.rows(
        f"""SELECT p.id, p.attribution_days FROM {PROGRAMS} p
LEFT JOIN {WINDOWS} w ON w.program_id = p.id
WHERE w.program_id IS NULL OR w.days <> p.attribution_days"""  # noqa: S608 - tables
    )
    return [(int(p), int(days)) for p, days in rows]


def _ids(statement: str) -> set[int]:
    return {int(row[0]) for row in db.rows(statement)}


def _inside(ids: Sequence[int]) -> str:
    return f"({', '.join(str(int(i)) for i in ids)})"  # ids: integers, no quoting
