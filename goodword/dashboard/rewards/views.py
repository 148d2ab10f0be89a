"""Rewards: the list (filters, search, CSV), a reward's page, and the review actions on them
(approve, reject, reverse, mark fulfilled), one at a time or in bulk.

Every action calls the service the API calls (`goodword.rewards.actions`) and notes itself in
the audit log in the same transaction: a refused action writes neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff
from goodword.dashboard.lists import Filter, Listing, listing
from goodword.dashboard.rewards.common import (
    BADGES,
    act,
    actor,
    audited,
    back,
    choice_value,
    participant_url,
    referral_url,
    value_of,
)
from goodword.dashboard.rewards.forms import ReasonForm, ReferenceForm
from goodword.lib import money
from goodword.lib.errors import DomainError
from goodword.lib.sheets import csv_response
from goodword.programs.models import Program, RewardRule
from goodword.rewards import actions
from goodword.rewards.models import Fulfilment, LedgerEntry, LedgerTransaction, Reward

MAX_BULK = 200  # rewards per bulk action: four pages of the list
MAX_EXPORT = 50_000  # rows per CSV export, as the other lists: filter for more


@dataclass(frozen=True)
class RewardRow:
    reward: Reward
    value: str
    badge: str
    rule: str
    referral_url: str | None
    referral: str  # "alice → bob": who referred whom
    participant_url: str


def _rule_label(reward: Reward) -> str:
    if reward.rule is None:
        return "Manual"
    rule = reward.rule
    return rule.name or f"{rule.get_beneficiary_display()} {rule.get_kind_display().lower()}"


def row_of(
    reward: Reward,
    to_referral: Callable[[str], str] = referral_url,
    to_participant: Callable[[str], str] = participant_url,
) -> RewardRow:
    return RewardRow(
        reward=reward,
        value=value_of(reward),
        badge=BADGES.get(reward.status, ""),
        rule=_rule_label(reward),
        referral_url=to_referral(reward.referral.public_id) if reward.referral else None,
        referral=_who_referred(reward),
        participant_url=to_participant(reward.participant.public_id),
    )


@dataclass(frozen=True)
class ListRow:
    """A row of the list with its text made once here: fifty rows of template filters, tags and
    URL reversing cost more than the query."""

    reward: Reward
    row: RewardRow
    url: str
    created: str  # day, for people
    created_iso: str
    status: str
    kind: str
    when: str  # "until" (pending) or "earned", "" without a date
    when_day: str
    when_iso: str
    is_pending: bool


def list_rows(rewards: list[Reward]) -> list[ListRow]:
    # One reverse per kind of link, then each id put in: reversing costs ~0.1 ms a link.
    to_reward, to_referral, to_participant = (
        partial(str.replace, link, _MARKER)
        for link in (
            reverse("dashboard:reward", args=[_MARKER]),
            referral_url(_MARKER),
            participant_url(_MARKER),
        )
    )
    return [_list_row(r, to_reward, to_referral, to_participant) for r in rewards]


_MARKER = "0marker0"  # a public id no row has: ids are letters and digits after a prefix


def _list_row(
    reward: Reward,
    to_reward: Callable[[str], str],
    to_referral: Callable[[str], str],
    to_participant: Callable[[str], str],
) -> ListRow:
    pending = reward.status == Reward.Status.PENDING
    moment = reward.hold_until if pending else reward.earned_at
    local = timezone.localtime(moment) if moment else None
    created = timezone.localtime(reward.created_at)
    return ListRow(
        reward=reward,
        row=row_of(reward, to_referral, to_participant),
        url=to_reward(reward.public_id),
        created=created.strftime("%Y-%m-%d"),
        created_iso=created.isoformat(),
        status=reward.get_status_display(),
        kind=reward.get_kind_display(),
        when=("until" if pending else "earned") if local else "",
        when_day=local.strftime("%Y-%m-%d") if local else "",
        when_iso=local.isoformat() if local else "",
        is_pending=pending,
    )


def _who_referred(reward: Reward) -> str:
    if reward.referral is None:
        return ""
    advocate = reward.referral.advocate.participant.external_id
    return f"{advocate} → {reward.referral.referee.external_id}"


def _rewards(request: HttpRequest, *, with_program: bool = True) -> QuerySet[Reward]:
    rows = Reward.objects.for_workspace(request.workspace).select_related(  # type: ignore[attr-defined]
        "participant",
        "referral__advocate__participant",
        "referral__referee",
        "rule",
    )
    return rows.select_related("program") if with_program else rows


def _listing(request: HttpRequest) -> Listing:
    programs = Program.objects.for_workspace(request.workspace)  # type: ignore[attr-defined]
    filters = {
        "status": Filter("Status", "status", Reward.Status.choices),
        "kind": Filter("Kind", "kind", RewardRule.Kind.choices),
        "beneficiary": Filter("Beneficiary", "beneficiary", RewardRule.Beneficiary.choices),
        "source": Filter("Source", "source", Reward.Source.choices),
        "program": Filter(
            "Program",
            "program__public_id",
            list(programs.order_by("name").values_list("public_id", "name")),
        ),
    }
    return listing(
        request,
        _rewards(request, with_program=False),  # the list shows no program: one join less
        search=("participant__external_id", "participant__email", "public_id"),
        filters=filters,
        sorts=("created_at", "amount", "earned_at"),
    )


def _list_page(request: HttpRequest, *, status: int = 200, **extra: Any) -> HttpResponse:
    found = _listing(request)
    context = {
        "title": "Rewards",
        "listing": found,
        "rows": list_rows(found.rows),
        "selected": set(),
        "here": request.get_full_path(),
        **extra,
    }
    return render(request, "dashboard/rewards/rewards.html", context, status=status)


@staff(Can.VIEW)
def rewards(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@staff(Can.VIEW)
def export(request: HttpRequest) -> HttpResponse:
    """The filtered list as CSV, every row (not one page), formulas neutralised."""
    rows: QuerySet[Reward] = _listing(request).ordered.select_related("program")
    header = (
        "reward_id", "created_at", "participant_external_id", "participant_email", "program",
        "referral", "rule", "beneficiary", "source", "kind", "amount", "currency",
        "percent_off", "value", "status", "hold_until", "earned_at", "approved_at",
        "coupon_code", "reason", "status_reason",
    )  # fmt: skip
    return csv_response(
        "goodword-rewards.csv",
        header,
        (
            (
                r.public_id,
                r.created_at.isoformat(),
                r.participant.external_id,
                r.participant.email,
                r.program.public_id if r.program else "",
                r.referral.public_id if r.referral else "",
                _rule_label(r),
                r.beneficiary,
                r.source,
                r.kind,
                money.major(r.amount, r.currency) if r.amount is not None else "",
                r.currency,
                r.percent_off,
                value_of(r),
                r.status,
                r.hold_until.isoformat(),
                r.earned_at.isoformat() if r.earned_at else "",
                r.approved_at.isoformat() if r.approved_at else "",
                r.coupon_code,
                r.reason,
                r.status_reason,
            )
            for r in rows[:MAX_EXPORT].iterator(chunk_size=2000)
        ),
    )


@require_POST
@staff(Can.REVIEW)
def bulk(request: HttpRequest) -> HttpResponse:
    """Approve or reject the selected rewards (or one row's, from its own button), each in
    its own transaction: one already approved or rejected does not stop the others. Ids not
    in this workspace change nothing; when none of them is, 404."""
    home = reverse("dashboard:rewards")
    target = back(request, home)
    if one := request.POST.get("approve"):
        action, ids = "approve", [one]
    elif one := request.POST.get("reject"):
        action, ids = "reject", [one]
    else:
        action, ids = request.POST.get("action", ""), request.POST.getlist("ids")
    ids = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
    if action not in ("approve", "reject"):
        messages.error(request, "Choose approve or reject.")
        return redirect(target)
    if not ids:
        messages.error(request, "Select at least one reward.")
        return redirect(target)
    if len(ids) > MAX_BULK:
        messages.error(request, f"Select at most {MAX_BULK} rewards at a time.")
        return redirect(target)
    found = {r.public_id: r for r in _rewards(request).filter(public_id__in=ids)}
    if not found:
        raise Http404("no such reward")
    form = ReasonForm(request.POST)
    if action == "reject" and not form.is_valid():
        # The list as it was, with the selection kept and the complaint next to the reason.
        request.GET = QueryDict(urlsplit(target).query)
        return _list_page(request, status=400, selected=set(ids), reason_form=form, here=target)
    reason = str(form.cleaned_data["reason"]) if action == "reject" else ""
    done, problems = 0, []
    for public_id in ids:
        reward = found.get(public_id)
        if reward is None:
            continue
        try:
            _act(request, action, reward, reason)
        except DomainError as error:
            problems.append(error.message)
            continue
        done += 1
    _report(request, action, done=done, problems=problems, missing=len(ids) - len(found))
    return redirect(target)


def _act(request: HttpRequest, action: str, reward: Reward, reason: str) -> None:
    now = timezone.now()
    if action == "approve":
        audited(
            request,
            lambda: actions.approve_reward_early(reward=reward, actor=actor(request), now=now),
            "reward.approve",
            reward.public_id,
        )
    else:
        audited(
            request,
            lambda: actions.reject_reward(
                reward=reward, reason=reason, actor=actor(request), now=now
            ),
            "reward.reject",
            reward.public_id,
            {"reason": reason},
        )


def _report(
    request: HttpRequest, action: str, *, done: int, problems: list[str], missing: int
) -> None:
    verb = {"approve": "Approved", "reject": "Rejected"}[action]
    if done:
        messages.success(request, f"{verb} {done} reward{'s' if done != 1 else ''}.")
    if problems:
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        messages.error(request, f"{len(problems)} not changed: {shown}.")
    if missing:
        messages.error(
            request, f"{missing} selected reward{'s were' if missing != 1 else ' was'} not found."
        )


# A reward's page and its actions.


@dataclass(frozen=True)
class EntryRow:
    account: str
    amount: str


@dataclass(frozen=True)
class TransactionRow:
    txn: LedgerTransaction
    entries: list[EntryRow]


def _transactions(reward: Reward) -> list[TransactionRow]:
    entries = LedgerEntry.objects.select_related("account__participant").order_by("pk")
    txns = (
        LedgerTransaction.objects.for_workspace(reward.workspace_id)
        .filter(reward=reward)
        .prefetch_related(Prefetch("entries", queryset=entries))
        .order_by("created_at", "pk")
    )
    out = []
    for txn in txns:
        rows = []
        for entry in txn.entries.all():
            acct = entry.account
            owner = acct.participant.external_id if acct.participant else "Workspace"
            rows.append(
                EntryRow(
                    account=f"{owner} · {acct.get_kind_display().lower()}",
                    amount=money.display(entry.amount, acct.currency),
                )
            )
        out.append(TransactionRow(txn=txn, entries=rows))
    return out


def _get(request: HttpRequest, reward_id: str) -> Reward:
    return get_object_or_404(_rewards(request), public_id=reward_id)


def _page(request: HttpRequest, reward: Reward, *, status: int = 200, **forms: Any) -> HttpResponse:
    fulfilment = Fulfilment.objects.for_workspace(reward.workspace_id).filter(reward=reward).first()
    pool_code = getattr(reward, "pool_code", None) if reward.coupon_code else None
    context = {
        "title": f"Reward {reward.public_id}",
        "row": row_of(reward),
        "reward": reward,
        "transactions": _transactions(reward),
        "fulfilment": fulfilment,
        "pool": pool_code.pool if pool_code is not None else None,
        "choices": [choice_value(c, reward.currency) for c in reward.choices or []],
        "is_pending": reward.status == Reward.Status.PENDING,
        "is_reversible": reward.status in actions.REVERSIBLE,
        "is_fulfillable": reward.status == Reward.Status.PENDING_FULFILMENT
        and (fulfilment is None or not fulfilment.waiting_for),
        "reject_form": forms.get("reject_form") or ReasonForm(prefix="reject"),
        "reverse_form": forms.get("reverse_form") or ReasonForm(prefix="reverse"),
        "fulfil_form": forms.get("fulfil_form") or ReferenceForm(),
    }
    return render(request, "dashboard/rewards/reward.html", context, status=status)


@staff(Can.VIEW)
def reward(request: HttpRequest, reward_id: str) -> HttpResponse:
    return _page(request, _get(request, reward_id))


def _refused(request: HttpRequest, reward_id: str, **forms: Any) -> Callable[[int], HttpResponse]:
    """The reward's page as it is now, with the form that was posted, for a refused action."""
    return lambda status: _page(request, _get(request, reward_id), status=status, **forms)


@require_POST
@staff(Can.REVIEW)
def approve(request: HttpRequest, reward_id: str) -> HttpResponse:
    found = _get(request, reward_id)
    return act(
        request,
        lambda: actions.approve_reward_early(
            reward=found, actor=actor(request), now=timezone.now()
        ),
        action="reward.approve",
        subject=found.public_id,
        success="Approved.",
        then=reverse("dashboard:reward", args=[found.public_id]),
        on_refusal=_refused(request, reward_id),
    )


@require_POST
@staff(Can.REVIEW)
def reject(request: HttpRequest, reward_id: str) -> HttpResponse:
    found = _get(request, reward_id)
    form = ReasonForm(request.POST, prefix="reject")
    if not form.is_valid():
        return _page(request, found, status=400, reject_form=form)
    reason = str(form.cleaned_data["reason"])
    return act(
        request,
        lambda: actions.reject_reward(
            reward=found, reason=reason, actor=actor(request), now=timezone.now()
        ),
        action="reward.reject",
        subject=found.public_id,
        data={"reason": reason},
        success="Rejected: it will not be paid.",
        then=reverse("dashboard:reward", args=[found.public_id]),
        on_refusal=_refused(request, reward_id, reject_form=form),
    )


@require_POST
@staff(Can.REVIEW)
def reverse_(request: HttpRequest, reward_id: str) -> HttpResponse:
    found = _get(request, reward_id)
    form = ReasonForm(request.POST, prefix="reverse")
    if not form.is_valid():
        return _page(request, found, status=400, reverse_form=form)
    reason = str(form.cleaned_data["reason"])
    return act(
        request,
        lambda: actions.reverse_reward_by_hand(
            reward=found, reason=reason, actor=actor(request), now=timezone.now()
        ),
        action="reward.reverse",
        subject=found.public_id,
        data={"reason": reason},
        success="Reversed.",
        then=reverse("dashboard:reward", args=[found.public_id]),
        on_refusal=_refused(request, reward_id, reverse_form=form),
    )


@require_POST
@staff(Can.REVIEW)
def fulfil(request: HttpRequest, reward_id: str) -> HttpResponse:
    found = _get(request, reward_id)
    form = ReferenceForm(request.POST)
    if not form.is_valid():
        return _page(request, found, status=400, fulfil_form=form)
    reference = str(form.cleaned_data["reference"])
    return act(
        request,
        lambda: actions.fulfil_reward(
            reward=found, reference=reference, actor=actor(request), now=timezone.now()
        ),
        action="reward.fulfil",
        subject=found.public_id,
        data={"reference": reference},
        success="Marked fulfilled.",
        then=reverse("dashboard:reward", args=[found.public_id]),
        on_refusal=_refused(request, reward_id, fulfil_form=form),
    )
