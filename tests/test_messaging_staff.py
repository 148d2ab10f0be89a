"""Staff notifications: each topic's notice once per cause, by email through a real SMTP
server and to a Slack-compatible webhook on a local HTTP server; the weekly digest's figures
are the analytics read side's; workspaces never see each other's.

The cast: acme's program gives alice $10.00 and bob $5.00 of credit, held 14 days, when bob
(whom alice referred) buys for $25.00; acme's owner (owner@acme.test) is a member of acme only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings

from goodword.analytics.scope import Scope
from goodword.analytics.summary import summary
from goodword.events import services as events
from goodword.events.models import DomainEvent
from goodword.messaging import fanout, sending, staff, staff_send
from goodword.messaging.models import Message, MessagingSettings, StaffSubscription
from goodword.webhooks.models import WebhookEndpoint
from tests.factories import Api, Story, purchase, signup
from tests.mailbox import Mailbox
from tests.mailbox import parts as raw_parts
from tests.receiver import Receiver

MONDAY = datetime(2026, 3, 9, 9, 30, tzinfo=UTC)  # an ISO week 11 Monday
TUESDAY_BEFORE = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # in week 10
NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday afternoon
SITE = settings.SITE_URL
HOOK = "services/T000/B000/XXXX"


def tick(at: datetime) -> None:
    """Two passes of the sender's loop at `at` (the second must queue nothing new)."""
    with time_machine.travel(at, tick=False):
        for _ in range(2):
            fanout.queue_messages(now=at)
            while sending.send_due(now=at):
                pass


def parts(mail: Any) -> tuple[str, str]:
    """The plain-text and HTML bodies, with the line ends a mail client shows."""
    text, html = raw_parts(mail)
    return text.replace("\r\n", "\n"), html.replace("\r\n", "\n")


def subscribe(api: Api, at: datetime, **body: Any) -> dict[str, Any]:
    with time_machine.travel(at, tick=False):
        answer = api.post("/staff-notifications", body)
    assert answer.status_code == 201, answer.content
    return dict(answer.json())


def slack_subscription(api: Api, url: str, at: datetime, **topics: bool) -> StaffSubscription:
    """A webhook on loopback (http): the API refuses both, as it must; made as a row here."""
    return StaffSubscription.objects.create(
        workspace=api.workspace, channel="slack", address=url, created_at=at, updated_at=at,
        **topics,
    )  # fmt: skip


def staff_messages(api: Api, journey: str | None = None) -> list[Message]:
    qs = Message.objects.filter(workspace=api.workspace, journey__in=list(staff.TOPIC_OF))
    if journey:
        qs = qs.filter(journey=journey)
    return list(qs.order_by("pk"))


def bob_refers(story: Story, at: datetime, n: int = 1) -> None:
    with time_machine.travel(at, tick=False):
        friend = f"bob{n}" if n > 1 else "bob"
        body = signup(f"s-{friend}", friend, referral_code=story.alice["code"])
        assert story.acme.event(body).status_code in (200, 201)
        body = purchase(f"p-{friend}", friend, f"order-{n}", 2500)
        assert story.acme.event(body).status_code in (200, 201)


@pytest.fixture
def slack(outbound_loopback: None) -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


# New referrals


