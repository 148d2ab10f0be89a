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
    took_us = models.BigIntegerField(null=True)  # microseconds from first touch to conversion
    took_step = models.SmallIntegerField(null=True)  # of took_us, buckets.STEPS

    class Meta:
        indexes = [
            models.Index(fields=["workspace_id", "program_id", "converted_on"]),
            models.Index(fields=["workspace_id", "customer"]),
            # The median reads one step's conversions of a period, in order (index only).
            models.Index(
                fields=["workspace_id", "took_step", "converted_on", "program_id", "took_us"],
                name="referral_fact_took",
            ),
            # The leaderboard's revenue of its top advocates.
            models.Index(fields=["advocate_id", "converted_on"], name="referral_fact_advocate"),
            # A refresh's friends who came on the days it sums again (`rollups`).
            models.Index(
                fields=["workspace_id", "program_id", "created_on"], name="referral_fact_came"
            ),
            # The experiment's friends who came in a period, per advocate in a variant (from the
            # index alone on PostgreSQL), and the days `rollup_experiments` sums again.
            models.Index(
                fields=["workspace_id", "program_id", "created_on"],
                include=["advocate_id", "variant", "live"],
                condition=models.Q(came=True) & ~models.Q(variant=""),
                name="referral_fact_experiment",
            ),
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
    """Clicks on `day` by the channel the link carried, and share events by the channel the
    advocate shared through (`referrals.Share`): a channel's row holds both."""

    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    day = models.DateField()
    channel = models.CharField(max_length=32)
    variant = models.CharField(max_length=100)
    clicks = models.BigIntegerField()
    shares = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "day"])]


class AdvocateDay(_Rollup):
    """One advocate's day: clicks on their link, friends who came, conversions (live), and
    share events."""

    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    advocate_id = models.BigIntegerField()
    day = models.DateField()
    clicks = models.BigIntegerField()
    came = models.BigIntegerField()
    converted = models.BigIntegerField()
    shares = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["workspace_id", "day"]),
            models.Index(fields=["advocate_id", "day"]),
            # The leaderboard's ranking: every advocate's sums over a period, from the index
            # alone (PostgreSQL; SQLite has no INCLUDE and reads the rows).
            models.Index(
                fields=["workspace_id", "day"],
                include=["program_id", "advocate_id", "clicks", "came", "converted"],
                name="analytics_advocateday_ranked",
            ),
            # The leaderboard of a short period ranks first by conversions: the advocates with
            # the most are found from the days with some (a fifth of them), index only. Key
            # columns, not INCLUDE: SQLite would read every such day's row (96 of a 30-day
            # stats call's 175 ms at a million referrals); PostgreSQL reads either alike.
            models.Index(
                fields=["workspace_id", "day", "program_id", "advocate_id", "converted"],
                condition=models.Q(converted__gt=0),
                name="advocate_day_converted",
            ),
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
    tier = models.TextField(default="")  # the latest `advocate.promoted`'s, "" below the first
    # The participant's `segment` attribute as breakdowns.segments reads it; None: no such key.
    segment = models.TextField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace_id", "program_id", "first_on"]),
            models.Index(fields=["participant_id"]),
            # "Does any advocate have a segment": few rows, when any.
            models.Index(
                fields=["workspace_id", "program_id"],
                condition=models.Q(segment__isnull=False),
                name="advocate_fact_segmented",
            ),
            # The advocates who first had a friend on a day (rollup_people.enrolled_days).
            models.Index(
                fields=["workspace_id", "program_id", "came_on"], name="advocate_fact_came"
            ),
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
    # The referral's advocate (None: a manual reward) and whom the reward is for: the
    # leaderboard's rewards of its top advocates.
    advocate_id = models.BigIntegerField(null=True)
    beneficiary = models.CharField(max_length=16, default="")

    class Meta:
        indexes = [
            models.Index(fields=["advocate_id", "day"]),
            models.Index(fields=["workspace_id", "day"]),  # tiers' and segments' cost
        ]


class TookDay(_Rollup):
    """Conversions of `day` per step of their time from the first touch (buckets.STEPS): the
    median's histogram."""

    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    day = models.DateField()
    step = models.SmallIntegerField()
    count = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "day"])]


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
        indexes = [
            models.Index(fields=["workspace_id", "day"]),
            models.Index(fields=["workspace_id", "customer"]),  # a customer's, for cohorts
        ]


