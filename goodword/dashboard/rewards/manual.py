"""Rewards and credit by hand: a reward of any kind granted with a reason, and credit added or
taken. The same services as `POST /participants/{id}/rewards` and `…/credit-adjustments`."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff
from goodword.dashboard.audit import audit
from goodword.dashboard.rewards.common import actor, value_of
from goodword.dashboard.rewards.forms import CreditForm, GrantForm
from goodword.lib import money
from goodword.lib.errors import DomainError
from goodword.rewards import actions


def _form_page(
    request: HttpRequest, template: str, form: object, title: str, status: int = 200
) -> HttpResponse:
    return render(request, template, {"title": title, "form": form}, status=status)


@staff(Can.MANAGE)
def grant(request: HttpRequest) -> HttpResponse:
    """Grant a reward by hand: approved at once and delivered by its kind."""
    workspace_id = request.workspace.pk  # type: ignore[attr-defined]
    template, title = "dashboard/rewards/grant.html", "Grant a reward"
    if request.method != "POST":
        initial = {"kind": "credit", "currency": "USD"}
        form = GrantForm(initial=initial, workspace_id=workspace_id)
        return _form_page(request, template, form, title)
    form = GrantForm(request.POST, workspace_id=workspace_id)
    if not form.is_valid() or form.offer is None or form.found is None:
        return _form_page(request, template, form, title, status=400)
    reason = str(form.cleaned_data["reason"])
    try:
        with transaction.atomic():
            granted = actions.grant_reward(
                participant=form.found,
                offer=form.offer,
                reason=reason,
                program=form.chosen_program(),
                actor=actor(request),
                now=timezone.now(),
            )
            audit(
                request,
                "reward.grant",
                granted.public_id,
                participant=form.found.external_id,
                kind=granted.kind,
                amount=granted.amount,
                percent_off=granted.percent_off,
                currency=granted.currency,
                reason=reason,
            )
    except DomainError as error:
        form.add_error(None, error.message)
        return _form_page(request, template, form, title, status=error.status)
    messages.success(
        request, f"Granted {value_of(granted)} ({granted.kind}) to {form.found.external_id}."
    )
    return redirect("dashboard:reward", reward_id=granted.public_id)


@staff(Can.MANAGE)
def credit(request: HttpRequest) -> HttpResponse:
    """Add credit to a participant's balance, or take some back (never below zero)."""
    workspace_id = request.workspace.pk  # type: ignore[attr-defined]
    template, title = "dashboard/rewards/credit.html", "Adjust credit"
    if request.method != "POST":
        form = CreditForm(initial={"currency": "USD"}, workspace_id=workspace_id)
        return _form_page(request, template, form, title)
    form = CreditForm(request.POST, workspace_id=workspace_id)
    if not form.is_valid() or form.found is None:
        return _form_page(request, template, form, title, status=400)
    data = form.cleaned_data
    try:
        with transaction.atomic():
            adjustment, _ = actions.adjust_credit(
                participant=form.found,
                amount=data["minor"],
                currency=data["currency"],
                reason=data["reason"],
                actor=actor(request),
                now=timezone.now(),
            )
            audit(
                request,
                "credit.adjust",
                adjustment.public_id,
                participant=form.found.external_id,
                amount=adjustment.amount,
                currency=adjustment.currency,
                reason=adjustment.reason,
            )
    except DomainError as error:
        field = "amount" if error.code == "insufficient_balance" else None
        message = error.message
        if error.code == "insufficient_balance" and isinstance(error.details, dict):
            available = int(error.details.get("available", 0))
            message = f"Only {money.display(available, data['currency'])} is available to take."
        form.add_error(field, message)
        return _form_page(request, template, form, title, status=error.status)
    shown = money.display(abs(adjustment.amount), adjustment.currency)
    verb = "Added" if adjustment.amount > 0 else "Took"
    preposition = "to" if adjustment.amount > 0 else "from"
    messages.success(request, f"{verb} {shown} of credit {preposition} {form.found.external_id}.")
    return redirect("dashboard:credit_adjust")