def test_each_new_referral_is_told_once_to_each_subscription(
    story: Story, mailbox: Mailbox, slack: Receiver
) -> None:
    acme = story.acme
    sub = subscribe(acme, NOW - timedelta(hours=1), email="Owner@Acme.test", review_waiting=False)
    hook = slack_subscription(
        acme, slack.url + HOOK, NOW - timedelta(hours=1), review_waiting=False
    )
    subscribe(story.globex, NOW - timedelta(hours=1), email="owner@globex.test")
    bob_refers(story, NOW)
    tick(NOW + timedelta(seconds=5))

    [referral] = acme.get("/referrals").json()["data"]
    rows = staff_messages(acme)
    assert [(m.journey, m.channel, m.cause, m.status) for m in rows] == [
        ("staff_new_referral", "email", f"staff_new_referral:{referral['id']}:{sub['id']}", "sent"),
        ("staff_new_referral", "slack", f"staff_new_referral:{referral['id']}:{hook.public_id}",
         "sent"),
    ]  # fmt: skip
    assert all(m.participant_id is None and m.program_id is None for m in rows)
    # globex's subscription hears nothing of acme's referral.
    assert staff_messages(story.globex) == []
    assert [m["To"] for m in mailbox.messages] == ["owner@acme.test"]

    [mail] = mailbox.messages
    text, html = parts(mail)
    link = f"{SITE}/dashboard/referrals/{referral['id']}/"
    assert mail["Subject"] == "New referral: Alice referred bob@example.net"
    assert mail["From"] == f"Goodword <{settings.DEFAULT_FROM_EMAIL}>"
    assert "List-Unsubscribe" not in mail
    assert text == (
        "New referral: Alice referred bob@example.net\n\n"
        "Program: Give $10, get $10.\n"
        f"Code: {story.alice['code']}.\n\n"
        f"Open the referral: {link}\n\n"
        "-- \n"
        "You get this because owner@acme.test is subscribed to notifications of Acme.\n"
        f"Change your notifications: {SITE}/dashboard/notifications/\n"
    )
    assert f'href="{link}"' in html
    assert "<h1" in html
    assert "New referral: Alice referred bob@example.net" in html

    [request] = slack.requests
    assert request.path == "/" + HOOK
    assert json.loads(request.body) == {
        "text": f"New referral: Alice referred bob@example.net {link}",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*New referral: Alice referred bob@example.net*\n"
                    f"Program: Give $10, get $10.\nCode: {story.alice['code']}.",
                },
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Acme · <{link}|Open the referral>"}],
            },
        ],
    }


def test_referrals_before_the_subscription_are_not_told(story: Story) -> None:
    bob_refers(story, NOW - timedelta(minutes=1))
    subscribe(story.acme, NOW, email="owner@acme.test")
    tick(NOW + timedelta(seconds=5))
    assert staff_messages(story.acme, "staff_new_referral") == []


def test_staff_notices_go_while_customer_messaging_is_off(story: Story, mailbox: Mailbox) -> None:
    MessagingSettings.objects.create(workspace=story.acme.workspace, is_active=False)
    subscribe(story.acme, NOW - timedelta(hours=1), email="owner@acme.test", review_waiting=False)
    bob_refers(story, NOW)
    tick(NOW + timedelta(seconds=5))
    # alice and bob get nothing (messaging is off); acme's owner hears of the referral.
    assert [m.journey for m in Message.objects.filter(workspace=story.acme.workspace)] == [
        "staff_new_referral"
    ]
    assert len(mailbox.messages) == 1


def test_a_turned_off_topic_or_a_former_member_gets_nothing(story: Story, mailbox: Mailbox) -> None:
    from goodword.accounts.models import Membership

    acme = story.acme
    sub = subscribe(acme, NOW - timedelta(hours=1), email="owner@acme.test", review_waiting=False)
    bob_refers(story, NOW)
    with time_machine.travel(NOW, tick=False):
        fanout.queue_messages(now=NOW)
    assert (
        acme.patch(f"/staff-notifications/{sub['id']}", {"new_referral": False}).json()[
            "new_referral"
        ]
        is False
    )
    tick(NOW)
    [row] = staff_messages(acme)
    assert (row.status, row.skip_reason) == ("skipped", "subscription_off")

    acme.patch(f"/staff-notifications/{sub['id']}", {"new_referral": True})
    bob_refers(story, NOW + timedelta(minutes=5), n=2)
    with time_machine.travel(NOW, tick=False):
        fanout.queue_messages(now=NOW + timedelta(minutes=5))
    Membership.objects.filter(workspace=acme.workspace).update(role="analyst")  # still one
    Membership.objects.filter(workspace=acme.workspace).delete()
    tick(NOW + timedelta(minutes=5))
    assert [(m.status, m.skip_reason) for m in staff_messages(acme)] == [
        ("skipped", "subscription_off"),
        ("skipped", "not_a_member"),
    ]
    assert mailbox.messages == []


# Rewards waiting for review


