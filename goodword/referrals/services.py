from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction

from goodword.events import services as events
from goodword.lib import sql
from goodword.lib.codes import normalize_code
from goodword.lib.emails import normalize_email
from goodword.lib.errors import Invalid
from goodword.lib.signing import read_ref_token
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import Program
from goodword.referrals import queries
from goodword.referrals.models import OPEN_STATUSES, Invite, Referral


@dataclass(frozen=True)
class Touch:
    """Who referred the friend, through what, and when the friend was first touched."""

    advocate: Advocate
    source: str
    touched_at: datetime
    click_id: str = ""


def find_touch(
    *,
    workspace_id: int,
    referral_code: str | None,
    ref_token: str | None,
    email: str | None,
    now: datetime,
) -> tuple[Touch | None, str]:
    """Resolve attribution by precedence: code, then signed token, then invited email.

    Returns the first touch that holds, or None with a word on why not, for the event's result.
    An unknown code is the caller's mistake and raises; a bad or stale token is a visitor's and
    falls through to the next way of attributing.
    """
    outcome = "none"
    if referral_code:
        advocate = queries.advocate_by_code(workspace_id, normalize_code(referral_code))
        if advocate is None:
            raise Invalid(
                f"referral_code {referral_code!r} matches no advocate in this workspace",
                code="unknown_referral_code",
            )
        return _within_window(Touch(advocate, Referral.Source.CODE, now), now)
    if ref_token:
        token = read_ref_token(ref_token)
        found = token and queries.advocate_by_public_id(workspace_id, token.advocate_id)
        if token and found:
            touch, outcome = _within_window(
                Touch(found, Referral.Source.TOKEN, token.issued_at, token.click_id), now
            )
            if touch is not None:
                return touch, outcome
        else:
            outcome = "invalid_token"
    if email:
        invite = queries.first_invite(workspace_id, normalize_email(email))
        if invite is not None:
            return _within_window(
                Touch(invite.advocate, Referral.Source.EMAIL, invite.created_at), now
            )
    return None, outcome


def _within_window(touch: Touch, now: datetime) -> tuple[Touch | None, str]:
    program = touch.advocate.program
    if not program.is_active:
        return None, "program_inactive"
    if now > touch.touched_at + timedelta(days=program.attribution_days):
        return None, "expired"
    return touch, "attributed"


def _rejection(touch: Touch, referee: Participant) -> str:
    advocate = touch.advocate.participant
    if advocate.pk == referee.pk or (
        referee.email_normalized and referee.email_normalized == advocate.email_normalized
    ):
        return Referral.RejectReason.SELF_REFERRAL
    if referee.purchase_count > 0:
        return Referral.RejectReason.EXISTING_CUSTOMER
    return ""


def open_referral(
    *, touch: Touch, referee: Participant, now: datetime, new_referee: bool = False
) -> Referral:
    """Return the friend's referral in the touch's program, creating it on the first touch.

    The first touch locks the friend: a later touch by another advocate returns the first
    referral. Self-referrals and existing customers get a rejected referral that says why.
    `new_referee` says the friend was inserted by this very transaction, so has no referral
    to look up yet.
    """
    program = touch.advocate.program
    existing = None if new_referee else queries.live_referral(program, referee)
    if existing is not None and not _expire(existing, touch=touch, now=now):
        return existing
    reason = _rejection(touch, referee)
    referral = Referral(
        workspace_id=program.workspace_id,
        program=program,
        advocate=touch.advocate,
        referee=referee,
        source=touch.source,
        click_id=touch.click_id,
        status=Referral.Status.REJECTED if reason else Referral.Status.SIGNED_UP,
        reject_reason=reason,
        created_at=now,
        clicked_at=touch.touched_at if touch.source == Referral.Source.TOKEN else None,
        signed_up_at=now,
        rejected_at=now if reason else None,
    )
    referral.pk = sql.insert(Referral, sql.values_of(referral), on_conflict_skip=True)
    if referral.pk is None:
        # A concurrent event for the same friend got there first; its referral stands.
        first = queries.live_referral(program, referee)
        if first is None:
            raise RuntimeError("a referral insert conflicted with no live referral")
        return first
    referral._state.adding = False
    data = {"advocate": touch.advocate.public_id, "source": touch.source}
    _record("referral.created", referral, now, data)
    if reason:
        _record("referral.rejected", referral, now, {"reason": reason})
    return referral


