"""Signing in to the dashboard, throttling, password reset, workspaces and roles."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from goodword.accounts.models import AuditEntry, Membership
from goodword.accounts.roles import GRANTS, Can, allows
from tests.dashboard import PASSWORD, member, owner
from tests.factories import Story


def sign_in(client: Client, email: str, password: str) -> int:
    answer = client.post("/dashboard/login/", {"username": email, "password": password})
    return int(answer.status_code)


@pytest.fixture
def alice_staff(story: Story) -> str:
    """owner@acme.test with a known password."""
    user = get_user_model().objects.get(username="owner@acme.test")
    user.set_password(PASSWORD)
    user.save()
    return "owner@acme.test"


def test_anonymous_is_sent_to_sign_in(story: Story) -> None:
    answer = Client().get("/dashboard/referrals/?q=bob")
    assert answer.status_code == 302
    assert answer["Location"] == "/dashboard/login/?next=/dashboard/referrals/%3Fq%3Dbob"


def test_sign_in_with_email_and_password(alice_staff: str) -> None:
    client = Client()
    page = client.get("/dashboard/login/")
    assert page.status_code == 200
    assert b'type="email"' in page.content
    answer = client.post(
        "/dashboard/login/", {"username": " Owner@Acme.test ", "password": PASSWORD}
    )
    assert answer.status_code == 302
    assert answer["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200


def test_wrong_password_says_so_and_signs_nobody_in(alice_staff: str) -> None:
    client = Client()
    answer = client.post("/dashboard/login/", {"username": alice_staff, "password": "nope"})
    assert answer.status_code == 200
    assert b"Please enter a correct" in answer.content
    assert client.get("/dashboard/").status_code == 302


def test_lockout_after_repeated_failures(alice_staff: str, settings: object) -> None:
    client = Client()
    limit = settings.AXES_FAILURE_LIMIT  # type: ignore[attr-defined]
    codes = [sign_in(client, alice_staff, "wrong") for _ in range(limit)]
    assert codes[:-1] == [200] * (limit - 1)
    assert codes[-1] == 429
    # Locked: even the right password is refused, with when to come back.
    answer = client.post("/dashboard/login/", {"username": alice_staff, "password": PASSWORD})
    assert answer.status_code == 429
    assert answer["Retry-After"] == "900"
    assert b"Too many attempts" in answer.content
    assert client.get("/dashboard/").status_code == 302
    # Another email from the same address is not locked out by alice's failures.
    other = get_user_model().objects.create_user(
        username="analyst@acme.test", email="analyst@acme.test", password=PASSWORD
    )
    assert other.pk
    assert sign_in(Client(), "analyst@acme.test", PASSWORD) == 302


def test_password_reset_by_email(alice_staff: str) -> None:
    client = Client()
    answer = client.post("/dashboard/password-reset/", {"email": alice_staff})
    assert answer.status_code == 302
    assert answer["Location"] == "/dashboard/password-reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [alice_staff]
    assert message.subject == "Reset your Goodword password"
    link = re.search(
        re.escape(settings.SITE_URL) + r"(/dashboard/password-reset/\S+/)", message.body
    )
    assert link
    path = link.group(1)
    form = client.get(path, follow=True)
    assert form.status_code == 200
    new = "a brand new passphrase 42"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert sign_in(Client(), alice_staff, new) == 302
    assert sign_in(Client(), alice_staff, PASSWORD) == 200


def test_password_reset_for_unknown_email_sends_nothing(story: Story) -> None:
    answer = Client().post("/dashboard/password-reset/", {"email": "mallory@evil.test"})
    assert answer.status_code == 302
    assert mail.outbox == []


def test_switch_between_own_workspaces_only(story: Story) -> None:
    client = owner(story.acme.workspace)
    Membership.objects.create(
        workspace=story.globex.workspace,
        user=get_user_model().objects.get(username="owner@acme.test"),
        role=Membership.Role.ANALYST,
    )
    assert b"Acme" in client.get("/dashboard/").content
    answer = client.post(
        "/dashboard/workspace/",
        {"workspace": story.globex.workspace.public_id, "next": "/dashboard/referrals/"},
    )
    assert answer.status_code == 302
    assert answer["Location"] == "/dashboard/referrals/"
    page = client.get("/dashboard/")
    assert b"Analyst" in page.content
    # A workspace this user is not in: 404, and the choice stays.
    stranger = member(story.globex.workspace, "bob@globex.test", "owner")
    answer = stranger.post("/dashboard/workspace/", {"workspace": story.acme.workspace.public_id})
    assert answer.status_code == 404
    assert b"Acme" not in stranger.get("/dashboard/").content


def test_switch_refuses_an_offsite_next(story: Story) -> None:
    client = owner(story.acme.workspace)
    answer = client.post(
        "/dashboard/workspace/",
        {"workspace": story.acme.workspace.public_id, "next": "https://evil.test/"},
    )
    assert answer["Location"] == "/dashboard/"


def test_user_without_workspace_is_told(story: Story) -> None:
    get_user_model().objects.create_user(username="lost@x.test", password=PASSWORD)
    client = Client()
    client.force_login(get_user_model().objects.get(username="lost@x.test"))
    answer = client.get("/dashboard/")
    assert answer.status_code == 403
    assert b"not a member of any workspace" in answer.content


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("owner", set(Can)),
        ("admin", {Can.VIEW, Can.REVIEW, Can.MANAGE, Can.TEAM}),
        ("reviewer", {Can.VIEW, Can.REVIEW}),
        ("analyst", {Can.VIEW}),
    ],
)
def test_roles_grant_exactly(role: str, allowed: set[Can]) -> None:
    assert {p for p in Can if allows(role, p)} == allowed
    assert GRANTS[role] == allowed


def test_unknown_role_may_do_nothing() -> None:
    assert not any(allows("member", p) for p in Can)


def _code(device: TOTPDevice) -> str:
    from django_otp.oath import totp

    return f"{totp(device.bin_key, t0=device.t0, step=device.step, digits=device.digits):06d}"


def test_two_factor_on_then_needed_at_sign_in(alice_staff: str) -> None:
    client = Client()
    assert sign_in(client, alice_staff, PASSWORD) == 302
    page = client.get("/dashboard/account/two-factor/")
    assert page.status_code == 200
    assert b"<svg" in page.content
    device = TOTPDevice.objects.get(user__username=alice_staff)
    assert not device.confirmed
    assert base64.b32encode(device.bin_key).decode().encode() in page.content
    # A wrong code turns nothing on.
    wrong = client.post("/dashboard/account/two-factor/", {"code": "000000"})
    assert wrong.status_code == 400
    assert b"not right" in wrong.content
    device.refresh_from_db()
    assert not device.confirmed
    device.throttling_failure_count = 0  # the test need not wait out the throttle
    device.throttling_failure_timestamp = None
    device.save()
    turned_on = client.post("/dashboard/account/two-factor/", {"code": _code(device)})
    assert turned_on.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    entry = AuditEntry.objects.get(action="account.two_factor_on")
    assert entry.actor == alice_staff

    # Next sign-in: the password alone opens nothing.
    fresh = Client()
    answer = fresh.post(
        "/dashboard/login/", {"username": alice_staff, "password": PASSWORD, "next": "/dashboard/"}
    )
    assert answer.status_code == 302
    gated = fresh.get("/dashboard/referrals/")
    assert gated.status_code == 302
    assert gated["Location"] == "/dashboard/login/code/?next=/dashboard/referrals/"
    bad = fresh.post("/dashboard/login/code/", {"code": "123456", "next": "/dashboard/referrals/"})
    assert bad.status_code == 400
    assert fresh.get("/dashboard/").status_code == 302
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    # The code used to turn it on cannot be replayed; the next step's code works.
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=31), tick=False):
        good = fresh.post(
            "/dashboard/login/code/", {"code": _code(device), "next": "/dashboard/referrals/"}
        )
        assert good.status_code == 302
        assert good["Location"] == "/dashboard/referrals/"
        assert fresh.get("/dashboard/referrals/").status_code == 200


def test_wrong_codes_are_throttled(alice_staff: str) -> None:
    user = get_user_model().objects.get(username=alice_staff)
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    client = Client()
    assert sign_in(client, alice_staff, PASSWORD) == 302
    with time_machine.travel(datetime.now(UTC), tick=False):  # no time passes between tries
        assert client.post("/dashboard/login/code/", {"code": "000001"}).status_code == 400
        # Right away, even the right code waits out the throttle.
        throttled = client.post("/dashboard/login/code/", {"code": _code(device)})
        assert throttled.status_code == 400
        assert b"Too many wrong codes" in throttled.content
        assert client.get("/dashboard/").status_code == 302