def test_review_summary_at_most_once_an_hour_and_only_for_new_rewards(
    story: Story, mailbox: Mailbox
) -> None:
    acme = story.acme
    sub = subscribe(acme, NOW - timedelta(hours=1), email="owner@acme.test", new_referral=False)
    bob_refers(story, NOW)  # two rewards in their 14-day hold
    tick(NOW + timedelta(minutes=1))
    tick(NOW + timedelta(minutes=30))  # no reward new since: nothing
    tick(NOW + timedelta(hours=3))  # still waiting, nothing new: nothing
    bob_refers(story, NOW + timedelta(hours=3, minutes=10), n=2)
    tick(NOW + timedelta(hours=3, minutes=20))
    tick(NOW + timedelta(hours=3, minutes=40))  # same hour: nothing more
    rows = staff_messages(acme, "staff_review_waiting")
    assert [(m.cause, m.status) for m in rows] == [
        (f"staff_review_waiting:2026-03-04T15:{sub['id']}", "sent"),
        (f"staff_review_waiting:2026-03-04T18:{sub['id']}", "sent"),
    ]
    assert [m["Subject"] for m in mailbox.messages] == [
        "2 rewards are waiting for review",
        "4 rewards are waiting for review",
    ]
    text, html = parts(mailbox.messages[0])
    assert f"Review rewards: {SITE}/dashboard/rewards/?status=pending" in text
    assert f'href="{SITE}/dashboard/rewards/?status=pending"' in html


# The weekly digest


def test_kpi_digest_monday_morning_with_the_read_sides_figures(
    story: Story, mailbox: Mailbox, slack: Receiver
) -> None:
    acme = story.acme
    MessagingSettings.objects.create(workspace=acme.workspace, time_zone="Europe/Rome")
    only = {t: t == "kpi_digest" for t in staff.TOPICS}
    sub = subscribe(acme, TUESDAY_BEFORE - timedelta(days=1), email="owner@acme.test", **only)
    hook = slack_subscription(acme, slack.url + HOOK, TUESDAY_BEFORE, **only)
    bob_refers(story, TUESDAY_BEFORE)
    tick(MONDAY - timedelta(hours=1, minutes=31))  # 08:59 in Rome (UTC+1): not yet
    assert staff_messages(acme) == []
    tick(MONDAY - timedelta(hours=1, minutes=30))  # 09:00 in Rome
    tick(MONDAY + timedelta(hours=5))  # the same Monday: nothing more
    tick(MONDAY + timedelta(days=1))  # Tuesday: nothing

    expected = summary(Scope(acme.workspace.pk, None, date(2026, 3, 2), date(2026, 3, 8)))
    rows = staff_messages(acme, "kpi_digest")
    assert [(m.cause, m.channel, m.status) for m in rows] == [
        (f"kpi_digest:2026-W10:{sub['id']}", "email", "sent"),
        (f"kpi_digest:2026-W10:{hook.public_id}", "slack", "sent"),
    ]
    data = rows[0].data
    assert data == {"subscription": sub["id"], **staff.digest_figures(expected)}
    # The figures, as the Overview shows them for that week.
    assert (data["participants"], data["advocates"]) == (
        expected.participation.participants,
        expected.participation.advocates,
    )
    assert (data["referrals"], data["conversions"]) == (1, 1)
    assert data["revenue"] == [{"currency": "USD", "amount": 2500}]
    assert data["cost"] == [{"currency": "USD", "amount": 1500}]
    assert data["top"] == [{"name": "Alice", "referrals": 1, "converted": 1}]

    [mail] = mailbox.messages
    text, html = parts(mail)
    overview = f"{SITE}/dashboard/?from=2026-03-02&to=2026-03-08"
    assert mail["Subject"] == "Your referral week: 2 March 2026 to 8 March 2026"
    rate = f"{expected.participation.advocate_rate * 100:.1f} %"
    roi = f"{expected.returns[0].roi * 100:.1f} % (USD)"
    assert text.split("\n\n")[1] == (
        f"Participation: 1 advocates of {data['participants']} customers ({rate}).\n"
        "Friends referred: 1.\n"
        "Conversions: 1.\n"
        "Revenue, net of refunds: $25.00.\n"
        "Reward cost: $15.00.\n"
        f"Return on reward cost: {roi}.\n"
        "Top advocates:\n"
        "1. Alice: 1 referred, 1 converted"
    )
    assert f"Open the overview: {overview}" in text
    assert f'href="{overview.replace("&", "&amp;")}"' in html
    [request] = slack.requests
    posted = json.loads(request.body)
    assert posted["text"] == f"{mail['Subject']} {overview}"
    assert posted["blocks"][1]["elements"][0]["text"] == f"Acme · <{overview}|Open the overview>"


