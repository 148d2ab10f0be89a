"""The fulfilment queue: approved rewards the business delivers itself (a product, a gift card,
a donation, anything custom), pending ones first, each marked done with a reference through
the service `POST /fulfilments/{id}/done` calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff
from goodword.dashboard.audit import audit
from goodword.dashboard.lists import Filter, listing
from goodword.dashboard.rewards.common import BADGES, actor, back, refused, value_of, who
from goodword.dashboard.rewards.forms import ReferenceForm
from goodword.lib.errors import DomainError
from goodword.programs.models import RewardRule
from goodword.rewards import fulfilment
from goodword.rewards.models import Fulfilment


@dataclass(frozen=True)
class FulfilmentRow:
    item: Fulfilment
    value: str
    what: str
    badge: str
    actor: str
    form: ReferenceForm


def _queue(request: HttpRequest) -> Any:
    return (
        Fulfilment.objects.for_workspace(request.workspace)  # type: ignore[attr-defined]
        .select_related("reward__participant", "reward__program")
        # Pending first, oldest first: the order to work through the queue in.
        .annotate(
            queue=Case(
                When(status=Fulfilment.Status.PENDING, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
    )


def _page(
    request: HttpRequest,
    *,
    status: int = 200,
    failed: str = "",
    form: ReferenceForm | None = None,
    here: str = "",
) -> HttpResponse:
    found = listing(
        request,
        _queue(request),
        search=("reward__participant__external_id", "reward__participant__email", "public_id"),
        filters={
            "status": Filter("Status", "status", Fulfilment.Status.choices),
            "kind": Filter("Kind", "reward__kind", RewardRule.Kind.choices),
        },
        sorts=("created_at", "done_at"),
        default_sort="queue",
    )
    workspace_id = request.workspace.pk  # type: ignore[attr-defined]
    names = {a: who(workspace_id, a) for a in {item.actor for item in found.rows if item.actor}}
    rows = []
    for item in found.rows:
        reward = item.reward
        details = reward.details or {}
        rows.append(
            FulfilmentRow(
                item=item,
                value=value_of(reward),
                what=str(
                    details.get("sku") or details.get("cause") or details.get("description") or ""
                ),
                badge=BADGES.get(item.status, ""),
                actor=names.get(item.actor, ""),
                form=form if form is not None and item.public_id == failed else ReferenceForm(),
            )
        )
    context = {
        "title": "Fulfilment queue",
        "listing": found,
        "rows": rows,
        "here": here or request.get_full_path(),
    }
    return render(request, "dashboard/rewards/fulfilments.html", context, status=status)


@staff(Can.VIEW)
def fulfilments(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@staff(Can.REVIEW)
def done(request: HttpRequest, fulfilment_id: str) -> HttpResponse:
    """Mark one pending fulfilment done with the business's reference: its reward is
    `fulfilled`."""
    item = get_object_or_404(_queue(request), public_id=fulfilment_id)
    target = back(request, reverse("dashboard:fulfilments"))
    form = ReferenceForm(request.POST)
    status = 400
    if form.is_valid():
        reference = str(form.cleaned_data["reference"])
        try:
            with transaction.atomic():
                fulfilment.mark_done(
                    fulfilment=item, reference=reference, actor=actor(request), now=timezone.now()
                )
                audit(
                    request,
                    "fulfilment.done",
                    item.public_id,
                    reward=item.reward.public_id,
                    reference=reference,
                )
        except DomainError as error:
            status = refused(request, error)
        else:
            kind = item.reward.get_kind_display().lower()
            who_for = item.reward.participant.external_id
            messages.success(request, f"Marked done: {who_for}'s {kind}.")
            return redirect(target)
    # The queue as it was, the complaint next to this row's reference.
    request.GET = QueryDict(target.partition("?")[2])
    return _page(request, status=status, failed=item.public_id, form=form, here=target)
