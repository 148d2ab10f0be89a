"""Fan-out: turn new domain events and purchases into queued messages.

Two sources, each with its cursor (`MessagingCursor`), read by id as the webhooks' fan-out
reads domain events (goodword/webhooks/fanout.py): the events of the last `LAG` are read again,
because a transaction that took its ids earlier may commit later. Reading twice queues nothing
twice: `Message` is unique per (workspace, cause, channel), and the insert ignores conflicts.

- `events`: the domain events of `journeys.BY_EVENT` (reward notices, thank-you notes, and
  friend invites that the advocate asked us to email).
- `events`, too: the reminders (`reminders.py`) of enrolments, referrals and coupons.
- `purchases`: ingested purchases, which ask the customer to refer (`referral_request`), once
  per customer and program, `delay_days` after the purchase.

Only workspaces with messaging on are read: turning it on starts from what happens next.
Whether a queued message is sent is decided when it is due (`sending.py`), on the facts then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.utils import timezone

from goodword.events.models import DomainEvent
from goodword.ingest.models import Event
from goodword.messaging import cursors, reminders, staff
from goodword.messaging.channels import sms
from goodword.messaging.defaults import SMS_SENT
from goodword.messaging.journeys import BY_EVENT, REMINDERS_BY_EVENT
from goodword.messaging.models import (
    TRANSACTIONAL,
    Channel,
    Journey,
    JourneySetting,
    Message,
    MessagingSettings,
)
from goodword.participants.models import Participant
from goodword.programs.models import Program
from goodword.referrals.models import Invite, Referral
from goodword.rewards.models import Reward

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Queued:
    workspace_id: int
    journey: str
    cause: str
    participant_id: int | None
    program_id: int | None
    referral: str = ""
    reward: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None  # not before; None: now
    to: str = ""  # an address known now, for a recipient who is not a participant
    channel: str = Channel.EMAIL


def queue_messages(*, now: datetime | None = None) -> int:
    """Queue the messages of everything recorded since the cursors; return how many were
    offered (those queued before, on a re-read, are counted but not queued again)."""
    now = now or timezone.now()
    workspaces = set(
        MessagingSettings.objects.filter(is_active=True).values_list("workspace_id", flat=True)
    )
    events = DomainEvent.objects.filter(name__in=list({*BY_EVENT, *REMINDERS_BY_EVENT}))
    purchases = Event.objects.filter(type=Event.Type.PURCHASE, test=False)

    def from_events(batch: list[DomainEvent]) -> list[Queued]:
        return _from_events(batch) + reminders.plan(batch, now)

    return (
        _read("events", events, from_events, workspaces, now)
        + _read("purchases", purchases, lambda batch: _from_purchases(batch, now), workspaces, now)
        + staff.queue_staff(now=now)  # the business's own team, whether messaging is on or off
    )


def _read(
    source: str,
    rows: QuerySet[M],
    plan: Callable[[list[M]], list[Queued]],
    workspaces: set[int],
    now: datetime,
) -> int:
    """Queue what `plan` makes of the `rows` recorded since `source`'s cursor, by id."""
    return sum(
        _insert(plan(batch), now) for batch in cursors.batches(source, rows, workspaces, now)
    )


def _from_events(batch: list[DomainEvent]) -> list[Queued]:
    rewards = {
        r.public_id: r
        for r in Reward.objects.filter(
            public_id__in=[e.subject_id for e in batch if e.subject_id.startswith("rwd_")]
        ).select_related("referral")
    }
    referrals = {
        r.public_id: r
        for r in Referral.objects.filter(
            public_id__in=[e.subject_id for e in batch if e.subject_id.startswith("ref_")]
        ).select_related("advocate")
    }
    out = []
    for event in batch:
        if event.name not in BY_EVENT:
            continue  # a reminder's only
        journey = BY_EVENT[event.name]
        cause = f"{journey}:{event.subject_id}"
        reward = rewards.get(event.subject_id)
        referral = referrals.get(event.subject_id)
        if reward is not None:
            out.append(
                Queued(
                    event.workspace_id,
                    journey,
                    cause,
                    reward.participant_id,
                    reward.program_id,
                    referral=reward.referral.public_id if reward.referral else "",
                    reward=reward.public_id,
                    data=event.data,
                )
            )
        elif referral is not None:
            out.append(
                Queued(
                    event.workspace_id,
                    journey,
                    cause,
                    referral.advocate.participant_id,
                    referral.program_id,
                    referral=referral.public_id,
                    data=event.data,
                )
            )
    return out + _from_invites(batch)