def test_kpi_digest_in_italian(story: Story, mailbox: Mailbox) -> None:
    acme = story.acme
    MessagingSettings.objects.create(workspace=acme.workspace, language="it")
    only = {t: t == "kpi_digest" for t in staff.TOPICS}
    subscribe(acme, TUESDAY_BEFORE, email="owner@acme.test", **only)
    bob_refers(story, TUESDAY_BEFORE)
    tick(MONDAY)
    [mail] = mailbox.messages
    text, _ = parts(mail)
    assert mail["Subject"].strip() == "La tua settimana di referral: 2 marzo 2026 – 8 marzo 2026"
    assert "Ricavi, al netto dei rimborsi: 25,00 $." in text
    assert "Apri la panoramica: " in text


# Coupons, webhooks, payouts


def test_low_coupons_once_per_crossing_and_empty_once_a_day(story: Story) -> None:
    acme = story.acme
    only = {t: t == "low_coupons" for t in staff.TOPICS}
    sub = subscribe(acme, NOW - timedelta(hours=1), email="owner@acme.test", **only)
    pool = acme.post("/coupon-pools", {"name": "Spring", "low_threshold": 1}).json()["id"]
    ws = acme.workspace.pk
    events.record(
        "coupon_pool.low", workspace_id=ws, subject_id=pool,
        data={"left": 1, "low_threshold": 1}, now=NOW,
    )  # fmt: skip
    low = DomainEvent.objects.get(name="coupon_pool.low")
    for _ in range(2):  # each reward that finds the pool empty records one
        events.record(
            "coupon_pool.empty", workspace_id=ws, subject_id=pool,
            data={"reward": "rwd_x", "waiting": 1}, now=NOW,
        )  # fmt: skip
    tick(NOW + timedelta(seconds=5))
    rows = staff_messages(acme)
    assert [m.cause for m in rows] == [
        f"staff_low_coupons:{low.public_id}:{sub['id']}",
        f"staff_low_coupons:{pool}:empty:2026-03-04:{sub['id']}",
    ]
    assert [m.subject for m in rows] == [
        "Coupon codes running low: Spring",
        "The coupon pool Spring is empty",
    ]
    assert f"{SITE}/dashboard/coupon-pools/{pool}/" in rows[0].text


def test_a_failing_webhook_is_told_once_per_streak(story: Story) -> None:
    acme = story.acme
    only = {t: t == "webhook_failing" for t in staff.TOPICS}
    sub = subscribe(acme, NOW - timedelta(days=1), email="owner@acme.test", **only)
    endpoint = acme.post("/webhook-endpoints", {"url": "https://hooks.acme.test/x"}).json()["id"]
    since = NOW - timedelta(minutes=50)
    WebhookEndpoint.objects.filter(public_id=endpoint).update(failing_since=since)
    tick(NOW)  # failing for 50 minutes: not yet news
    assert staff_messages(acme) == []
    tick(NOW + timedelta(minutes=11))
    tick(NOW + timedelta(hours=5))
    [row] = staff_messages(acme)
    assert row.cause == f"staff_webhook_failing:{endpoint}:20260304T141000:{sub['id']}"
    assert row.subject == "Webhook failing: https://hooks.acme.test/x"
    assert "Deliveries to it have failed since 2026-03-04 14:10 UTC" in row.text


def test_payouts_due_once_a_day_from_nine(story: Story) -> None:
    acme = story.acme
    only = {t: t == "payouts_due" for t in staff.TOPICS}
    sub = subscribe(acme, NOW - timedelta(days=1), email="owner@acme.test", **only)
    cash = {"kind": "cash", "amount": 2500, "currency": "USD", "reason": "thanks"}
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        assert acme.post("/participants/alice/rewards", cash).status_code == 201
    morning = datetime(2026, 3, 5, 8, 59, tzinfo=UTC)
    tick(morning)
    assert staff_messages(acme) == []
    tick(morning + timedelta(minutes=1))
    tick(morning + timedelta(hours=8))
    [row] = staff_messages(acme)
    assert row.cause == f"staff_payouts_due:2026-03-05:{sub['id']}"
    assert row.data == {
        "subscription": sub["id"],
        "owed": [{"currency": "USD", "amount": 2500, "people": 1}],
        "drafts": 0,
        "unpaid": 0,
    }
    assert row.text.split("\n\n")[1] == "$25.00 is owed to 1 person."


# The API