class RollupState(_Rollup):
    """How far the rollups have read each source. Rows past `*_done` are read again on every
    refresh until a refresh at least `LAG` seconds later has seen them, so a transaction that
    took an id earlier but committed later is not skipped."""

    domain_events_done = models.BigIntegerField(default=0)
    events_done = models.BigIntegerField(default=0)
    clicks_done = models.BigIntegerField(default=0)
    # Participants by id, not by their `participant.created` domain event: an import writes
    # none per row (`goodword.imports`).
    participants_done = models.BigIntegerField(default=0)
    shares_done = models.BigIntegerField(default=0)
    domain_events_seen = models.BigIntegerField(default=0)
    events_seen = models.BigIntegerField(default=0)
    clicks_seen = models.BigIntegerField(default=0)
    participants_seen = models.BigIntegerField(default=0)
    shares_seen = models.BigIntegerField(default=0)
    seen_at = models.DateTimeField(null=True)
    # Where reads caught up to (`rollups.catch_up`): past `*_seen`, not yet trusted as done.
    domain_events_read = models.BigIntegerField(default=0)
    events_read = models.BigIntegerField(default=0)
    clicks_read = models.BigIntegerField(default=0)
    participants_read = models.BigIntegerField(default=0)
    shares_read = models.BigIntegerField(default=0)


class ParticipantFact(_Rollup):
    """One participant: the first day Goodword knew them without their enrolment (`base_on`:
    created, first purchase, or first referred as a friend; docs/analytics.md,
    "Participation"), with it (`known_on`), and the first day one of their advocates (in any
    program) was enrolled or active (`advocate_on`) and had a friend who came (`referring_on`)."""

    participant_id = models.BigIntegerField(primary_key=True)
    workspace_id = models.BigIntegerField()
    test = models.BooleanField()  # known only from test events: not counted as a participant
    base_on = models.DateField()
    known_on = models.DateField()
    advocate_on = models.DateField(null=True)
    referring_on = models.DateField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace_id", "base_on"]),
            models.Index(fields=["workspace_id", "known_on"]),
            models.Index(fields=["workspace_id", "advocate_on"]),
            models.Index(fields=["workspace_id", "referring_on"]),
        ]


class ParticipantDay(_Rollup):
    """Participant facts per day of the workspace: participants (not test) known, and known
    without enrolment, from `day`; people who first advocated, and first referred, on `day`."""

    workspace_id = models.BigIntegerField()
    day = models.DateField()
    known = models.BigIntegerField()
    based = models.BigIntegerField()
    advocates = models.BigIntegerField()
    referring = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "day"])]


class EnrolledDay(_Rollup):
    """Advocate facts per program, day and variant: enrolled (or active) from `day`, with a
    friend who came from `day`; and `early`, how the program's participants known by `day`
    differ from those known without enrolment: +1 on the day an advocate was enrolled before
    their participant was otherwise known, -1 on the day they became known."""

    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    day = models.DateField()
    variant = models.CharField(max_length=100)
    enrolled = models.BigIntegerField()
    referring = models.BigIntegerField()
    early = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "program_id", "day"])]


class CustomerFact(_Rollup):
    """One customer's counted purchases in one currency and month, in one group: referred
    (`program_id`: converted in that program; None: in any) from their first conversion, or
    other (never converted, `program_id` None) from their first purchase (docs/analytics.md,
    "Cohorts and lifetime value"). `customers` is 1 on the row of the month of `first_on`."""

    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField(null=True)
    referred = models.BooleanField()
    customer = models.CharField(max_length=255)
    currency = models.CharField(max_length=3)
    start_on = models.DateField()
    first_on = models.DateField()  # the first counted purchase in the currency
    month = models.DateField()  # of the purchases, its first day
    customers = models.BigIntegerField()
    orders = models.BigIntegerField()
    gross = models.BigIntegerField()
    refunded = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["workspace_id", "customer"]),
            # A refresh's start days it sums again (`rollup_customers`).
            models.Index(fields=["workspace_id", "start_on"], name="customer_fact_start"),
        ]


