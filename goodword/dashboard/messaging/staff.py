"""Workspace → Notifications: which team members' emails and Slack-compatible webhooks hear of
new referrals, rewards to review, low coupon pools, failing webhooks, payouts due and the
weekly digest. Owners and admins change them; the others read them.

The same services as `/staff-notifications` in the API (`goodword.messaging.staff_services`);
every change in the audit log, in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from goodword.accounts.models import Membership
from goodword.accounts.roles import Can
from goodword.dashboard.access import staff
from goodword.dashboard.messaging.common import audited
from goodword.lib.errors import DomainError
from goodword.messaging import staff_services
from goodword.messaging.channels.errors import ChannelError
from goodword.messaging.models import Channel, StaffSubscription

TOPICS = [
    ("new_referral", gettext_lazy("New referrals"), gettext_lazy("each one, as it comes")),
    (
        "review_waiting",
        gettext_lazy("Rewards to review"),
        gettext_lazy("at most one summary an hour, when new rewards wait"),
    ),
    (
        "low_coupons",
        gettext_lazy("Coupon codes running low"),
        gettext_lazy("when a pool reaches its threshold, or is empty"),
    ),
    (
        "webhook_failing",
        gettext_lazy("Failing webhooks"),
        gettext_lazy("an endpoint failing for an hour, or turned off"),
    ),
    (
        "payouts_due",
        gettext_lazy("Payouts due"),
        gettext_lazy("daily from 09:00, when cash is owed or a batch waits"),
    ),
    (
        "kpi_digest",
        gettext_lazy("Weekly KPI digest"),
        gettext_lazy("Mondays at 09:00: last week's figures"),
    ),
]


def _members(workspace_id: int) -> list[str]:
    return sorted(
        Membership.objects.for_workspace(workspace_id)
        .select_related("user")
        .values_list("user__username", flat=True)
    )


def _page(
    request: HttpRequest, *, form: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    rows = StaffSubscription.objects.for_workspace(workspace).order_by("channel", "address")
    context = {
        "title": _("Notifications"),
        "subscriptions": [
            {"row": s, "topics": [(name, label, getattr(s, name)) for name, label, _ in TOPICS]}
            for s in rows
        ],
        "topics": TOPICS,
        "members": _members(workspace.pk),
        "form": form or {"channel": "email", "email": request.user.get_username()},
    }
    return render(request, "dashboard/messaging/staff.html", context, status=status)


@staff(Can.VIEW)
def notifications(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@staff(Can.MANAGE)
def add(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    channel = request.POST.get("channel", "email")
    address = request.POST.get("slack_url" if channel == Channel.SLACK else "email", "")
    topics = {name: name in request.POST for name, _, _ in TOPICS}
    try:
        row = audited(
            request,
            lambda: staff_services.add_subscription(
                workspace=workspace, channel=channel, address=address, topics=topics
            ),
            "staff_notification.add",
            workspace.public_id,
            channel=channel,
            topics=sorted(t for t, on in topics.items() if on),
        )
    except DomainError as error:
        form = {"channel": channel, "email": request.POST.get("email", ""), "error": error.message}
        form["slack_url"] = request.POST.get("slack_url", "")
        return _page(request, form=form, status=400)
    messages.success(request, _("%(address)s gets notifications now.") % {"address": _shown(row)})
    return redirect("dashboard:staff_notifications")


def _get(request: HttpRequest, subscription_id: str) -> StaffSubscription:
    qs = StaffSubscription.objects.for_workspace(request.workspace)  # type: ignore[attr-defined]
    found: StaffSubscription = get_object_or_404(qs, public_id=subscription_id)
    return found


def _shown(row: StaffSubscription) -> str:
    return row.address if row.channel == Channel.EMAIL else _("the Slack webhook")


@require_POST
@staff(Can.MANAGE)
def save(request: HttpRequest, subscription_id: str) -> HttpResponse:
    row = _get(request, subscription_id)
    changes = {name: name in request.POST for name, _, _ in TOPICS}
    changes["is_active"] = "is_active" in request.POST
    audited(
        request,
        lambda: staff_services.update_subscription(subscription=row, changes=changes),
        "staff_notification.change",
        row.public_id,
        **changes,
    )
    messages.success(request, _("Saved."))
    return redirect("dashboard:staff_notifications")


@require_POST
@staff(Can.MANAGE)
def remove(request: HttpRequest, subscription_id: str) -> HttpResponse:
    row = _get(request, subscription_id)
    audited(
        request,
        lambda: staff_services.remove_subscription(subscription=row),
        "staff_notification.remove",
        row.public_id,
        channel=row.channel,
    )
    messages.success(
        request, _("%(address)s gets no more notifications.") % {"address": _shown(row)}
    )
    return redirect("dashboard:staff_notifications")


@require_POST
@staff(Can.MANAGE)
def send_test(request: HttpRequest, subscription_id: str) -> HttpResponse:
    row = _get(request, subscription_id)
    try:
        staff_services.send_test(subscription=row)
    except ChannelError as exc:
        messages.error(
            request, _("The test did not get through: %(reason)s") % {"reason": exc.reason}
        )
    else:
        messages.success(request, _("Test sent to %(address)s.") % {"address": _shown(row)})
    return redirect("dashboard:staff_notifications")
