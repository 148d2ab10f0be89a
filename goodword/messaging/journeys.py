"""Journeys: which message a cause makes, and whether a queued message goes now, later or never.

Both decisions are pure (no database, no clock, no I/O): `fanout.py` and `sending.py` load the
facts for a batch, call these, and write. Every "no" is a reason code a test can compare and
the message log shows (`Message.skip_reason`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from goodword.messaging.models import TRANSACTIONAL, Journey

# Domain events that make a message, and the journey of each. `referral_request` comes from
# purchases (ingested events), not from a domain event.
BY_EVENT = {
    "reward.created": Journey.REWARD_EARNED,
    "reward.approved": Journey.REWARD_APPROVED,
    "reward.fulfilled": Journey.REWARD_FULFILLED,
    "reward.reversed": Journey.REWARD_REVERSED,
    "credit.expiring": Journey.REWARD_EXPIRING,
    "referral.converted": Journey.THANK_YOU,
    "invite.created": Journey.FRIEND_INVITE,  # only invites asked to be emailed (`send_email`)
}

# Domain events that queue a reminder (`reminders.py`), due `delay_days` after (a coupon's:
# before its expiry). A reward.fulfilled queues one only for a coupon that expires.
REMINDERS_BY_EVENT = {
    "advocate.enrolled": Journey.REMIND_SHARE,
    "referral.created": Journey.REMIND_FRIEND,
    "reward.fulfilled": Journey.COUPON_EXPIRING,
}
# `delay_days` of a journey without a setting; the referral request's is 0 (at once).
DEFAULT_DELAY = {
    Journey.REMIND_SHARE: 3,
    Journey.REMIND_FRIEND: 5,
    Journey.COUPON_EXPIRING: 3,
}

WEEK = timedelta(days=7)


def default_delay(journey: str) -> int:
    for reminder, days in DEFAULT_DELAY.items():
        if reminder == journey:
            return days
    return 0


@dataclass(frozen=True)
class Recipient:
    """Who a message goes to. A friend invite's recipient is the invited address, with the
    advocate's language and test flag, and `consented` True: the consent the advocate agreed
    to when inviting (`Invite.consent`) stands in for the friend's, whom we do not know."""

    email: str  # "" when unknown
    language: str  # "" when the participant has none
    time_zone: str  # "" when the participant has none
    is_test: bool
    consented: bool | None  # the `marketing_consent` attribute; None when not given
    nps_score: int | None
    ineligible: str  # why the program's eligibility keeps them out, or ""
    # Text messages: the number in E.164 ("" when none, or not one we can text), and the
    # `sms_consent` attribute (None when not given). Consent to texts is its own: TCPA and the
    # GDPR want it explicit, so only `true` lets a marketing text go.
    phone: str = ""
    sms_consented: bool | None = None


@dataclass(frozen=True)
class Manners:
    """The workspace's messaging settings and the program's journey setting, as they are now."""

    is_active: bool  # messaging on for the workspace
    journey_active: bool
    min_nps: int | None
    require_consent: bool
    weekly_cap: int
    quiet_start: int
    quiet_end: int
    time_zone: str
    language: str
    # False: the program is paused or ended, and asks nobody for anything; its reward
    # notices still go (people's money does not pause).
    program_active: bool = True
    program_language: str = ""  # the program's, for people whose own is not known
    # A text may go: SMS_URL is set, the workspace has `sms_enabled`, and the program sends
    # this journey by text (`JourneySetting.sms`).
    sms_active: bool = False


@dataclass(frozen=True)
class Facts:
    journey: str
    now: datetime
    recipient: Recipient | None  # None: the participant is gone
    manners: Manners
    suppressed: str  # the address's suppression reason, or ""
    sent_this_week: int  # non-transactional messages sent to the recipient in the last 7 days
    # A later notice says it all: the reward "earned" (pending) is already approved or
    # fulfilled, the reward "approved" is already fulfilled (hold 0, instant codes), or the
    # reward is reversed since.
    superseded: bool = False
    # Reminders: the person did what they are reminded of (shared, bought, used the coupon).
    acted: bool = False
    # Reminders: when it is due under the program's delay now (a changed delay applies to
    # queued reminders), and the moment past which there is nothing left to remind of.
    due_at: datetime | None = None
    too_late_at: datetime | None = None
    channel: str = "email"  # or "sms": `suppressed` and `sent_this_week` are then the number's


