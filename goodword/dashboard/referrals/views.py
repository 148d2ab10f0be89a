"""Referrals: the list (search, filters, sorting, CSV) and a referral's page, its timeline.

Read-only: what happens to a referral is decided by events and the reward actions, which have
their own pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from goodword.accounts.models import Workspace
from goodword.accounts.roles import Can
from goodword.dashboard import lists
from goodword.dashboard.access import staff
from goodword.dashboard.lists import Filter, Listing, listing
from goodword.dashboard.messaging import log as messaging_log
from goodword.dashboard.referrals import timeline
from goodword.dashboard.referrals.queries import ReferralFacts, referral_facts, referral_rows
from goodword.dashboard.rewards.common import who
from goodword.dashboard.templatetags.dashboard import duration
from goodword.ingest.models import Event
from goodword.lib import money
from goodword.lib.sheets import csv_response
from goodword.participants.models import Participant
from goodword.programs.models import Program
from goodword.referrals.models import Referral

# Rows per page: the lists' default, named here so that a test can make pages short.
PER_PAGE = lists.PER_PAGE
# An export is the filtered list, up to this many rows (newest first by default): a
# spreadsheet's comfortable size, and a bounded response.
MAX_EXPORT = 50_000

SEARCH = (
    "public_id",
    "order_id",
    "referee__external_id",
    "referee__email",
    "referee__name",
    "advocate__code",
    "advocate__participant__external_id",
    "advocate__participant__email",
    "advocate__participant__name",
)
SORTS = ("created_at", "converted_at", "order_amount")
SOURCE_CHOICES = [
    ("token", "Link"),
    ("code", "Code"),
    ("email", "Email invite"),
    ("coupon", "Coupon"),
]


def _workspace(request: HttpRequest) -> Workspace:
    return request.workspace  # type: ignore[attr-defined,no-any-return]


def _listing(request: HttpRequest) -> Listing:
    programs = Program.objects.for_workspace(_workspace(request)).order_by("name", "pk")
    filters = {
        "status": Filter(
            "Status", "status", [(s, label) for s, (label, _) in timeline.STATUSES.items()]
        ),
        "program": Filter(
            "Program", "program__public_id", list(programs.values_list("public_id", "name"))
        ),
        "source": Filter("Came by", "source", SOURCE_CHOICES),
    }
    return listing(
        request,
        referral_rows(_workspace(request)),
        search=SEARCH,
        filters=filters,
        sorts=SORTS,
        per_page=PER_PAGE,
    )


@dataclass(frozen=True)
class Row:
    referral: Referral
    status: str
    badge: str
    channel: str


def _row(referral: Referral) -> Row:
    label, badge = timeline.status_of(referral)
    channel = str(getattr(referral, "channel", ""))
    return Row(referral=referral, status=label, badge=badge, channel=channel)


@staff(Can.VIEW)
def referrals(request: HttpRequest) -> HttpResponse:
    found = _listing(request)
    context = {
        "title": "Referrals",
        "listing": found,
        "rows": [_row(r) for r in found.rows],
        "max_export": MAX_EXPORT,
    }
    return render(request, "dashboard/referrals/list.html", context)


def _when(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


@staff(Can.VIEW)
def export(request: HttpRequest) -> HttpResponse:
    """The filtered, sorted list as CSV: every page, up to MAX_EXPORT rows; amounts in major
    units; formulas neutralised (`csv_response`)."""
    rows: QuerySet[Referral] = _listing(request).ordered
    header = (
        "referral_id", "program_id", "program", "status", "reject_reason", "source", "channel",
        "advocate_external_id", "advocate_name", "advocate_email", "advocate_code",
        "friend_external_id", "friend_name", "friend_email", "created_at", "clicked_at",
        "signed_up_at", "converted_at", "seconds_to_convert", "rewarded_at", "rejected_at",
        "reversed_at", "order_id", "order_amount", "order_currency",
    )  # fmt: skip
    return csv_response(
        "goodword-referrals.csv", header, map(_csv_row, rows[:MAX_EXPORT].iterator(chunk_size=2000))
    )


def _csv_row(r: Referral) -> tuple[Any, ...]:
    advocate = r.advocate.participant
    took = int((r.converted_at - r.first_touch_at).total_seconds()) if r.converted_at else None
    return (
        r.public_id,
        r.program.public_id,
        r.program.name,
        r.status,
        r.reject_reason,
        r.source,
        getattr(r, "channel", ""),
        advocate.external_id,
        advocate.name,
        advocate.email,
        r.advocate.code,
        r.referee.external_id,
        r.referee.name,
        r.referee.email,
        _when(r.created_at),
        _when(r.clicked_at),
        _when(r.signed_up_at),
        _when(r.converted_at),
        took,
        _when(r.rewarded_at),
        _when(r.rejected_at),
        _when(r.reversed_at),
        r.order_id,
        money.major(r.order_amount, r.order_currency) if r.order_amount is not None else "",
        r.order_currency,
    )


@dataclass(frozen=True)
class Contact:
    role: str
    participant: Participant
    phone: str


@dataclass(frozen=True)
class OrderRow:
    event: Event
    kind: str
    amount: str
    note: str


def _orders(facts: ReferralFacts) -> list[OrderRow]:
    r = facts.referral
    out = []
    for event in facts.orders:
        note = ""
        if event.order_id and event.order_id == r.order_id:
            note = "converted the referral" if event.type == Event.Type.PURCHASE else "its order"
        elif event.occurred_at < r.first_touch_at:
            note = "before the referral"
        amount = (
            money.display(event.amount, event.currency)
            if event.amount is not None and event.currency
            else ("in full" if event.type == Event.Type.REFUND else "—")
        )
        kind = event.get_type_display() if event.type != "subscription_payment" else "Payment"
        out.append(OrderRow(event=event, kind=kind, amount=amount, note=note))
    return out


def _durations(r: Referral) -> list[tuple[str, str]]:
    """The spans people ask about: how long the friend took, and how long the reward."""
    spans = [
        ("First touch to sign-up", r.signed_up_at, r.first_touch_at),
        ("First touch to conversion", r.converted_at, r.first_touch_at),
        ("Conversion to first reward approved", r.rewarded_at, r.converted_at),
        ("Conversion to reversal", r.reversed_at, r.converted_at),
    ]
    return [(label, duration(end - start)) for label, end, start in spans if end and start]


@staff(Can.VIEW)
def referral(request: HttpRequest, referral_id: str) -> HttpResponse:
    workspace = _workspace(request)
    found = get_object_or_404(referral_rows(workspace), public_id=referral_id)
    facts = referral_facts(found)
    label, badge = timeline.status_of(found)
    rewards = timeline.reward_views(facts)

    @cache
    def actor(name: str) -> str:
        return who(workspace.pk, name)

    context = {
        "title": f"Referral {found.public_id}",
        "referral": found,
        "status": label,
        "badge": badge,
        "channel": str(getattr(found, "channel", "")),
        "source": timeline.SOURCES.get(found.source, found.source),
        "click": facts.click,
        "steps": timeline.timeline(facts, who=actor),
        "durations": _durations(found),
        "decisions": timeline.decisions(found),
        "rewards": rewards,
        "has_ledger": any(v.transactions for v in rewards),
        "orders": _orders(facts),
        "contacts": [
            Contact(
                "Advocate",
                found.advocate.participant,
                timeline.phone_of(found.advocate.participant),
            ),
            Contact("Friend", found.referee, timeline.phone_of(found.referee)),
        ],
        "message_rows": messaging_log.recent(workspace, referral_public_id=found.public_id),
    }
    return render(request, "dashboard/referrals/referral.html", context)
