"""Load the facts a batch of events needs, a bounded number of queries per batch.

Each function takes every key the batch needs at once (`IN` lists) and returns plain rows or
model instances; none decides anything.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection

from goodword.decisions import facts
from goodword.ingest.models import Event, IdempotencyKey
from goodword.lib import sql
from goodword.participants.models import Participant
from goodword.programs.models import Program, RewardRule
from goodword.referrals.models import Invite, Referral
from goodword.rewards.models import Reward


def _in(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _json(value: Any) -> Any:
    # SQLite hands JSON back as text, PostgreSQL's driver as text or parsed.
    return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Stored:
    """An event recorded before: its first answer, and the body that got it."""

    event_pk: int
    body_hash: str
    result: dict[str, Any]


def stored(workspace_id: int, source: str, external_ids: Sequence[str]) -> dict[str, Stored]:
    if not external_ids:
        return {}
    found = sql.rows(
        "SELECT external_id, id, body_hash, result FROM ingest_event "
        f"WHERE workspace_id = %s AND source = %s AND external_id IN ({_in(external_ids)})",
        [workspace_id, source, *external_ids],
    )
    return {row[0]: Stored(row[1], row[2], _json(row[3])) for row in found}


def by_key(workspace_id: int, key: str) -> Stored | None:
    """The event an Idempotency-Key was first used for, with the body it came with."""
    found = sql.rows(
        "SELECT id, body_hash, result FROM ingest_event WHERE workspace_id = %s "
        "AND idempotency_key = %s UNION ALL "
        "SELECT e.id, k.body_hash, e.result FROM ingest_idempotencykey k "
        "JOIN ingest_event e ON e.id = k.event_id WHERE k.workspace_id = %s AND k.key = %s",
        [workspace_id, key, workspace_id, key],
    )
    return Stored(found[0][0], found[0][1], _json(found[0][2])) if found else None


def bind_key(workspace_id: int, key: str, digest: str, event_pk: int, now: datetime) -> None:
    """Bind a key first seen on a replay to that replay's body (the first binding wins)."""
    row = {
        "workspace_id": workspace_id,
        "key": key,
        "body_hash": digest,
        "event_id": event_pk,
        "created_at": now,
    }
    sql.insert(IdempotencyKey, row, on_conflict_skip=True)


_PERSON = tuple(f.attname for f in Participant._meta.concrete_fields)


def participants(workspace_id: int, external_ids: Sequence[str]) -> dict[str, Participant]:
    """The batch's known participants, locked (PostgreSQL) in id order for the transaction:
    concurrent batches about the same people queue instead of deciding on stale facts."""
    if not external_ids:
        return {}
    lock = " ORDER BY id FOR NO KEY UPDATE" if connection.vendor == "postgresql" else ""
    where = f"workspace_id = %s AND external_id IN ({_in(external_ids)}){lock}"
    found = sql.fetch(
        Participant, _PERSON, sql.select(Participant, _PERSON, where), [workspace_id, *external_ids]
    )
    return {p.external_id: p for p in found}


@dataclass(frozen=True)
class AdvocateRow:
    facts: facts.Advocate
    public_id: str


# The advocate's facts, in the order `_advocate` reads them; `u` is their participant.
_ADVOCATE_COLUMNS = (
    "a.id, a.public_id, a.program_id, a.participant_id, u.email_normalized, u.attributes, a.variant"
)
_ADVOCATE = (
    f"SELECT {_ADVOCATE_COLUMNS}, a.code_normalized FROM participants_advocate a "
    "JOIN participants_participant u ON u.id = a.participant_id WHERE a.workspace_id = %s AND "
)


def _advocate(row: Sequence[Any]) -> AdvocateRow:
    """From a row that starts with `_ADVOCATE_COLUMNS`."""
    attributes = _json(row[5]) or {}
    advocate = facts.Advocate(row[0], row[3], row[4], row[2], attributes, row[6])
    return AdvocateRow(advocate, row[1])


def advocates(
    workspace_id: int, *, codes: Sequence[str] = (), public_ids: Sequence[str] = ()
) -> tuple[dict[str, AdvocateRow], dict[str, AdvocateRow]]:
    """Advocates by normalised code and by public id (the token's), in one query."""
    if not codes and not public_ids:
        return {}, {}
    found = sql.rows(
        _ADVOCATE + f"(a.code_normalized IN ({_in(codes) or 'NULL'}) "
        f"OR a.public_id IN ({_in(public_ids) or 'NULL'}))",
        [workspace_id, *codes, *public_ids],
    )
    rows = [(_advocate(row), row[7]) for row in found]
    return {code: a for a, code in rows}, {a.public_id: a for a, _ in rows}


