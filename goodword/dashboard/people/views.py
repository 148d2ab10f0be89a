"""Participants and advocates: the lists (search, filters, sorting, CSV) and a participant's
page. Read-only but for a portal link: people are created and enrolled by the API and by
events.

A participant's page is addressed by its public id (`par_…`): external ids are the
business's own and may hold any character.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from goodword.accounts.models import Workspace
from goodword.accounts.roles import Can
from goodword.dashboard import lists
from goodword.dashboard.access import can, staff
from goodword.dashboard.audit import audit
from goodword.dashboard.lists import CappedPaginator, Filter, Listing, listing
from goodword.dashboard.messaging import log as messaging_log
from goodword.dashboard.people import queries
from goodword.dashboard.referrals import timeline
from goodword.dashboard.referrals.queries import referral_rows
from goodword.dashboard.rewards.common import BADGES, value_of
from goodword.lib import money
from goodword.lib.sheets import csv_response
from goodword.participants import portal
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import Program
from goodword.referrals.models import Referral
from goodword.rewards.models import Reward
from goodword.rewards.queries import balances

# Rows per page: the lists' default, named here so that a test can make pages short.
PER_PAGE = lists.PER_PAGE
# An export is the filtered list, up to this many rows: a spreadsheet's comfortable size.
MAX_EXPORT = 50_000
# A participant's page shows their latest referrals and rewards; the lists hold the rest.
MAX_SHOWN = 50

ADVOCATE_FILTER = Filter("Advocate", "is_advocate", [("yes", "Advocates"), ("no", "Not advocates")])


def _workspace(request: HttpRequest) -> Workspace:
    return request.workspace  # type: ignore[attr-defined,no-any-return]


def _when(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _link(advocate: Advocate) -> str:
    return f"{settings.SITE_URL}/r/{advocate.code}"


def _share(advocate: Advocate) -> str:
    return f"{settings.SITE_URL}/s/{advocate.code}"


def _qr(advocate: Advocate) -> str:
    """The start of the advocate's QR code and flyer addresses (`.svg`, `.png`, `/flyer`)."""
    return f"{settings.SITE_URL}/q/{advocate.code}"


# Participants.


def _participants(request: HttpRequest) -> Listing:
    return listing(
        request,
        queries.participant_rows(_workspace(request)),
        search=("external_id", "email", "name", "public_id"),
        filters={"advocate": ADVOCATE_FILTER},
        sorts=("created_at", "external_id", "purchase_count"),
        per_page=PER_PAGE,
    )


@staff(Can.VIEW)
def participants(request: HttpRequest) -> HttpResponse:
    found = _participants(request)
    context = {"title": "Participants", "listing": found, "max_export": MAX_EXPORT}
    return render(request, "dashboard/people/participants.html", context)


@staff(Can.VIEW)
def participants_export(request: HttpRequest) -> HttpResponse:
    """The filtered list as CSV, up to MAX_EXPORT rows, formulas neutralised."""
    rows: QuerySet[Participant] = _participants(request).ordered
    header = (
        "participant_id", "external_id", "name", "email", "advocate_in_programs",
        "purchase_count", "first_purchase_at", "created_at",
    )  # fmt: skip
    return csv_response(
        "goodword-participants.csv",
        header,
        (
            (
                p.public_id,
                p.external_id,
                p.name,
                p.email,
                p.programs,  # type: ignore[attr-defined]
                p.purchase_count,
                _when(p.first_purchase_at),
                _when(p.created_at),
            )
            for p in rows[:MAX_EXPORT].iterator(chunk_size=2000)
        ),
    )


@dataclass(frozen=True)
class Advocacy:
    advocate: Advocate
    link: str
    share: str
    earned: list[str]
    qr: str


@dataclass(frozen=True)
class ReferralRow:
    referral: Referral
    status: str
    badge: str
    channel: str


@dataclass(frozen=True)
class RewardRow:
    reward: Reward
    value: str
    badge: str


def _referral_rows(rows: Iterable[Referral]) -> list[ReferralRow]:
    out = []
    for r in rows:
        label, badge = timeline.status_of(r)
        channel = str(getattr(r, "channel", ""))
        out.append(ReferralRow(referral=r, status=label, badge=badge, channel=channel))
    return out


@staff(Can.VIEW)
def participant(request: HttpRequest, participant_id: str) -> HttpResponse:
    workspace = _workspace(request)
    person = get_object_or_404(
        Participant.objects.for_workspace(workspace), public_id=participant_id
    )
    advocacies = list(
        queries.advocate_rows(workspace).filter(participant=person).order_by("created_at", "pk")
    )
    made = (
        referral_rows(workspace).filter(advocate__participant=person).order_by("-created_at", "-pk")
    )
    referred = referral_rows(workspace).filter(referee=person).order_by("-created_at", "-pk")
    rewards = (
        Reward.objects.for_workspace(workspace)
        .filter(participant=person)
        .select_related("referral", "program")
        .order_by("-created_at", "-pk")
    )
    earned = queries.rewards_earned(workspace, [a.pk for a in advocacies])
    attributes = person.attributes if isinstance(person.attributes, dict) else {}
    context = {
        "title": person.name or person.external_id,
        "person": person,
        "phone": timeline.phone_of(person),
        "attributes": sorted(attributes.items()),
        "balances": balances(person),
        "advocacies": [
            Advocacy(
                a,
                _link(a),
                _share(a),
                [money.display(n, c) for n, c in earned.get(a.pk, [])],
                _qr(a),
            )
            for a in advocacies
        ],
        "made": _referral_rows(made[:MAX_SHOWN]),
        "made_count": made.count(),
        "referred": _referral_rows(referred[:MAX_SHOWN]),
        "rewards": [
            RewardRow(r, value_of(r), BADGES.get(r.status, "")) for r in rewards[:MAX_SHOWN]
        ],
        "rewards_count": rewards.count(),
        "max_shown": MAX_SHOWN,
        "message_rows": messaging_log.recent(workspace, participant=person),
        "may_manage": can(request, Can.MANAGE),
    }
    return render(request, "dashboard/people/participant.html", context)


