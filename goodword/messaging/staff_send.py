"""Sending a staff notice (`staff.py` queues them): decide on the facts now, write it in the
workspace's language (English or Italian), and send it by email or to a Slack-compatible
webhook. `sending.py` claims the message and writes the `Outcome` as it does its own.

Our own words, not a merchant's: plain Django translations and a small Django template
(`messaging/staff_email.html`), never Liquid. Every notice links to the dashboard page that
it is about, and says why it came and where to change that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings as django_settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from goodword.accounts.models import Membership
from goodword.messaging import journeys, staff, words
from goodword.messaging.channels import email, slack
from goodword.messaging.channels.errors import ChannelError
from goodword.messaging.models import Channel, Journey, Message, StaffSubscription
from goodword.referrals.models import Referral
from goodword.rewards.models import CouponPool, Reward
from goodword.webhooks.models import WebhookEndpoint

SENDER = "Goodword"


@dataclass(frozen=True)
class Notice:
    subject: str
    lines: list[str]
    link: str  # the dashboard page it is about
    label: str


@dataclass(frozen=True)
class Outcome:
    skip: str = ""  # not sent, on purpose: why
    error: ChannelError | None = None
    provider_id: str = ""
    kept: dict[str, str] = field(default_factory=dict)  # what was (or would be) sent


def deliver(message: Message, *, language: str, workspace_name: str, conn: Any) -> Outcome:
    """Send one staff notice; the caller writes the outcome. `language` is the workspace's."""
    language = journeys.language(language, "en")
    why = _stopped(message)
    if why:
        return Outcome(skip=why)
    with translation.override(language):
        notice = _notice(message, language)
        if notice is None:
            return Outcome(skip="nothing_waiting")
        return send_notice(
            notice,
            channel=message.channel,
            to=message.to,
            message_id=message.public_id,
            language=language,
            workspace_name=workspace_name,
            conn=conn,
        )


def send_notice(
    notice: Notice,
    *,
    channel: str,
    to: str,
    message_id: str,
    language: str,
    workspace_name: str,
    conn: Any,
) -> Outcome:
    """Send a written notice by email or to a Slack-compatible webhook."""
    with translation.override(language):
        if channel == Channel.SLACK:
            return _post(to, notice, language, workspace_name)
        return _email(to, message_id, notice, language, workspace_name, conn)


def _stopped(message: Message) -> str:
    """Why the notice must not go now: its subscription is gone, off or off for this topic,
    or the address is no longer a member of the workspace; "" when it may go."""
    data = message.data if isinstance(message.data, dict) else {}
    sub = (
        StaffSubscription.objects.for_workspace(message.workspace_id)
        .filter(public_id=str(data.get("subscription", "")))
        .first()
    )
    if sub is None or not sub.is_active or not getattr(sub, staff.TOPIC_OF[message.journey]):
        return "subscription_off"
    if sub.channel == Channel.EMAIL and not is_member(message.workspace_id, message.to):
        return "not_a_member"
    return ""


def is_member(workspace_id: int, address: str) -> bool:
    """Whether `address` signs in as a member of the workspace (staff sign in by email)."""
    return (
        Membership.objects.for_workspace(workspace_id)
        .filter(user__username__iexact=address.strip())
        .exists()
    )


def dashboard_url(name: str, *args: str, **query: str) -> str:
    url = django_settings.SITE_URL.rstrip("/") + reverse(f"dashboard:{name}", args=args)
    return url + ("?" + urlencode(query) if query else "")


def _email(
    to: str, message_id: str, notice: Notice, language: str, workspace_name: str, conn: Any
) -> Outcome:
    context = {
        "language": language,
        "subject": notice.subject,
        "lines": notice.lines,
        "link": notice.link,
        "label": notice.label,
        "workspace": workspace_name,
        "why": _(
            "You get this because %(address)s is subscribed to notifications of %(workspace)s."
        )
        % {"address": to, "workspace": workspace_name},
        "manage": dashboard_url("staff_notifications"),
        "manage_label": _("Change your notifications"),
    }
    html = render_to_string("messaging/staff_email.html", context)
    text = render_to_string("messaging/staff_email.txt", context).strip() + "\n"
    kept = {"to": to, "language": language, "subject": notice.subject, "text": text, "html": html}
    outgoing = email.Email(
        message_id=message_id,
        to=to,
        from_name=SENDER,
        reply_to="",
        subject=notice.subject,
        text=text,
        html=html,
        unsubscribe_url="",
    )
    try:
        return Outcome(provider_id=email.send(outgoing, conn=conn), kept=kept)
    except ChannelError as exc:
        return Outcome(error=exc, kept=kept)


