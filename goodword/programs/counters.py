"""Maintained counters for caps, tiers and milestones (`programs.models.Counter`).

Whoever grants, withdraws or reverses a counted reward, or converts or reverses a referral in a
program with tiers or milestones, adds the difference here in the same transaction; readers get
a bounded number of rows (a day each in the window, and the all-time total) however long the
history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from django.db import connection

from goodword.lib import sql

# The all-time row's day.
LIFETIME = date(1, 1, 1)

# (program, rule or 0, scope, scope id): one counter.
Key = tuple[int, int, str, int]


def read(
    workspace_id: int, keys: Iterable[Key], *, since: date | None
) -> dict[Key, dict[date, list[int]]]:
    """The counters of `keys`: by day from `since` on (every day when None), and the all-time
    total under `LIFETIME`."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    one = "(program_id = %s AND rule_id = %s AND scope = %s AND scope_id = %s)"
    match = " OR ".join([one] * len(wanted))
    params: list[object] = [workspace_id]
    for key in wanted:
        params.extend(key)
    when = ""
    if since is not None:
        when = " AND (day = %s OR day >= %s)"
        params += [LIFETIME, since]
    rows = sql.rows(
        "SELECT program_id, rule_id, scope, scope_id, day, count, amount FROM programs_counter "
        f"WHERE workspace_id = %s AND ({match}){when}",
        params,
    )
    out: dict[Key, dict[date, list[int]]] = {}
    for program, rule, scope, scope_id, day, count, amount in rows:
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        out.setdefault((program, rule, scope, scope_id), {})[day] = [int(count), int(amount)]
    return out


def add(workspace_id: int, deltas: dict[tuple[Key, date], list[int]]) -> None:
    """Add the changes to their day's counter and to the all-time one (upserts, in one round
    trip); zero changes are left out."""
    rows: dict[tuple[Key, date], list[int]] = {}
    for (key, day), (count, amount) in deltas.items():
        if not count and not amount:
            continue
        for slot in ((key, day), (key, LIFETIME)):
            total = rows.setdefault(slot, [0, 0])
            total[0] += count
            total[1] += amount
    params: list[list[Any]] = [
        [workspace_id, *key, day, count, amount]
        for (key, day), (count, amount) in sorted(rows.items())
        if count or amount
    ]
    if not params:
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO programs_counter "
            "(workspace_id, program_id, rule_id, scope, scope_id, day, count, amount) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (program_id, rule_id, scope, scope_id, day) DO UPDATE SET "
            "count = programs_counter.count + excluded.count, "
            "amount = programs_counter.amount + excluded.amount",
            params,
        )


def day_of(moment: datetime) -> date:
    """The UTC day a conversion counts on."""
    return moment.astimezone(UTC).date()


def reward_keys(
    program_id: int, rule_id: int, caps: Sequence[dict[str, object]], advocate: int, friend: int
) -> list[Key]:
    """The counters a reward of this rule counts in: one per scope its caps name, but for a
    friend's: everything a friend earned in a program hangs on their referrals there, which a
    decision about them always has in hand."""
    scopes = {"advocate": advocate, "friend": friend, "program": 0}
    pers = sorted({str(cap["per"]) for cap in caps} - {"friend"})
    return [(program_id, rule_id, per, scopes[per]) for per in pers]


def referral_key(program_id: int, advocate: int) -> Key:
    return (program_id, 0, "referrals", advocate)


def forget_reward(reward: Any) -> None:
    """A reward left the counts (reversed or rejected): take it out of its rule's caps, on the
    day it was earned."""
    rule, referral = reward.rule, reward.referral
    if rule is None or referral is None or not rule.caps or referral.converted_at is None:
        return
    advocate = referral.advocate.participant_id
    keys = reward_keys(rule.program_id, rule.pk, rule.caps, advocate, referral.referee_id)
    day = day_of(reward.earned_at or referral.converted_at)
    add(reward.workspace_id, {(key, day): [-1, -(reward.amount or 0)] for key in keys})


def forget_referral(referral: Any) -> None:
    """A converted referral was reversed: it no longer counts toward its advocate's tier."""
    if referral.converted_at is None:
        return
    key = referral_key(referral.program_id, referral.advocate.participant_id)
    change = [-1, -(referral.order_amount or 0)]
    add(referral.workspace_id, {(key, day_of(referral.converted_at)): change})


def rebuild(workspace_id: int) -> None:
    """Count everything again from the rows (for data from before the counters, or repair)."""
    from goodword.programs.models import Counter, RewardRule

    Counter.objects.filter(workspace_id=workspace_id).delete()
    deltas: dict[tuple[Key, date], list[int]] = {}

    def count(key: Key, day: date, value: int) -> None:
        slot = deltas.setdefault((key, day), [0, 0])
        slot[0] += 1
        slot[1] += value

    rows = sql.rows(
        "SELECT r.program_id, a.participant_id, r.converted_at, r.order_amount "
        "FROM referrals_referral r JOIN participants_advocate a ON a.id = r.advocate_id "
        "WHERE r.workspace_id = %s AND r.status IN ('converted', 'rewarded')",
        [workspace_id],
    )
    for program, advocate, converted_at, amount in rows:
        count(referral_key(program, advocate), day_of(_moment(converted_at)), amount or 0)
    caps = {
        rule.pk: (rule.program_id, rule.caps)
        for rule in RewardRule.objects.filter(workspace_id=workspace_id).exclude(caps=[])
    }
    rewards = sql.rows(
        "SELECT w.rule_id, w.amount, r.program_id, a.participant_id, r.referee_id, "
        "COALESCE(w.earned_at, r.converted_at) FROM rewards_reward w "
        "JOIN referrals_referral r ON r.id = w.referral_id "
        "JOIN participants_advocate a ON a.id = r.advocate_id WHERE w.workspace_id = %s "
        "AND w.status NOT IN ('reversed', 'rejected') AND r.converted_at IS NOT NULL",
        [workspace_id],
    )
    for rule, amount, program, advocate, referee, converted_at in rewards:
        if rule not in caps:
            continue
        for key in reward_keys(program, rule, caps[rule][1], advocate, referee):
            count(key, day_of(_moment(converted_at)), amount or 0)
    add(workspace_id, deltas)


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