def test_api_adds_lists_changes_and_removes(story: Story) -> None:
    acme = story.acme
    with time_machine.travel(NOW, tick=False):
        made = acme.post(
            "/staff-notifications", {"email": " OWNER@acme.test ", "payouts_due": False}
        )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body == {
        "id": body["id"], "channel": "email", "email": "owner@acme.test", "slack_url": None,
        "new_referral": True, "review_waiting": True, "low_coupons": True,
        "webhook_failing": True, "payouts_due": False, "kpi_digest": True, "is_active": True,
        "created_at": "2026-03-04T15:00:00Z", "updated_at": "2026-03-04T15:00:00Z",
    }  # fmt: skip
    hook = acme.post("/staff-notifications", {"slack_url": "https://hooks.slack.com/" + HOOK})
    assert hook.status_code == 201, hook.content
    assert hook.json()["slack_url"] == "https://hooks.slack.com/" + HOOK
    listed = acme.get("/staff-notifications").json()
    assert [r["id"] for r in listed["data"]] == [hook.json()["id"], body["id"]]
    changed = acme.patch(f"/staff-notifications/{body['id']}", {"is_active": False})
    assert changed.json()["is_active"] is False
    gone = acme.client.delete(
        f"/api/v1/staff-notifications/{body['id']}", HTTP_AUTHORIZATION=f"Bearer {acme.key}"
    )
    assert gone.status_code == 204
    assert acme.get(f"/staff-notifications/{body['id']}").status_code == 404
    assert StaffSubscription.objects.filter(workspace=acme.workspace).count() == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"email": "stranger@example.com"}, 422, "not_a_member"),
        ({"email": "owner@globex.test"}, 422, "not_a_member"),
        ({"email": "not an email"}, 422, "invalid_email"),
        ({"slack_url": "http://hooks.slack.com/" + HOOK}, 422, "url_not_https"),
        ({"slack_url": "https://127.0.0.1/hook"}, 422, "url_refused"),
        ({"slack_url": "https://169.254.169.254/latest"}, 422, "url_refused"),
        ({"slack_url": "https://10.0.0.1/hook"}, 422, "url_refused"),
        ({"slack_url": "https://" + "a" * 320 + ".com/"}, 422, "invalid_url"),
        ({"email": "owner@acme.test", "slack_url": "https://hooks.slack.com/x"}, 422,
         "email_or_slack_url"),
        ({}, 422, "email_or_slack_url"),
        ({"email": "owner@acme.test", "kpi_digest": "yes"}, 422, "validation_error"),
        ({"email": "owner@acme.test", "topics": []}, 422, "validation_error"),
    ],
)  # fmt: skip
def test_api_refuses_bad_subscriptions(
    story: Story, body: dict[str, Any], status: int, code: str
) -> None:
    answer = story.acme.post("/staff-notifications", body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.content
    assert answer.json()["error"]["message"]
    assert not StaffSubscription.objects.exists()


def test_api_refuses_a_second_subscription_of_an_address(story: Story) -> None:
    acme = story.acme
    assert acme.post("/staff-notifications", {"email": "owner@acme.test"}).status_code == 201
    again = acme.post("/staff-notifications", {"email": "Owner@acme.test"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_subscribed")
    assert StaffSubscription.objects.count() == 1
    sub = StaffSubscription.objects.get()
    nulled = acme.patch(f"/staff-notifications/{sub.public_id}", {"kpi_digest": None})
    assert nulled.status_code == 422
    assert StaffSubscription.objects.get().kpi_digest is True


def test_api_send_a_test(story: Story, mailbox: Mailbox) -> None:
    sub = subscribe(story.acme, NOW, email="owner@acme.test")
    answer = story.acme.post(f"/staff-notifications/{sub['id']}/test", {})
    assert answer.json() == {"sent": True}
    [mail] = mailbox.messages
    assert mail["Subject"] == "Test notification from Goodword"
    assert "Notifications of Acme reach this address." in parts(mail)[0]
    assert Message.objects.count() == 0  # a test is not a message of the outbox


def test_slack_payload_escapes_names() -> None:
    notice = staff_send.Notice("<@here> & co", ["a <b>"], "https://x.test/d/", "Open")
    text, blocks = staff_send.slack_payload(notice, "A&B")
    assert blocks[0]["text"]["text"] == "*&lt;@here&gt; &amp; co*\na &lt;b&gt;"
    assert blocks[1]["elements"][0]["text"] == "A&amp;B · <https://x.test/d/|Open>"
