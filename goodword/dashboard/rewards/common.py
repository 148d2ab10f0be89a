"""What the rewards, fulfilment, payout and coupon pool pages share: who is acting, how a
reward's value reads, where a "back" link may point, how an action is audited and how a refused
one is shown."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from goodword.accounts.models import Membership
from goodword.dashboard.audit import audit
from goodword.lib import money
from goodword.lib.errors import DomainError
from goodword.rewards.models import Reward

# A status's badge colour: green when the beneficiary has it, amber while something is still
# to happen, red when it will never be paid.
BADGES = {
    Reward.Status.PENDING: "warn",
    Reward.Status.APPROVED: "ok",
    Reward.Status.PENDING_FULFILMENT: "warn",
    Reward.Status.FULFILLED: "ok",
    Reward.Status.REJECTED: "bad",
    Reward.Status.REVERSED: "bad",
    Reward.Status.EXPIRED: "",
    "draft": "warn",
    "done": "ok",
    "paid": "ok",
    "closed": "ok",
    "failed": "bad",
    "cancelled": "bad",
}


def actor(request: HttpRequest) -> str:
    """Who is acting, as the services and domain events name a staff member."""
    return f"user:{request.user.pk}"


def offer_value(kind: str, amount: int | None, percent_off: int | None, currency: str) -> str:
    """What a reward gives, as people read it: "$10.00", "120 points", "20% off", "$5.00 off"."""
    if percent_off is not None:
        return f"{percent_off}% off"
    if amount is None:
        return "—"
    text = money.display(amount, currency)
    return f"{text} off" if kind == "coupon" else text


def value_of(reward: Reward) -> str:
    return offer_value(reward.kind, reward.amount, reward.percent_off, reward.currency)


def choice_value(offer: Mapping[str, Any], default_currency: str) -> str:
    """One offer of a recipient's choice (an `OfferSpec` as stored), in words."""
    kind = str(offer.get("kind", ""))
    currency = "PTS" if kind == "points" else str(offer.get("currency") or default_currency)
    value = offer_value(kind, offer.get("amount"), offer.get("percent_off"), currency)
    what = offer.get("sku") or offer.get("cause") or offer.get("description")
    label = kind.replace("_", " ")
    return f"{label}: {value}" + (f" ({what})" if what else "")


def referral_url(public_id: str) -> str:
    """The referral's page; until the referrals section has one, its list searched for it."""
    try:
        return reverse("dashboard:referral", args=[public_id])
    except NoReverseMatch:
        return reverse("dashboard:referrals") + f"?q={public_id}"


def participant_url(public_id: str) -> str:
    """The participant's page; until the people section has one, its list searched for them."""
    try:
        return reverse("dashboard:participant", args=[public_id])
    except NoReverseMatch:
        return reverse("dashboard:participants") + f"?q={public_id}"


def back(request: HttpRequest, default: str) -> str:
    """The page to return to after an action: the form's `next` when it is on this site."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return target
    return default


def refused(request: HttpRequest, error: DomainError) -> int:
    """Show why a service refused an action; the status to answer with (400, 409, 422)."""
    messages.error(request, error.message)
    return error.status if error.status in (400, 409, 422) else 409


T = TypeVar("T")


def audited(
    request: HttpRequest,
    work: Callable[[], T],
    action: str,
    subject: str,
    data: Mapping[str, Any] | None = None,
) -> T:
    """Run `work` (one service call) and note it in the audit log as `action` on `subject`, in
    one transaction: the entry exists exactly when the action happened. A DomainError from
    the service propagates, with nothing written."""
    with transaction.atomic():
        result = work()
        audit(request, action, subject, **(data or {}))
    return result


def act(
    request: HttpRequest,
    work: Callable[[], T],
    *,
    action: str,
    subject: str,
    data: Mapping[str, Any] | None = None,
    success: str | Callable[[T], str],
    then: str,
    on_refusal: Callable[[int], HttpResponse],
) -> HttpResponse:
    """The shape of a page's action button: run it audited; on success say `success` and go to
    `then`; when the service refuses, say why and answer `on_refusal(status)`."""
    try:
        result = audited(request, work, action, subject, data)
    except DomainError as error:
        return on_refusal(refused(request, error))
    messages.success(request, success if isinstance(success, str) else success(result))
    return redirect(then)


def who(workspace_id: int, actor_name: str) -> str:
    """A service's actor (`user:<id>`, `api_key:<id>`) as people know it: the member's email."""
    kind, _, ident = actor_name.partition(":")
    if kind == "user" and ident.isdigit():
        member = (
            Membership.objects.filter(workspace_id=workspace_id, user_id=int(ident))
            .select_related("user")
            .first()
        )
        return str(member.user.get_username()) if member is not None else "a former member"
    if kind == "api_key":
        return f"API key {ident}"
    return actor_name or "—"
