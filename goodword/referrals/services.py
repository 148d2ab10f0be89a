from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db import transaction

from goodword.events import services as events
from goodword.lib.emails import normalize_email
from goodword.lib.errors import DomainError, Invalid
from goodword.participants.models import Advocate
from goodword.programs import counters
from goodword.referrals.models import Invite, Referral


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
    counters.forget_referral(referral)
    referral.status, referral.reversed_at = Referral.Status.REVERSED, now
    _record("referral.reversed", referral, now, {"reason": reason})
    return True


INVITES_PER_DAY = 20  # emailed invites one advocate may ask for in any 24 hours
INVITE_TEXT_MAX = 500  # characters of an invite's note and of its consent text
_DAY = timedelta(hours=24)


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"


@transaction.atomic
def invite_friend(
    *,
    advocate: Advocate,
    email: str,
    now: datetime,
    note: str = "",
    consent: str = "",
    send_email: bool = False,
) -> tuple[Invite, bool]:
    """Record that `advocate` invited the friend at `email` (their signup with that address is
    attributed to the advocate); with `send_email`, messaging emails the friend on the
    advocate's behalf (the `friend_invite` journey reads `invite.created`).

    The same friend again returns the first invite and False, and changes nothing, whatever
    this request asked. Refusals write nothing: `consent_required` (an email without the
    consent text the advocate agreed to), `too_long`, and RateLimited past `INVITES_PER_DAY`
    emailed invites of the advocate in 24 hours."""
    note, consent = note.strip(), consent.strip()
    _check_invite(note=note, consent=consent, send_email=send_email)
    key = normalize_email(email)
    first = Invite.objects.filter(advocate=advocate, email_normalized=key).first()
    if first is not None:
        return first, False
    if send_email:
        _check_daily_limit(advocate, now)
    invite, created = Invite.objects.get_or_create(
        advocate=advocate,
        email_normalized=key,
        defaults={
            "workspace_id": advocate.workspace_id,
            "program_id": advocate.program_id,
            "email": email.strip(),
            "note": note,
            "consent": consent,
            "send_email": send_email,
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


def _check_invite(*, note: str, consent: str, send_email: bool) -> None:
    for name, value in (("note", note), ("consent", consent)):
        if len(value) > INVITE_TEXT_MAX:
            raise Invalid(
                f"{name} must be at most {INVITE_TEXT_MAX} characters; it is {len(value)}",
                code="too_long",
                details={"field": name},
            )
    if send_email and not consent:
        raise DomainError(
            "send_email needs consent: send the consent text the advocate agreed to, as it "
            'was shown to them (such as "I know my friend and they are happy to hear from '
            'you")',
            code="consent_required",
            details={"field": "consent"},
        )


def _check_daily_limit(advocate: Advocate, now: datetime) -> None:
    # The advocate's row is the lock: two requests at once must not both count 19 and write
    # the 20th and the 21st. (SQLite's IMMEDIATE transactions queue writers anyway.)
    Advocate.objects.select_for_update().filter(pk=advocate.pk).values_list("pk").first()
    recent = Invite.objects.filter(advocate=advocate, send_email=True, created_at__gt=now - _DAY)
    times = list(recent.order_by("-created_at").values_list("created_at", flat=True))
    if len(times) < INVITES_PER_DAY:
        return
    # Free again when the oldest of the latest INVITES_PER_DAY leaves the 24 hours.
    free_at = times[INVITES_PER_DAY - 1] + _DAY
    raise RateLimited(
        f"at most {INVITES_PER_DAY} emailed invites per advocate in 24 hours; this advocate "
        f"may send the next at {free_at.isoformat()}",
        details={
            "limit": INVITES_PER_DAY,
            "retry_after": max(1, math.ceil((free_at - now).total_seconds())),
        },
    )


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
