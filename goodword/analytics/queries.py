"""The querysets and SQL expressions the analytics functions share: which referrals count, what
was refunded of an order, which channel a referral came through, what a reward is worth.

These are the pieces rollups will replace; the definitions they encode are in
docs/analytics.md.
"""

from __future__ import annotations

from typing import Any

from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least, NullIf

from goodword.analytics.scope import Scope
from goodword.ingest.models import Event
from goodword.participants.models import Advocate
from goodword.referrals.models import Click, Referral, Share
from goodword.rewards.models import LedgerAccount, LedgerEntry, LedgerTransaction, Reward

Status = Referral.Status

# A friend who came through an advocate: every referral but those rejected as a self-referral,
# an existing customer or in an experiment's holdout. Expired ones count: the friend came, and
# did not buy within the window.
COUNTED = ~Q(status=Status.REJECTED) | Q(reject_reason=Referral.RejectReason.EXPIRED)
# Converted and still standing: not reversed by a refund of the whole order.
LIVE = Q(status__in=(Status.CONVERTED, Status.REWARDED))

# Reward statuses grouped as the money is: still in its hold; approved (also when waiting for
# its fulfilment); fulfilled (delivered, or marked done); and what is no cost.
REWARD_GROUPS = {
    Reward.Status.PENDING: "pending",
    Reward.Status.APPROVED: "approved",
    Reward.Status.PENDING_FULFILMENT: "approved",
    Reward.Status.FULFILLED: "fulfilled",
    Reward.Status.REVERSED: "reversed",
    Reward.Status.REJECTED: "rejected",
    Reward.Status.EXPIRED: "expired",
}
COST_GROUPS = ("pending", "approved", "fulfilled")
LIVE_REWARDS = tuple(s for s, g in REWARD_GROUPS.items() if g in COST_GROUPS)
# The ledger's pseudo-currency of points: not money, reported on its own.
POINTS = "PTS"


def referrals(scope: Scope) -> QuerySet[Referral]:
    return scope.of(Referral.objects.all()).filter(test=False)  # test data is never counted


def clicks(scope: Scope) -> QuerySet[Click]:
    return scope.of(Click.objects.all()).filter(scope.within("created_at"))


def shares(scope: Scope) -> QuerySet[Share]:
    """Share events in the period: an advocate tapped a share button, downloaded their QR
    code, or the business reported a share (`POST /api/v1/shares`)."""
    return scope.of(Share.objects.all()).filter(scope.within("created_at"))


def came(scope: Scope) -> QuerySet[Referral]:
    """Referrals counted as friends who came in the period (by `created_at`)."""
    return referrals(scope).filter(COUNTED).filter(scope.within("created_at"))


def converted(scope: Scope) -> QuerySet[Referral]:
    """Referrals converted in the period and not reversed since."""
    return referrals(scope).filter(LIVE).filter(scope.within("converted_at"))


def conversions(scope: Scope) -> QuerySet[Referral]:
    """Every conversion in the period, also those a full refund reversed later."""
    return referrals(scope).filter(converted_at__isnull=False).filter(scope.within("converted_at"))


def advocates(scope: Scope) -> QuerySet[Advocate]:
    """Advocates enrolled by the end of the period. Enrolment time is when Goodword enrolled
    them (not business time), so an advocate with a click, a share or a referral before the
    end counts too: history imported later would otherwise show activity without advocates."""
    qs = scope.of(Advocate.objects.all())
    if scope.until is None:
        return qs
    clicked = scope.of(Click.objects.all()).filter(scope.by_end("created_at"))
    came_by_end = referrals(scope).filter(COUNTED).filter(scope.by_end("created_at"))
    shared = scope.of(Share.objects.all()).filter(scope.by_end("created_at"))
    return qs.filter(
        Q(created_at__lt=scope.until)
        | Q(pk__in=clicked.values("advocate_id"))
        | Q(pk__in=came_by_end.values("advocate_id"))
        | Q(pk__in=shared.values("advocate_id"))
    )


def sharing(scope: Scope) -> QuerySet[Advocate]:
    """Advocates who shared in the period: a share event, a click on their link, or a friend
    who came (a code typed at checkout is a share too)."""
    return scope.of(Advocate.objects.all()).filter(
        Q(pk__in=shares(scope).values("advocate_id"))
        | Q(pk__in=clicks(scope).values("advocate_id"))
        | Q(pk__in=came(scope).values("advocate_id"))
    )


