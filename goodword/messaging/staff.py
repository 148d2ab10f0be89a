"""Staff notifications: what the business's own team hears of, and when (never spam).

Each `StaffSubscription` (a member's email, or a Slack-compatible incoming webhook) turns on
topics; every notice is a `Message` of the outbox (participant None, `to` the address, channel
email or slack) unique per cause, so reading the same facts twice queues one. The causes:

- new_referral: each `referral.created`; `staff_new_referral:<ref>:<subscription>`.
- review_waiting: rewards in their hold (to approve early or reject), when one arrived since
  the subscription's last summary; at most one an hour: `staff_review_waiting:<UTC hour>:<sub>`.
- low_coupons: `coupon_pool.low` (once per crossing of the pool's threshold):
  `staff_low_coupons:<evt>:<sub>`; `coupon_pool.empty`, once per pool and UTC day:
  `staff_low_coupons:<pool>:empty:<day>:<sub>`.
- webhook_failing: an endpoint failing for an hour, once per failing streak:
  `staff_webhook_failing:<endpoint>:<failing since>:<sub>`; an endpoint Goodword turned off
  (`webhook_endpoint.disabled`): `staff_webhook_failing:<evt>:<sub>`.
- payouts_due: from 09:00 of the workspace's day, when cash is owed or a batch waits:
  `staff_payouts_due:<local day>:<sub>`.
- kpi_digest: Mondays from 09:00 in the workspace's time zone, the last ISO week's figures
  from the analytics read side: `kpi_digest:<ISO week>:<sub>`.

Events are read by id from their own cursor (`MessagingCursor` "staff"), as `fanout.py` reads
its own; the time-based topics are scanned at most once a minute (`SCAN_EVERY`). Only events
after a subscription was made reach it. Staff notices are the business's own operations: they
go whether customer messaging is on or off, outside suppressions, caps, quiet hours and
consent; each subscription and topic can be turned off, and an email subscription whose
address is no longer a member of the workspace gets nothing (`not_a_member`, at send time).
How a notice is written and sent: `staff_send.py`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Max

from goodword.analytics.scope import Scope
from goodword.analytics.summary import Summary, summary
from goodword.events.models import DomainEvent
from goodword.messaging import cursors
from goodword.messaging.journeys import zone as zone_named
from goodword.messaging.models import (
    Journey,
    Message,
    MessagingCursor,
    MessagingSettings,
    StaffSubscription,
)
from goodword.rewards import payouts
from goodword.rewards.models import LedgerAccount, Payout, PayoutBatch, Reward
from goodword.webhooks.models import WebhookEndpoint

# A subscription's topic (its boolean field) and the journey of its notices.
TOPICS = {
    "new_referral": Journey.STAFF_NEW_REFERRAL,
    "review_waiting": Journey.STAFF_REVIEW_WAITING,
    "low_coupons": Journey.STAFF_LOW_COUPONS,
    "webhook_failing": Journey.STAFF_WEBHOOK_FAILING,
    "payouts_due": Journey.STAFF_PAYOUTS_DUE,
    "kpi_digest": Journey.KPI_DIGEST,
}
TOPIC_OF: dict[str, str] = {journey.value: topic for topic, journey in TOPICS.items()}
# Domain events that make a notice, and their topic.
EVENTS = {
    "referral.created": "new_referral",
    "coupon_pool.low": "low_coupons",
    "coupon_pool.empty": "low_coupons",
    "webhook_endpoint.disabled": "webhook_failing",
}
SOURCE = "staff"  # the events cursor
SCANNED = "staff_scan"  # when the time-based topics were last scanned
SCAN_EVERY = timedelta(minutes=1)
FAILING_FOR = timedelta(hours=1)  # a failing endpoint is news after this long
MORNING = time(9)  # daily and weekly notices: from 09:00 of the workspace's day
MONDAY = 0
TOP_ADVOCATES = 5


@dataclass(frozen=True)
class Planned:
    subscription: StaffSubscription
    journey: str
    cause: str
    referral: str = ""
    data: dict[str, Any] = field(default_factory=dict)


Subscribed = dict[int, list[StaffSubscription]]  # by workspace


def queue_staff(*, now: datetime) -> int:
    """Queue the staff notices of what happened since the last call; return how many rows
    were offered (re-reads offer the same causes again and queue nothing twice)."""
    subscribed: Subscribed = defaultdict(list)
    for sub in StaffSubscription.objects.filter(is_active=True).order_by("pk"):
        subscribed[sub.workspace_id].append(sub)
    planned = _from_events(subscribed, now)
    if subscribed and _scan_due(now):
        planned += _review_waiting(subscribed, now)
        planned += _webhooks_failing(subscribed, now)
        zones = _zones(set(subscribed))
        planned += _payouts_due(subscribed, zones, now)
        planned += _digests(subscribed, zones, now)
    return insert(planned, now)


def insert(planned: Iterable[Planned], now: datetime) -> int:
    rows = [
        Message(
            workspace_id=p.subscription.workspace_id,
            journey=p.journey,
            channel=p.subscription.channel,
            cause=p.cause,
            # Outside every customer manner, and never counted in an address's weekly cap.
            transactional=True,
            referral_public_id=p.referral,
            data={"subscription": p.subscription.public_id, **p.data},
            to=p.subscription.address,
            next_attempt_at=now,
            created_at=now,
        )
        for p in planned
    ]
    return len(Message.objects.bulk_create(rows, ignore_conflicts=True))


def _wanting(
    subs: Iterable[StaffSubscription], topic: str, at: datetime
) -> list[StaffSubscription]:
    """The subscriptions with `topic` on that existed at `at`."""
    return [s for s in subs if getattr(s, topic) and s.created_at <= at]


# Domain events


def _from_events(subscribed: Subscribed, now: datetime) -> list[Planned]:
    rows = DomainEvent.objects.filter(name__in=list(EVENTS))
    planned: list[Planned] = []
    for batch in cursors.batches(SOURCE, rows, set(subscribed), now):
        for event in batch:
            planned += _of_event(event, subscribed[event.workspace_id])
    return planned


def _of_event(event: DomainEvent, subs: list[StaffSubscription]) -> list[Planned]:
    topic = EVENTS[event.name]
    journey = TOPICS[topic]
    out = []
    for sub in _wanting(subs, topic, event.created_at):
        if event.name == "referral.created":
            cause, data = f"{journey}:{event.subject_id}:{sub.public_id}", {}
            out.append(Planned(sub, journey, cause, referral=event.subject_id))
            continue
        if event.name == "coupon_pool.empty":
            day = event.created_at.date().isoformat()
            cause = f"{journey}:{event.subject_id}:empty:{day}:{sub.public_id}"
            data = {"pool": event.subject_id, "empty": True, **event.data}
        elif event.name == "coupon_pool.low":
            cause = f"{journey}:{event.public_id}:{sub.public_id}"
            data = {"pool": event.subject_id, **event.data}
        else:  # webhook_endpoint.disabled
            cause = f"{journey}:{event.public_id}:{sub.public_id}"
            data = {"endpoint": event.subject_id, "disabled": event.data.get("reason", "")}
        out.append(Planned(sub, journey, cause, data=data))
    return out


# Time-based topics


def _scan_due(now: datetime) -> bool:
    """Whether the time-based topics are due a scan (at most once a `SCAN_EVERY`, whatever
    the number of senders: the row is claimed with a conditional update)."""
    row, _ = MessagingCursor.objects.get_or_create(source=SCANNED)
    if row.seen_at is not None and row.seen_at <= now < row.seen_at + SCAN_EVERY:
        return False
    return bool(MessagingCursor.objects.filter(pk=row.pk, seen_at=row.seen_at).update(seen_at=now))


def _new(planned: list[Planned]) -> list[Planned]:
    """Those whose cause is not queued yet (so that costly facts are read once)."""
    if not planned:
        return []
    causes = {p.cause for p in planned}
    known = set(Message.objects.filter(cause__in=causes).values_list("cause", flat=True))
    return [p for p in planned if p.cause not in known]


def _review_waiting(subscribed: Subscribed, now: datetime) -> list[Planned]:
    """One summary an hour at most, and only when a reward started waiting since the
    subscription's last summary (a 30-day hold is not repeated 720 times)."""
    journey = Journey.STAFF_REVIEW_WAITING
    waiting = Reward.objects.filter(workspace_id__in=list(subscribed), status=Reward.Status.PENDING)
    newest = dict(
        waiting.values("workspace_id")
        .annotate(n=Max("created_at"))
        .values_list("workspace_id", "n")
    )
    last = {
        (w, c, to): at
        for w, c, to, at in Message.objects.filter(workspace_id__in=list(newest), journey=journey)
        .values("workspace_id", "channel", "to")
        .annotate(at=Max("created_at"))
        .values_list("workspace_id", "channel", "to", "at")
    }
    hour = now.replace(minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H")
    out = []
    for workspace_id, latest in newest.items():
        for sub in _wanting(subscribed[workspace_id], "review_waiting", now):
            since = max(
                sub.created_at, last.get((workspace_id, sub.channel, sub.address), sub.created_at)
            )
            if latest > since:
                out.append(Planned(sub, journey, f"{journey}:{hour}:{sub.public_id}"))
    return _new(out)


def _webhooks_failing(subscribed: Subscribed, now: datetime) -> list[Planned]:
    journey = Journey.STAFF_WEBHOOK_FAILING
    failing = WebhookEndpoint.objects.filter(
        workspace_id__in=list(subscribed), active=True, failing_since__lte=now - FAILING_FOR
    ).order_by("pk")
    out = []
    for endpoint in failing:
        assert endpoint.failing_since is not None  # noqa: S101 - filtered above
        since = endpoint.failing_since.strftime("%Y%m%dT%H%M%S")
        for sub in _wanting(subscribed[endpoint.workspace_id], "webhook_failing", now):
            data = {
                "endpoint": endpoint.public_id,
                "failing_since": endpoint.failing_since.isoformat(),
            }
            cause = f"{journey}:{endpoint.public_id}:{since}:{sub.public_id}"
            out.append(Planned(sub, journey, cause, data=data))
    return out


def _zones(workspaces: set[int]) -> dict[int, str]:
    return dict(
        MessagingSettings.objects.filter(workspace_id__in=workspaces).values_list(
            "workspace_id", "time_zone"
        )
    )


def _local_day(now: datetime, zone: str) -> date | None:
    """The workspace's day, once its morning has come; None before 09:00 there."""
    local = now.astimezone(zone_named(zone))
    return local.date() if local.time() >= MORNING else None


def _payouts_due(subscribed: Subscribed, zones: dict[int, str], now: datetime) -> list[Planned]:
    journey = Journey.STAFF_PAYOUTS_DUE
    out = []
    for workspace_id, subs in subscribed.items():
        day = _local_day(now, zones.get(workspace_id, "UTC"))
        if day is None:
            continue
        for sub in _wanting(subs, "payouts_due", now):
            out.append(Planned(sub, journey, f"{journey}:{day.isoformat()}:{sub.public_id}"))
    out = _new(out)
    facts = {w: payouts_waiting(w) for w in {p.subscription.workspace_id for p in out}}
    return [
        Planned(p.subscription, p.journey, p.cause, data=facts[p.subscription.workspace_id])
        for p in out
        if facts[p.subscription.workspace_id]
    ]


def payouts_waiting(workspace_id: int) -> dict[str, Any]:
    """What waits to be paid: cash owed per currency (what a new batch would gather), draft
    batches to approve, and payouts of approved batches not marked paid; {} when nothing."""
    currencies = (
        LedgerAccount.objects.filter(
            workspace_id=workspace_id, kind=LedgerAccount.Kind.PAYABLE, participant__isnull=False
        )
        .values_list("currency", flat=True)
        .distinct()
    )
    owed = []
    for currency in sorted(currencies):
        rows = payouts.owed(workspace_id=workspace_id, currency=currency, min_amount=0)
        if rows:
            owed.append(
                {"currency": currency, "amount": sum(a for _, a in rows), "people": len(rows)}
            )
    drafts = PayoutBatch.objects.filter(
        workspace_id=workspace_id, status=PayoutBatch.Status.DRAFT
    ).count()
    unpaid = Payout.objects.filter(workspace_id=workspace_id, status=Payout.Status.APPROVED).count()
    if not (owed or drafts or unpaid):
        return {}
    return {"owed": owed, "drafts": drafts, "unpaid": unpaid}


def last_week(now: datetime, zone: str) -> tuple[date, date] | None:
    """The ISO week before this one, Monday to Sunday, on Monday from 09:00 of the
    workspace's time zone; None at any other time."""
    local = now.astimezone(zone_named(zone))
    if local.weekday() != MONDAY or local.time() < MORNING:
        return None
    start = local.date() - timedelta(days=7)
    return start, start + timedelta(days=6)


def _digests(subscribed: Subscribed, zones: dict[int, str], now: datetime) -> list[Planned]:
    journey = Journey.KPI_DIGEST
    out = []
    weeks: dict[int, tuple[date, date]] = {}
    for workspace_id, subs in subscribed.items():
        week = last_week(now, zones.get(workspace_id, "UTC"))
        if week is None:
            continue
        weeks[workspace_id] = week
        year, number, _ = week[0].isocalendar()
        for sub in _wanting(subs, "kpi_digest", now):
            cause = f"{journey}:{year}-W{number:02d}:{sub.public_id}"
            out.append(Planned(sub, journey, cause))
    out = _new(out)
    figures = {
        w: digest_figures(summary(Scope(w, None, *weeks[w]), top=TOP_ADVOCATES))
        for w in {p.subscription.workspace_id for p in out}
    }
    return [
        Planned(p.subscription, p.journey, p.cause, data=figures[p.subscription.workspace_id])
        for p in out
    ]


def digest_figures(s: Summary) -> dict[str, Any]:
    """The digest's figures, as the Overview shows them for the same period (no number is
    computed here: each is read from `goodword.analytics.summary`)."""

    def money(items: Iterable[Any]) -> list[dict[str, Any]]:
        return [{"currency": m.currency, "amount": m.amount} for m in items]

    return {
        "from": s.scope.start.isoformat() if s.scope.start else "",
        "to": s.scope.end.isoformat() if s.scope.end else "",
        "participants": s.participation.participants,
        "advocates": s.participation.advocates,
        "advocate_rate": s.participation.advocate_rate,
        "referrals": s.funnel.referrals,
        "conversions": s.funnel.converted,
        "revenue": money(s.revenue.net),
        "cost": money(s.costs.cost),
        "roi": [{"currency": r.currency, "roi": r.roi} for r in s.returns if r.roi is not None],
        "top": [
            {
                "name": leader.name or leader.external_id,
                "referrals": leader.referrals,
                "converted": leader.converted,
            }
            for leader in s.leaderboard
        ],
    }
