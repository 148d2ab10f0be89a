"""Messaging in plain words for the dashboard: what each journey is, and why a message was not
sent (the sender's reason codes, `journeys.decide`, as a person reads them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from goodword.messaging.models import PROGRAM_JOURNEYS, TRANSACTIONAL, Journey, Message

LANGUAGES = {"en": _("English"), "it": _("Italiano")}

NAMES: dict[str, Promise] = {
    Journey.REFERRAL_REQUEST: _("Referral request"),
    Journey.REWARD_EARNED: _("Reward earned"),
    Journey.REWARD_APPROVED: _("Reward approved"),
    Journey.REWARD_FULFILLED: _("Reward fulfilled"),
    Journey.REWARD_REVERSED: _("Reward reversed"),
    Journey.REWARD_EXPIRING: _("Credit expiring"),
    Journey.THANK_YOU: _("Thank-you note"),
    Journey.FRIEND_INVITE: _("Friend invite"),
    Journey.REMIND_SHARE: _("Share reminder"),
    Journey.REMIND_FRIEND: _("Friend reminder"),
    Journey.COUPON_EXPIRING: _("Coupon expiring"),
    Journey.STAFF_NEW_REFERRAL: _("Staff: new referral"),
    Journey.STAFF_REVIEW_WAITING: _("Staff: rewards to review"),
    Journey.STAFF_LOW_COUPONS: _("Staff: coupon codes running low"),
    Journey.STAFF_WEBHOOK_FAILING: _("Staff: webhook failing"),
    Journey.STAFF_PAYOUTS_DUE: _("Staff: payouts due"),
    Journey.KPI_DIGEST: _("Staff: weekly KPI digest"),
}

WHAT: dict[str, Promise] = {
    Journey.REFERRAL_REQUEST: _(
        "Asks a customer to refer their friends after a purchase, with their code, link and "
        "share page."
    ),
    Journey.REWARD_EARNED: _("Tells someone they earned a reward, and the day it becomes final."),
    Journey.REWARD_APPROVED: _("Tells someone their reward is approved."),
    Journey.REWARD_FULFILLED: _(
        "Tells someone their reward is theirs: the credit added, the commission paid, or the "
        "coupon code."
    ),
    Journey.REWARD_REVERSED: _("Tells someone a reward was taken back, and why."),
    Journey.REWARD_EXPIRING: _("Reminds someone that their store credit is about to expire."),
    Journey.THANK_YOU: _(
        "Thanks an advocate each time a friend they referred converts; it carries no offer."
    ),
    Journey.FRIEND_INVITE: _(
        "Goes to a friend's address on an advocate's behalf, with the advocate's own note."
    ),
    Journey.REMIND_SHARE: _(
        "Reminds an advocate who has not shared yet, some days after they joined, with their "
        "share page; not sent once they have shared."
    ),
    Journey.REMIND_FRIEND: _(
        "Reminds a referred friend who has not bought yet of their offer, with the advocate's "
        "name and link; not sent once they have bought."
    ),
    Journey.COUPON_EXPIRING: _(
        "Reminds someone that their coupon is about to expire, with its code; not sent once "
        "they have used it."
    ),
}

# A reminder's delay, as its field says it (`delay_days`), and a hint.
DELAY_LABELS: dict[str, Promise] = {
    Journey.REMIND_SHARE: _("Days after joining"),
    Journey.REMIND_FRIEND: _("Days after the friend was referred"),
    Journey.COUPON_EXPIRING: _("Days before the coupon expires"),
}
DELAY_HINTS: dict[str, Promise] = {
    Journey.REMIND_SHARE: _("1 to 365; 3 by default."),
    Journey.REMIND_FRIEND: _("1 to 365; 5 by default."),
    Journey.COUPON_EXPIRING: _("1 to 365; 3 by default."),
}

# The sender's reasons for not sending (`journeys.decide`, `Message.skip_reason`).
SKIPS: dict[str, Promise] = {
    "messaging_off": _("messaging was off for the workspace"),
    "journey_off": _("this message was turned off for the program"),
    "program_paused": _("the program was paused or ended"),
    "no_recipient": _("the person no longer exists"),
    "superseded": _("a later notice said it"),
    "test_customer": _("a test customer"),
    "no_address": _("no email address"),
    "unsubscribed": _("they unsubscribed"),
    "bounced": _("the address bounced"),
    "complained": _("they reported an earlier message as spam"),
    "stopped": _("they replied STOP"),
    "not_eligible": _("not eligible for the program"),
    "not_promoter": _("not a promoter: their NPS answer is below the program's threshold"),
    "no_consent": _("no marketing consent"),
    "no_sms_consent": _("no consent to texts (sms_consent)"),
    "no_phone": _("no phone number to text"),
    "sms_off": _("text messages were off"),
    "frequency_cap": _("weekly limit reached"),
    "acted": _("they already did it (shared, bought or used the coupon)"),
    "expired": _("the coupon expired first"),
    "subscription_off": _("the staff notification was turned off or removed"),
    "not_a_member": _("the address is no longer a member of the workspace"),
    "nothing_waiting": _("nothing left to tell"),
}

# What a journey's template can read (docs/messaging.md, "Template data"); every value may be "".
COMMON_DATA = (
    "workspace.name",
    "program.name",
    "brand.name",
    "brand.color",
    "brand.logo_url",
    "recipient.name",
    "recipient.first_name",
    "recipient.email",
    "language",
    "unsubscribe_url",
)
DATA: dict[str, tuple[str, ...]] = {
    Journey.REFERRAL_REQUEST: (
        "advocate.code",
        "advocate.link",
        "advocate.share_url",
        "advocate.portal_url",
        "offer.friend",
        "offer.advocate",
    ),
    Journey.REWARD_EARNED: ("reward.description", "reward.final_on"),
    Journey.REWARD_APPROVED: ("reward.description",),
    Journey.REWARD_FULFILLED: ("reward.description", "reward.code"),
    Journey.REWARD_REVERSED: ("reward.description", "reward.reason"),
    Journey.REWARD_EXPIRING: ("reward.description", "reward.expires_on"),
    Journey.THANK_YOU: ("friend.first_name",),
    Journey.FRIEND_INVITE: (
        "advocate.name",
        "advocate.first_name",
        "advocate.link",
        "advocate.code",
        "offer.friend",
        "note",
    ),
    Journey.REMIND_SHARE: (
        "advocate.code",
        "advocate.link",
        "advocate.share_url",
        "advocate.portal_url",
        "offer.friend",
        "offer.advocate",
    ),
    Journey.REMIND_FRIEND: (
        "advocate.name",
        "advocate.first_name",
        "advocate.link",
        "advocate.code",
        "offer.friend",
    ),
    Journey.COUPON_EXPIRING: ("reward.description", "reward.code", "reward.expires_on"),
}

BADGES = {"pending": "warn", "sent": "ok", "failed": "bad", "skipped": ""}


@dataclass(frozen=True)
class JourneyInfo:
    journey: str
    name: str
    what: str
    transactional: bool


def journeys() -> list[JourneyInfo]:
    """Every journey, in the order the pages list them."""
    return [
        JourneyInfo(j.value, str(NAMES[j]), str(WHAT[j]), j in TRANSACTIONAL)
        for j in PROGRAM_JOURNEYS
    ]


def name_of(journey: str) -> str:
    return str(NAMES.get(journey, journey))


def status_of(message: Message, now: datetime) -> str:
    """Why a message is where it is, in a few words ("" when its status says it all)."""
    if message.status == Message.Status.SKIPPED:
        reason = message.skip_reason
        return str(SKIPS.get(reason, reason))
    if message.status == Message.Status.FAILED:
        return message.error
    if message.status == Message.Status.PENDING and message.next_attempt_at:
        if message.error:
            return gettext("retrying after: %(error)s") % {"error": message.error}
        if message.next_attempt_at > now:
            # A referral request's delay, or the recipient's quiet hours.
            return gettext("waiting until %(when)s UTC (a delay or quiet hours)") % {
                "when": f"{message.next_attempt_at:%Y-%m-%d %H:%M}"
            }
    return ""
