"""The reads of the referrals pages: the list's rows, and everything a referral's page shows."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from goodword.accounts.models import Workspace
from goodword.analytics import queries as analytics
from goodword.events.models import DomainEvent
from goodword.ingest.models import Event
from goodword.referrals.models import Click, Invite, Referral
from goodword.rewards.models import LedgerEntry, LedgerTransaction, Reward

# The friend's orders shown on a referral's page, newest first: a customer with more is rare,
# and the rest are one search away in the shop.
MAX_ORDERS = 50
ORDER_TYPES = (Event.Type.PURCHASE, Event.Type.REFUND, Event.Type.SUBSCRIPTION_PAYMENT)


def referral_rows(workspace: Workspace) -> QuerySet[Referral]:
    """Referrals with their people and program, and the channel they came through
    (`channel`, as the analytics pages count it: the link's `?via=`, else "link", "code",
    "invite" or "coupon"), in one query."""
    return (
        Referral.objects.for_workspace(workspace)
        .select_related("program", "advocate__participant", "referee")
        .annotate(channel=analytics.channel())
    )


@dataclass(frozen=True)
class ReferralFacts:
    """Every row a referral's page reads, each fetched within the referral's workspace."""

    referral: Referral
    click: Click | None
    invite: Invite | None
    rewards: list[Reward]
    transactions: list[LedgerTransaction]  # of those rewards, entries prefetched
    events: list[DomainEvent]  # whose subject is the referral or one of its rewards
    orders: list[Event]  # the friend's purchases, refunds and payments, newest first


def referral_facts(referral: Referral) -> ReferralFacts:
    ws = referral.workspace_id
    click = None
    if referral.click_id:
        click = Click.objects.for_workspace(ws).filter(click_id=referral.click_id).first()
    invite = None
    if referral.source == Referral.Source.EMAIL and referral.referee.email_normalized:
        invite = (
            Invite.objects.for_workspace(ws)
            .filter(advocate=referral.advocate, email_normalized=referral.referee.email_normalized)
            .first()
        )
    rewards = list(
        Reward.objects.for_workspace(ws)
        .filter(referral=referral)
        .select_related("participant", "rule")
        .order_by("created_at", "pk")
    )
    entries = LedgerEntry.objects.select_related("account__participant").order_by("pk")
    transactions = list(
        LedgerTransaction.objects.for_workspace(ws)
        .filter(reward__in=rewards)
        .prefetch_related(Prefetch("entries", queryset=entries))
        .order_by("created_at", "pk")
    )
    subjects = [referral.public_id, *(r.public_id for r in rewards)]
    events = list(
        DomainEvent.objects.for_workspace(ws)
        .filter(subject_id__in=subjects)
        .order_by("created_at", "pk")
    )
    orders = list(
        Event.objects.for_workspace(ws)
        .filter(customer_external_id=referral.referee.external_id, type__in=ORDER_TYPES)
        .order_by("-occurred_at", "-pk")[:MAX_ORDERS]
    )
    return ReferralFacts(referral, click, invite, rewards, transactions, events, orders)
