"""Messaging: a workspace's settings, each program's journeys and templates, the outbox of
messages (which is also the message log), and the addresses that must get nothing more.

A message is a row before it is anything else: written by the fan-out from domain events and
purchases (`fanout.py`), unique per cause and channel so that a cause is told once, sent by the
worker (`sending.py`), which renders it at send time and keeps what it sent on the row.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from goodword.accounts.models import Workspace
from goodword.lib import ids
from goodword.lib.models import TenantQuerySet
from goodword.participants.models import Participant
from goodword.programs.models import Program


def new_message_id() -> str:  # named: migrations refer to it
    return ids.new_id("mes")


def new_template_id() -> str:
    return ids.new_id("tpl")


class Journey(models.TextChoices):
    REFERRAL_REQUEST = "referral_request", "Referral request"
    REWARD_EARNED = "reward_earned", "Reward earned"
    REWARD_APPROVED = "reward_approved", "Reward approved"
    REWARD_FULFILLED = "reward_fulfilled", "Reward fulfilled"
    REWARD_REVERSED = "reward_reversed", "Reward reversed"
    REWARD_EXPIRING = "reward_expiring", "Credit expiring"
    THANK_YOU = "thank_you", "Thank-you note"
    FRIEND_INVITE = "friend_invite", "Friend invite"
    # Reminders (`reminders.py`): each stops as soon as the person acts.
    REMIND_SHARE = "remind_share", "Share reminder"
    REMIND_FRIEND = "remind_friend", "Friend reminder"
    COUPON_EXPIRING = "coupon_expiring", "Coupon expiring"
    # The business's own staff (goodword/messaging/staff.py): no program, no participant.
    STAFF_NEW_REFERRAL = "staff_new_referral", "Staff: new referral"
    STAFF_REVIEW_WAITING = "staff_review_waiting", "Staff: rewards to review"
    STAFF_LOW_COUPONS = "staff_low_coupons", "Staff: coupon codes running low"
    STAFF_WEBHOOK_FAILING = "staff_webhook_failing", "Staff: webhook failing"
    STAFF_PAYOUTS_DUE = "staff_payouts_due", "Staff: payouts due"
    KPI_DIGEST = "kpi_digest", "Staff: weekly KPI digest"


# Reward notices tell people about their own money: sent whatever their marketing choices
# (never to a bounced address), outside frequency caps and quiet hours.
TRANSACTIONAL = frozenset(
    {
        Journey.REWARD_EARNED,
        Journey.REWARD_APPROVED,
        Journey.REWARD_FULFILLED,
        Journey.REWARD_REVERSED,
        Journey.REWARD_EXPIRING,
        Journey.COUPON_EXPIRING,  # their own reward, as REWARD_EXPIRING
    }
)


# Staff notifications: operational messages to the business's team, outside the customers'
# manners (no suppression, cap, quiet hours or consent), without templates of a program.
STAFF = frozenset(
    {
        Journey.STAFF_NEW_REFERRAL,
        Journey.STAFF_REVIEW_WAITING,
        Journey.STAFF_LOW_COUPONS,
        Journey.STAFF_WEBHOOK_FAILING,
        Journey.STAFF_PAYOUTS_DUE,
        Journey.KPI_DIGEST,
    }
)
# The journeys a program has settings and templates for: every one but the staff's.
PROGRAM_JOURNEYS = tuple(j for j in Journey if j not in STAFF)


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    SLACK = "slack", "Slack"


class MessagingSettings(models.Model):
    """A workspace's sender, brand and manners. Absent: the defaults below."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE)
    # Off until the workspace turns it on: an upgrade must not start mailing its customers.
    is_active = models.BooleanField(default=False)
    from_name = models.CharField(max_length=100, blank=True, default="")  # "": the workspace's
    reply_to = models.EmailField(blank=True, default="")
    language = models.CharField(max_length=8, default="en")
    time_zone = models.CharField(max_length=64, default="UTC")  # for recipients without one
    brand_color = models.CharField(max_length=7, default="#1f6f5c")
    logo_url = models.URLField(max_length=2000, blank=True, default="")
    # Printed in the footer of every email: the law of many places (CAN-SPAM in the US) wants
    # a sender's physical address in commercial email.
    postal_address = models.CharField(max_length=300, blank=True, default="")
    # Non-transactional messages: no more than this many per recipient in 7 days; none between
    # these hours of the recipient's day (start > end spans midnight; equal: no quiet hours).
    weekly_cap = models.PositiveSmallIntegerField(default=3)
    quiet_start = models.PositiveSmallIntegerField(default=21)
    quiet_end = models.PositiveSmallIntegerField(default=8)
    # True: a non-transactional message needs the participant's `marketing_consent` attribute.
    require_consent = models.BooleanField(default=False)
    # Text messages too, for the journeys a program sends by text (`JourneySetting.sms`), when
    # the installation has SMS_URL. Off by default: texting people costs money and consent.
    sms_enabled = models.BooleanField(default=False)
    # The country whose national numbers a phone attribute without a country code is read as
    # (ISO 3166 alpha-2, "IT"); "": such numbers are skipped as `no_phone`.
    phone_region = models.CharField(max_length=2, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    def __str__(self) -> str:
        return f"messaging of {self.workspace_id}"


class JourneySetting(models.Model):
    """A program's choices for one journey; absent: the journey's defaults (`journeys.py`)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    program = models.ForeignKey(Program, on_delete=models.CASCADE)
    journey = models.CharField(max_length=32, choices=Journey.choices)
    is_active = models.BooleanField(default=True)
    # Referral request: days after the purchase (0: at once, as consumer programs ask).
    # Reminders: days after enrolment or the referral, or before the coupon expires.
    delay_days = models.PositiveSmallIntegerField(default=0)
    # Referral request: ask only customers whose last NPS answer is at least this (null: all).
    min_nps = models.PositiveSmallIntegerField(null=True, blank=True)
    # Also send by text (`defaults.SMS_SENT` journeys; the workspace's `sms_enabled` too).
    sms = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "journey"], name="one_setting_per_journey"),
        ]

    def __str__(self) -> str:
        return f"{self.program_id} {self.journey}"


class MessageTemplate(models.Model):
    """A program's own wording of a journey in one language; absent: the default wording
    (`messaging/defaults/<language>/`). `version` grows with every change, and compiled
    templates are cached by it. A wording with a `segment` is for recipients whose `segment`
    attribute is that value; the others (and they, when there is none) get the one without."""

    public_id = models.CharField(
        max_length=32, unique=True, default=new_template_id, editable=False
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    program = models.ForeignKey(Program, on_delete=models.CASCADE)
    journey = models.CharField(max_length=32, choices=Journey.choices)
    language = models.CharField(max_length=8)
    segment = models.CharField(max_length=64, blank=True, default="")  # "": everyone else
    subject = models.TextField(blank=True, default="")
    html = models.TextField(blank=True, default="")
    text = models.TextField(blank=True, default="")
    sms = models.TextField(blank=True, default="")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["program", "journey", "language", "segment"],
                name="one_template_per_language",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.program_id} {self.journey} {self.language} {self.segment}".rstrip()


class Message(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # to send at next_attempt_at
        SENT = "sent", "Sent"  # the provider accepted it
        FAILED = "failed", "Failed"  # every try failed, or the provider refused it
        SKIPPED = "skipped", "Skipped"  # not sent, on purpose: `skip_reason` says why

    public_id = models.CharField(max_length=32, unique=True, default=new_message_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.CASCADE)
    participant = models.ForeignKey(Participant, null=True, blank=True, on_delete=models.CASCADE)
    journey = models.CharField(max_length=32, choices=Journey.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    # What tells it apart from every other message: `<journey>:<public id of its cause>`.
    cause = models.CharField(max_length=200)
    transactional = models.BooleanField(default=False)
    referral_public_id = models.CharField(max_length=32, blank=True, default="")
    reward_public_id = models.CharField(max_length=32, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)  # the cause's domain event's `data`
    # The address it went (or goes) to and the language it was written in: set at send time.
    to = models.CharField(max_length=320, blank=True, default="")
    language = models.CharField(max_length=8, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    skip_reason = models.CharField(max_length=32, blank=True, default="")
    error = models.CharField(max_length=1000, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    subject = models.CharField(max_length=500, blank=True, default="")
    text = models.TextField(blank=True, default="")
    html = models.TextField(blank=True, default="")
    template = models.CharField(max_length=64, blank=True, default="")  # "default" or tpl_…:v
    provider_id = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            # Reading a cause twice (a re-read of the last seconds, two schedulers) queues one.
            models.UniqueConstraint(
                fields=["workspace", "cause", "channel"], name="one_message_per_cause"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="message_due"
            ),
            models.Index(fields=["workspace", "participant", "created_at"]),
            # A friend invite's weekly cap counts by address (the friend is no participant).
            models.Index(fields=["workspace", "to", "sent_at"]),
            models.Index(fields=["workspace", "referral_public_id"]),
            models.Index(fields=["workspace", "created_at"]),
            # A provider's tracking event may name the message by the provider's id only.
            models.Index(
                fields=["provider_id"], condition=~Q(provider_id=""), name="message_provider_id"
            ),
            # A STOP reply finds the workspaces that texted the number (`stops.py`).
            models.Index(fields=["to"], condition=Q(channel="sms"), name="message_sms_to"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.journey}"


class Suppression(models.Model):
    """An address that gets no more messages of the workspace: unsubscribed (no marketing;
    transactional messages still go), or bounced, complained or STOPped (nothing at all)."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained"
        STOPPED = "stopped", "Replied STOP"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    address = models.CharField(max_length=320)  # normalised email or E.164 number
    reason = models.CharField(max_length=16, choices=Reason.choices)
    created_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "channel", "address"], name="one_suppression_per_address"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.address} {self.reason}"