def advocates_by_id(workspace_id: int, ids: Sequence[int]) -> dict[int, AdvocateRow]:
    if not ids:
        return {}
    found = sql.rows(_ADVOCATE + f"a.id IN ({_in(ids)})", [workspace_id, *ids])
    return {row[0]: _advocate(row) for row in found}


@dataclass(frozen=True)
class CouponRow:
    reward: int
    public_id: str
    used: bool  # an order carried it before
    advocate: AdvocateRow | None  # of the referral it was granted in; None if by hand


def coupons(workspace_id: int, codes: Sequence[str]) -> dict[str, CouponRow]:
    """Rewards' coupon codes among `codes`, with the advocate each attributes to."""
    if not codes:
        return {}
    found = sql.rows(
        "SELECT w.coupon_code, w.id, w.public_id, w.coupon_used_at IS NOT NULL, "
        f"{_ADVOCATE_COLUMNS} FROM rewards_reward w "
        "LEFT JOIN referrals_referral r ON r.id = w.referral_id "
        "LEFT JOIN participants_advocate a ON a.id = r.advocate_id "
        "LEFT JOIN participants_participant u ON u.id = a.participant_id "
        # A reversed reward's code is revoked: it no longer attributes.
        f"WHERE w.workspace_id = %s AND w.coupon_code IN ({_in(codes)}) "
        "AND w.status <> 'reversed' ORDER BY w.id",
        [workspace_id, *codes],
    )
    return {
        row[0]: CouponRow(row[1], row[2], bool(row[3]), _advocate(row[4:]) if row[4] else None)
        for row in found
    }


def first_invites(
    workspace_id: int, emails: Sequence[str]
) -> dict[str, tuple[AdvocateRow, datetime]]:
    """The earliest invite of each address: the first touch wins."""
    if not emails:
        return {}
    found = sql.rows(
        f"SELECT {_ADVOCATE_COLUMNS}, i.email_normalized, i.created_at FROM referrals_invite i "
        "JOIN participants_advocate a ON a.id = i.advocate_id "
        "JOIN participants_participant u ON u.id = a.participant_id "
        f"WHERE i.workspace_id = %s AND i.email_normalized IN ({_in(emails)}) "
        "ORDER BY i.created_at DESC, i.id DESC",
        [workspace_id, *emails],
    )
    created = Invite._meta.get_field("created_at")
    out = {}
    for row in found:  # latest first, so the earliest of each address is written last
        at = sql.convert(created, row[8])
        out[row[7]] = (_advocate(row), at)
    return out


_REFERRAL = tuple(f.attname for f in Referral._meta.concrete_fields)
_REWARD = tuple(f.attname for f in Reward._meta.concrete_fields)


def referrals(
    workspace_id: int, referee_ids: Sequence[int]
) -> tuple[list[Referral], dict[int, AdvocateRow]]:
    """The friends' referrals, with the advocates they name."""
    if not referee_ids:
        return [], {}
    found = sql.rows(
        f"SELECT {sql.columns(Referral, _REFERRAL, 'r')}, a.id, a.public_id, a.program_id, "
        "a.participant_id, u.email_normalized, u.attributes, a.variant FROM referrals_referral r "
        "JOIN participants_advocate a ON a.id = r.advocate_id "
        "JOIN participants_participant u ON u.id = a.participant_id "
        f"WHERE r.workspace_id = %s AND r.referee_id IN ({_in(referee_ids)}) ORDER BY r.id",
        [workspace_id, *referee_ids],
    )
    width = len(_REFERRAL)
    rows = [sql.build(Referral, _REFERRAL, row[:width]) for row in found]
    advocates = {row[width]: _advocate(row[width:]) for row in found}
    return rows, advocates


def rewards(referral_ids: Sequence[int]) -> list[Reward]:
    if not referral_ids:
        return []
    where = f"referral_id IN ({_in(referral_ids)}) ORDER BY id"
    return sql.fetch(Reward, _REWARD, sql.select(Reward, _REWARD, where), list(referral_ids))