def refunded(*, order: str, customer: str, amount: str) -> Any:
    """What was refunded of an order, capped at its amount: the `refund` events of the same
    workspace, customer and order id, whenever they came. A refund without an amount refunds
    the whole order. `order`, `customer` and `amount` name the outer row's fields."""
    total = (
        Event.objects.filter(
            workspace_id=OuterRef("workspace_id"),
            test=False,
            type=Event.Type.REFUND,
            order_id=OuterRef(order),
            customer_external_id=OuterRef(customer),
        )
        .order_by()
        .values("workspace_id")
        .annotate(total=Sum(Coalesce(F("amount"), OuterRef(amount))))
        .values("total")
    )
    return Least(
        Coalesce(Subquery(total, output_field=BigIntegerField()), Value(0)),
        F(amount),
        output_field=BigIntegerField(),
    )


def order_refunded() -> Any:
    """`refunded` for a referral's converting order."""
    return refunded(order="order_id", customer="referee__external_id", amount="order_amount")


def revenue_by(qs: QuerySet[Referral], *keys: str) -> list[dict[str, Any]]:
    """Converting orders of `qs` grouped by `keys` and currency: `gross`, `refunded`, `orders`."""
    return list(
        qs.filter(order_amount__isnull=False)
        .annotate(back=order_refunded())
        .values(*keys, "order_currency")
        .annotate(gross=Sum("order_amount"), refunded=Sum("back"), orders=Count("pk"))
        .order_by()
    )


def channel() -> Any:
    """The channel a referral came through: its click's (`?via=` on the link, "link" when the
    link named none or the click is not in yet); else how it was attributed: "code" typed,
    "invite" by email, "coupon" used on the order."""
    click = Subquery(
        Click.objects.filter(
            workspace_id=OuterRef("workspace_id"), click_id=OuterRef("click_id")
        ).values("channel")[:1],
        output_field=CharField(),
    )
    return Case(
        When(~Q(click_id=""), then=Coalesce(NullIf(click, Value("")), Value("link"))),
        When(source=Referral.Source.CODE, then=Value("code")),
        When(source=Referral.Source.EMAIL, then=Value("invite")),
        When(source=Referral.Source.COUPON, then=Value("coupon")),
        default=Value("link"),
        output_field=CharField(),
    )


def click_channel() -> Any:
    return Case(
        When(channel="", then=Value("link")), default=F("channel"), output_field=CharField()
    )


def rewards(scope: Scope) -> QuerySet[Reward]:
    """Rewards earned in the period (business time; a manual reward when it was granted),
    of the program (a manual reward booked to it included) or of the whole workspace."""
    qs: QuerySet[Reward] = scope.of(Reward.objects.all())
    qs = qs.filter(Q(referral__isnull=True) | Q(referral__test=False))  # a test referral's: none
    return qs.annotate(on=Coalesce("earned_at", "created_at")).filter(scope.within("on"))


def reward_value_by(qs: QuerySet[Reward], *keys: str) -> list[dict[str, Any]]:
    """Rewards of `qs` grouped by `keys`, status, kind and currency: `count`, `unvalued` (no
    amount: a percent-off coupon, a product or custom reward without one) and `amount`, net of
    what partial refunds clawed back of approved ones (a pending one is shrunk in place)."""
    return list(
        qs.annotate(back=clawed_back())
        .values(*keys, "status", "kind", "currency")
        .annotate(
            count=Count("pk"),
            unvalued=Count("pk", filter=Q(amount__isnull=True)),
            amount=Coalesce(Sum("amount"), Value(0), output_field=BigIntegerField())
            - Coalesce(Sum("back"), Value(0), output_field=BigIntegerField()),
        )
        .order_by()
    )


def clawed_back() -> Any:
    """What partial refunds clawed back of a live reward (a pending one is shrunk in place). A
    reversed reward counts at its face value in `reversed`: what its clawbacks took is part of
    that, not a saving on a live reward."""
    clawed = (
        LedgerEntry.objects.filter(
            transaction__reward_id=OuterRef("pk"),
            transaction__kind=LedgerTransaction.Kind.CLAWBACK,
            account__kind=LedgerAccount.Kind.REWARDS,
        )
        .order_by()
        .values("transaction__reward_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Case(
        When(status__in=LIVE_REWARDS, then=Coalesce(Subquery(clawed), Value(0))),
        default=Value(0),
        output_field=BigIntegerField(),
    )
