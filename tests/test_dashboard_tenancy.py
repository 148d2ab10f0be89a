"""TEN-1/TEN-2 for the dashboard: every URL pattern, walked by globex's owner with acme's ids.

A pattern with ids in it answers 404 to GET and POST (whatever the form says), and acme reads
the same through its API afterwards. A pattern without ids (a list, a form, an export) shows
none of acme's canary strings, GET or POST. A new pattern fails `test_every_pattern_has_a_case`
until the id in its path is known here (`IDS`) or it is named as not a workspace's page
(`NOT_TENANT`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from goodword.accounts.models import ApiKey, Invitation, Membership
from goodword.participants.models import Advocate, Participant
from tests.dashboard import owner
from tests.shared import kept_for_module
from tests.test_tenancy import World, acme_reads, build_world

# Pages that belong to no workspace: signing in and out, password reset, two-factor, invitations
# (their token is the only key; the team tests cover them).
NOT_TENANT = {
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "two_factor_verify",
    "two_factor",
    "switch_workspace",  # tested in test_dashboard_access: another workspace's id is a 404
    "invitation",
}

# Each path parameter of the dashboard: the acme value that globex tries.
IDS = {
    "program_id": "acme_program",
    "referral_id": "acme_referral",
    "reward_id": "acme_reward",
    "participant_id": "alice_participant",
    "advocate_id": "alice_advocate",
    "fulfilment_id": "acme_fulfilment",
    "batch_id": "acme_batch",
    "payout_id": "acme_payout",
    "pool_id": "acme_pool",
    "key_id": "acme_key",
    "member_id": "acme_member",
    "invitation_id": "acme_invitation",
    "goal_id": "acme_goal",
    "endpoint_id": "acme_endpoint",
    "message_id": "acme_message",
    "connection_id": "acme_connection",
    "item_id": "acme_inbox_item",
    "outgoing_id": "acme_mes",
    "subscription_id": "acme_sns",
}
# Parameters that name no row: a value that would be valid for acme's row.
PLAIN = {
    "fmt": "csv",
    "number": "1",
    "journey": "referral_request",
    "language": "en",
    "key": "portal_intro",
}

PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")


def dashboard_patterns() -> Iterator[tuple[str, str]]:
    """(name, route) of every URL pattern under the dashboard's namespace."""

    def walk(patterns: list[Any], prefix: str, namespace: str | None) -> Iterator[tuple[str, str]]:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern), p.namespace or namespace)
            elif isinstance(p, URLPattern) and namespace == "dashboard":
                yield str(p.name), "/" + prefix + str(p.pattern)

    yield from walk(get_resolver().url_patterns, "", None)


def _path(route: str, ids: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match["name"]
        return PLAIN[name] if name in PLAIN else ids[IDS[name]]

    return PARAM.sub(value, route)


CASES = sorted((name, route) for name, route in dashboard_patterns() if name not in NOT_TENANT)


def test_every_pattern_has_a_case() -> None:
    names = {name for name, _ in dashboard_patterns()}
    assert "overview" in names  # the walk finds the dashboard at all
    unknown = {
        (name, m["name"])
        for name, route in dashboard_patterns()
        if name not in NOT_TENANT
        for m in PARAM.finditer(route)
        if m["name"] not in IDS and m["name"] not in PLAIN
    }
    assert unknown == set(), "add the acme id for these path parameters to IDS"
    assert NOT_TENANT - names == set(), "NOT_TENANT names a pattern that is gone"


@pytest.fixture(scope="module")
def shared_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    with kept_for_module(django_db_blocker):
        world = build_world()
        alice = Participant.objects.get(workspace=world.acme.workspace, external_id="alice")
        world.ids["alice_participant"] = alice.public_id
        world.ids["alice_advocate"] = Advocate.objects.get(participant=alice).public_id
        world.canaries.append(alice.public_id)
        ws = world.acme.workspace
        world.ids["acme_key"] = ApiKey.objects.for_workspace(ws).get().public_id
        world.ids["acme_member"] = str(Membership.objects.for_workspace(ws).get().pk)
        now = datetime.now(UTC)
        invitation = Invitation.objects.create(
            workspace=ws,
            email="carol@acme.test",
            role="analyst",
            token_hash="0" * 64,
            created_at=now,
            expires_at=now + timedelta(days=7),
        )
        world.ids["acme_invitation"] = invitation.public_id
        world.canaries += [world.ids["acme_key"], invitation.public_id, "carol@acme.test"]
        yield world


@pytest.fixture
def world(shared_world: World, db: None) -> World:
    return shared_world


@pytest.mark.parametrize(("name", "route"), CASES)
def test_globex_sees_nothing_of_acme(world: World, name: str, route: str) -> None:
    globex = owner(world.globex.workspace)
    path = _path(route, world.ids)
    # Every id field a form might take, filled with acme's ids.
    form = {
        "ids": [world.ids["acme_reward"]],
        "action": "approve",
        "reward": world.ids["acme_reward"],
        "participant": "alice",
        "external_id": "alice",
        "program": world.ids["acme_program"],
        "reason": "tenancy walk",
        "amount": "5.00",
        "currency": "USD",
        "kind": "credit",
        "status": "paused",
        "codes": "GLOBEX-1",
    }
    answers = {"GET": globex.get(path), "POST": globex.post(path, form)}
    has_ids = bool(PARAM.search(route))
    for method, answer in answers.items():
        body = answer.content.decode(errors="replace")
        if has_ids:
            # A page answers 404; an action answers GET with 405 before it looks at the id.
            expected = {404, 405} if method == "GET" else {404}
            assert answer.status_code in expected, (method, path, answer.status_code)
        else:
            assert answer.status_code < 500, (method, path, answer.status_code)
        # A form shown again with its errors repeats what globex typed: not acme's to leak.
        sent = {
            v for value in form.values() for v in (value if isinstance(value, list) else [value])
        }
        leaked = [c for c in world.canaries if c in body and c not in sent]
        assert leaked == [], (method, path, leaked)
    assert acme_reads(world) == world.baseline


def test_acme_sees_its_own_pages(world: World) -> None:
    """The walk's paths are right: acme's owner gets each GET page (not a 404)."""
    acme = owner(world.acme.workspace)
    for name, route in CASES:
        answer = acme.get(_path(route, world.ids))
        assert answer.status_code in (200, 302, 405), (name, answer.status_code)
        assert answer.status_code != 404, name


@pytest.mark.parametrize(
    "path", ["/dashboard/attribution/", "/dashboard/attribution/advocates.csv"]
)
def test_attribution_with_acmes_program_is_404(world: World, path: str) -> None:
    """The Attribution page takes its program from the query string, which the walk above does
    not fill: acme's program there is a 404 for globex, with none of acme's canaries."""
    globex = owner(world.globex.workspace)
    for model in ("first_touch", "linear"):
        answer = globex.get(path, {"program": world.ids["acme_program"], "model": model})
        assert answer.status_code == 404, (path, model)
        body = answer.content.decode(errors="replace")
        assert [c for c in world.canaries if c in body] == []
    assert acme_reads(world) == world.baseline


@pytest.mark.parametrize("path", ["/dashboard/cohorts/", "/dashboard/cohorts/cohorts.csv"])
def test_globex_cannot_choose_acmes_program_for_cohorts(world: World, path: str) -> None:
    answer = owner(world.globex.workspace).get(path, {"program": world.ids["acme_program"]})
    assert answer.status_code == 404, path
    body = answer.content.decode(errors="replace")
    assert [c for c in world.canaries if c in body] == []
    assert acme_reads(world) == world.baseline
