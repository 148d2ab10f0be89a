"""Rollups: what each referral and reward adds to the numbers (facts), and the daily sums of
those facts per program (days). `goodword.analytics.rollups` keeps them; docs/analytics.md
("How the numbers stay fast") says how."""

from __future__ import annotations

from django.db import models


class _Rollup(models.Model):
    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self).__name__} {self.pk}"


class ReferralFact(_Rollup):
    """One referral as last rolled up. Not a foreign key: when the referral changes, its old
    days are read here to take it out of them."""

    referral_id = models.BigIntegerField(primary_key=True)
    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    advocate_id = models.BigIntegerField()
    customer = models.CharField(max_length=255)  # the friend's external id
    created_on = models.DateField()
    status = models.CharField(max_length=16)
    came = models.BooleanField()  # counted as a friend who came (queries.COUNTED)
    converted_on = models.DateField(null=True)
    live = models.BooleanField()  # converted and standing (queries.LIVE)
    rewarded = models.BooleanField()
    channel = models.CharField(max_length=32)
    variant = models.CharField(max_length=100)
    currency = models.CharField(max_length=3)  # of the converting order, "" without one
    amount = models.BigIntegerField(null=True)
    refunded = models.BigIntegerField(default=0)
    took_bucket = models.SmallIntegerField(null=True)  # activity.BUCKETS index, from first touch
    started_us = models.BigIntegerField(null=True)  # microseconds from start to conversion

    class Meta:
        indexes = [
            models.Index(fields=["workspace_id", "program_id", "converted_on"]),
            models.Index(fields=["workspace_id", "customer"]),
        ]


class ReferralDay(_Rollup):
    """Sums of referral facts: friends who came on `day` (rows with currency ""), and the
    conversions of `day` in the currency of their order."""

    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    day = models.DateField()
    channel = models.CharField(max_length=32)
    variant = models.CharField(max_length=100)
    currency = models.CharField(max_length=3)
    came = models.BigIntegerField(default=0)
    conversions = models.BigIntegerField(default=0)
    converted = models.BigIntegerField(default=0)
    rewarded = models.BigIntegerField(default=0)
    orders = models.BigIntegerField(default=0)
    gross = models.BigIntegerField(default=0)
    refunded = models.BigIntegerField(default=0)
    started_us = models.BigIntegerField(default=0)
    # Conversions per time-to-convert bucket (goodword.analytics.buckets.BUCKETS).
    took_0 = models.BigIntegerField(default=0)
    took_1 = models.BigIntegerField(default=0)
    took_2 = models.BigIntegerField(default=0)
    took_3 = models.BigIntegerField(default=0)
    took_4 = models.BigIntegerField(default=0)
    took_5 = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "day"])]


class StatusDay(_Rollup):
    """Referrals that started on `day`, by their status now."""

    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    day = models.DateField()
    status = models.CharField(max_length=16)
    count = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "day"])]


class ClickDay(_Rollup):
    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    day = models.DateField()
    channel = models.CharField(max_length=32)
    variant = models.CharField(max_length=100)
    clicks = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "day"])]


class AdvocateDay(_Rollup):
    """One advocate's day: clicks on their link, friends who came, and conversions (live)."""

    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    advocate_id = models.BigIntegerField()
    day = models.DateField()
    clicks = models.BigIntegerField()
    came = models.BigIntegerField()
    converted = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["workspace_id", "day"]),
            models.Index(fields=["advocate_id", "day"]),
        ]


class AdvocateFact(_Rollup):
    """One advocate: who, and the first day they were enrolled or active (a click or a friend
    who came: history sent later may predate the enrolment), and the first day a friend came."""

    advocate_id = models.BigIntegerField(primary_key=True)
    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    participant_id = models.BigIntegerField()
    variant = models.CharField(max_length=100)
    first_on = models.DateField()
    came_on = models.DateField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace_id", "program_id", "first_on"]),
            models.Index(fields=["participant_id"]),
        ]


class RewardFact(_Rollup):
    reward_id = models.BigIntegerField(primary_key=True)
    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField(null=True)  # a manual reward may have none
    day = models.DateField()  # earned (granted, for a manual one)
    status = models.CharField(max_length=24)
    kind = models.CharField(max_length=16)
    currency = models.CharField(max_length=3)
    variant = models.CharField(max_length=100, null=True)  # None: a manual reward
    valued = models.BooleanField()
    amount = models.BigIntegerField()  # net of partial-refund clawbacks while live


class RewardDay(_Rollup):
    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField(null=True)
    day = models.DateField()
    status = models.CharField(max_length=24)
    kind = models.CharField(max_length=16)
    currency = models.CharField(max_length=3)
    variant = models.CharField(max_length=100, null=True)  # None: manual rewards
    count = models.BigIntegerField()
    unvalued = models.BigIntegerField()
    amount = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "day"])]


class PurchaseFact(_Rollup):
    """One purchase event with an amount, and what was refunded of its order (capped)."""

    event_id = models.BigIntegerField(primary_key=True)
    workspace_id = models.BigIntegerField()
    customer = models.CharField(max_length=255)
    day = models.DateField()
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField()
    refunded = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "day"])]


class RollupState(_Rollup):
    """How far the rollups have read each source. Rows past `*_done` are read again on every
    refresh until a refresh at least `LAG` seconds later has seen them, so a transaction that
    took an id earlier but committed later is not skipped."""

    domain_events_done = models.BigIntegerField(default=0)
    events_done = models.BigIntegerField(default=0)
    clicks_done = models.BigIntegerField(default=0)
    domain_events_seen = models.BigIntegerField(default=0)
    events_seen = models.BigIntegerField(default=0)
    clicks_seen = models.BigIntegerField(default=0)
    seen_at = models.DateTimeField(null=True)
    # Where reads caught up to (`rollups.catch_up`): past `*_seen`, not yet trusted as done.
    domain_events_read = models.BigIntegerField(default=0)
    events_read = models.BigIntegerField(default=0)
    clicks_read = models.BigIntegerField(default=0)