class CohortDay(_Rollup):
    """Customer facts summed per group, currency, start day, first purchase day and month:
    a period's cohorts are its start days (docs/analytics.md, "How the numbers stay fast")."""

    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField(null=True)
    referred = models.BooleanField()
    currency = models.CharField(max_length=3)
    start_on = models.DateField()
    first_on = models.DateField()
    month = models.DateField()
    customers = models.BigIntegerField()
    orders = models.BigIntegerField()
    gross = models.BigIntegerField()
    refunded = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "program_id", "start_on"])]


class NewCustomerFact(_Rollup):
    """A live participant's first purchase day, once as a new customer (`referred` false,
    `program_id` None) and once per group they count as referred in: a standing referral of
    the program, or (`program_id` None) of any."""

    participant_id = models.BigIntegerField()
    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField(null=True)
    referred = models.BooleanField()
    day = models.DateField()

    class Meta:
        indexes = [
            models.Index(fields=["participant_id"]),
            # A refresh's days it sums again (`rollup_customers`).
            models.Index(fields=["workspace_id", "day"], name="new_customer_fact_day"),
        ]


class NewCustomerDay(_Rollup):
    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField(null=True)
    referred = models.BooleanField()
    day = models.DateField()
    customers = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "day"])]


class AttributionFact(_Rollup):
    """One advocate's part of one conversion that several advocates touched, under one model
    (`goodword.analytics.touches`): the share as the raw computation's float, and the revenue
    moved from or to them in whole minor units. Conversions one advocate reached have none:
    they are their referral advocate's whole under every model (AttributionDay)."""

    referral_id = models.BigIntegerField()
    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    advocate_id = models.BigIntegerField()
    model = models.CharField(max_length=16)
    day = models.DateField()  # of the conversion
    live = models.BooleanField()
    locked = models.BooleanField()  # the referral's own advocate
    share = models.FloatField(null=True)  # None: no share under this model
    currency = models.CharField(max_length=3)  # of the order's net revenue, "" without one
    revenue = models.BigIntegerField()  # credited less, for the locked advocate, the net

    class Meta:
        indexes = [
            models.Index(fields=["referral_id"]),
            models.Index(fields=["workspace_id", "model", "day"]),
        ]


class AttributionDay(_Rollup):
    """First-touch credit per advocate, day of conversion and order currency ("" without an
    order): live conversions, conversions with an order, and their net revenue."""

    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    advocate_id = models.BigIntegerField()
    day = models.DateField()
    currency = models.CharField(max_length=3)
    converted = models.BigIntegerField()
    orders = models.BigIntegerField()
    revenue = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "day"])]


class SharingDay(_Rollup):
    """Advocates of a program whose active day (a click or a friend who came) is `day` and
    whose active day before it was `prev` (None: their first): the advocates who shared in a
    period [s, e] are the sum over its days of the rows with `prev` before s (or None), each
    advocate counted on their first active day in it (`goodword.analytics.rollup_sharing`)."""

    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    day = models.DateField()
    prev = models.DateField(null=True)
    count = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=["workspace_id", "day"],
                include=["program_id", "prev", "count"],
                name="sharing_day_period",
            ),
        ]


class BoughtFact(_Rollup):
    """One purchase that counts for the experiment's holdout lift: a purchase event of a
    referral's friend from the first touch to the end of the program's attribution window,
    the friend no customer before it, the referral of an advocate in the experiment and not
    a self-referral (`experiments._bought`). `at` is the purchase's time, compared with the
    period's bounds; `net` its amount less what was refunded of its order, None without one."""

    referral_id = models.BigIntegerField()
    event_id = models.BigIntegerField()
    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    advocate_id = models.BigIntegerField()
    variant = models.CharField(max_length=100)
    at = models.DateTimeField()
    # The referral's counted purchase before this one (None: the first), so that a period's
    # friends who bought are the rows whose `prev_at` is before it: no distinct count.
    prev_at = models.DateTimeField(null=True)
    currency = models.CharField(max_length=3)
    net = models.BigIntegerField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["referral_id"]),
            # A period's purchases of one program, from the index alone (PostgreSQL; SQLite
            # has no INCLUDE and reads the rows).
            models.Index(
                fields=["workspace_id", "program_id", "at"],
                include=["advocate_id", "variant", "prev_at", "currency", "net"],
                name="bought_fact_period",
            ),
        ]


