"""Payout batches: cash owed to advocates, gathered per currency, approved, exported as a
PayPal, Wise or plain CSV file, and each payout marked paid or failed. The same services as
`/payout-batches` and `/payouts` in the API (`goodword.rewards.payouts`, `payout_exports`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff
from goodword.dashboard.audit import audit
from goodword.dashboard.lists import Filter, listing
from goodword.dashboard.rewards.common import BADGES, act, actor, audited, who
from goodword.dashboard.rewards.forms import BatchForm, ReasonForm, ReferenceForm
from goodword.lib import money
from goodword.lib.errors import DomainError
from goodword.rewards import payout_exports, payouts
from goodword.rewards.models import LedgerAccount, Payout, PayoutBatch

FORMATS = {"paypal": "PayPal", "wise": "Wise", "csv": "CSV"}


@dataclass(frozen=True)
class Owed:
    currency: str
    people: int
    total: str


def owed_now(workspace_id: int) -> list[Owed]:
    """What is owed in each currency now, and to how many: what a new batch would gather."""
    currencies = (
        LedgerAccount.objects.for_workspace(workspace_id)
        .filter(kind=LedgerAccount.Kind.PAYABLE)
        .values_list("currency", flat=True)
        .distinct()
        .order_by("currency")
    )
    out = []
    for currency in currencies:
        rows = payouts.owed(workspace_id=workspace_id, currency=currency, min_amount=0)
        if rows:
            total = sum(amount for _, amount in rows)
            out.append(Owed(currency, len(rows), money.display(total, currency)))
    return out


def _list_page(
    request: HttpRequest, form: BatchForm | None = None, status: int = 200
) -> HttpResponse:
    workspace_id = request.workspace.pk  # type: ignore[attr-defined]
    batches = PayoutBatch.objects.for_workspace(workspace_id).annotate(
        n_payouts=Count("payouts"), total=Sum("payouts__amount")
    )
    found = listing(
        request,
        batches,
        search=("public_id",),
        filters={"status": Filter("Status", "status", PayoutBatch.Status.choices)},
        sorts=("created_at",),
    )
    owed = owed_now(workspace_id)
    if form is None:
        form = BatchForm(initial={"currency": owed[0].currency if owed else "USD"})
    context = {
        "title": "Payouts",
        "listing": found,
        "rows": [(b, BADGES.get(b.status, "")) for b in found.rows],
        "owed": owed,
        "form": form,
    }
    return render(request, "dashboard/rewards/payouts.html", context, status=status)


@staff(Can.VIEW)
def batches(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@require_POST
@staff(Can.REVIEW)
def create(request: HttpRequest) -> HttpResponse:
    """Propose a draft batch of everyone owed at least the minimum. Nothing moves yet."""
    form = BatchForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    data = form.cleaned_data
    try:
        with transaction.atomic():
            batch = payouts.create_batch(
                workspace_id=request.workspace.pk,  # type: ignore[attr-defined]
                currency=data["currency"],
                min_amount=data["min_amount"],
                actor=actor(request),
                now=timezone.now(),
            )
            audit(
                request,
                "payout_batch.create",
                batch.public_id,
                currency=batch.currency,
                min_amount=batch.min_amount,
            )
    except DomainError as error:
        if error.code == "nothing_to_pay":
            least = money.display(max(data["min_amount"], 1), data["currency"])
            form.add_error("minimum", f"Nobody is owed at least {least} in {data['currency']}.")
        else:
            form.add_error(None, error.message)
        return _list_page(request, form, status=error.status)
    messages.success(request, "Batch proposed: check it, then approve it.")
    return redirect("dashboard:payout_batch", batch_id=batch.public_id)


# A batch's page and its actions.


@dataclass(frozen=True)
class PayoutRow:
    payout: Payout
    amount: str
    badge: str
    paid_form: ReferenceForm
    failed_form: ReasonForm


def _get(request: HttpRequest, batch_id: str) -> PayoutBatch:
    qs = PayoutBatch.objects.for_workspace(request.workspace).select_related("workspace")  # type: ignore[attr-defined]
    return get_object_or_404(qs, public_id=batch_id)


def _bound(forms: dict[str, Any], name: str, mine: bool) -> Any:
    """The form that was just posted for this row, to show it again with its complaint."""
    return forms.get(name) if mine else None


def _page(
    request: HttpRequest, batch: PayoutBatch, *, status: int = 200, **forms: Any
) -> HttpResponse:
    rows = []
    items = batch.payouts.select_related("participant").order_by("pk")
    totals = items.aggregate(n=Count("pk"), total=Sum("amount"))
    for p in items:
        mine = forms.get("payout") == p.public_id
        rows.append(
            PayoutRow(
                payout=p,
                amount=money.display(p.amount, p.currency),
                badge=BADGES.get(p.status, ""),
                paid_form=_bound(forms, "paid_form", mine) or ReferenceForm(prefix="paid"),
                failed_form=_bound(forms, "failed_form", mine) or ReasonForm(prefix="failed"),
            )
        )
    approved = batch.status == PayoutBatch.Status.APPROVED
    context = {
        "title": f"Payout batch {batch.public_id}",
        "batch": batch,
        "badge": BADGES.get(batch.status, ""),
        "rows": rows,
        "count": totals["n"],
        "total": money.display(int(totals["total"] or 0), batch.currency),
        "minimum": money.display(batch.min_amount, batch.currency),
        "created_by": who(batch.workspace_id, batch.created_by),
        "approved_by": who(batch.workspace_id, batch.approved_by) if batch.approved_by else "",
        "is_draft": batch.status == PayoutBatch.Status.DRAFT,
        "is_approved": approved,
        "formats": [
            (fmt, label)
            for fmt, label in FORMATS.items()
            if approved or (fmt == "csv" and batch.status == PayoutBatch.Status.CLOSED)
        ],
    }
    return render(request, "dashboard/rewards/batch.html", context, status=status)


def _refused(request: HttpRequest, batch_id: str, **forms: Any) -> Callable[[int], HttpResponse]:
    """The batch's page as it is now, with the form that was posted, for a refused action."""
    return lambda status: _page(request, _get(request, batch_id), status=status, **forms)