@dataclass(frozen=True)
class Verdict:
    send: bool
    skip: str = ""  # why not, when not sent and not delayed
    later: datetime | None = None  # not now: try again then
    language: str = ""


# Suppressions that stop even transactional messages: the address does not work, or the
# person said stop to everything.
_HARD = frozenset({"bounced", "complained", "stopped"})
LANGUAGES = ("en", "it")


def decide(facts: Facts) -> Verdict:
    """Whether a due message goes now; pure."""
    transactional = facts.journey in TRANSACTIONAL
    manners, recipient = facts.manners, facts.recipient
    if not manners.is_active:
        return Verdict(False, "messaging_off")
    if not manners.journey_active:
        return Verdict(False, "journey_off")
    if not manners.program_active and not transactional:
        return Verdict(False, "program_paused")
    sms = facts.channel == "sms"
    if sms and not manners.sms_active:
        return Verdict(False, "sms_off")
    if recipient is None:
        return Verdict(False, "no_recipient")
    if facts.superseded:
        return Verdict(False, "superseded")
    if facts.acted:
        return Verdict(False, "acted")
    if facts.too_late_at is not None and facts.now >= facts.too_late_at:
        return Verdict(False, "expired")
    if facts.due_at is not None and facts.now < facts.due_at:
        return Verdict(False, later=facts.due_at)
    if recipient.is_test:
        return Verdict(False, "test_customer")
    if sms and not recipient.phone:
        return Verdict(False, "no_phone")
    if not sms and not recipient.email:
        return Verdict(False, "no_address")
    if facts.suppressed in _HARD or (facts.suppressed and not transactional):
        return Verdict(False, facts.suppressed)
    if facts.journey == Journey.REFERRAL_REQUEST:
        why = _not_asked(recipient, manners)
        if why:
            return Verdict(False, why)
    if not transactional:
        if sms and recipient.sms_consented is not True:
            return Verdict(False, "no_sms_consent")
        if manners.require_consent and recipient.consented is not True:
            return Verdict(False, "no_consent")
        if recipient.consented is False:
            return Verdict(False, "no_consent")
        if facts.sent_this_week >= manners.weekly_cap:
            return Verdict(False, "frequency_cap")
        where = recipient.time_zone or manners.time_zone
        later = quiet_until(facts.now, where, manners.quiet_start, manners.quiet_end)
        if later is not None:
            return Verdict(False, later=later)
    return Verdict(
        True, language=language(recipient.language, manners.program_language, manners.language)
    )


def _not_asked(recipient: Recipient, manners: Manners) -> str:
    if recipient.ineligible:
        return "not_eligible"
    if manners.min_nps is not None and (
        recipient.nps_score is None or recipient.nps_score < manners.min_nps
    ):
        return "not_promoter"
    return ""


def language(*wanted: str) -> str:
    """The first of `wanted` (the recipient's, the program's, the workspace's) that we write
    (`it-IT` is `it`), else English."""
    for candidate in wanted:
        short = candidate.strip().lower().replace("_", "-").split("-")[0]
        if short in LANGUAGES:
            return short
    return "en"


def quiet_until(now: datetime, zone_name: str, start: int, end: int) -> datetime | None:
    """When the recipient's quiet hours end, if `now` is inside them; else None.

    Hours of the recipient's wall clock: start 21, end 8 keeps 21:00-07:59 quiet. A zone that
    does not exist is taken as UTC (the recipient gets the message at a UTC-decent hour)."""
    if start == end:
        return None
    tz = zone(zone_name)
    local = now.astimezone(tz)
    hour = local.hour
    quiet = (start <= hour < end) if start < end else (hour >= start or hour < end)
    if not quiet:
        return None
    day = local.date() if hour < end else local.date() + timedelta(days=1)
    return datetime.combine(day, time(end), tzinfo=tz)


def zone(name: str) -> ZoneInfo:
    """The time zone called `name`; UTC when there is none such (a participant's attribute
    may say anything)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return ZoneInfo("UTC")
