from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.db import transaction

from goodword.events import services as events
from goodword.lib.emails import normalize_email
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
