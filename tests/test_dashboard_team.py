"""The team pages of the dashboard: members and roles, invitations by email (end to end, with
the email read back), API keys, workspace settings and the audit log.

Each action is tried by every role: those without the permission get 403 and nothing changes
(memberships, invitations, keys, settings, audit log, domain events); those with it get exactly
the service's result and one audit entry naming them. Another workspace's ids are a 404.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import URLPattern

from goodword.accounts import services, team
from goodword.accounts.models import ApiKey, AuditEntry, Invitation, Membership, Workspace
from goodword.accounts.roles import Can
from goodword.dashboard.team import urls as team_urls
from goodword.events.models import DomainEvent
from goodword.lib.errors import DomainError
from tests.conftest import postgres
from tests.dashboard import PASSWORD, ROLES, audits, member, owner, staff
from tests.dashboard import markup as text
from tests.factories import Story, make_api

pytestmark = pytest.mark.usefixtures("rows_match_the_catalogue")

NOT_TEAM = ("reviewer", "analyst")
NOT_MANAGE = ("reviewer", "analyst")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def client_of(story: Story, role: str) -> Client:
    return staff(story.acme.workspace, role)


def roles(workspace: Workspace) -> dict[str, str]:
    rows = Membership.objects.for_workspace(workspace).values_list("user__username", "role")
    return dict(rows)


def events(*names: str) -> list[tuple[str, str, dict[str, Any]]]:
    rows = DomainEvent.objects.filter(name__in=names).order_by("pk")
    return [(e.name, e.subject_id, e.data) for e in rows]


TEAM_EVENTS = (
    "member.added",
    "member.role_changed",
    "member.removed",
    "invitation.created",
    "invitation.accepted",
    "invitation.revoked",
)


def state() -> tuple[Any, ...]:
    """Everything a team, key or settings action could change."""
    return (
        sorted(Membership.objects.values_list("workspace_id", "user__username", "role")),
        sorted(
            Invitation.objects.values_list(
                "public_id", "email", "role", "accepted_at", "revoked_at"
            )
        ),
        sorted(ApiKey.objects.values_list("public_id", "name", "revoked_at")),
        sorted(Workspace.objects.values_list("pk", "name", "allowed_domains")),
        AuditEntry.objects.count(),
        DomainEvent.objects.count(),
        get_user_model().objects.count(),
    )


def user_pk(email: str) -> int:
    return int(get_user_model().objects.get(username=email).pk)


def membership_id(workspace: Workspace, email: str) -> int:
    return int(Membership.objects.get(workspace=workspace, user__username=email).pk)


# Who may do what: every URL of this section names its permission.

PERMISSIONS = {
    "team": Can.VIEW,
    "team_invite": Can.TEAM,
    "member_role": Can.TEAM,
    "member_remove": Can.TEAM,
    "invitation_revoke": Can.TEAM,
    "api_keys": Can.TEAM,
    "api_key_create": Can.TEAM,
    "api_key_revoke": Can.TEAM,
    "widget_secret_rotate": Can.TEAM,
    "settings": Can.VIEW,  # POST takes MANAGE
    "audit": Can.VIEW,
    "audit_export": Can.VIEW,
}


def test_every_page_and_action_names_its_permission() -> None:
    patterns = [p for p in team_urls.urlpatterns if isinstance(p, URLPattern)]
    found = {p.name: getattr(p.callback, "permission", None) for p in patterns}
    # The invitation link is for people who are not members yet: its token is the credential.
    assert found == {**PERMISSIONS, "invitation": None}


# The team page.


def test_team_page_lists_members_with_role_and_joined_date(story: Story) -> None:
    with time_machine.travel(T0, tick=False):
        member(story.acme.workspace, "ann@acme.test", "analyst")
    page = client_of(story, "analyst").get("/dashboard/team/")
    assert page.status_code == 200
    body = text(page)
    assert "<h1>Team</h1>" in body
    assert "owner@acme.test" in body
    assert "ann@acme.test" in body
    assert "2026-03-02" in body
    assert "owner@globex.test" not in body
    # An analyst sees no action.
    assert 'name="role"' not in body
    assert "/remove/" not in body
    assert "Send the invitation" not in body


def test_an_admin_is_offered_every_role_but_owner(story: Story) -> None:
    member(story.acme.workspace, "ann@acme.test", "analyst")
    body = text(client_of(story, "admin").get("/dashboard/team/"))
    assert 'value="admin"' in body
    assert 'value="reviewer"' in body
    assert 'value="owner"' not in body
    # The owner's row offers the admin nothing; their own row neither.
    assert f"/team/members/{membership_id(story.acme.workspace, 'owner@acme.test')}/" not in body
    assert f"/team/members/{membership_id(story.acme.workspace, 'admin@acme.test')}/" not in body
    assert f"/team/members/{membership_id(story.acme.workspace, 'ann@acme.test')}/role/" in body
    owners_page = text(client_of(story, "owner").get("/dashboard/team/"))
    assert 'value="owner"' in owners_page


# Changing roles.


@pytest.mark.parametrize("role", NOT_TEAM)
def test_roles_without_team_cannot_change_roles(story: Story, role: str) -> None:
    ann = member(story.acme.workspace, "ann@acme.test", "analyst")
    assert ann
    client = client_of(story, role)
    before = state()
    target = membership_id(story.acme.workspace, "ann@acme.test")
    answer = client.post(f"/dashboard/team/members/{target}/role/", {"role": "admin"})
    assert answer.status_code == 403
    assert state() == before


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_team_roles_change_a_members_role(story: Story, role: str) -> None:
    member(story.acme.workspace, "ann@acme.test", "analyst")
    client = client_of(story, role)
    actor = f"{role}@acme.test"
    target = membership_id(story.acme.workspace, "ann@acme.test")
    answer = client.post(
        f"/dashboard/team/members/{target}/role/", {"role": "reviewer"}, HTTP_USER_AGENT="ua/1"
    )
    assert answer.status_code == 302
    assert answer["Location"] == "/dashboard/team/"
    assert roles(story.acme.workspace)["ann@acme.test"] == "reviewer"
    assert audits() == [
        (
            actor,
            "member.role_change",
            "ann@acme.test",
            {"user": "ann@acme.test", "role": "reviewer", "was": "analyst"},
            "127.0.0.1",
        )
    ]
    assert AuditEntry.objects.get().user_agent == "ua/1"
    assert AuditEntry.objects.get().workspace_id == story.acme.workspace.pk
    assert events("member.role_changed") == [
        (
            "member.role_changed",
            story.acme.workspace.public_id,
            {
                "user": "ann@acme.test",
                "role": "reviewer",
                "was": "analyst",
                "actor": f"user:{user_pk(actor)}",
            },
        )
    ]
    assert "ann@acme.test is now reviewer." in text(client.get("/dashboard/team/"))
    # The same role again changes nothing and records nothing.
    again = client.post(f"/dashboard/team/members/{target}/role/", {"role": "reviewer"})
    assert again.status_code == 302
    assert len(audits()) == 1


def test_a_new_role_applies_from_the_next_request(story: Story) -> None:
    ann = member(story.acme.workspace, "ann@acme.test", "admin")
    assert ann.get("/dashboard/api-keys/").status_code == 200
    target = membership_id(story.acme.workspace, "ann@acme.test")
    client_of(story, "owner").post(f"/dashboard/team/members/{target}/role/", {"role": "analyst"})
    assert ann.get("/dashboard/api-keys/").status_code == 403


def test_an_admin_cannot_make_or_unmake_owners(story: Story) -> None:
    member(story.acme.workspace, "ann@acme.test", "analyst")
    member(story.acme.workspace, "otto@acme.test", "owner")
    admin = client_of(story, "admin")
    before = state()
    ann = membership_id(story.acme.workspace, "ann@acme.test")
    otto = membership_id(story.acme.workspace, "otto@acme.test")
    made = admin.post(f"/dashboard/team/members/{ann}/role/", {"role": "owner"})
    assert made.status_code == 403
    assert "Only an owner can make, unmake or remove owners." in text(made)
    unmade = admin.post(f"/dashboard/team/members/{otto}/role/", {"role": "analyst"})
    assert unmade.status_code == 403
    removed = admin.post(f"/dashboard/team/members/{otto}/remove/")
    assert removed.status_code == 403
    assert state() == before


def test_an_owner_makes_and_unmakes_owners(story: Story) -> None:
    member(story.acme.workspace, "ann@acme.test", "admin")
    client = client_of(story, "owner")
    ann = membership_id(story.acme.workspace, "ann@acme.test")
    assert client.post(f"/dashboard/team/members/{ann}/role/", {"role": "owner"}).status_code == 302
    assert roles(story.acme.workspace)["ann@acme.test"] == "owner"
    assert client.post(f"/dashboard/team/members/{ann}/role/", {"role": "admin"}).status_code == 302
    assert roles(story.acme.workspace)["ann@acme.test"] == "admin"
    assert [a[1:3] for a in audits()] == [
        ("member.role_change", "ann@acme.test"),
        ("member.role_change", "ann@acme.test"),
    ]


def test_nobody_changes_their_own_role(story: Story) -> None:
    member(story.acme.workspace, "otto@acme.test", "owner")  # so the owner is not the last
    for role in ("owner", "admin"):
        client = client_of(story, role)
        mine = membership_id(story.acme.workspace, f"{role}@acme.test")
        before = state()
        answer = client.post(f"/dashboard/team/members/{mine}/role/", {"role": "analyst"})
        assert answer.status_code == 403
        assert "Nobody can change their own role" in text(answer)
        assert client.post(f"/dashboard/team/members/{mine}/remove/").status_code == 403
        assert state() == before


def test_the_last_owner_can_never_be_demoted_or_removed(story: Story) -> None:
    client = client_of(story, "owner")
    admin = client_of(story, "admin")
    only = membership_id(story.acme.workspace, "owner@acme.test")
    before = state()
    for who in (client, admin):
        demoted = who.post(f"/dashboard/team/members/{only}/role/", {"role": "admin"})
        assert demoted.status_code == 409
        assert "keeps at least one owner" in text(demoted)
        assert who.post(f"/dashboard/team/members/{only}/remove/").status_code == 409
    assert state() == before
    assert "(the only owner)" in text(client.get("/dashboard/team/"))


def test_two_owners_demoting_each_other_leave_one_owner(story: Story) -> None:
    """The second change sees the first: the acting member is read again under the lock."""
    member(story.acme.workspace, "otto@acme.test", "owner")
    member(story.acme.workspace, "ann@acme.test", "analyst")
    owner_member = Membership.objects.get(user__username="owner@acme.test")
    otto_member = Membership.objects.get(user__username="otto@acme.test")
    ann_member = Membership.objects.get(user__username="ann@acme.test")
    assert team.change_role(member=otto_member, role="admin", by=owner_member)
    # otto's own copy still says owner; the service knows better.
    with pytest.raises(DomainError) as refused:
        team.change_role(member=owner_member, role="admin", by=otto_member)
    assert refused.value.code == "last_owner"
    with pytest.raises(DomainError) as refused:
        team.change_role(member=ann_member, role="owner", by=otto_member)
    assert refused.value.status == 403
    assert roles(story.acme.workspace) == {
        "owner@acme.test": "owner",
        "otto@acme.test": "admin",
        "ann@acme.test": "analyst",
    }


def test_another_workspaces_members_are_404(story: Story) -> None:
    theirs = membership_id(story.globex.workspace, "owner@globex.test")
    client = client_of(story, "owner")
    before = state()
    assert (
        client.post(f"/dashboard/team/members/{theirs}/role/", {"role": "analyst"}).status_code
        == 404
    )
    assert client.get(f"/dashboard/team/members/{theirs}/remove/").status_code == 404
    assert client.post(f"/dashboard/team/members/{theirs}/remove/").status_code == 404
    assert state() == before


def test_a_bad_role_is_400_and_changes_nothing(story: Story) -> None:
    member(story.acme.workspace, "ann@acme.test", "analyst")
    ann = membership_id(story.acme.workspace, "ann@acme.test")
    before = state()
    answer = client_of(story, "owner").post(f"/dashboard/team/members/{ann}/role/", {"role": "god"})
    assert answer.status_code == 400
    assert state() == before


# Removing members.


@pytest.mark.parametrize("role", NOT_TEAM)
def test_roles_without_team_cannot_remove(story: Story, role: str) -> None:
    member(story.acme.workspace, "ann@acme.test", "analyst")
    ann = membership_id(story.acme.workspace, "ann@acme.test")
    client = client_of(story, role)
    before = state()
    assert client.get(f"/dashboard/team/members/{ann}/remove/").status_code == 403
    assert client.post(f"/dashboard/team/members/{ann}/remove/").status_code == 403
    assert state() == before


def test_removal_asks_to_confirm_then_removes(story: Story) -> None:
    ann = member(story.acme.workspace, "ann@acme.test", "reviewer")
    assert ann.get("/dashboard/team/").status_code == 200
    target = membership_id(story.acme.workspace, "ann@acme.test")
    admin = client_of(story, "admin")
    before = state()
    confirm = admin.get(f"/dashboard/team/members/{target}/remove/")
    assert confirm.status_code == 200
    assert "Remove ann@acme.test (reviewer) from the team?" in text(confirm)
    assert state() == before  # asking changes nothing
    done = admin.post(f"/dashboard/team/members/{target}/remove/")
    assert done.status_code == 302
    assert "ann@acme.test" not in roles(story.acme.workspace)
    assert audits() == [
        (
            "admin@acme.test",
            "member.remove",
            "ann@acme.test",
            {"user": "ann@acme.test", "role": "reviewer"},
            "127.0.0.1",
        )
    ]
    assert events("member.removed") == [
        (
            "member.removed",
            story.acme.workspace.public_id,
            {
                "user": "ann@acme.test",
                "role": "reviewer",
                "actor": f"user:{user_pk('admin@acme.test')}",
            },
        )
    ]
    # From her next request, ann sees nothing of acme.
    assert ann.get("/dashboard/team/").status_code == 403
    assert admin.post(f"/dashboard/team/members/{target}/remove/").status_code == 404


# Invitations, end to end.


def invite(client: Client, email: str, role: str) -> Any:
    return client.post("/dashboard/team/invite/", {"email": email, "role": role})


def link_in(message: Any) -> str:
    found = re.search(
        re.escape(settings.SITE_URL) + r"(/dashboard/invitations/[\w-]+/)", message.body
    )
    assert found, message.body
    return str(found.group(1))


def test_an_invitation_is_emailed_and_its_link_makes_an_account_once(story: Story) -> None:
    admin = client_of(story, "admin")
    answer = invite(admin, " New@Example.COM ", "reviewer")
    assert answer.status_code == 302
    assert answer["Location"] == "/dashboard/team/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@example.com"]
    assert message.subject == "admin@acme.test invited you to Acme on Goodword"
    assert "join Acme on Goodword as Reviewer" in message.body
    path = link_in(message)
    token = path.split("/")[-2]
    invitation = Invitation.objects.get()
    # Only the token's SHA-256 is stored; the link is valid for 7 days.
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(Invitation.objects.values().get())
    assert (invitation.email, invitation.role) == ("new@example.com", "reviewer")
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)
    assert token not in str(list(AuditEntry.objects.values()))
    assert token not in str(list(DomainEvent.objects.values()))
    assert "new@example.com" in text(admin.get("/dashboard/team/"))

    visitor = Client()
    page = visitor.get(path)
    assert page.status_code == 200
    body = text(page)
    assert "Join Acme" in body
    assert "Reviewer" in body
    assert "new@example.com" in body
    # Django's password validators apply; nothing is made until they pass.
    before = state()
    weak = visitor.post(path, {"new_password1": "short", "new_password2": "short"})
    assert weak.status_code == 400
    assert "too short" in text(weak)
    assert state() == before

    joined = visitor.post(path, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert joined.status_code == 302
    assert joined["Location"] == "/dashboard/"
    assert roles(story.acme.workspace)["new@example.com"] == "reviewer"
    user = get_user_model().objects.get(username="new@example.com")
    assert user.check_password(PASSWORD)
    assert not user.is_staff  # the Django admin stays for operators
    # Signed in, working in acme.
    home = visitor.get("/dashboard/team/")
    assert home.status_code == 200
    assert "Welcome to Acme: you are Reviewer." in text(home)

    audit_rows = audits()
    assert audit_rows == [
        (
            "admin@acme.test",
            "member.invite",
            invitation.public_id,
            {"email": "new@example.com", "role": "reviewer"},
            "127.0.0.1",
        ),
        (
            "new@example.com",
            "invitation.accept",
            invitation.public_id,
            {"role": "reviewer", "joined": True},
            "127.0.0.1",
        ),
    ]
    admin_pk = user_pk("admin@acme.test")
    assert events(*TEAM_EVENTS)[-3:] == [
        (
            "invitation.created",
            invitation.public_id,
            {"email": "new@example.com", "role": "reviewer", "actor": f"user:{admin_pk}"},
        ),
        (
            "member.added",
            story.acme.workspace.public_id,
            {"user": "new@example.com", "role": "reviewer"},
        ),
        (
            "invitation.accepted",
            invitation.public_id,
            {"user": "new@example.com", "role": "reviewer", "joined": True},
        ),
    ]

    # The link works once.
    before = state()
    for client in (visitor, Client()):
        used = client.get(path)
        assert used.status_code == 410
        assert "used already" in text(used)
        again = client.post(path, {"new_password1": PASSWORD, "new_password2": PASSWORD})
        assert again.status_code == 410
    assert state() == before


def test_an_unknown_token_is_404(story: Story) -> None:
    before = state()
    assert Client().get("/dashboard/invitations/nonsense/").status_code == 404
    assert Client().post("/dashboard/invitations/nonsense/").status_code == 404
    assert state() == before


def test_an_invitation_expires_after_seven_days(story: Story) -> None:
    with time_machine.travel(T0, tick=False):
        invite(client_of(story, "owner"), "late@example.com", "analyst")
    path = link_in(mail.outbox[0])
    before = state()
    with time_machine.travel(T0 + timedelta(days=7), tick=False):
        page = Client().get(path)
        assert page.status_code == 410
        assert "has expired" in text(page)
        tried = Client().post(path, {"new_password1": PASSWORD, "new_password2": PASSWORD})
        assert tried.status_code == 410
    assert state() == before
    with time_machine.travel(T0 + timedelta(days=7) - timedelta(seconds=1), tick=False):
        assert Client().get(path).status_code == 200


def test_a_revoked_invitation_does_not_work(story: Story) -> None:
    client = client_of(story, "admin")
    invite(client, "gone@example.com", "analyst")
    path = link_in(mail.outbox[0])
    invitation = Invitation.objects.get()
    answer = client.post(f"/dashboard/team/invitations/{invitation.public_id}/revoke/")
    assert answer.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert audits()[-1] == (
        "admin@acme.test",
        "invitation.revoke",
        invitation.public_id,
        {"email": "gone@example.com"},
        "127.0.0.1",
    )
    assert f"/invitations/{invitation.public_id}/revoke/" not in text(
        client.get("/dashboard/team/")
    )
    before = state()
    assert Client().get(path).status_code == 410
    posted = Client().post(path, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert posted.status_code == 410
    assert "revoked" in text(posted)
    # Revoking again is a no-op: no second audit entry.
    assert (
        client.post(f"/dashboard/team/invitations/{invitation.public_id}/revoke/").status_code
        == 302
    )
    assert state() == before


@pytest.mark.parametrize("role", NOT_TEAM)
def test_roles_without_team_cannot_invite_or_revoke(story: Story, role: str) -> None:
    invite(client_of(story, "owner"), "ann@example.com", "analyst")
    invitation = Invitation.objects.get()
    client = client_of(story, role)
    before = state()
    sent = len(mail.outbox)
    assert invite(client, "bob@example.com", "analyst").status_code == 403
    revoked = client.post(f"/dashboard/team/invitations/{invitation.public_id}/revoke/")
    assert revoked.status_code == 403
    assert state() == before
    assert len(mail.outbox) == sent


def test_only_an_owner_invites_an_owner(story: Story) -> None:
    admin, boss = client_of(story, "admin"), client_of(story, "owner")
    before = state()
    refused = invite(admin, "boss@example.com", "owner")
    assert refused.status_code == 400
    assert state() == before
    assert mail.outbox == []
    assert invite(boss, "boss@example.com", "owner").status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.role == "owner"
    # Nor may an admin revoke it.
    admin_revokes = admin.post(f"/dashboard/team/invitations/{invitation.public_id}/revoke/")
    assert admin_revokes.status_code == 403
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_inviting_a_member_or_a_bad_address_is_refused_next_to_the_field(story: Story) -> None:
    client = client_of(story, "owner")
    before = state()
    taken = invite(client, "OWNER@acme.test", "analyst")
    assert taken.status_code == 409
    assert 'id="invite-email-error">owner@acme.test is a member already.<' in text(taken)
    bad = invite(client, "not an address", "analyst")
    assert bad.status_code == 400
    assert "Enter a valid email address." in text(bad)
    assert state() == before
    assert mail.outbox == []


def test_a_new_invitation_replaces_the_pending_one(story: Story) -> None:
    client = client_of(story, "owner")
    invite(client, "ann@example.com", "analyst")
    invite(client, "ann@example.com", "admin")
    first, second = link_in(mail.outbox[0]), link_in(mail.outbox[1])
    assert Client().get(first).status_code == 410
    page = Client().get(second)
    assert page.status_code == 200
    assert "Admin" in text(page)


def test_the_link_names_site_url(story: Story) -> None:
    invite(client_of(story, "owner"), "ann@example.com", "analyst")
    body = mail.outbox[0].body
    assert body.count(settings.SITE_URL + "/dashboard/invitations/") == 1
    assert "It works once, for 7 days." in body


def test_an_existing_user_signs_in_first_then_joins(story: Story) -> None:
    invite(client_of(story, "owner"), "owner@globex.test", "analyst")
    path = link_in(mail.outbox[0])
    visitor = Client()
    page = visitor.get(path)
    assert page.status_code == 200
    login = "/dashboard/login/?next=" + path.replace("/", "%2F")
    assert f'href="{login}"' in text(page)
    assert 'name="new_password1"' not in text(page)
    # The link cannot set the password of an account that exists.
    before = state()
    tried = visitor.post(path, {"new_password1": "x" * 20, "new_password2": "x" * 20})
    assert tried.status_code == 403
    assert state() == before
    assert not get_user_model().objects.get(username="owner@globex.test").check_password("x" * 20)

    signed_in = owner(story.globex.workspace)
    joined = signed_in.post(path)
    assert joined.status_code == 302
    assert roles(story.acme.workspace)["owner@globex.test"] == "analyst"
    assert roles(story.globex.workspace)["owner@globex.test"] == "owner"
    # The session now works in acme.
    assert "owner@acme.test" in text(signed_in.get("/dashboard/team/"))


def test_a_signed_in_user_with_another_address_is_refused(story: Story) -> None:
    invite(client_of(story, "owner"), "ann@example.com", "admin")
    path = link_in(mail.outbox[0])
    mallory = owner(story.globex.workspace)
    before = state()
    page = mallory.get(path)
    assert page.status_code == 403
    assert "this invitation is for ann@example.com" in text(page)
    assert mallory.post(path).status_code == 403
    assert state() == before
    assert Invitation.objects.get().accepted_at is None
    with pytest.raises(DomainError) as refused:
        team.accept_invitation(
            token=path.split("/")[-2],
            user=get_user_model().objects.get(username="owner@globex.test"),
        )
    assert refused.value.status == 403


def test_joining_when_already_a_member_changes_nothing(story: Story) -> None:
    # Invited as an admin; a member (a reviewer) by another way before she opens the link.
    owner_member = Membership.objects.get(user__username="owner@acme.test")
    invitation, token = team.invite_member(email="ann@acme.test", role="admin", by=owner_member)
    ann = member(story.acme.workspace, "ann@acme.test", "reviewer")
    answer = ann.post(f"/dashboard/invitations/{token}/")
    assert answer.status_code == 302
    assert roles(story.acme.workspace)["ann@acme.test"] == "reviewer"
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert events("invitation.accepted")[-1][2] == {
        "user": "ann@acme.test",
        "role": "admin",
        "joined": False,
    }
    assert "member.added" not in [
        e[0] for e in events(*TEAM_EVENTS) if e[2].get("user") == "ann@acme.test"
    ]
    assert "your role is unchanged" in text(ann.get("/dashboard/team/"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_acceptances_at_once_make_one_membership() -> None:
    if not postgres():
        pytest.skip("row locks under real concurrency: PostgreSQL only")
    acme = make_api("Acme")
    by = Membership.objects.get(workspace=acme.workspace)
    for round_ in range(5):
        _, token = team.invite_member(email=f"racer{round_}@example.com", role="analyst", by=by)
        barrier = threading.Barrier(4, timeout=60)

        def accept(token: str = token, barrier: threading.Barrier = barrier) -> str:
            try:
                barrier.wait()
                team.accept_invitation(token=token, password=PASSWORD)
                return "joined"
            except DomainError as error:
                return error.code
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=4) as pool:
            outcomes = sorted(pool.map(lambda _: accept(), range(4)))
        assert outcomes.count("joined") == 1, outcomes
        assert set(outcomes) - {"joined"} <= {"gone", "sign_in"}
        members = Membership.objects.filter(user__username=f"racer{round_}@example.com")
        assert members.count() == 1
    assert DomainEvent.objects.filter(name="invitation.accepted").count() == 5


# API keys.


@pytest.mark.parametrize("role", NOT_TEAM)
def test_roles_without_team_cannot_see_make_or_revoke_keys(story: Story, role: str) -> None:
    key = ApiKey.objects.get(workspace=story.acme.workspace)
    client = client_of(story, role)
    before = state()
    assert client.get("/dashboard/api-keys/").status_code == 403
    assert client.post("/dashboard/api-keys/new/", {"name": "shop"}).status_code == 403
    assert client.get(f"/dashboard/api-keys/{key.public_id}/revoke/").status_code == 403
    assert client.post(f"/dashboard/api-keys/{key.public_id}/revoke/").status_code == 403
    assert state() == before


def test_a_new_keys_secret_is_shown_once_and_works(story: Story) -> None:
    client = client_of(story, "admin")
    answer = client.post("/dashboard/api-keys/new/", {"name": "shop"})
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    secret = re.search(r'value="(gw_sk_[\w-]+)"', text(answer))
    assert secret
    raw = secret.group(1)
    key = ApiKey.objects.get(name="shop")
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert key.prefix == raw[:12]
    # Never again: not on the list, not in the audit log, not in any event or session.
    listed = text(client.get("/dashboard/api-keys/"))
    assert raw not in listed
    assert f"{key.prefix}…" in listed
    assert "shop" in listed
    assert raw not in str(list(AuditEntry.objects.values()))
    assert raw not in str(list(DomainEvent.objects.values()))
    assert raw not in str(client.session.items())
    assert audits() == [
        (
            "admin@acme.test",
            "api_key.create",
            key.public_id,
            {"name": "shop", "prefix": key.prefix, "kind": "secret"},
            "127.0.0.1",
        )
    ]
    # The key works on the API.
    api = Client().get("/api/v1/workspace", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.status_code == 200
    assert api.json()["id"] == story.acme.workspace.public_id


def test_a_key_needs_a_name(story: Story) -> None:
    before = state()
    answer = client_of(story, "owner").post("/dashboard/api-keys/new/", {"name": "  "})
    assert answer.status_code == 400
    assert 'id="key-name-error"' in text(answer)
    assert state() == before


def test_revoking_a_key_asks_then_stops_it(story: Story) -> None:
    client = client_of(story, "owner")
    key = ApiKey.objects.get(workspace=story.acme.workspace)
    before = state()
    confirm = client.get(f"/dashboard/api-keys/{key.public_id}/revoke/")
    assert confirm.status_code == 200
    assert "Revoke the key “default”" in text(confirm)
    assert state() == before
    done = client.post(f"/dashboard/api-keys/{key.public_id}/revoke/")
    assert done.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert story.acme.get("/workspace").status_code == 401
    assert audits() == [
        (
            "owner@acme.test",
            "api_key.revoke",
            key.public_id,
            {"name": "default", "prefix": key.prefix},
            "127.0.0.1",
        )
    ]
    assert "revoked" in text(client.get("/dashboard/api-keys/"))
    # Twice: nothing more.
    client.post(f"/dashboard/api-keys/{key.public_id}/revoke/")
    assert len(audits()) == 1


def test_another_workspaces_keys_and_invitations_are_404(story: Story) -> None:
    theirs = ApiKey.objects.get(workspace=story.globex.workspace)
    globex_owner = Membership.objects.get(workspace=story.globex.workspace)
    invitation, _ = team.invite_member(email="g@example.com", role="analyst", by=globex_owner)
    client = client_of(story, "owner")
    before = state()
    assert client.get(f"/dashboard/api-keys/{theirs.public_id}/revoke/").status_code == 404
    assert client.post(f"/dashboard/api-keys/{theirs.public_id}/revoke/").status_code == 404
    revoke = client.post(f"/dashboard/team/invitations/{invitation.public_id}/revoke/")
    assert revoke.status_code == 404
    assert state() == before
    body = text(client.get("/dashboard/api-keys/")) + text(client.get("/dashboard/team/"))
    assert theirs.prefix not in body
    assert "g@example.com" not in body


# Settings.


def test_everyone_sees_the_settings(story: Story) -> None:
    for role in ROLES:
        page = client_of(story, role).get("/dashboard/settings/")
        assert page.status_code == 200
        assert 'value="Acme"' in text(page)
        assert ("Save settings" in text(page)) == (role in ("owner", "admin"))


@pytest.mark.parametrize("role", NOT_MANAGE)
def test_roles_without_manage_cannot_change_settings(story: Story, role: str) -> None:
    client = client_of(story, role)
    before = state()
    answer = client.post("/dashboard/settings/", {"name": "Evil", "allowed_domains": "evil.test"})
    assert answer.status_code == 403
    assert state() == before


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_managers_change_name_and_domains(story: Story, role: str) -> None:
    client = client_of(story, role)
    answer = client.post(
        "/dashboard/settings/",
        {"name": "Acme Inc", "allowed_domains": "Shop.Acme.test.\n\n  acme.test \nshop.acme.test"},
    )
    assert answer.status_code == 302
    assert answer["Location"] == "/dashboard/settings/"
    ws = Workspace.objects.get(pk=story.acme.workspace.pk)
    assert (ws.name, ws.allowed_domains) == ("Acme Inc", ["acme.test", "shop.acme.test"])
    assert audits() == [
        (
            f"{role}@acme.test",
            "workspace.update",
            ws.public_id,
            {"name": "Acme Inc", "allowed_domains": ["acme.test", "shop.acme.test"]},
            "127.0.0.1",
        )
    ]
    assert events("workspace.updated")[-1] == (
        "workspace.updated",
        ws.public_id,
        {"fields": ["allowed_domains", "name"]},
    )
    page = text(client.get("/dashboard/settings/"))
    assert "acme.test\nshop.acme.test</textarea>" in page
    # Saving the same again records nothing.
    client.post(
        "/dashboard/settings/", {"name": "Acme Inc", "allowed_domains": "acme.test\nshop.acme.test"}
    )
    assert len(audits()) == 1


def test_bad_settings_are_shown_next_to_the_field_and_nothing_changes(story: Story) -> None:
    client = client_of(story, "owner")
    before = state()
    answer = client.post(
        "/dashboard/settings/",
        {"name": "", "allowed_domains": "ok.test\nnot a domain\nhttp://x.test"},
    )
    assert answer.status_code == 400
    body = text(answer)
    assert 'id="name-error">This field is required.<' in body
    assert 'id="domains-error">not a domain name: not a domain, http://x.test<' in body
    too_many = "\n".join(f"d{n}.test" for n in range(51))
    answer = client.post("/dashboard/settings/", {"name": "Acme", "allowed_domains": too_many})
    assert answer.status_code == 400
    assert 'id="domains-error">at most 50 domains<' in text(answer)
    assert state() == before


@pytest.mark.parametrize(
    "domains",
    [
        ["Shop.Acme.test.", "acme.test", "acme.test"],
        ["localhost"],
        ["not a domain"],
        ["http://x.test"],
        ["-bad.test"],
        [],
    ],
)
def test_settings_check_domains_as_the_api_does(story: Story, domains: list[str]) -> None:
    api = story.acme.patch("/workspace", {"allowed_domains": domains})
    page = client_of(story, "owner").post(
        "/dashboard/settings/", {"name": "Acme", "allowed_domains": "\n".join(domains)}
    )
    assert (api.status_code == 200) == (page.status_code == 302)
    if api.status_code == 200:
        ws = Workspace.objects.get(pk=story.acme.workspace.pk)
        assert ws.allowed_domains == api.json()["allowed_domains"]


@pytest.mark.parametrize(
    ("domains", "message"),
    [
        (["ok.test", "not a domain", "-bad.test"], "not a domain name: not a domain, -bad.test"),
        ([f"d{n}.test" for n in range(51)], "at most 50 domains"),
    ],
)
def test_settings_and_api_refuse_domains_in_the_same_words(
    story: Story, domains: list[str], message: str
) -> None:
    before = state()
    api = story.acme.patch("/workspace", {"allowed_domains": domains})
    assert api.status_code == 422
    assert api.json()["error"]["code"] == "validation_error"
    assert api.json()["error"]["message"] == f"allowed_domains: {message}"
    page = client_of(story, "owner").post(
        "/dashboard/settings/", {"name": "Acme", "allowed_domains": "\n".join(domains)}
    )
    assert page.status_code == 400
    assert f'id="domains-error">{message}<' in text(page)
    assert state() == before


# The audit log.


def make_entries(story: Story) -> None:
    record = services.record_audit
    ws = story.acme.workspace
    owner_user = get_user_model().objects.get(username="owner@acme.test")
    with time_machine.travel(T0, tick=False):
        record(
            workspace_id=ws.pk,
            user=owner_user,
            action="reward.approve",
            subject="rwd_1",
            ip="10.0.0.1",
        )
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        record(workspace_id=ws.pk, user=None, action="program.pause", subject="prg_2")
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        record(
            workspace_id=ws.pk,
            user=owner_user,
            action="reward.reject",
            subject='=HYPERLINK("http://evil.test")',
            data={"reason": "+cmd|' /C calc'!A0"},
        )
    record(
        workspace_id=story.globex.workspace.pk,
        user=None,
        action="globex.secret",
        subject="rwd_globex",
    )


def test_audit_log_lists_newest_first_and_never_another_workspace(story: Story) -> None:
    make_entries(story)
    page = client_of(story, "analyst").get("/dashboard/audit/")
    assert page.status_code == 200
    body = text(page)
    table = body[body.index("<tbody>") :]
    order = [table.index(s) for s in ("reward.reject", "program.pause", "reward.approve")]
    assert order == sorted(order)
    assert "10.0.0.1" in body
    assert "2026-03-02 09:00:00" in body
    assert "globex.secret" not in body
    assert "rwd_globex" not in body
    assert "reason=+cmd" in body


def test_audit_log_filters_by_action_and_actor_and_searches_subject(story: Story) -> None:
    make_entries(story)
    client = client_of(story, "reviewer")

    def shown(query: str) -> list[str]:
        body = text(client.get("/dashboard/audit/" + query))
        return [s for s in ("rwd_1", "prg_2", "HYPERLINK") if s in body]

    assert shown("?action=reward.approve") == ["rwd_1"]
    assert shown("?actor=owner%40acme.test") == ["rwd_1", "HYPERLINK"]
    assert shown("?q=prg_") == ["prg_2"]
    assert shown("?sort=created_at") == ["rwd_1", "prg_2", "HYPERLINK"]
    assert shown("?action=globex.secret") == ["rwd_1", "prg_2", "HYPERLINK"]  # not offered
    page = text(client.get("/dashboard/audit/"))
    assert '<option value="reward.approve">' in page
    assert "globex.secret" not in page


def test_audit_csv_neutralises_formulas_and_keeps_the_filter(story: Story) -> None:
    make_entries(story)
    answer = client_of(story, "analyst").get("/dashboard/audit/export/?actor=owner%40acme.test")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer["Content-Disposition"] == 'attachment; filename="audit-log.csv"'
    rows = list(csv.reader(io.StringIO(answer.content.decode())))
    assert rows[0] == ["time", "actor", "action", "subject", "data", "ip", "user_agent"]
    assert rows[1] == [
        "2026-03-02T11:00:00+00:00",
        "owner@acme.test",
        "reward.reject",
        '\'=HYPERLINK("http://evil.test")',
        '{"reason": "+cmd|\' /C calc\'!A0"}',
        "",
        "",
    ]
    assert rows[2] == [
        "2026-03-02T09:00:00+00:00",
        "owner@acme.test",
        "reward.approve",
        "rwd_1",
        "{}",
        "10.0.0.1",
        "",
    ]
    assert len(rows) == 3
    assert "globex" not in answer.content.decode()
    # The page's export link carries its filter.
    page = text(client_of(story, "analyst").get("/dashboard/audit/?actor=owner%40acme.test"))
    assert 'href="/dashboard/audit/export/?actor=owner%40acme.test"' in page


def test_audit_entries_record_actor_ip_action_and_subject(story: Story) -> None:
    client = client_of(story, "owner")
    client.post(
        "/dashboard/settings/",
        {"name": "Acme", "allowed_domains": "acme.test"},
        REMOTE_ADDR="203.0.113.9",
        HTTP_USER_AGENT="Firefox",
    )
    entry = AuditEntry.objects.get()
    assert entry.user is not None
    assert entry.user.get_username() == "owner@acme.test"
    assert (entry.actor, entry.action, entry.subject) == (
        "owner@acme.test",
        "workspace.update",
        story.acme.workspace.public_id,
    )
    assert (entry.ip, entry.user_agent) == ("203.0.113.9", "Firefox")
    assert entry.workspace_id == story.acme.workspace.pk
    body = text(client.get("/dashboard/audit/"))
    assert "203.0.113.9" in body
    assert "workspace.update" in body