@staff(Can.VIEW)
def batch(request: HttpRequest, batch_id: str) -> HttpResponse:
    return _page(request, _get(request, batch_id))


@require_POST
@staff(Can.REVIEW)
def approve(request: HttpRequest, batch_id: str) -> HttpResponse:
    """Approve a draft: each payout's cash moves from payable to paying."""
    found = _get(request, batch_id)

    def said(done: PayoutBatch) -> str:
        if done.status == PayoutBatch.Status.CLOSED:
            return "Approved, and closed at once: nothing was left to pay."
        return "Approved: export the payment file, pay, then mark each payout."

    return act(
        request,
        lambda: payouts.approve_batch(batch=found, actor=actor(request), now=timezone.now()),
        action="payout_batch.approve",
        subject=found.public_id,
        success=said,
        then=reverse("dashboard:payout_batch", args=[found.public_id]),
        on_refusal=_refused(request, batch_id),
    )


@require_POST
@staff(Can.REVIEW)
def cancel(request: HttpRequest, batch_id: str) -> HttpResponse:
    found = _get(request, batch_id)
    return act(
        request,
        lambda: payouts.cancel_batch(batch=found, actor=actor(request), now=timezone.now()),
        action="payout_batch.cancel",
        subject=found.public_id,
        success="Cancelled: nothing was paid, and everyone is still owed.",
        then=reverse("dashboard:payout_batch", args=[found.public_id]),
        on_refusal=_refused(request, batch_id),
    )


@staff(Can.REVIEW)
def export(request: HttpRequest, batch_id: str, fmt: str) -> HttpResponse:
    """The batch's payment file (`payout_exports`: formulas neutralised). Downloading it is
    noted in the audit log: the file holds every recipient's email and amount."""
    if fmt not in FORMATS:
        raise Http404("no such format")
    found = _get(request, batch_id)
    try:
        text = audited(
            request,
            lambda: payout_exports.export(found, fmt),  # type: ignore[arg-type]
            "payout_batch.export",
            found.public_id,
            {"format": fmt},
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("dashboard:payout_batch", batch_id=found.public_id)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    filename = f"goodword-{found.public_id}-{fmt}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _payout(request: HttpRequest, batch_id: str, payout_id: str) -> Payout:
    qs = Payout.objects.for_workspace(request.workspace).select_related("batch", "participant")  # type: ignore[attr-defined]
    return get_object_or_404(qs, public_id=payout_id, batch__public_id=batch_id)


@require_POST
@staff(Can.REVIEW)
def paid(request: HttpRequest, batch_id: str, payout_id: str) -> HttpResponse:
    """The business paid this payout: its reference (a PayPal or bank transaction id)."""
    payout = _payout(request, batch_id, payout_id)
    form = ReferenceForm(request.POST, prefix="paid")
    again = _refused(request, batch_id, payout=payout.public_id, paid_form=form)
    if not form.is_valid():
        return again(400)
    reference = str(form.cleaned_data["reference"])
    shown = money.display(payout.amount, payout.currency)
    return act(
        request,
        lambda: payouts.mark_paid(
            payout=payout, reference=reference, actor=actor(request), now=timezone.now()
        ),
        action="payout.paid",
        subject=payout.public_id,
        data={"reference": reference},
        success=f"Marked paid: {shown} to {payout.participant.external_id}.",
        then=reverse("dashboard:payout_batch", args=[batch_id]),
        on_refusal=again,
    )


@require_POST
@staff(Can.REVIEW)
def failed(request: HttpRequest, batch_id: str, payout_id: str) -> HttpResponse:
    """The payment did not go through: the cash is owed again."""
    payout = _payout(request, batch_id, payout_id)
    form = ReasonForm(request.POST, prefix="failed")
    again = _refused(request, batch_id, payout=payout.public_id, failed_form=form)
    if not form.is_valid():
        return again(400)
    reason = str(form.cleaned_data["reason"])
    return act(
        request,
        lambda: payouts.mark_failed(
            payout=payout, reason=reason, actor=actor(request), now=timezone.now()
        ),
        action="payout.failed",
        subject=payout.public_id,
        data={"reason": reason},
        success=f"Marked failed: {payout.participant.external_id} is owed the money again.",
        then=reverse("dashboard:payout_batch", args=[batch_id]),
        on_refusal=again,
    )