def slack_payload(notice: Notice, workspace_name: str) -> tuple[str, list[dict[str, Any]]]:
    """The fallback text and the Block Kit blocks of a notice."""
    body = "\n".join([f"*{_mrkdwn(notice.subject)}*", *(_mrkdwn(line) for line in notice.lines)])
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": body}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"{_mrkdwn(workspace_name)} · <{notice.link}|{_mrkdwn(notice.label)}>",
                }
            ],
        },
    ]
    return f"{notice.subject} {notice.link}", blocks


def _post(to: str, notice: Notice, language: str, workspace_name: str) -> Outcome:
    text, blocks = slack_payload(notice, workspace_name)
    kept = {"to": to, "language": language, "subject": notice.subject, "text": text}
    try:
        slack.post_slack(url=to, text=text, blocks=blocks)
    except ChannelError as exc:
        return Outcome(error=exc, kept=kept)
    return Outcome(kept=kept)


def _mrkdwn(text: str) -> str:
    """Slack's three control characters, escaped (a name cannot become a link or mention)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# The notices, one function per journey; None: nothing to tell any more.


def _notice(message: Message, language: str) -> Notice | None:
    data = message.data if isinstance(message.data, dict) else {}
    write = _WRITERS[Journey(message.journey)]
    return write(message, data, language)


def _new_referral(message: Message, data: dict[str, Any], language: str) -> Notice | None:
    referral = (
        Referral.objects.for_workspace(message.workspace_id)
        .filter(public_id=message.referral_public_id)
        .select_related("program", "advocate__participant", "referee")
        .first()
    )
    if referral is None:
        return None
    advocate = referral.advocate.participant
    friend = referral.referee
    names = {
        "advocate": advocate.name or advocate.external_id,
        "friend": friend.name or friend.email or friend.external_id,
        "program": referral.program.name,
    }
    return Notice(
        subject=_("New referral: %(advocate)s referred %(friend)s") % names,
        lines=[
            _("Program: %(program)s.") % names,
            _("Code: %(code)s.") % {"code": referral.advocate.code},
        ],
        link=dashboard_url("referral", referral.public_id),
        label=_("Open the referral"),
    )


def _review_waiting(message: Message, data: dict[str, Any], language: str) -> Notice | None:
    count = (
        Reward.objects.for_workspace(message.workspace_id)
        .filter(status=Reward.Status.PENDING)
        .count()
    )
    if not count:
        return None
    words_ = {"count": words.format_number(count, 0, language)}
    return Notice(
        subject=ngettext(
            "%(count)s reward is waiting for review",
            "%(count)s rewards are waiting for review",
            count,
        )
        % words_,
        lines=[
            _("They are in their hold: approve one early, or reject it, before it becomes final.")
        ],
        link=dashboard_url("rewards", status="pending"),
        label=_("Review rewards"),
    )


def _low_coupons(message: Message, data: dict[str, Any], language: str) -> Notice | None:
    pool = (
        CouponPool.objects.for_workspace(message.workspace_id)
        .filter(public_id=str(data.get("pool", "")))
        .first()
    )
    if pool is None:
        return None
    if data.get("empty"):
        waiting = int(data.get("waiting", 0))
        subject = _("The coupon pool %(pool)s is empty") % {"pool": pool.name}
        line = ngettext(
            "%(count)s reward is waiting for a code.",
            "%(count)s rewards are waiting for a code.",
            waiting,
        ) % {"count": words.format_number(waiting, 0, language)}
    else:
        left = int(data.get("left", 0))
        subject = _("Coupon codes running low: %(pool)s") % {"pool": pool.name}
        line = ngettext(
            "%(left)s code left (you asked to hear at %(threshold)s).",
            "%(left)s codes left (you asked to hear at %(threshold)s).",
            left,
        ) % {
            "left": words.format_number(left, 0, language),
            "threshold": words.format_number(int(data.get("low_threshold", 0)), 0, language),
        }
    return Notice(
        subject=subject,
        lines=[line, _("Upload more codes from your shop before rewards wait for them.")],
        link=dashboard_url("coupon_pool", pool.public_id),
        label=_("Add codes"),
    )


def _webhook_failing(message: Message, data: dict[str, Any], language: str) -> Notice | None:
    endpoint = (
        WebhookEndpoint.objects.for_workspace(message.workspace_id)
        .filter(public_id=str(data.get("endpoint", "")))
        .first()
    )
    if endpoint is None:
        return None
    reason = str(data.get("disabled", ""))
    if reason:
        subject = _("Webhook turned off: %(url)s") % {"url": endpoint.url}
        line = (
            _("It answered 410 Gone, so Goodword stopped sending to it.")
            if reason == "gone"
            else _("No delivery to it succeeded for 3 days, so Goodword stopped sending to it.")
        )
    else:
        if endpoint.failing_since is None or not endpoint.active:
            return None  # it recovered (or was turned off, which has its own notice)
        subject = _("Webhook failing: %(url)s") % {"url": endpoint.url}
        since = endpoint.failing_since.strftime("%Y-%m-%d %H:%M")
        line = _("Deliveries to it have failed since %(since)s UTC; Goodword keeps retrying.") % {
            "since": since
        }
    return Notice(
        subject=subject,
        lines=[line],
        link=dashboard_url("webhook", endpoint.public_id),
        label=_("Open the endpoint"),
    )


def _payouts_due(message: Message, data: dict[str, Any], language: str) -> Notice | None:
    facts = staff.payouts_waiting(message.workspace_id)  # as they are now
    if not facts:
        return None
    lines = [
        ngettext(
            "%(amount)s is owed to %(count)s person.",
            "%(amount)s is owed to %(count)s people.",
            row["people"],
        )
        % {
            "amount": words.format_money(row["amount"], row["currency"], language),
            "count": words.format_number(row["people"], 0, language),
        }
        for row in facts["owed"]
    ]
    if facts["drafts"]:
        lines.append(
            ngettext(
                "%(count)s draft batch waits for approval.",
                "%(count)s draft batches wait for approval.",
                facts["drafts"],
            )
            % {"count": facts["drafts"]}
        )
    if facts["unpaid"]:
        lines.append(
            ngettext(
                "%(count)s approved payout is not marked paid yet.",
                "%(count)s approved payouts are not marked paid yet.",
                facts["unpaid"],
            )
            % {"count": facts["unpaid"]}
        )
    return Notice(
        subject=_("Payouts are due"),
        lines=lines,
        link=dashboard_url("payouts"),
        label=_("Open payouts"),
    )


def _amounts(items: list[dict[str, Any]], language: str) -> str:
    shown = [words.format_money(int(m["amount"]), str(m["currency"]), language) for m in items]
    return ", ".join(shown) or "—"


def _percent(rate: float | None, language: str) -> str:
    if rate is None:
        return "—"
    return words.format_number(Decimal(str(round(rate * 100, 1))), 1, language) + " %"


def _kpi_digest(message: Message, data: dict[str, Any], language: str) -> Notice | None:
    start, end = date.fromisoformat(data["from"]), date.fromisoformat(data["to"])
    n = {
        k: words.format_number(int(data[k]), 0, language)
        for k in ("advocates", "participants", "referrals", "conversions")
    }
    roi = ", ".join(
        f"{_percent(r['roi'], language)} ({r['currency']})" for r in data.get("roi", [])
    )
    lines = [
        _("Participation: %(advocates)s advocates of %(participants)s customers (%(rate)s).")
        % {**n, "rate": _percent(data.get("advocate_rate"), language)},
        _("Friends referred: %(referrals)s.") % n,
        _("Conversions: %(conversions)s.") % n,
        _("Revenue, net of refunds: %(amounts)s.")
        % {"amounts": _amounts(data["revenue"], language)},
        _("Reward cost: %(amounts)s.") % {"amounts": _amounts(data["cost"], language)},
        _("Return on reward cost: %(roi)s.") % {"roi": roi or "—"},
    ]
    if data.get("top"):
        lines.append(_("Top advocates:"))
        lines += [
            _("%(rank)s. %(name)s: %(referrals)s referred, %(converted)s converted")
            % {"rank": i, **leader}
            for i, leader in enumerate(data["top"], start=1)
        ]
    period = {"start": words.format_date(start, language), "end": words.format_date(end, language)}
    return Notice(
        subject=_("Your referral week: %(start)s to %(end)s") % period,
        lines=lines,
        link=dashboard_url("overview", **{"from": data["from"], "to": data["to"]}),
        label=_("Open the overview"),
    )


_WRITERS = {
    Journey.STAFF_NEW_REFERRAL: _new_referral,
    Journey.STAFF_REVIEW_WAITING: _review_waiting,
    Journey.STAFF_LOW_COUPONS: _low_coupons,
    Journey.STAFF_WEBHOOK_FAILING: _webhook_failing,
    Journey.STAFF_PAYOUTS_DUE: _payouts_due,
    Journey.KPI_DIGEST: _kpi_digest,
}


def test_notice(sub: StaffSubscription, *, language: str, workspace_name: str) -> Notice:
    """The "send a test" notice of a subscription."""
    with translation.override(journeys.language(language, "en")):
        return Notice(
            subject=_("Test notification from Goodword"),
            lines=[
                _("Notifications of %(workspace)s reach this address.")
                % {"workspace": workspace_name}
            ],
            link=dashboard_url("staff_notifications"),
            label=_("Change your notifications"),
        )
