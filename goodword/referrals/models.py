from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q

from goodword.accounts.models import Workspace
from goodword.lib import ids
from goodword.lib.models import TenantQuerySet
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import Program


class Click(models.Model):
    """A counted visit through a link. Written in batches from the web processes' click logs."""

    click_id = models.CharField(max_length=32, unique=True)  # made by the web process
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    program = models.ForeignKey(Program, on_delete=models.CASCADE)
    advocate = models.ForeignKey(Advocate, on_delete=models.CASCADE)
    created_at = models.DateTimeField()
    channel = models.CharField(max_length=32, blank=True, default="")
    utm_source = models.CharField(max_length=100, blank=True, default="")
    utm_medium = models.CharField(max_length=100, blank=True, default="")
    utm_campaign = models.CharField(max_length=100, blank=True, default="")
    utm_term = models.CharField(max_length=100, blank=True, default="")
    utm_content = models.CharField(max_length=100, blank=True, default="")
    referrer = models.CharField(max_length=500, blank=True, default="")
    ua_class = models.CharField(max_length=16, blank=True, default="")
    ip_hash = models.CharField(max_length=32, blank=True, default="")

    objects = TenantQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "program", "created_at"]),
            models.Index(fields=["advocate", "created_at"]),
        ]

    def __str__(self) -> str:
        return self.click_id


class ClickLogOffset(models.Model):
    """How far the ingester has read one click log file; moves in the same transaction as the
    rows it inserted, so a crash re-reads at most what it had not committed."""

    path = models.CharField(max_length=500, unique=True)
    offset = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.path} @ {self.offset}"


class Share(models.Model):
    """An advocate shared their link: a tap on a share button (portal, widget, share page) or a
    share the business's own pages reported. Counted by channel; a share is not a click."""

    class Channel(models.TextChoices):
        COPY = "copy"
        NATIVE = "native"  # the device's own share sheet (Web Share API)
        EMAIL = "email"
        SMS = "sms"
        WHATSAPP = "whatsapp"
        TELEGRAM = "telegram"
        MESSENGER = "messenger"
        FACEBOOK = "facebook"
        X = "x"
        LINKEDIN = "linkedin"
        QR = "qr"  # a QR code or flyer downloaded or printed
        INVITE = "invite"  # "invite by email" sent through Goodword
        OTHER = "other"

    class Source(models.TextChoices):
        PORTAL = "portal"
        WIDGET = "widget"
        SHARE_PAGE = "share_page"
        API = "api"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    program = models.ForeignKey(Program, on_delete=models.CASCADE)
    advocate = models.ForeignKey(Advocate, on_delete=models.CASCADE)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    source = models.CharField(max_length=16, choices=Source.choices)
    created_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "program", "created_at"]),
            models.Index(fields=["advocate", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.advocate_id} via {self.channel}"


class Invite(models.Model):
    """An advocate invited a friend by email: attributes that friend's signup by address and,
    with `send_email`, asks messaging to email the friend on the advocate's behalf
    (the `friend_invite` journey)."""

    public_id = models.CharField(max_length=32, unique=True, default=ids.new_inv_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    program = models.ForeignKey(Program, on_delete=models.CASCADE)
    advocate = models.ForeignKey(Advocate, on_delete=models.CASCADE)
    email = models.CharField(max_length=320)
    email_normalized = models.CharField(max_length=320)
    # The advocate's own words to the friend, shown in the email as written (escaped).
    note = models.CharField(max_length=500, blank=True, default="")
    # The consent text the advocate agreed to, as it was shown to them: the record that they
    # may have us write to this friend. Required when `send_email`.
    consent = models.CharField(max_length=500, blank=True, default="")
    # False: attribution only, as before emails existed; nobody is written to.
    send_email = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["advocate", "email_normalized"], name="one_invite_per_friend"
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "email_normalized", "created_at"]),
            # The daily limit of emailed invites counts an advocate's recent ones.
            models.Index(
                fields=["advocate", "created_at"],
                condition=Q(send_email=True),
                name="emailed_invites",
            ),
        ]

    def __str__(self) -> str:
        return self.email


class Referral(models.Model):
    """One advocate -> one friend in one program. The first touch locks the friend."""

    class Status(models.TextChoices):
        CLICKED = "clicked"
        SIGNED_UP = "signed_up"
        CONVERTED = "converted"
        REWARDED = "rewarded"
        REJECTED = "rejected"
        REVERSED = "reversed"

    class Source(models.TextChoices):
        CODE = "code"
        TOKEN = "token"  # noqa: S105 - the gw_ref token, not a secret
        EMAIL = "email"
        COUPON = "coupon"  # a coupon code used on the order: an advocate's code, or a reward's

    class RejectReason(models.TextChoices):
        SELF_REFERRAL = "self_referral"
        EXISTING_CUSTOMER = "existing_customer"
        EXPIRED = "expired"
        HOLDOUT = "holdout"  # the advocate is in an experiment's holdout: no program for them

    public_id = models.CharField(max_length=32, unique=True, default=ids.new_ref_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    program = models.ForeignKey(Program, on_delete=models.CASCADE)
    advocate = models.ForeignKey(Advocate, on_delete=models.CASCADE)
    referee = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices)
    source = models.CharField(max_length=16, choices=Source.choices)
    reject_reason = models.CharField(
        max_length=32, choices=RejectReason.choices, blank=True, default=""
    )
    click_id = models.CharField(max_length=32, blank=True, default="")
    # The reward rules that granted nothing at the conversion, and why:
    # [{"rule": name, "beneficiary": ..., "reason": "min_amount"}, ...].
    stopped = models.JSONField(default=list, blank=True)
    order_id = models.CharField(max_length=255, blank=True, default="")
    order_amount = models.BigIntegerField(null=True, blank=True)
    order_currency = models.CharField(max_length=3, blank=True, default="")
    created_at = models.DateTimeField()
    clicked_at = models.DateTimeField(null=True, blank=True)
    signed_up_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    rewarded_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    # Decided for a test participant: never counted, nor are its rewards (docs/analytics.md).
    test = models.BooleanField(default=False, db_default=False)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            # The first touch locks the friend to one advocate per program, until the
            # attribution window passes without a conversion: then the referral is rejected
            # as expired and a new touch may open another.
            models.UniqueConstraint(
                fields=["program", "referee"],
                condition=~Q(reject_reason="expired"),
                name="one_live_referral_per_friend",
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "order_id"]),
            # A batch loads its friends' referrals by referee: without this, SQLite's planner
            # reads the whole workspace's referrals through the workspace index.
            models.Index(fields=["workspace", "referee"]),
            models.Index(fields=["workspace", "status"]),
            # The dashboard's list, newest first: a page of it reads 50 index entries.
            models.Index(fields=["workspace", "created_at", "id"]),
            # The raw computation's conversions of a period (attribution, the funnel): without it,
            # every converted referral of the workspace is read through (workspace, status).
            models.Index(fields=["workspace", "converted_at"], name="referral_conversions"),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def first_touch_at(self) -> datetime:
        return self.clicked_at or self.created_at


# Referrals still waiting for a conversion.
OPEN_STATUSES = (Referral.Status.CLICKED, Referral.Status.SIGNED_UP)
