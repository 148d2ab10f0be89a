"""Reminders: a nudge to someone who has not done something yet, that stops once they do.

- `remind_share`: queued on `advocate.enrolled`, due N days (3) after the enrolment, to the
  advocate; stops once they shared (`shared`).
- `remind_friend`: queued on `referral.created` of a referral still open, due N days (5) after
  it, to the friend; stops once the referral converted.
- `coupon_expiring`: queued on `reward.fulfilled` of a coupon that expires, due N days (3)
  before it expires, to whoever holds it; stops once the coupon was used on an order.

N is the program's `delay_days` for the journey (`journeys.DEFAULT_DELAY` without a setting),
read again when the reminder is due, so a changed delay applies to queued reminders: later,
the sender waits (`journeys.decide` answers `later`); sooner, `reschedule` brings the queued
ones forward to be decided again. A reminder is queued at most once per cause (the outbox's
unique cause): one per advocate and program, one per referral, one per coupon.

Whether the person acted is read at send time, in bulk for a claim (`load`), and handed to the
pure decision as `Facts.acted`; a referral rejected or reversed since, or a coupon revoked,
is `superseded`; a coupon past its expiry, `expired`. (A program no longer running asks
nobody anything: `journeys.decide` skips all its marketing as `program_paused`.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Exists, OuterRef

from goodword.messaging import fanout, journeys
from goodword.messaging.models import Journey, JourneySetting, Message
from goodword.participants.models import Advocate
from goodword.programs.models import Program
from goodword.referrals.models import OPEN_STATUSES, Click, Invite, Referral, Share
from goodword.rewards.models import Reward

if TYPE_CHECKING:
    from goodword.events.models import DomainEvent

REMINDERS = frozenset(journeys.DEFAULT_DELAY)
# A reminder whose due time passed this long ago is not queued: its cause was imported from
# history, or the fan-out was far behind; reminding now would be about something old.
STALE = timedelta(days=2)
_ACTED = (Referral.Status.CONVERTED, Referral.Status.REWARDED)
_UNDONE = (Referral.Status.REJECTED, Referral.Status.REVERSED)


def shared(advocate_ids: set[int]) -> set[int]:
    """The advocates among `advocate_ids` who have shared: a share event (a tap on a share
    button, a QR code downloaded, one the business reported), a click on their link, an invite
    they made, or a referral attributed to them (all of them after their enrolment). One query."""
    if not advocate_ids:
        return set()
    mine = OuterRef("pk")
    return set(
        Advocate.objects.filter(pk__in=advocate_ids)
        .filter(
            Exists(Share.objects.filter(advocate=mine))
            | Exists(Click.objects.filter(advocate=mine))
            | Exists(Invite.objects.filter(advocate=mine))
            | Exists(Referral.objects.filter(advocate=mine))
        )
        .values_list("pk", flat=True)
    )


# Queueing (the fan-out's `events` source).


def plan(batch: list[DomainEvent], now: datetime) -> list[fanout.Queued]:
    """The reminders that a batch of domain events queues."""
    by_name: dict[str, list[str]] = {name: [] for name in journeys.REMINDERS_BY_EVENT}
    for event in batch:
        if event.name in by_name:
            by_name[event.name].append(event.subject_id)
    advocates = _advocates(by_name["advocate.enrolled"])
    referrals = _referrals(by_name["referral.created"])
    rewards = _coupons(by_name["reward.fulfilled"], now)
    programs = {a.program_id for a in advocates} | {r.program_id for r in referrals}
    programs |= {r.program_id for r in rewards if r.program_id}
    delays = _settings(programs)

    def delay(program_id: int | None, journey: Journey) -> timedelta | None:
        """None: the program turned the journey off."""
        found = delays.get((program_id or 0, journey))
        if found is not None and not found.is_active:
            return None
        return timedelta(days=found.delay_days if found else journeys.default_delay(journey))

    out = []
    for a in advocates:
        wait = delay(a.program_id, Journey.REMIND_SHARE)
        if wait is not None and a.created_at + wait + STALE > now:
            out.append(_queued(a.workspace_id, Journey.REMIND_SHARE, a.public_id, a.participant_id,
                               a.program_id, a.created_at, a.created_at + wait, now,
                               data={"advocate": a.public_id}))  # fmt: skip
    for r in referrals:
        wait = delay(r.program_id, Journey.REMIND_FRIEND)
        if wait is not None and r.created_at + wait + STALE > now:
            out.append(_queued(r.workspace_id, Journey.REMIND_FRIEND, r.public_id, r.referee_id,
                               r.program_id, r.created_at, r.created_at + wait, now,
                               referral=r.public_id))  # fmt: skip
    for w in rewards:
        wait = delay(w.program_id, Journey.COUPON_EXPIRING)
        expires = w.coupon_expires_at
        if wait is not None and expires is not None:
            out.append(_queued(w.workspace_id, Journey.COUPON_EXPIRING, w.public_id,
                               w.participant_id, w.program_id, expires, expires - wait, now,
                               reward=w.public_id))  # fmt: skip
    return out


def _queued(
    workspace_id: int,
    journey: Journey,
    subject: str,
    participant_id: int,
    program_id: int | None,
    since: datetime,
    due: datetime,
    now: datetime,
    *,
    data: dict[str, str] | None = None,
    referral: str = "",
    reward: str = "",
) -> fanout.Queued:
    return fanout.Queued(
        workspace_id,
        journey,
        f"{journey}:{subject}",
        participant_id,
        program_id,
        referral=referral,
        reward=reward,
        # `since`: what the delay counts from (a coupon's: its expiry, counted back).
        data={**(data or {}), "since": since.isoformat()},
        at=max(now, due),
    )


def _advocates(public_ids: list[str]) -> list[Advocate]:
    if not public_ids:
        return []
    return list(
        Advocate.objects.filter(public_id__in=public_ids, program__status=Program.Status.ACTIVE)
        .exclude(variant="holdout")  # in an experiment's holdout: no program for them
        .only("public_id", "workspace_id", "program_id", "participant_id", "created_at")
    )


def _referrals(public_ids: list[str]) -> list[Referral]:
    if not public_ids:
        return []
    # A referral that converted, or was rejected, at once needs no reminder.
    return list(
        Referral.objects.filter(
            public_id__in=public_ids,
            status__in=OPEN_STATUSES,
            test=False,
            program__status=Program.Status.ACTIVE,
        ).only("public_id", "workspace_id", "program_id", "referee_id", "created_at")
    )


def _coupons(public_ids: list[str], now: datetime) -> list[Reward]:
    if not public_ids:
        return []
    return list(
        Reward.objects.filter(
            public_id__in=public_ids,
            coupon_expires_at__gt=now,
            coupon_used_at__isnull=True,
        )
        .exclude(coupon_code="")
        .only("public_id", "workspace_id", "program_id", "participant_id", "coupon_expires_at")
    )


def _settings(programs: set[int]) -> dict[tuple[int, str], JourneySetting]:
    if not programs:
        return {}
    rows = JourneySetting.objects.filter(program_id__in=programs, journey__in=REMINDERS)
    return {(s.program_id, s.journey): s for s in rows}


def reschedule(*, program: Program, journey: str, now: datetime) -> int:
    """Bring a program's queued reminders of `journey` forward, to be decided again now (a
    shorter delay makes some due sooner; the others are put back to their time). Messages in
    a sender's lease are left alone: their `next_attempt_at` is at most a lease ahead."""
    lease = timedelta(seconds=settings.MESSAGE_LEASE_SECONDS + 60)
    return (
        Message.objects.for_workspace(program.workspace_id)
        .filter(
            program=program,
            journey=journey,
            status=Message.Status.PENDING,
            next_attempt_at__gt=now + lease,
        )
        .update(next_attempt_at=now)
    )