# In the model's field order, which `Model.from_db` requires of a partial row.
_HISTORY = (
    "public_id",
    "external_id",
    "type",
    "customer_external_id",
    "order_id",
    "amount",
    "currency",
    "advocate_id",
    "touched_at",
    "touch_source",
    "click_id",
    "payload",
    "occurred_at",
    "test",
)


def history(workspace_id: int, external_ids: Sequence[str]) -> list[Event]:
    """Every event recorded for these customers, oldest first in business time, but the past
    orders imported as history (source `history`, `goodword.imports.orders`): analytics counts
    them; no decision reads them, so they convert and reward nothing, however late they came."""
    if not external_ids:
        return []
    where = (
        f"workspace_id = %s AND customer_external_id IN ({_in(external_ids)}) "
        "AND source <> 'history' ORDER BY occurred_at, id"
    )
    return sql.fetch(
        Event, _HISTORY, sql.select(Event, _HISTORY, where), [workspace_id, *external_ids]
    )


def bought_before(workspace_id: int, external_ids: Sequence[str]) -> dict[str, datetime]:
    """The first past order imported as history of each of these customers who has one: not a
    conversion, but proof that they were customers already (`decide`'s existing customer)."""
    if not external_ids:
        return {}
    statement = (
        f"SELECT customer_external_id, MIN(occurred_at) FROM {Event._meta.db_table} "  # noqa: S608
        f"WHERE workspace_id = %s AND customer_external_id IN ({_in(external_ids)}) "
        "AND source = 'history' AND type = 'purchase' GROUP BY customer_external_id"
    )
    field = Event._meta.get_field("occurred_at")
    with connection.cursor() as cursor:
        cursor.execute(statement, [workspace_id, *external_ids])
        return {str(ext): sql.convert(field, at) for ext, at in cursor.fetchall()}


@dataclass(frozen=True)
class ProgramRow:
    facts: facts.Program
    public_id: str
    is_active: bool
    version: int = 0
    # The active rules' rows, for what a reward copies at its grant (what it gives, choices).
    rules: dict[int, RewardRule] = field(default_factory=dict, compare=False)


# In the model's field order, which `Model.from_db` requires of a partial row.
_PROGRAM = (
    "id",
    "public_id",
    "status",
    "trigger_event",
    "min_amount",
    "first_purchase_only",
    "currency",
    "hold_days",
    "attribution_days",
    "tiers",
    "version",
)
# In the model's field order, which `Model.from_db` requires of a partial row.
_RULE = (
    "id",
    "program_id",
    "beneficiary",
    "kind",
    "amount",
    "percent_off",
    "currency",
    "percent_of_order",
    "refund_policy",
    "name",
    "conditions",
    "hold_days",
    "caps",
    "milestone",
    "starts_at",
    "ends_at",
    "coupon",
    "sku",
    "cause",
    "description",
    "trigger",
    "event_name",
    "recurring_months",
    "max_total",
    "choices",
    "choice_days",
)


def _rule(rule: RewardRule) -> facts.Rule:
    c = rule.conditions or {}
    return facts.Rule(
        id=rule.pk,
        beneficiary=rule.beneficiary,
        kind=rule.kind,
        amount=rule.amount,
        percent_off=rule.percent_off,
        currency=rule.currency,
        name=rule.name,
        conditions=facts.Conditions(
            min_amount=c.get("min_amount"),
            max_amount=c.get("max_amount"),
            currency=c.get("currency"),
            purchase_number=c.get("purchase_number"),
            product_ids=tuple(c.get("product_ids") or ()),
            category_ids=tuple(c.get("category_ids") or ()),
            tiers=tuple(c.get("tiers") or ()),
            variants=tuple(c.get("variants") or ()),
            advocate=tuple((k, tuple(v)) for k, v in (c.get("advocate") or {}).items()),
            friend=tuple((k, tuple(v)) for k, v in (c.get("friend") or {}).items()),
        ),
        hold_days=rule.hold_days,
        caps=tuple(
            facts.Cap(c["per"], c["period"], c.get("count"), c.get("amount"), c.get("days", 0))
            for c in rule.caps or ()
        ),
        milestone_at=tuple((rule.milestone or {}).get("at") or ()),
        milestone_every=(rule.milestone or {}).get("every"),
        percent_of_order=rule.percent_of_order,
        refund_policy=rule.refund_policy,
        starts_at=rule.starts_at,
        ends_at=rule.ends_at,
        trigger=rule.trigger,
        event_name=rule.event_name,
        recurring_months=rule.recurring_months,
        max_total=rule.max_total,
    )


