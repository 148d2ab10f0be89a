"""The read-only staff area: members see their own workspace only; nothing is editable."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client

from goodword.accounts.models import ApiKey
from tests.factories import Story, purchase, signup


def login(email: str) -> Client:
    user = get_user_model().objects.get(username=email)
    client = Client()
    client.force_login(user)
    return client


def test_member_sees_own_workspace_only(story: Story) -> None:
    story.acme.event(signup("s-bob", "bob", referral_code=story.alice["code"]))
    story.acme.event(purchase("p-bob", "bob", "order-1", 2500))
    globex_program = story.globex.post(
        "/programs",
        {
            "name": "Globex secret plan",
            "destination_url": "https://globex.test/",
            "rewards": [{"beneficiary": "advocate", "kind": "credit", "amount": 1}],
        },
    )
    assert globex_program.status_code == 201
    acme_staff = login("owner@acme.test")
    for url in (
        "/admin/",
        "/admin/programs/program/",
        "/admin/referrals/referral/",
        "/admin/rewards/reward/",
        "/admin/rewards/ledgertransaction/",
        "/admin/ingest/event/",
        "/admin/events/domainevent/",
        "/admin/participants/participant/",
        "/admin/accounts/workspace/",
    ):
        response = acme_staff.get(url)
        assert response.status_code == 200, url
        assert b"Globex" not in response.content, url
    page = acme_staff.get("/admin/programs/program/").content
    assert b"Give $10, get $10" in page
    assert b"Globex secret plan" not in page


def test_nothing_is_editable_and_keys_can_be_revoked(story: Story) -> None:
    staff = login("owner@acme.test")
    reward_list = staff.get("/admin/rewards/reward/")
    assert reward_list.status_code == 200
    assert b"Add reward" not in reward_list.content
    assert staff.get("/admin/rewards/reward/add/").status_code == 403
    key = ApiKey.objects.get(workspace=story.acme.workspace)
    response = staff.post(
        "/admin/accounts/apikey/",
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert story.acme.get("/programs").status_code == 401
    # globex's key is untouched: acme's staff cannot even select it
    assert ApiKey.objects.get(workspace=story.globex.workspace).revoked_at is None