# Sending: the facts of a claim's reminders, read once for all of them.


@dataclass
class Loaded:
    advocates: dict[str, Advocate] = field(default_factory=dict)  # by public id
    referrals: dict[str, Referral] = field(default_factory=dict)  # by public id
    shared: set[int] = field(default_factory=set)  # advocates (pk) who shared

    @classmethod
    def load(cls, claimed: list[Message]) -> Loaded:
        """Three queries when the claim has reminders to the advocate or the friend; none
        otherwise (a coupon's reward is read with the other rewards)."""
        share = {advocate_id(m) for m in claimed} - {""}
        refer = {m.referral_public_id for m in claimed if m.journey == Journey.REMIND_FRIEND}
        if not share and not refer:
            return cls()
        referrals = {
            r.public_id: r
            for r in Referral.objects.filter(public_id__in=refer).select_related(
                "advocate__participant"
            )
        }
        advocates = {
            a.public_id: a
            for a in Advocate.objects.filter(public_id__in=share).select_related("participant")
        }
        return cls(
            advocates=advocates,
            referrals=referrals,
            shared=shared({a.pk for a in advocates.values()}),
        )

    def advocate(self, message: Message) -> Advocate | None:
        """The advocate a reminder is about: the one reminded to share, or the friend's."""
        if message.journey == Journey.REMIND_FRIEND:
            referral = self.referrals.get(message.referral_public_id)
            return referral.advocate if referral is not None else None
        return self.advocates.get(advocate_id(message))


def advocate_id(message: Message) -> str:
    """The public id of a share reminder's advocate; "" for other messages."""
    if message.journey != Journey.REMIND_SHARE or not isinstance(message.data, dict):
        return ""
    return str(message.data.get("advocate") or "")


@dataclass(frozen=True)
class Reminder:
    """A reminder's part of `journeys.Facts`."""

    acted: bool = False
    superseded: bool = False
    due_at: datetime | None = None
    too_late_at: datetime | None = None


def facts(
    message: Message,
    loaded: Loaded,
    *,
    program: Program | None,
    reward: Reward | None,
    setting: JourneySetting | None,
) -> Reminder:
    """What the decision needs to know of a reminder: pure, on what `load` read."""
    if message.journey not in REMINDERS:
        return Reminder()
    delay = timedelta(
        days=setting.delay_days if setting else journeys.default_delay(message.journey)
    )
    if message.journey == Journey.COUPON_EXPIRING:
        expires = reward.coupon_expires_at if reward is not None else None
        if reward is None or expires is None or reward.status != Reward.Status.FULFILLED:
            return Reminder(superseded=True)  # revoked (reversed) since, or gone
        return Reminder(
            acted=reward.coupon_used_at is not None, due_at=expires - delay, too_late_at=expires
        )
    due = _since(message) + delay
    if message.journey == Journey.REMIND_FRIEND:
        referral = loaded.referrals.get(message.referral_public_id)
        if referral is None or referral.status in _UNDONE:
            return Reminder(superseded=True)
        return Reminder(acted=referral.status in _ACTED, due_at=due)
    advocate = loaded.advocates.get(advocate_id(message))
    if advocate is None:
        return Reminder(superseded=True)
    return Reminder(acted=advocate.pk in loaded.shared, due_at=due)


def _since(message: Message) -> datetime:
    data = message.data if isinstance(message.data, dict) else {}
    return datetime.fromisoformat(str(data.get("since") or message.created_at.isoformat()))