def _expire(referral: Referral, *, touch: Touch, now: datetime) -> bool:
    """Release an unconverted referral whose window has passed, when another touch arrives."""
    window = timedelta(days=referral.program.attribution_days)
    if touch.advocate.pk == referral.advocate_id or now <= referral.first_touch_at + window:
        return False
    claimed = Referral.objects.filter(pk=referral.pk, status__in=OPEN_STATUSES).update(
        status=Referral.Status.REJECTED,
        reject_reason=Referral.RejectReason.EXPIRED,
        rejected_at=now,
    )
    if claimed:
        _record("referral.rejected", referral, now, {"reason": Referral.RejectReason.EXPIRED})
    return bool(claimed)


def purchase_rejection(
    referral: Referral, *, referee: Participant, amount: int, currency: str, now: datetime
) -> str:
    """Why this purchase does not convert the referral, or "" when it does."""
    program = referral.program
    if program.trigger_event != Program.Trigger.PURCHASE:
        return "trigger_is_signup"
    if now > referral.first_touch_at + timedelta(days=program.attribution_days):
        return "expired"
    if program.first_purchase_only and referee.purchase_count > 0:
        return "not_first_purchase"
    if program.min_amount is not None and (
        currency != program.currency or amount < program.min_amount
    ):
        return "below_min_amount"
    return ""


def convert_referral(
    referral: Referral,
    *,
    now: datetime,
    order_id: str = "",
    amount: int | None = None,
    currency: str = "",
) -> bool:
    """Mark an open referral converted. False when it was not open (already converted etc.)."""
    claimed = sql.execute(
        "UPDATE referrals_referral SET status = %s, converted_at = %s, order_id = %s, "
        "order_amount = %s, order_currency = %s WHERE id = %s AND status IN (%s, %s)",
        [
            Referral.Status.CONVERTED,
            connection.ops.adapt_datetimefield_value(now),
            order_id,
            amount,
            currency,
            referral.pk,
            *OPEN_STATUSES,
        ],
    )
    if not claimed:
        return False
    referral.status = Referral.Status.CONVERTED
    referral.converted_at = now
    referral.order_id, referral.order_amount, referral.order_currency = order_id, amount, currency
    data = {"order_id": order_id, "amount": amount, "currency": currency}
    _record("referral.converted", referral, now, data)
    return True


def mark_rewarded(referral: Referral, *, now: datetime) -> bool:
    claimed = Referral.objects.filter(pk=referral.pk, status=Referral.Status.CONVERTED).update(
        status=Referral.Status.REWARDED, rewarded_at=now
    )
    if claimed:
        _record("referral.rewarded", referral, now)
    return bool(claimed)


def reverse_referral(referral: Referral, *, now: datetime, reason: str) -> bool:
    claimed = Referral.objects.filter(
        pk=referral.pk, status__in=(Referral.Status.CONVERTED, Referral.Status.REWARDED)
    ).update(status=Referral.Status.REVERSED, reversed_at=now)
    if not claimed:
        # Another transaction changed it first (a concurrent refund): show what it wrote.
        referral.refresh_from_db(fields=["status", "reversed_at"])
        return False
    referral.status, referral.reversed_at = Referral.Status.REVERSED, now
    _record("referral.reversed", referral, now, {"reason": reason})
    return True


@transaction.atomic
def invite_friend(*, advocate: Advocate, email: str, now: datetime) -> tuple[Invite, bool]:
    invite, created = Invite.objects.get_or_create(
        advocate=advocate,
        email_normalized=normalize_email(email),
        defaults={
            "workspace_id": advocate.workspace_id,
            "program_id": advocate.program_id,
            "email": email.strip(),
            "created_at": now,
        },
    )
    if created:
        events.record(
            "invite.created",
            workspace_id=advocate.workspace_id,
            subject_id=invite.public_id,
            data={"advocate": advocate.public_id},
            now=now,
        )
    return invite, created


def _record(
    name: str, referral: Referral, now: datetime, data: Mapping[str, object] | None = None
) -> None:
    events.record(
        name,
        workspace_id=referral.workspace_id,
        subject_id=referral.public_id,
        data=dict(data or {}),
        now=now,
    )