class MessagingCursor(models.Model):
    """The fan-out's place in one source (`events`: domain events; `purchases`: ingested
    purchase and NPS events), read again for `LAG` as the webhooks' cursor is."""

    source = models.CharField(max_length=16, unique=True)
    done = models.BigIntegerField(default=0)
    seen = models.BigIntegerField(default=0)
    seen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.source} at {self.done}"


def new_staff_subscription_id() -> str:  # named: migrations refer to it
    return ids.new_id("sns")


class StaffSubscription(models.Model):
    """Who of the business's staff hears of what: a team member's email address, or a
    Slack-compatible incoming webhook, with one switch per topic (`staff.py` says when each
    is told). The email must belong to a member of the workspace; the URL must pass the SSRF
    guard (`channels.slack.check_slack_url`); `messaging.staff_services` checks both."""

    public_id = models.CharField(
        max_length=32, unique=True, default=new_staff_subscription_id, editable=False
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    channel = models.CharField(max_length=8, choices=Channel.choices)  # email or slack
    # The normalised email, or the webhook URL (as `Message.to`, at most 320 characters).
    address = models.CharField(max_length=320)
    new_referral = models.BooleanField(default=True)
    review_waiting = models.BooleanField(default=True)
    low_coupons = models.BooleanField(default=True)
    webhook_failing = models.BooleanField(default=True)
    payouts_due = models.BooleanField(default=True)
    kpi_digest = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "channel", "address"], name="one_staff_subscription"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.address}"


class ProgramBrand(models.Model):
    """A program's own colour and logo, over the workspace's (`branding.for_program`).
    Absent, or a field "": the workspace's."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    program = models.OneToOneField(Program, on_delete=models.CASCADE, related_name="brand")
    color = models.CharField(max_length=7, blank=True, default="")  # #rrggbb or ""
    logo_url = models.URLField(max_length=2000, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    def __str__(self) -> str:
        return f"brand of {self.program_id}"


class PageText(models.Model):
    """A program's own wording of one page text (`pagecopy.DEFAULTS` key) in one language: a
    Liquid template checked when saved, rendered in the messaging sandbox. Absent: the default."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    program = models.ForeignKey(Program, on_delete=models.CASCADE)
    key = models.CharField(max_length=32)
    language = models.CharField(max_length=8)
    source = models.TextField()
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["program", "key", "language"], name="one_page_text_per_language"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.program_id} {self.key} {self.language}"
