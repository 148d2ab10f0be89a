"""Write what a batch changed: bulk statements, in the order foreign keys need.

Updates and deletes of existing rows require the status they were loaded with; a row that a
concurrent transaction moved on (an approval, say) makes the counts differ, and the whole
batch is retried from a fresh load (`Conflicted`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Model

from goodword.events import services as events
from goodword.ingest.batch import Batch
from goodword.ingest.models import Event
from goodword.ingest.rows import Changes, Item
from goodword.lib import sql
from goodword.participants.models import Participant
from goodword.programs import counters
from goodword.referrals.models import Referral
from goodword.rewards import payouts
from goodword.rewards import services as rewards
from goodword.rewards.models import Reward


class Conflicted(Exception):
    """A row changed under the batch; run it again."""


_PERSON_CHANGES = (
    "email",
    "email_normalized",
    "name",
    "attributes",
    "purchase_count",
    "first_purchase_at",
    "nps_score",
    "nps_at",
    "updated_at",
    "test",
)
_REFERRAL_CHANGES = (
    "advocate_id",
    "status",
    "source",
    "reject_reason",
    "click_id",
    "stopped",
    "order_id",
    "order_amount",
    "order_currency",
    "created_at",
    "clicked_at",
    "signed_up_at",
    "converted_at",
    "rejected_at",
    "reversed_at",
    "test",
)
_REWARD_CHANGES = (
    "rule_id",
    "beneficiary",
    "participant_id",
    "kind",
    "amount",
    "percent_off",
    "currency",
    "hold_until",
    "status",
    "reversed_at",
    "earned_at",
)


def _expect(changed: int, wanted: int) -> None:
    if changed != wanted:
        raise Conflicted(f"{wanted - changed} of {wanted} rows changed under the batch")


def flush(batch: Batch, items: list[Item], now: datetime) -> None:
    keys = _people(batch, now)
    changes = batch.changes
    for referral in changes.new_referrals:
        referral.referee_id = keys.get(referral.referee_id, referral.referee_id)
    for reward in (*changes.new_rewards, *changes.changed_rewards.values()):
        reward.participant_id = keys.get(reward.participant_id, reward.participant_id)
    _delete(changes)
    _update(
        Referral,
        _REFERRAL_CHANGES,
        "status = %s",
        changes.changed_referrals,
        changes.referral_status,
    )
    new_ids = sql.insert_many(Referral, [sql.values_of(r) for r in changes.new_referrals], ids=True)
    for referral, pk in zip(changes.new_referrals, new_ids, strict=True):
        referral.pk = pk
    for reward in changes.new_rewards:
        reward.referral_id = getattr(reward.referral, "pk", None)
    where = "status = %s AND approved_at IS NULL"
    _update(Reward, _REWARD_CHANGES, where, changes.changed_rewards, changes.reward_status)
    sql.insert_many(Reward, [sql.values_of(r) for r in changes.new_rewards])
    sql.insert_many(Event, [sql.values_of(item.event) for item in items])
    # After the event rows: a concurrent duplicate waits on those before touching a counter.
    deltas = {
        ((program, rule, scope, keys.get(scope_id, scope_id)), day): change
        for ((program, rule, scope, scope_id), day), change in changes.deltas.items()
    }
    counters.add(batch.workspace_id, deltas)
    for referral in changes.clawbacks:
        referral.status = changes.referral_status[referral.pk]
        rewards.reverse_referral_rewards(referral, now=now, reason="refund")
    _coupons_used(changes)
    payouts.lock_payables(reward for reward, *_ in changes.settlements)
    for reward, amount, less, refund in changes.settlements:
        if amount == 0:
            rewards.reverse_reward(reward, now=now)
            continue
        shrunk = reward.status == Reward.Status.PENDING and rewards.shrink_pending_reward(
            reward, amount=amount, refund=refund, now=now
        )
        if not shrunk:  # approved, also when that happened after it was loaded
            rewards.claw_back_part(reward, amount=less, refund=refund, now=now)


def _update(
    model: type[Model],
    names: tuple[str, ...],
    where: str,
    rows: dict[int, Any],
    loaded_status: dict[int, str],
) -> None:
    """Write the changed rows, each only if it still has the status it was loaded with."""
    values = [
        {**{n: getattr(r, n) for n in names}, "id": pk, "where": (loaded_status[pk],)}
        for pk, r in rows.items()
    ]
    _expect(sql.update_many(model, names, where, values), len(values))


def _people(batch: Batch, now: datetime) -> dict[int, int]:
    """Insert the new people and update the changed ones; map stand-in keys to ids."""
    new = [f for f in batch.friends.values() if f.person.pk is None and f.applied]
    ids = sql.insert_many(Participant, [sql.values_of(f.person) for f in new], ids=True)
    keys = {}
    for friend, pk in zip(new, ids, strict=True):
        keys[friend.key] = friend.person.pk = pk
    changed = [f.person for f in batch.friends.values() if f.changed and f.key > 0]
    for person in changed:
        person.updated_at = now
    rows = [{**{n: getattr(p, n) for n in _PERSON_CHANGES}, "id": p.pk} for p in changed]
    sql.update_many(Participant, _PERSON_CHANGES, "", rows)
    return keys


def _delete(changes: Changes) -> None:
    if changes.gone_rewards:
        pks = [r.pk for r in changes.gone_rewards]
        _expect(
            sql.execute(
                f"DELETE FROM rewards_reward WHERE id IN ({', '.join(['%s'] * len(pks))}) "
                "AND approved_at IS NULL",
                pks,
            ),
            len(pks),
        )
    if changes.gone_referrals:
        pks = [r.pk for r in changes.gone_referrals]
        _expect(
            sql.execute(
                f"DELETE FROM referrals_referral WHERE id IN ({', '.join(['%s'] * len(pks))}) "
                "AND status <> %s",
                [*pks, Referral.Status.REWARDED],
            ),
            len(pks),
        )


def _coupons_used(changes: Changes) -> None:
    """Mark the issued coupons orders carried: the beneficiary used the offer."""
    used = [
        (row, code, item)
        for row, code, item in changes.coupons_used.values()
        if not item.error and not item.ignored
    ]
    for row, code, item in used:
        event = item.event
        marked = sql.execute(
            "UPDATE rewards_reward SET coupon_used_at = %s "
            "WHERE id = %s AND coupon_used_at IS NULL",
            [event.occurred_at, row.reward],
        )
        if not marked:
            continue  # a concurrent batch marked it first
        events.record(
            "coupon.used",
            workspace_id=changes.workspace_id,
            subject_id=row.public_id,
            data={"code": code, "order_id": event.order_id, "event": event.public_id},
            now=changes.now,
        )