def _from_invites(batch: list[DomainEvent]) -> list[Queued]:
    """A friend invite for each invite the advocate asked us to email. The friend may be
    nobody's participant: the message has none, and keeps the address."""
    invites = Invite.objects.filter(
        public_id__in=[e.subject_id for e in batch if e.subject_id.startswith("inv_")],
        send_email=True,
    ).values_list("workspace_id", "public_id", "program_id", "email")
    return [
        Queued(
            workspace_id,
            Journey.FRIEND_INVITE,
            f"{Journey.FRIEND_INVITE}:{public_id}",
            None,
            program_id,
            data={"invite": public_id},
            to=email,
        )
        for workspace_id, public_id, program_id, email in invites
    ]


def _from_purchases(batch: list[Event], now: datetime) -> list[Queued]:
    workspaces = {e.workspace_id for e in batch}
    programs = list(
        Program.objects.filter(workspace_id__in=workspaces, status=Program.Status.ACTIVE)
    )
    settings = {
        s.program_id: s
        for s in JourneySetting.objects.filter(
            program__in=programs, journey=Journey.REFERRAL_REQUEST
        )
    }
    asking = [p for p in programs if p.pk not in settings or settings[p.pk].is_active]
    people = {(w, x): pk for pk, w, x in _people(batch)}
    out = []
    for event in batch:
        participant = people.get((event.workspace_id, event.customer_external_id))
        if participant is None:
            continue
        for program in asking:
            if program.workspace_id != event.workspace_id:
                continue
            setting = settings.get(program.pk)
            delay = timedelta(days=setting.delay_days if setting else 0)
            out.append(
                Queued(
                    event.workspace_id,
                    Journey.REFERRAL_REQUEST,
                    f"{Journey.REFERRAL_REQUEST}:{program.public_id}:{participant}",
                    participant,
                    program.pk,
                    at=max(now, event.occurred_at + delay),
                )
            )
    return out


def _people(batch: list[Event]) -> Iterable[tuple[int, int, str]]:
    ids = {e.customer_external_id for e in batch}
    return Participant.objects.filter(
        workspace_id__in={e.workspace_id for e in batch}, external_id__in=ids
    ).values_list("pk", "workspace_id", "external_id")


def _texted(planned: list[Queued]) -> list[Queued]:
    """The same messages by text, where the program sends the journey by text too
    (`JourneySetting.sms`), the workspace has `sms_enabled` and SMS_URL is set. Whether each
    goes is decided when it is due, as for email (consent, the number, STOP)."""
    wanted = [q for q in planned if q.journey in SMS_SENT and q.program_id and q.participant_id]
    if not wanted or not sms.is_enabled():
        return []
    workspaces = set(
        MessagingSettings.objects.filter(
            workspace_id__in={q.workspace_id for q in wanted}, sms_enabled=True
        ).values_list("workspace_id", flat=True)
    )
    texting = set(
        JourneySetting.objects.filter(
            program_id__in={q.program_id for q in wanted if q.workspace_id in workspaces},
            sms=True,
        ).values_list("program_id", "journey")
    )
    return [replace(q, channel=Channel.SMS) for q in wanted if (q.program_id, q.journey) in texting]


def _insert(planned: list[Queued], now: datetime) -> int:
    planned = planned + _texted(planned)
    rows = [
        Message(
            workspace_id=q.workspace_id,
            program_id=q.program_id,
            participant_id=q.participant_id,
            journey=q.journey,
            channel=q.channel,
            cause=q.cause,
            transactional=q.journey in TRANSACTIONAL,
            referral_public_id=q.referral,
            reward_public_id=q.reward,
            data=q.data,
            to=q.to,
            next_attempt_at=q.at or now,
            created_at=now,
        )
        for q in planned
    ]
    created = Message.objects.bulk_create(rows, ignore_conflicts=True)
    return len(created)
