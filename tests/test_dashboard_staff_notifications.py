"""Workspace → Notifications: owners and admins add, change, test and remove staff
subscriptions through the same services as the API, each change in the audit log; the other
roles read and get 403; a refused address writes nothing."""

from __future__ import annotations

import pytest

from goodword.messaging.models import StaffSubscription
from tests.dashboard import audits, markup, owner, staff
from tests.factories import Story
from tests.mailbox import Mailbox

PAGE = "/dashboard/notifications/"
TOPICS = ("new_referral", "review_waiting", "low_coupons", "webhook_failing", "kpi_digest")


def test_owner_adds_changes_and_removes(story: Story) -> None:
    client = owner(story.acme.workspace)
    assert "Nobody yet" in markup(client.get(PAGE))
    form = {"channel": "email", "email": "owner@acme.test", **dict.fromkeys(TOPICS, "on")}
    answer = client.post(PAGE + "add/", form)
    assert answer.status_code == 302
    sub = StaffSubscription.objects.get()
    assert (sub.address, sub.payouts_due, sub.kpi_digest, sub.is_active) == (
        "owner@acme.test", False, True, True,
    )  # fmt: skip
    assert "owner@acme.test" in markup(client.get(PAGE))
    client.post(f"{PAGE}{sub.public_id}/", {"new_referral": "on"})
    sub.refresh_from_db()
    assert (sub.new_referral, sub.review_waiting, sub.is_active) == (True, False, False)
    client.post(f"{PAGE}{sub.public_id}/remove/")
    assert not StaffSubscription.objects.exists()
    assert [(a[1], a[2]) for a in audits()] == [
        ("staff_notification.add", story.acme.workspace.public_id),
        ("staff_notification.change", sub.public_id),
        ("staff_notification.remove", sub.public_id),
    ]


@pytest.mark.parametrize(
    ("form", "said"),
    [
        ({"channel": "email", "email": "stranger@example.com"}, "not a member"),
        ({"channel": "slack", "slack_url": "http://hooks.slack.com/x"}, "must start with https"),
        ({"channel": "slack", "slack_url": "https://127.0.0.1/x"}, "slack_url is refused"),
        ({"channel": "pigeon", "email": "owner@acme.test"}, "email or slack"),
    ],
)
def test_a_refused_address_writes_nothing(story: Story, form: dict[str, str], said: str) -> None:
    answer = owner(story.acme.workspace).post(PAGE + "add/", form)
    assert answer.status_code == 400
    assert said in markup(answer)
    assert not StaffSubscription.objects.exists()
    assert audits() == []


@pytest.mark.parametrize("role", ["analyst", "reviewer"])
def test_readers_see_and_change_nothing(story: Story, role: str) -> None:
    client = staff(story.acme.workspace, role)
    assert client.get(PAGE).status_code == 200
    answer = client.post(PAGE + "add/", {"channel": "email", "email": f"{role}@acme.test"})
    assert answer.status_code == 403
    assert not StaffSubscription.objects.exists()


def test_send_a_test(story: Story, mailbox: Mailbox) -> None:
    client = owner(story.acme.workspace)
    client.post(PAGE + "add/", {"channel": "email", "email": "owner@acme.test"})
    sub = StaffSubscription.objects.get()
    answer = client.post(f"{PAGE}{sub.public_id}/test/", follow=True)
    assert "Test sent to owner@acme.test." in markup(answer)
    assert [m["Subject"] for m in mailbox.messages] == ["Test notification from Goodword"]


def test_globex_gets_404_for_acmes_subscription(story: Story) -> None:
    owner(story.acme.workspace).post(
        PAGE + "add/", {"channel": "email", "email": "owner@acme.test"}
    )
    sub = StaffSubscription.objects.get()
    globex = owner(story.globex.workspace)
    for action in ("", "test/", "remove/"):
        assert globex.post(f"{PAGE}{sub.public_id}/{action}").status_code == 404
    assert "owner@acme.test" not in markup(globex.get(PAGE))
    assert StaffSubscription.objects.get().is_active is True