@staff(Can.MANAGE)
@require_POST
def portal_link(request: HttpRequest, participant_id: str, advocate_id: str) -> HttpResponse:
    """A fresh magic link to the advocate's portal, shown once for staff to copy and send. It
    signs in whoever holds it, so making one is audited."""
    workspace = _workspace(request)
    advocate = get_object_or_404(
        Advocate.objects.for_workspace(workspace).select_related("participant", "program"),
        public_id=advocate_id,
        participant__public_id=participant_id,
    )
    made = portal.make_link(advocate, timezone.now())
    audit(request, "advocate.portal_link", advocate.public_id)
    context = {"title": "Portal link", "advocate": advocate, "link": made}
    return render(request, "dashboard/people/portal_link.html", context)


# Advocates.


def _advocates(request: HttpRequest) -> Listing:
    programs = Program.objects.for_workspace(_workspace(request)).order_by("name", "pk")
    filters = {
        "program": Filter(
            "Program", "program__public_id", list(programs.values_list("public_id", "name"))
        )
    }
    return listing(
        request,
        queries.advocate_rows(_workspace(request)),
        search=(
            "code",
            "participant__external_id",
            "participant__email",
            "participant__name",
        ),
        filters=filters,
        sorts=("created_at", "referrals_made", "conversions"),
        per_page=PER_PAGE,
    )


def _by_total(found: Listing, workspace: Workspace) -> queries.ByTotal | None:
    narrowed = bool(found.params.keys() - {"sort"})  # searched or filtered
    return queries.by_total(found.ordered, workspace, found.sort, narrowed=narrowed)


def _paged(found: Listing, workspace: Workspace) -> Listing:
    """The list with its page cut from the ordered ids when sorted by a count."""
    rows = _by_total(found, workspace)
    if rows is None:
        return found
    paginator = CappedPaginator(rows, PER_PAGE, found.page_number, lists.COUNT_CAP)
    return Listing(
        paginator.get_page(found.page_number),
        found.query,
        found.sort,
        found.params,
        found.filters,
        found.sorts,
        ordered=found.ordered,
        per_page=PER_PAGE,
        page_number=found.page_number,
    )


def _exported(found: Listing, workspace: Workspace) -> Iterator[list[Any]]:
    """The list's first MAX_EXPORT rows (advocates with their counts), a thousand at a time:
    one query each, and a bounded IN list for their sums. Sorted by a count, ordered once by
    the totals."""
    rows = _by_total(found, workspace)
    if rows is None:
        yield from _chunks(found.ordered[:MAX_EXPORT].iterator(chunk_size=1000), 1000)
        return
    for ids in _chunks(rows.ids(0, MAX_EXPORT), 1000):
        yield rows.rows_of(ids)


@dataclass(frozen=True)
class AdvocateRow:
    advocate: Advocate
    earned: list[str]


@staff(Can.VIEW)
def advocates(request: HttpRequest) -> HttpResponse:
    found = _paged(_advocates(request), _workspace(request))
    shown: list[Advocate] = found.rows
    # One query for the whole page's sums, per advocate and currency.
    earned = queries.rewards_earned(_workspace(request), [a.pk for a in shown])
    rows = [
        AdvocateRow(a, [money.display(n, cur) for n, cur in earned.get(a.pk, [])]) for a in shown
    ]
    context = {"title": "Advocates", "listing": found, "rows": rows, "max_export": MAX_EXPORT}
    return render(request, "dashboard/people/advocates.html", context)


@staff(Can.VIEW)
def advocates_export(request: HttpRequest) -> HttpResponse:
    """The filtered list as CSV, up to MAX_EXPORT rows; rewards earned as "10.00 USD" per
    currency, separated by "; "."""
    workspace = _workspace(request)
    found = _advocates(request)
    header = (
        "advocate_id", "program_id", "program", "code", "participant_id", "external_id",
        "name", "email", "variant", "referrals", "conversions", "rewards_earned", "enrolled_at",
        "link",
    )  # fmt: skip

    def lines() -> Iterator[tuple[Any, ...]]:
        for chunk in _exported(found, workspace):
            earned = queries.rewards_earned(workspace, [a.pk for a in chunk])
            for a in chunk:
                yield (
                    a.public_id,
                    a.program.public_id,
                    a.program.name,
                    a.code,
                    a.participant.public_id,
                    a.participant.external_id,
                    a.participant.name,
                    a.participant.email,
                    a.variant,
                    a.referrals_made,
                    a.conversions,
                    "; ".join(f"{money.major(n, cur)} {cur}" for n, cur in earned.get(a.pk, [])),
                    _when(a.created_at),
                    _link(a),
                )

    return csv_response("goodword-advocates.csv", header, lines())
