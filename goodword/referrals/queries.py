"""The reads every business event makes, in plain SQL (see goodword.lib.sql for why).

Each returns ordinary model instances with their related advocate, program and participant
attached, loading only the fields attribution and conversion use; any other field loads on
first use.
"""

from __future__ import annotations

from typing import Any

from goodword.lib import sql
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import Program
from goodword.referrals.models import OPEN_STATUSES, Invite, Referral

_ADVOCATE = ("id", "public_id", "workspace_id", "program_id", "participant_id", "code")
_PROGRAM = (
    "id",
    "public_id",
    "workspace_id",
    "name",
    "status",
    "trigger_event",
    "min_amount",
    "first_purchase_only",
    "currency",
    "hold_days",
    "attribution_days",
)
_PERSON = ("id", "public_id", "workspace_id", "external_id", "email_normalized")
_INVITE = ("id", "public_id", "workspace_id", "program_id", "advocate_id", "created_at")
_REFERRAL = tuple(f.attname for f in Referral._meta.concrete_fields)

_ADVOCATE_JOIN = (
    f"{sql.columns(Advocate, _ADVOCATE, 'a')}, {sql.columns(Program, _PROGRAM, 'p')}, "
    f"{sql.columns(Participant, _PERSON, 'u')} FROM participants_advocate a "
    "JOIN programs_program p ON p.id = a.program_id "
    "JOIN participants_participant u ON u.id = a.participant_id"
)
_BY_CODE = f"SELECT {_ADVOCATE_JOIN} WHERE a.workspace_id = %s AND a.code_normalized = %s"
_BY_PUBLIC_ID = f"SELECT {_ADVOCATE_JOIN} WHERE a.workspace_id = %s AND a.public_id = %s"
_FIRST_INVITE = (
    f"SELECT {sql.columns(Invite, _INVITE, 'i')}, {_ADVOCATE_JOIN} "
    "JOIN referrals_invite i ON i.advocate_id = a.id "
    "WHERE i.workspace_id = %s AND i.email_normalized = %s ORDER BY i.created_at, i.id LIMIT 1"
)
_LIVE = sql.select(
    Referral, _REFERRAL, "program_id = %s AND referee_id = %s AND reject_reason <> %s"
)
_OPEN_FOR_REFEREE = (
    f"SELECT {sql.columns(Referral, _REFERRAL, 'r')}, {_ADVOCATE_JOIN} "
    "JOIN referrals_referral r ON r.advocate_id = a.id "
    "WHERE r.workspace_id = %s AND r.referee_id = %s AND r.status IN (%s, %s) "
    "ORDER BY r.id"
)


def _advocate(row: tuple[Any, ...]) -> Advocate:
    a, p = len(_ADVOCATE), len(_ADVOCATE) + len(_PROGRAM)
    advocate = sql.build(Advocate, _ADVOCATE, row[:a])
    advocate.program = sql.build(Program, _PROGRAM, row[a:p])
    advocate.participant = sql.build(Participant, _PERSON, row[p:])
    return advocate


def advocate_by_code(workspace_id: int, code_normalized: str) -> Advocate | None:
    rows = sql.rows(_BY_CODE, [workspace_id, code_normalized])
    return _advocate(rows[0]) if rows else None


def advocate_by_public_id(workspace_id: int, public_id: str) -> Advocate | None:
    rows = sql.rows(_BY_PUBLIC_ID, [workspace_id, public_id])
    return _advocate(rows[0]) if rows else None


def first_invite(workspace_id: int, email_normalized: str) -> Invite | None:
    """The earliest invite of this address in the workspace: the first touch wins."""
    rows = sql.rows(_FIRST_INVITE, [workspace_id, email_normalized])
    if not rows:
        return None
    invite = sql.build(Invite, _INVITE, rows[0][: len(_INVITE)])
    invite.advocate = _advocate(rows[0][len(_INVITE) :])
    return invite


def live_referral(program: Program, referee: Participant) -> Referral | None:
    """The friend's referral in the program that still locks them (any but expired)."""
    params = [program.pk, referee.pk, Referral.RejectReason.EXPIRED]
    found = sql.fetch(Referral, _REFERRAL, _LIVE, params)
    if not found:
        return None
    found[0].program = program
    return found[0]


def open_referrals(workspace_id: int, referee: Participant) -> list[Referral]:
    """The friend's referrals still waiting for a conversion, with advocate and program."""
    out = []
    for row in sql.rows(_OPEN_FOR_REFEREE, [workspace_id, referee.pk, *OPEN_STATUSES]):
        referral = sql.build(Referral, _REFERRAL, row[: len(_REFERRAL)])
        referral.advocate = _advocate(row[len(_REFERRAL) :])
        referral.program = referral.advocate.program
        referral.referee = referee
        out.append(referral)
    return out