# Programs as the decision core reads them, by (id, public id, version): a program's rules and
# settings change only with its version (every change is a new one, `programs.config.snapshot`),
# and the public id is random, so a key never names two contents. Building 20 rules' facts
# costs more than the rest of an event's loading; each process keeps the latest few hundred.
_CACHE: dict[tuple[int, str, int], ProgramRow] = {}
_CACHE_SIZE = 512
_CACHE_LOCK = threading.Lock()


def programs(workspace_id: int, ids: Iterable[int]) -> dict[int, ProgramRow]:
    """Programs with their active reward rules: their versions in one query, and what is not
    cached yet in one more."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    heads = sql.rows(
        "SELECT id, public_id, version FROM programs_program "
        f"WHERE workspace_id = %s AND id IN ({_in(wanted)})",
        [workspace_id, *wanted],
    )
    out = {}
    for pk, public_id, version in heads:
        # One lookup: another thread may evict the entry between a test and a read.
        if (row := _CACHE.get((pk, public_id, version))) is not None:
            out[pk] = row
    missing = [pk for pk, _, _ in heads if pk not in out]
    if missing:
        out.update(_load_programs(workspace_id, missing))
    return out


def _load_programs(workspace_id: int, ids: Sequence[int]) -> dict[int, ProgramRow]:
    """Programs with their active rules, in one query (one snapshot), cached by version."""
    found = sql.rows(
        f"SELECT {sql.columns(Program, _PROGRAM, 'p')}, {sql.columns(RewardRule, _RULE, 'r')} "
        "FROM programs_program p LEFT JOIN programs_rewardrule r "
        "ON r.program_id = p.id AND r.is_active "
        f"WHERE p.workspace_id = %s AND p.id IN ({_in(ids)}) ORDER BY p.id, r.id",
        [workspace_id, *ids],
    )
    rules: dict[int, list[RewardRule]] = {}
    heads = {}
    for row in found:
        heads[row[0]] = row[: len(_PROGRAM)]
        rule = row[len(_PROGRAM) :]
        if rule[0] is not None:
            rules.setdefault(row[0], []).append(sql.build(RewardRule, _RULE, rule))
    out = {}
    for head in heads.values():
        p = sql.build(Program, _PROGRAM, head)
        program = facts.Program(
            id=p.pk,
            trigger=p.trigger_event,
            min_amount=p.min_amount,
            currency=p.currency,
            first_purchase_only=p.first_purchase_only,
            attribution_days=p.attribution_days,
            hold_days=p.hold_days,
            rules=tuple(_rule(r) for r in rules.get(p.pk, ())),
            tiers=_tiers(p.tiers),
        )
        out[p.pk] = ProgramRow(
            program,
            p.public_id,
            p.status == Program.Status.ACTIVE,
            version=p.version,
            rules={r.pk: r for r in rules.get(p.pk, ())},
        )
        with _CACHE_LOCK:  # the web server's threads share it
            while len(_CACHE) >= _CACHE_SIZE:
                del _CACHE[next(iter(_CACHE))]
            _CACHE[(p.pk, p.public_id, p.version)] = out[p.pk]
    return out


def _tiers(stored: dict[str, Any] | None) -> facts.Tiers | None:
    if not stored:
        return None
    levels = tuple((level["name"], level["min"]) for level in stored["levels"])
    return facts.Tiers(stored["basis"], stored["period"], levels)


def lock_caps(keys: Sequence[tuple[int, int]]) -> None:
    """On PostgreSQL, serialise the batches that count toward the same caps (rule, scope),
    taking the locks in one sorted order so two batches cannot deadlock on them. SQLite runs
    one writer at a time anyway."""
    if connection.vendor != "postgresql" or not keys:
        return
    first, second = zip(*sorted(set(keys)), strict=True)
    sql.rows(
        "SELECT pg_advisory_xact_lock(a, b) FROM "
        "(SELECT a, b FROM unnest(%s::int[], %s::int[]) AS k(a, b) ORDER BY a, b) AS s",
        [list(first), list(second)],
    )