class ExperimentDay(_Rollup):
    """The money of the friends who came on `day` (created) through the advocates of a variant,
    per currency: their live converting orders with an amount and those orders' net revenue;
    their referrals' rewards that are a cost (pending to fulfilled, no points) and that cost
    (`experiments._variants`)."""

    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    day = models.DateField()
    variant = models.CharField(max_length=100)
    currency = models.CharField(max_length=3)
    orders = models.BigIntegerField()
    revenue = models.BigIntegerField()
    rewards = models.BigIntegerField()
    cost = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "program_id", "day"])]


class BoughtWindow(_Rollup):
    """The attribution window each program's bought facts were computed with: a program whose
    window is no longer this has every bought fact computed again."""

    program_id = models.BigIntegerField(primary_key=True)
    days = models.IntegerField()


class ExperimentTotal(_Rollup):
    """One advocate's experiment numbers over all history, what the experiment of all history
    reads (the squares of an advocate's numbers cannot be summed from days, and advocates are
    fewer than facts). Per `kind`: `friends`, per variant, the friends who came and are
    converted and standing; `customers`, per arm (`variant`: the holdout, or "" for every other
    variant), the referrals with a counted purchase whose first one it is; `revenue`, per arm
    and currency, the net of the counted purchases with an amount (`rollup_experiments`)."""

    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    advocate_id = models.BigIntegerField()
    kind = models.CharField(max_length=16)
    variant = models.CharField(max_length=100)
    currency = models.CharField(max_length=3)  # of `revenue`; "" for the others
    value = models.BigIntegerField()

    class Meta:
        indexes = [
            # A program's totals of one kind, from the index alone and in the order they are
            # summed (SQLite has no INCLUDE).
            models.Index(
                fields=["workspace_id", "program_id", "kind", "variant", "currency", "value"],
                name="experiment_total_kind",
            ),
            models.Index(fields=["advocate_id"], name="experiment_total_advocate"),
        ]


class AdvocateTotal(_Rollup):
    """One advocate's days summed over all time: the leaderboard of all history, and a bound
    on their sums over any period, so a long period's leaders are found among the advocates
    with the highest totals (`rolled_leaders.top_advocates`)."""

    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    advocate_id = models.BigIntegerField()
    clicks = models.BigIntegerField()
    came = models.BigIntegerField()
    converted = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["advocate_id"], name="advocate_total_advocate"),
            # Advocates by their totals, highest first (scanned backwards), index only.
            models.Index(
                fields=["workspace_id", "converted", "came", "clicks"],
                include=["advocate_id"],
                name="advocate_total_ranked",
            ),
            models.Index(
                fields=["workspace_id", "program_id", "converted", "came", "clicks"],
                include=["advocate_id"],
                name="advocate_total_program",
            ),
        ]


class SegmentDay(_Rollup):
    """The advocates' days summed per tier and segment they have now ("" for none): clicks,
    friends who came and conversions (`goodword.analytics.rollup_segments`)."""

    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    day = models.DateField()
    tier = models.TextField()
    segment = models.TextField()
    clicks = models.BigIntegerField()
    came = models.BigIntegerField()
    converted = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "day"], name="segment_day_period")]


class SegmentRevenueDay(_Rollup):
    """Conversions with an order per day of conversion, currency and the tier and segment
    their advocate has now: orders, gross and refunded."""

    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField()
    day = models.DateField()
    tier = models.TextField()
    segment = models.TextField()
    currency = models.CharField(max_length=3)
    orders = models.BigIntegerField()
    gross = models.BigIntegerField()
    refunded = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "day"], name="segment_revenue_period")]


class SegmentCostDay(_Rollup):
    """Rewards of referrals per day earned, status, kind, currency and the tier and segment of
    the referral's advocate now: as RewardDay sums them."""

    workspace_id = models.BigIntegerField()
    program_id = models.BigIntegerField(null=True)
    day = models.DateField()
    tier = models.TextField()
    segment = models.TextField()
    status = models.CharField(max_length=24)
    kind = models.CharField(max_length=16)
    currency = models.CharField(max_length=3)
    count = models.BigIntegerField()
    unvalued = models.BigIntegerField()
    amount = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "day"], name="segment_cost_period")]


class SegmentAdvocate(_Rollup):
    """Each advocate's tier and segment as the segment days last summed them: an advocate
    whose fact says otherwise now has their every day summed again."""

    advocate_id = models.BigIntegerField(primary_key=True)
    tier = models.TextField()
    segment = models.TextField(null=True)
