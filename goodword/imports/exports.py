"""CSV exports of a workspace's participants, referrals, rewards, payouts and audit log,
streamed from the database a chunk at a time. Cells that start like a formula are neutralised
(`lib.sheets.cell`); amounts are in major units with their currency, times in ISO 8601 (UTC).

The participants file imports back unchanged: its first columns are those of the import
(`external_id`, `email`, `name`, `attr.<name>`); the others (ids, counts, times) are read-only
and the import ignores them."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import IO, Any

from django.db import connection
from django.db.models import QuerySet

from goodword.accounts.models import AuditEntry, Workspace
from goodword.imports.people import ATTR, attribute_text
from goodword.lib import money, sheets, sql
from goodword.participants.models import Participant
from goodword.referrals.models import Referral
from goodword.rewards.models import Payout, Reward

CHUNK = 2_000
Row = Sequence[Any]


def _when(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _major(amount: int | None, currency: str) -> str:
    return money.major(amount, currency) if amount is not None and currency else ""


def _rows(qs: QuerySet[Any], names: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    return qs.order_by("id").values_list(*names).iterator(chunk_size=CHUNK)


def attribute_names(workspace: Workspace) -> list[str]:
    """Every attribute name the workspace's participants have, sorted."""
    table = Participant._meta.db_table
    if connection.vendor == "postgresql":
        keys = f"jsonb_object_keys(attributes) FROM {table}"
    else:
        keys = f"j.key FROM {table}, json_each({table}.attributes) j"
    statement = f"SELECT DISTINCT {keys} WHERE workspace_id = %s"  # noqa: S608
    return sorted(str(r[0]) for r in sql.rows(statement, [workspace.pk]))


def participants(workspace: Workspace) -> tuple[list[str], Iterator[Row]]:
    names = attribute_names(workspace)
    header = [
        "external_id", "email", "name", *(ATTR + n for n in names), "participant_id",
        "purchase_count", "first_purchase_at", "created_at",
    ]  # fmt: skip
    field = Participant._meta.get_field("attributes")
    columns = (
        "external_id", "email", "name", "attributes", "public_id", "purchase_count",
        "first_purchase_at", "created_at",
    )  # fmt: skip

    def rows() -> Iterator[Row]:
        for ext, email, name, stored, pid, count, first, created in _rows(
            Participant.objects.for_workspace(workspace), columns
        ):
            attributes = stored if isinstance(stored, dict) else sql.convert(field, stored)
            values = [attribute_text(attributes[n]) if n in attributes else "" for n in names]
            yield (ext, email, name, *values, pid, count, _when(first), _when(created))

    return header, rows()


def referrals(workspace: Workspace) -> tuple[list[str], Iterator[Row]]:
    header = [
        "referral_id", "program_id", "program", "status", "reject_reason", "source",
        "advocate_external_id", "advocate_code", "friend_external_id", "created_at",
        "clicked_at", "signed_up_at", "converted_at", "rewarded_at", "rejected_at",
        "reversed_at", "order_id", "order_amount", "order_currency",
    ]  # fmt: skip
    columns = (
        "public_id", "program__public_id", "program__name", "status", "reject_reason", "source",
        "advocate__participant__external_id", "advocate__code", "referee__external_id",
        "created_at", "clicked_at", "signed_up_at", "converted_at", "rewarded_at",
        "rejected_at", "reversed_at", "order_id", "order_amount", "order_currency",
    )  # fmt: skip

    def rows() -> Iterator[Row]:
        for r in _rows(Referral.objects.for_workspace(workspace), columns):
            times = [_when(t) for t in r[9:16]]
            yield (*r[:9], *times, r[16], _major(r[17], r[18]), r[18])

    return header, rows()


def rewards(workspace: Workspace) -> tuple[list[str], Iterator[Row]]:
    header = [
        "reward_id", "program_id", "referral_id", "participant_external_id", "beneficiary",
        "kind", "status", "amount", "percent_off", "currency", "coupon_code", "created_at",
        "hold_until", "approved_at", "fulfilled_at", "rejected_at", "reversed_at", "expired_at",
    ]  # fmt: skip
    columns = (
        "public_id", "program__public_id", "referral__public_id", "participant__external_id",
        "beneficiary", "kind", "status", "amount", "percent_off", "currency", "coupon_code",
        "created_at", "hold_until", "approved_at", "fulfilled_at", "rejected_at",
        "reversed_at", "expired_at",
    )  # fmt: skip

    def rows() -> Iterator[Row]:
        for r in _rows(Reward.objects.for_workspace(workspace), columns):
            amount = _major(r[7], r[9])
            yield (*r[:7], amount, r[8], *r[9:11], *(_when(t) for t in r[11:]))

    return header, rows()


def payouts(workspace: Workspace) -> tuple[list[str], Iterator[Row]]:
    header = [
        "payout_id", "batch_id", "participant_external_id", "amount", "currency", "status",
        "reference", "failure_reason", "paid_at", "failed_at",
    ]  # fmt: skip
    columns = (
        "public_id", "batch__public_id", "participant__external_id", "amount", "currency",
        "status", "reference", "failure_reason", "paid_at", "failed_at",
    )  # fmt: skip

    def rows() -> Iterator[Row]:
        for r in _rows(Payout.objects.for_workspace(workspace), columns):
            yield (*r[:3], _major(r[3], r[4]), *r[4:8], _when(r[8]), _when(r[9]))

    return header, rows()


def audit(workspace: Workspace) -> tuple[list[str], Iterator[Row]]:
    header = ["time", "actor", "action", "subject", "data", "ip", "user_agent"]
    columns = ("created_at", "actor", "action", "subject", "data", "ip", "user_agent")

    def rows() -> Iterator[Row]:
        for r in _rows(AuditEntry.objects.for_workspace(workspace), columns):
            data = json.dumps(r[4], sort_keys=True)
            yield (_when(r[0]), *r[1:4], data, r[5] or "", r[6])

    return header, rows()


KINDS: dict[str, Callable[[Workspace], tuple[list[str], Iterator[Row]]]] = {
    "participants": participants,
    "referrals": referrals,
    "rewards": rewards,
    "payouts": payouts,
    "audit": audit,
}


def write(kind: str, workspace: Workspace, out: IO[str]) -> int:
    """Write the export of `kind` to `out`; return the number of rows (the header apart)."""
    header, rows = KINDS[kind](workspace)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([sheets.cell(h) for h in header])
    count = 0
    for row in rows:
        writer.writerow([sheets.cell(v) for v in row])
        count += 1
    return count
