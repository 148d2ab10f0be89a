"""TEN-1: every API operation as globex with acme's ids answers 404, and acme is unchanged.

The table `CASES` names at least one case per operation of the API; `test_every_operation_
has_a_tenancy_case` walks the OpenAPI schema, so a new endpoint without a case fails the suite.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from goodword.accounts.models import ApiKey, Workspace
from goodword.accounts.services import create_api_key, revoke_api_key
from goodword.api.v1.api import api
from goodword.lib.signing import make_ref_token
from tests.factories import PROGRAM, Api, enrol, make_api, make_history, purchase, signup
from tests.shared import kept_for_module, row_counts

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@dataclass
class World:
    """acme with a whole referral story; globex with a program and an advocate of its own."""

    acme: Api
    globex: Api
    ids: dict[str, str]
    # Strings that only acme's data contains: none may appear in anything globex sees.
    canaries: list[str]
    # What acme reads about itself through the API, before globex does anything.
    baseline: dict[str, Any] = field(default_factory=dict)


def build_world() -> World:
    h = make_history()
    acme, globex, program, alice = h.acme, h.globex, h.program, h.alice
    gprogram = h.globex_program
    gina = enrol(globex, gprogram["id"], "gina")
    referral_id, reward_ids = h.referral_id, h.reward_ids
    redemption, invite = h.redemption, h.invite
    ids = {
        "acme_program": program["id"],
        "acme_referral": referral_id,
        "acme_reward": reward_ids[0],
        "alice_code": alice["code"],
        "alice_token": make_ref_token(alice["id"], "clk1", int(datetime.now(UTC).timestamp())),
        "globex_program": gprogram["id"],
        "gina_code": gina["code"],
        **acme_coupon_pool(acme),
        **acme_payout_batch(acme),
        **acme_fulfilment(acme),
        **acme_goal(acme, program["id"]),
        **acme_webhook(acme),
        **acme_connection(acme),
        **acme_messaging(acme, program["id"]),
    }
    canaries = [
        program["id"],
        alice["id"],
        alice["code"],
        referral_id,
        *reward_ids,
        redemption["id"],
        invite["id"],
        acme.workspace.public_id,
        "alice@example.com",
        "bob@example.net",
        "shop.acme.test",
        "acme-order-7",
        ids["acme_pool"],
        "ACME-SPRING-1",
        ids["acme_batch"],
        ids["acme_payout"],
        ids["acme_mug"],
        ids["acme_fulfilment"],
        "MUG-ACME-7",
        ids["acme_goal"],
        "Acme canary goal",
        ids["acme_endpoint"],
        ids["acme_message"],
        "hooks.acme.test",
        "Acme canary hook",
        ids["acme_connection"],
        ids["acme_inbox_item"],
        "acme-shop.myshopify.com",
        "Acme canary connection",
        ids["acme_mes"],
        ids["acme_template"],
        "Acme canary sender",
        "Acme canary subject",
        "Acme canary message",
        "acme-canary@example.org",
        "Acme canary page words",
    ]
    world = World(acme=acme, globex=globex, ids=ids, canaries=canaries)
    world.baseline = acme_reads(world)
    return world


def acme_payout_batch(acme: Api) -> dict[str, str]:
    """A draft payout batch of acme's with a payout to alice: rows only, as a draft moves
    nothing in the ledger (a cash program would change the story the other tests read)."""
    from goodword.participants.models import Participant
    from goodword.rewards.models import Payout, PayoutBatch

    ws = acme.workspace
    batch = PayoutBatch.objects.create(workspace=ws, currency="USD", created_at=datetime.now(UTC))
    alice = Participant.objects.get(workspace=ws, external_id="alice")
    payout = Payout.objects.create(
        workspace=ws, batch=batch, participant=alice, amount=1500, currency="USD"
    )
    return {"acme_batch": batch.public_id, "acme_payout": payout.public_id}


def acme_fulfilment(acme: Api) -> dict[str, str]:
    """A free mug granted to alice by hand: a third reward of acme's, waiting in its queue."""
    grant = {"kind": "product", "sku": "MUG-ACME-7", "reason": "thank you"}
    mug = acme.post("/participants/alice/rewards", grant).json()
    [fulfilment] = acme.get("/fulfilments").json()["data"]
    return {"acme_mug": mug["id"], "acme_fulfilment": fulfilment["id"]}


def acme_goal(acme: Api, program_id: str) -> dict[str, str]:
    """A goal of acme's for its program: 200 friends this quarter."""
    body = {
        "name": "Acme canary goal",
        "metric": "referrals",
        "target": 200,
        "period": "this_quarter",
        "program": program_id,
    }
    response = acme.post("/goals", body)
    assert response.status_code == 201, response.content
    return {"acme_goal": response.json()["id"]}


def acme_connection(acme: Api) -> dict[str, str]:
    """A Shopify connection of acme's with one order received and processed."""
    from goodword.integrations.models import Connection
    from tests.integrations import SHOPIFY_SECRET, post_shopify, process

    options = {"shop_domain": "acme-shop.myshopify.com", "description": "Acme canary connection"}
    body = {"provider": "shopify", "secret": SHOPIFY_SECRET, "options": options}
    response = acme.post("/connections", body)
    assert response.status_code == 201, response.content
    connection = Connection.objects.get(public_id=response.json()["id"])
    order = {"id": 7001, "currency": "USD", "total_price": "12.00", "email": "bob@example.net",
             "customer": {"id": 7002, "email": "bob@example.net"}}  # fmt: skip
    assert post_shopify(connection, order).status_code == 200
    assert process() == 1
    [item] = acme.get(f"/connections/{connection.public_id}/inbox").json()["data"]
    assert item["status"] == "processed", item
    return {"acme_connection": connection.public_id, "acme_inbox_item": item["id"]}


def acme_messaging(acme: Api, program_id: str) -> dict[str, str]:
    """acme's messaging: its settings, a journey turned off, its own wording of a journey, a
    suppressed address and a message sent to alice (a row: no sender runs here)."""
    from goodword.messaging.models import Message
    from goodword.participants.models import Participant

    assert acme.patch("/messaging", {"from_name": "Acme canary sender"}).status_code == 200
    off = acme.put(f"/programs/{program_id}/journeys/thank_you", {"is_active": False})
    assert off.status_code == 200, off.content
    wording = {"subject": "Acme canary subject", "html": "<p>{{ advocate.code }}</p>"}
    template = acme.put(f"/programs/{program_id}/templates/referral_request/en", wording)
    assert template.status_code == 200, template.content
    assert acme.post("/suppressions", {"address": "acme-canary@example.org"}).status_code == 201
    message = Message.objects.create(
        workspace=acme.workspace,
        participant=Participant.objects.get(workspace=acme.workspace, external_id="alice"),
        journey="referral_request",
        cause="referral_request:acme-canary",
        status="sent",
        to="alice@example.com",
        subject="Acme canary message",
        created_at=datetime.now(UTC),
    )
    words = {"source": "Acme canary page words {{ advocate.code }}"}
    page_text = acme.put(f"/programs/{program_id}/page-texts/portal_intro?language=en", words)
    assert page_text.status_code == 200, page_text.content
    staff = acme.post("/staff-notifications", {"email": "owner@acme.test", "kpi_digest": False})
    assert staff.status_code == 201, staff.content
    return {
        "acme_mes": message.public_id,
        "acme_template": template.json()["id"],
        "acme_sns": staff.json()["id"],
    }


def acme_webhook(acme: Api) -> dict[str, str]:
    """A webhook endpoint of acme's with a test message waiting for it."""
    body = {"url": "https://hooks.acme.test/goodword", "description": "Acme canary hook"}
    response = acme.post("/webhook-endpoints", body)
    assert response.status_code == 201, response.content
    endpoint = response.json()["id"]
    message = acme.post(f"/webhook-endpoints/{endpoint}/test", {})
    assert message.status_code == 201, message.content
    return {"acme_endpoint": endpoint, "acme_message": message.json()["id"]}


def acme_coupon_pool(acme: Api) -> dict[str, str]:
    """A coupon pool of acme's with two codes, named by no rule (the story stays as it is)."""
    pool = acme.post("/coupon-pools", {"name": "Acme spring", "low_threshold": 1}).json()["id"]
    codes = {"codes": ["ACME-SPRING-1", "ACME-SPRING-2"]}
    assert acme.post(f"/coupon-pools/{pool}/codes", codes).json()["added"] == 2
    return {"acme_pool": pool}


@pytest.fixture(scope="module")
def shared_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    with kept_for_module(django_db_blocker):
        yield build_world()


@pytest.fixture
def world(shared_world: World, db: None) -> World:
    return shared_world


def acme_reads(world: World) -> dict[str, Any]:
    """Everything acme can read through the API about its own data."""
    paths = [
        "/workspace",
        "/programs",
        f"/programs/{world.ids['acme_program']}",
        f"/programs/{world.ids['acme_program']}/stats",
        "/participants/alice",
        "/participants/bob",
        "/participants/alice/balance",
        "/participants/bob/balance",
        "/referrals",
        f"/referrals/{world.ids['acme_referral']}",
        "/rewards",
        "/coupon-pools",
        f"/coupon-pools/{world.ids['acme_pool']}",
        f"/coupon-pools/{world.ids['acme_pool']}/codes",
        "/fulfilments",
        f"/fulfilments/{world.ids['acme_fulfilment']}",
        "/payout-batches",
        f"/payout-batches/{world.ids['acme_batch']}",
        "/goals",
        f"/goals/{world.ids['acme_goal']}",
        "/webhook-endpoints",
        f"/webhook-endpoints/{world.ids['acme_endpoint']}",
        f"/webhook-endpoints/{world.ids['acme_endpoint']}/messages",
        f"/webhook-endpoints/{world.ids['acme_endpoint']}/messages/{world.ids['acme_message']}",
        "/connections",
        f"/connections/{world.ids['acme_connection']}",
        f"/connections/{world.ids['acme_connection']}/inbox",
        "/messages",
        f"/messages/{world.ids['acme_mes']}",
        "/messaging",
        f"/programs/{world.ids['acme_program']}/journeys",
        f"/programs/{world.ids['acme_program']}/templates",
        f"/programs/{world.ids['acme_program']}/templates/referral_request/en",
        f"/programs/{world.ids['acme_program']}/page-texts",
        "/suppressions",
        "/staff-notifications",
        f"/staff-notifications/{world.ids['acme_sns']}",
    ]
    out = {}
    for path in paths:
        response = world.acme.get(path)
        assert response.status_code == 200, (path, response.content)
        out[path] = response.json()
    return out


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


@dataclass(frozen=True)
class Case:
    """One request globex makes with acme's ids, and what it must get back.

    `operation` is the (method, OpenAPI path) it covers; `path` may hold `{placeholders}`
    for the world's ids. Anything but 404 must say why in `note`.
    """

    method: str
    operation: str
    path: str
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)
    status: int = 404
    code: str | None = "not_found"
    note: str = ""

    @property
    def id(self) -> str:
        suffix = "&".join(f"{k}={v}" for k, v in self.query.items())
        body = json.dumps(self.body, sort_keys=True)[:60] if self.body is not None else ""
        return f"{self.method} {self.path}{'?' + suffix if suffix else ''} {body}".strip()


PRG = "/programs/{program_id}"
PAR = "/participants/{external_id}"
REDEEM = {"order_id": "globex-order-1", "amount": 100, "currency": "USD"}
RWD = "/rewards/{reward_id}"
GRANT = {"kind": "credit", "amount": 500, "currency": "USD", "reason": "Pwned"}
ADJUST = {"amount": 300, "currency": "USD", "reason": "Pwned"}
GRANT_MUG = {"kind": "product", "sku": "MUG-PWNED", "reason": "Pwned"}
REDEEM_PTS = {**REDEEM, "currency": "PTS"}
FUL = "/fulfilments/{fulfilment_id}"
POB = "/payout-batches/{batch_id}"
PAY = "/payouts/{payout_id}"
CPL = "/coupon-pools/{pool_id}"
GOAL = "/goals/{goal_id}"
CON = "/connections/{connection_id}"
GOAL_IN = {"name": "Pwned", "metric": "clicks", "target": 10, "period": "this_month"}
WHE = "/webhook-endpoints/{endpoint_id}"
ACME_WHE = "/webhook-endpoints/{acme_endpoint}"
REPLAY = {"since": "2020-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z"}
TPL = PRG + "/templates/{journey}/{language}"
ACME_TPL = "/programs/{acme_program}/templates/referral_request/en"
PAGE_TEXTS = "/programs/{program_id}/page-texts"
PAGE_TEXT = PAGE_TEXTS + "/{key}"
ACME_TEXT = "/programs/{acme_program}/page-texts/portal_intro"
ACME_POOL_RULE = {
    "beneficiary": "friend",
    "kind": "coupon",
    "percent_off": 10,
    "coupon": {"pool": "{acme_pool}"},
}

CASES = [
    # Programs: acme's program id names nothing for globex.
    Case("GET", PRG, "/programs/{acme_program}"),
    Case("PATCH", PRG, "/programs/{acme_program}", {"name": "Pwned"}),
    Case("PATCH", PRG, "/programs/{acme_program}", {"status": "ended"}),
    Case(
        "PATCH", PRG, "/programs/{acme_program}", {"destination_url": "https://evil.globex.test/"}
    ),
    Case(
        "PATCH",
        PRG,
        "/programs/{acme_program}",
        {"rewards": [{"beneficiary": "advocate", "kind": "credit", "amount": 1}]},
    ),
    Case("GET", PRG + "/stats", "/programs/{acme_program}/stats"),
    Case("PATCH", PRG, "/programs/{acme_program}", {"brand": {"color": "#000000"}}),
    Case("GET", PAGE_TEXTS, "/programs/{acme_program}/page-texts"),
    Case("PUT", PAGE_TEXT, ACME_TEXT + "?language=en", {"source": "Pwned"}),
    Case("PUT", PAGE_TEXT, ACME_TEXT + "?language=it", {"source": "{{% if %}}"}),
    Case("DELETE", PAGE_TEXT, ACME_TEXT + "?language=en"),
    Case("GET", PRG + "/experiment", "/programs/{acme_program}/experiment"),
    Case("GET", "/stats", "/stats", status=200, code=None, note="globex's own numbers only"),
    Case("GET", "/stats", "/stats", query={"program": "{acme_program}"}),
    Case("GET", PRG + "/cohorts", "/programs/{acme_program}/cohorts"),
    Case("GET", "/cohorts", "/cohorts", status=200, code=None, note="globex's own cohorts only"),
    Case("GET", "/cohorts", "/cohorts", query={"program": "{acme_program}"}),
    Case("GET", "/attribution", "/attribution", status=200, code=None, note="globex's own"),
    Case("GET", "/attribution", "/attribution", query={"program": "{acme_program}"}),
    Case("GET", PRG + "/config", "/programs/{acme_program}/config"),
    Case("PUT", PRG + "/config", "/programs/{acme_program}/config", PROGRAM),
    Case("GET", PRG + "/versions", "/programs/{acme_program}/versions"),
    Case("POST", PRG + "/advocates", "/programs/{acme_program}/advocates", {"external_id": "gina"}),
    Case(
        "POST", PRG + "/advocates", "/programs/{acme_program}/advocates", {"external_id": "alice"}
    ),
    Case(
        "POST",
        PRG + "/advocates",
        "/programs/{acme_program}/advocates",
        {"external_id": "mallory", "code": "MALLORY-1"},
    ),
    # The portal's magic link: acme's program, and globex's own program with acme's alice.
    Case(
        "POST",
        PRG + "/advocates/{external_id}/portal-link",
        "/programs/{acme_program}/advocates/alice/portal-link",
    ),
    Case(
        "POST",
        PRG + "/advocates/{external_id}/portal-link",
        "/programs/{globex_program}/advocates/alice/portal-link",
    ),
    Case(
        "POST",
        PRG + "/invites",
        "/programs/{acme_program}/invites",
        {"advocate": "alice", "email": "mallory@example.org"},
    ),
    Case(
        "POST",
        PRG + "/invites",
        "/programs/{acme_program}/invites",
        {"advocate": "gina", "email": "mallory@example.org"},
    ),
    Case(
        "POST",
        PRG + "/invites",
        "/programs/{globex_program}/invites",
        {"advocate": "alice", "email": "mallory@example.org"},
        note="acme's advocate does not exist in globex's program",
    ),
    # Shares: globex cannot count a share for acme's advocate or in acme's program.
    Case(
        "POST",
        "/shares",
        "/shares",
        {"program": "{acme_program}", "advocate": "alice", "channel": "email"},
    ),
    Case(
        "POST",
        "/shares",
        "/shares",
        {"program": "{globex_program}", "advocate": "alice", "channel": "email"},
        note="acme's advocate does not exist in globex's program",
    ),
    Case(
        "POST",
        "/shares",
        "/shares",
        {"program": "{acme_program}", "advocate": "gina", "channel": "qr"},
        note="globex's own advocate, named in acme's program",
    ),
    # Participants: acme's external ids name nothing for globex.
    Case("GET", PAR, "/participants/alice"),
    Case("GET", PAR, "/participants/bob"),
    Case("GET", PAR + "/balance", "/participants/alice/balance"),
    Case("GET", PAR + "/balance", "/participants/bob/balance"),
    Case("POST", PAR + "/redemptions", "/participants/alice/redemptions", REDEEM),
    Case(
        "POST",
        PAR + "/redemptions",
        "/participants/alice/redemptions",
        {"order_id": "acme-order-7", "amount": 200, "currency": "USD"},
        note="a replay of acme's redemption must not return acme's row",
    ),
    Case(
        "POST",
        PAR + "/redemptions",
        "/participants/gina/redemptions",
        {"order_id": "acme-order-7", "amount": 200, "currency": "USD"},
        status=409,
        code="insufficient_balance",
        note="order ids are per workspace: acme's order neither replays nor conflicts",
    ),
    Case(
        "POST",
        "/participants",
        "/participants",
        {"external_id": "alice", "email": "mallory@example.org", "name": "Not Alice"},
        status=201,
        code=None,
        note="external ids are per workspace: globex gets a new participant of its own",
    ),
    # Referrals and rewards: reads by id 404; lists filtered by acme's ids are empty.
    Case("GET", "/referrals/{referral_id}", "/referrals/{acme_referral}"),
    Case("GET", "/referrals/{referral_id}", "/referrals/{acme_reward}"),
    Case("GET", "/referrals", "/referrals", status=200, code=None),
    Case(
        "GET",
        "/referrals",
        "/referrals",
        query={"program": "{acme_program}"},
        status=200,
        code=None,
    ),
    Case("GET", "/referrals", "/referrals", query={"advocate": "alice"}, status=200, code=None),
    Case("GET", "/referrals", "/referrals", query={"referee": "bob"}, status=200, code=None),
    Case("GET", "/referrals", "/referrals", query={"status": "rewarded"}, status=200, code=None),
    Case(
        "GET",
        "/referrals",
        "/referrals",
        query={"cursor": "{acme_referral}"},
        status=400,
        code="invalid_cursor",
        note="a cursor is a row id: acme's ids are not valid cursors for globex",
    ),
    Case("GET", "/rewards", "/rewards", status=200, code=None),
    Case("GET", "/rewards", "/rewards", query={"participant": "alice"}, status=200, code=None),
    Case("GET", "/rewards", "/rewards", query={"participant": "bob"}, status=200, code=None),
    Case("GET", "/rewards", "/rewards", query={"program": "{acme_program}"}, status=200, code=None),
    Case(
        "GET", "/rewards", "/rewards", query={"referral": "{acme_referral}"}, status=200, code=None
    ),
    Case("GET", "/rewards", "/rewards", query={"status": "approved"}, status=200, code=None),
    Case(
        "GET",
        "/rewards",
        "/rewards",
        query={"cursor": "{acme_reward}"},
        status=400,
        code="invalid_cursor",
        note="acme's reward id is not a cursor for globex",
    ),
    Case("GET", "/programs", "/programs", status=200, code=None),
    Case("GET", "/programs", "/programs", query={"status": "active"}, status=200, code=None),
    Case(
        "GET",
        "/programs",
        "/programs",
        query={"cursor": "{acme_program}"},
        status=400,
        code="invalid_cursor",
        note="acme's program id is not a cursor for globex",
    ),
    Case(
        "POST",
        "/programs",
        "/programs",
        {
            "name": "Copycat",
            "destination_url": "https://shop.acme.test/welcome",
            "rewards": [{"beneficiary": "advocate", "kind": "credit", "amount": 100}],
        },
        status=201,
        code=None,
        note="globex may name any destination; it is added to globex's domains, not acme's",
    ),
    # Manual actions: acme's reward ids and participants name nothing for globex.
    Case("POST", RWD + "/approve", "/rewards/{acme_reward}/approve"),
    Case("POST", RWD + "/approve", "/rewards/{acme_referral}/approve"),
    Case("POST", RWD + "/reject", "/rewards/{acme_reward}/reject", {"reason": "Pwned"}),
    Case("POST", RWD + "/reverse", "/rewards/{acme_reward}/reverse", {"reason": "Pwned"}),
    Case("POST", RWD + "/fulfil", "/rewards/{acme_reward}/fulfil", {"reference": "Pwned"}),
    Case("POST", RWD + "/fulfil", "/rewards/{acme_mug}/fulfil", {"reference": "Pwned"}),
    Case("POST", RWD + "/choose", "/rewards/{acme_reward}/choose", {"kind": "credit"}),
    Case("POST", RWD + "/choose", "/rewards/{acme_mug}/choose", {"kind": "product"}),
    Case("POST", PAR + "/rewards", "/participants/alice/rewards", GRANT_MUG),
    Case("POST", PAR + "/redemptions", "/participants/alice/redemptions", REDEEM_PTS),
    # The fulfilment queue: acme's fulfilment ids name nothing for globex; its list is empty.
    Case("GET", FUL, "/fulfilments/{acme_fulfilment}"),
    Case("GET", FUL, "/fulfilments/{acme_mug}"),
    Case("POST", FUL + "/done", "/fulfilments/{acme_fulfilment}/done", {"reference": "Pwned"}),
    Case("GET", "/fulfilments", "/fulfilments", status=200, code=None),
    Case("GET", "/fulfilments", "/fulfilments", query={"kind": "product"}, status=200, code=None),
    Case("GET", "/fulfilments", "/fulfilments", query={"status": "pending"}, status=200, code=None),
    Case(
        "GET",
        "/fulfilments",
        "/fulfilments",
        query={"cursor": "{acme_fulfilment}"},
        status=400,
        code="invalid_cursor",
        note="acme's fulfilment id is not a cursor for globex",
    ),
    Case("POST", PAR + "/rewards", "/participants/alice/rewards", GRANT),
    Case("POST", PAR + "/rewards", "/participants/bob/rewards", {**GRANT, "kind": "coupon"}),
    Case(
        "POST",
        PAR + "/rewards",
        "/participants/gina/rewards",
        {**GRANT, "program": "{acme_program}"},
        note="globex's own participant, but acme's program names nothing for globex",
    ),
    Case("POST", PAR + "/credit-adjustments", "/participants/alice/credit-adjustments", ADJUST),
    Case(
        "POST",
        PAR + "/credit-adjustments",
        "/participants/alice/credit-adjustments",
        {**ADJUST, "amount": -100, "key": "acme-adj-1"},
    ),
    # Payouts: acme's batch and payout ids name nothing for globex; acme's cash is not globex's.
    Case("GET", "/payout-batches", "/payout-batches", status=200, code=None),
    Case(
        "GET",
        "/payout-batches",
        "/payout-batches",
        query={"status": "draft"},
        status=200,
        code=None,
    ),
    Case(
        "GET",
        "/payout-batches",
        "/payout-batches",
        query={"cursor": "{acme_batch}"},
        status=400,
        code="invalid_cursor",
        note="acme's batch id is not a cursor for globex",
    ),
    Case(
        "POST",
        "/payout-batches",
        "/payout-batches",
        {"currency": "USD", "min_amount": 0},
        status=409,
        code="nothing_to_pay",
        note="a batch gathers the caller's own payable balances: globex owes nobody",
    ),
    Case("GET", POB, "/payout-batches/{acme_batch}"),
    Case("GET", POB, "/payout-batches/{acme_payout}"),
    Case("POST", POB + "/approve", "/payout-batches/{acme_batch}/approve"),
    Case("POST", POB + "/cancel", "/payout-batches/{acme_batch}/cancel"),
    Case("GET", POB + "/export", "/payout-batches/{acme_batch}/export", query={"format": "csv"}),
    Case("GET", POB + "/export", "/payout-batches/{acme_batch}/export", query={"format": "paypal"}),
    Case("POST", PAY + "/paid", "/payouts/{acme_payout}/paid", {"reference": "Pwned"}),
    Case("POST", PAY + "/paid", "/payouts/{acme_batch}/paid", {"reference": "Pwned"}),
    Case("POST", PAY + "/failed", "/payouts/{acme_payout}/failed", {"reason": "Pwned"}),
    # Coupon pools: acme's pool id names nothing for globex, in a path or in a rule.
    Case("GET", "/coupon-pools", "/coupon-pools", status=200, code=None),
    Case(
        "GET",
        "/coupon-pools",
        "/coupon-pools",
        query={"cursor": "{acme_pool}"},
        status=400,
        code="invalid_cursor",
        note="acme's pool id is not a cursor for globex",
    ),
    Case(
        "POST",
        "/coupon-pools",
        "/coupon-pools",
        {"name": "Acme spring", "low_threshold": 1},
        status=201,
        code=None,
        note="globex gets a pool of its own",
    ),
    Case("GET", CPL, "/coupon-pools/{acme_pool}"),
    Case("GET", CPL, "/coupon-pools/{acme_program}"),
    Case("PATCH", CPL, "/coupon-pools/{acme_pool}", {"name": "Pwned"}),
    Case("PATCH", CPL, "/coupon-pools/{acme_pool}", {"low_threshold": 1000}),
    Case("POST", CPL + "/codes", "/coupon-pools/{acme_pool}/codes", {"codes": ["PWNED-1"]}),
    Case("POST", CPL + "/codes", "/coupon-pools/{acme_pool}/codes", {"codes": ["ACME-SPRING-1"]}),
    Case("GET", CPL + "/codes", "/coupon-pools/{acme_pool}/codes"),
    Case("GET", CPL + "/codes", "/coupon-pools/{acme_pool}/codes", query={"status": "free"}),
    Case(
        "POST",
        "/programs",
        "/programs",
        {**PROGRAM, "rewards": [ACME_POOL_RULE]},
        status=422,
        code="validation_error",
        note="a rule may only draw from a pool of its own workspace",
    ),
    Case(
        "PATCH",
        PRG,
        "/programs/{globex_program}",
        {"rewards": [ACME_POOL_RULE]},
        status=422,
        code="validation_error",
        note="globex's own program, but acme's pool names nothing for globex",
    ),
    Case(
        "PUT",
        PRG + "/config",
        "/programs/{globex_program}/config",
        {**PROGRAM, "rewards": [ACME_POOL_RULE]},
        status=422,
        code="validation_error",
        note="globex's own program, but acme's pool names nothing for globex",
    ),
    # Events: acme's code is unknown to globex; acme's signed token attributes nothing.
    Case(
        "POST",
        "/events",
        "/events",
        {**signup("g-1", "mallory"), "referral_code": "{alice_code}"},
        status=422,
        code="unknown_referral_code",
        note="codes resolve within the workspace only",
    ),
    Case(
        "POST",
        "/events",
        "/events",
        {**purchase("g-2", "mallory", "g-order-1", 5000), "referral_code": "{alice_code}"},
        status=422,
        code="unknown_referral_code",
        note="codes resolve within the workspace only",
    ),
    Case(
        "POST",
        "/events",
        "/events",
        {**signup("g-3", "mallory"), "ref_token": "{alice_token}"},
        status=201,
        code=None,
        note="a valid token of acme's advocate is ignored as invalid in globex",
    ),
    Case(
        "POST",
        "/events",
        "/events",
        {
            "id": "g-4",
            "type": "refund",
            "customer": {"external_id": "bob"},
            "order": {"id": "order-1"},
        },
        status=201,
        code=None,
        note="refunding acme's order id from globex reverses nothing of acme's",
    ),
    Case(
        "POST",
        "/events",
        "/events",
        {**purchase("s-bob", "bob", "order-1", 2500)},
        status=201,
        code=None,
        note="acme's event id is no duplicate in globex: a new event, not acme's result",
    ),
    Case(
        "POST",
        "/events/batch",
        "/events/batch",
        {
            "events": [
                {**signup("g-5", "mallory"), "referral_code": "{alice_code}"},
                {**signup("g-6", "mallory"), "ref_token": "{alice_token}"},
                {
                    "id": "g-7",
                    "type": "refund",
                    "customer": {"external_id": "bob"},
                    "order": {"id": "order-1"},
                },
                {**purchase("s-bob", "bob", "order-1", 2500)},
            ]
        },
        status=200,
        code=None,
        note="each event is answered on its own, as POST /events would answer it in globex",
    ),  # fmt: skip
    # Goals: acme's goal id names nothing for globex, nor does acme's program in a goal.
    Case("GET", GOAL, "/goals/{acme_goal}"),
    Case("PATCH", GOAL, "/goals/{acme_goal}", {"target": 1}),
    Case("PATCH", GOAL, "/goals/{acme_goal}", {"program": "{globex_program}"}),
    Case("DELETE", GOAL, "/goals/{acme_goal}"),
    Case("GET", "/goals", "/goals", status=200, code=None),
    Case("GET", "/goals", "/goals", query={"program": "{acme_program}"}),
    Case(
        "GET",
        "/goals",
        "/goals",
        query={"cursor": "{acme_goal}"},
        status=400,
        code="invalid_cursor",
        note="acme's goal id is not a cursor for globex",
    ),
    Case("POST", "/goals", "/goals", {**GOAL_IN, "program": "{acme_program}"}),
    Case(
        "POST",
        "/goals",
        "/goals",
        GOAL_IN,
        status=201,
        code=None,
        note="globex gets a goal of its own, counting globex's clicks only",
    ),
    # Webhook endpoints: acme's endpoint and message ids name nothing for globex.
    Case("GET", WHE, ACME_WHE),
    Case("PATCH", WHE, ACME_WHE, {"url": "https://evil.globex.test/"}),
    Case("PATCH", WHE, ACME_WHE, {"active": False}),
    Case("DELETE", WHE, ACME_WHE),
    Case("POST", WHE + "/rotate-secret", ACME_WHE + "/rotate-secret", {"grace_hours": 0}),
    Case("POST", WHE + "/test", ACME_WHE + "/test", {}),
    Case("GET", WHE + "/messages", ACME_WHE + "/messages"),
    Case(
        "GET",
        WHE + "/messages/{message_id}",
        ACME_WHE + "/messages/{acme_message}",
    ),
    Case(
        "POST",
        WHE + "/messages/{message_id}/replay",
        ACME_WHE + "/messages/{acme_message}/replay",
        {},
    ),
    Case("POST", WHE + "/replay", ACME_WHE + "/replay", REPLAY),
    Case(
        "GET",
        "/webhook-endpoints",
        "/webhook-endpoints",
        status=200,
        code=None,
        note="globex's own endpoints only",
    ),
    Case(
        "GET",
        "/webhook-endpoints",
        "/webhook-endpoints",
        query={"cursor": "{acme_endpoint}"},
        status=400,
        code="invalid_cursor",
        note="acme's endpoint id is not a cursor for globex",
    ),
    Case(
        "POST",
        "/webhook-endpoints",
        "/webhook-endpoints",
        {"url": "https://hooks.globex.test/", "event_types": ["referral.converted"]},
        status=201,
        code=None,
        note="globex gets an endpoint of its own",
    ),
    # Connections: acme's connection and inbox items name nothing for globex.
    Case("GET", CON, "/connections/{acme_connection}"),
    Case("PATCH", CON, "/connections/{acme_connection}", {"active": False}),
    Case("PATCH", CON, "/connections/{acme_connection}", {"secret": "shpss_pwned"}),
    Case("DELETE", CON, "/connections/{acme_connection}"),
    Case("GET", CON + "/inbox", "/connections/{acme_connection}/inbox"),
    Case(
        "POST",
        CON + "/inbox/{item_id}/retry",
        "/connections/{acme_connection}/inbox/{acme_inbox_item}/retry",
        {},
    ),
    Case("GET", "/connections", "/connections", status=200, code=None),
    Case(
        "GET",
        "/connections",
        "/connections",
        query={"cursor": "{acme_connection}"},
        status=400,
        code="invalid_cursor",
        note="acme's connection id is not a cursor for globex",
    ),
    Case(
        "POST",
        "/connections",
        "/connections",
        {"provider": "segment"},
        status=201,
        code=None,
        note="globex gets a connection (and a write key) of its own",
    ),
    # Messaging: acme's message, program and suppressed address name nothing for globex.
    Case("GET", "/messages/{message_id}", "/messages/{acme_mes}"),
    Case("GET", "/messages", "/messages", status=200, code=None, note="globex's own only"),
    Case("GET", "/messages", "/messages", query={"participant": "alice"}, status=200, code=None),
    Case(
        "GET",
        "/messages",
        "/messages",
        query={"referral": "{acme_referral}"},
        status=200,
        code=None,
    ),  # fmt: skip
    Case(
        "GET",
        "/messages",
        "/messages",
        query={"cursor": "{acme_mes}"},
        status=400,
        code="invalid_cursor",
        note="acme's message id is not a cursor for globex",
    ),
    Case("GET", "/messaging", "/messaging", status=200, code=None, note="globex's own settings"),
    Case(
        "PATCH",
        "/messaging",
        "/messaging",
        {"is_active": True, "from_name": "Globex"},
        status=200,
        code=None,
        note="changes globex's own settings only",
    ),
    Case("GET", PRG + "/journeys", "/programs/{acme_program}/journeys"),
    Case(
        "PUT",
        PRG + "/journeys/{journey}",
        "/programs/{acme_program}/journeys/thank_you",
        {"is_active": True},
    ),
    Case("GET", PRG + "/templates", "/programs/{acme_program}/templates"),
    Case("GET", TPL, ACME_TPL),
    Case("PUT", TPL, ACME_TPL, {"subject": "Pwned"}),
    Case("DELETE", TPL, ACME_TPL),
    Case("POST", TPL + "/preview", ACME_TPL + "/preview", {}),
    Case("POST", TPL + "/preview", ACME_TPL + "/preview", {"subject": "{{ advocate.code }}"}),
    Case("GET", "/suppressions", "/suppressions", status=200, code=None, note="globex's own"),
    Case(
        "GET",
        "/suppressions",
        "/suppressions",
        query={"address": "acme-canary@example.org"},
        status=200,
        code=None,
        note="an address acme suppressed is not suppressed in globex",
    ),
    Case(
        "GET",
        "/suppressions",
        "/suppressions",
        query={"cursor": "email:acme-canary@example.org"},
        status=400,
        code="invalid_cursor",
        note="acme's row is not a cursor for globex",
    ),
    Case(
        "POST",
        "/suppressions",
        "/suppressions",
        {"address": "acme-canary@example.org", "reason": "bounced"},
        status=201,
        code=None,
        note="globex's own list gets a row; acme's is untouched",
    ),
    Case(
        "DELETE", "/suppressions/{channel}/{address}", "/suppressions/email/acme-canary@example.org"
    ),
    # Staff notifications: acme's subscription and acme's members name nothing for globex.
    Case("GET", "/staff-notifications/{subscription_id}", "/staff-notifications/{acme_sns}"),
    Case(
        "PATCH",
        "/staff-notifications/{subscription_id}",
        "/staff-notifications/{acme_sns}",
        {"new_referral": False},
    ),
    Case("DELETE", "/staff-notifications/{subscription_id}", "/staff-notifications/{acme_sns}"),
    Case(
        "POST",
        "/staff-notifications/{subscription_id}/test",
        "/staff-notifications/{acme_sns}/test",
    ),
    Case("GET", "/staff-notifications", "/staff-notifications", status=200, code=None),
    Case(
        "GET",
        "/staff-notifications",
        "/staff-notifications",
        query={"cursor": "{acme_sns}"},
        status=400,
        code="invalid_cursor",
        note="acme's subscription id is not a cursor for globex",
    ),
    Case(
        "POST",
        "/staff-notifications",
        "/staff-notifications",
        {"email": "owner@acme.test"},
        status=422,
        code="not_a_member",
        note="acme's owner is no member of globex",
    ),
    # Imports: an upload names no ids; globex's own rows are tested in test_import_export.py
    # (the same file uploaded by both workspaces), here a body without a file does nothing.
    *(
        Case(
            "POST",
            f"/imports/{kind}",
            f"/imports/{kind}",
            {"external_id": "alice"},
            status=422,
            code="validation_error",
            note="a JSON body has no file: nothing is imported",
        )
        for kind in ("participants", "orders")
    ),
    # Refer by name: globex looks acme's advocate up by name, email and code, and finds nothing
    # (the canary check sees that no acme value comes back).
    *(
        Case(
            "GET",
            "/referrers/lookup",
            "/referrers/lookup",
            query={"q": q},
            status=200,
            code=None,
            note="the same empty answer as for a name nobody has",
        )
        for q in ("Alice", "alice@example.com", "{alice_code}")
    ),
    # Workspace: always the caller's own.
    Case("GET", "/workspace", "/workspace", status=200, code=None),
    Case(
        "PATCH",
        "/workspace",
        "/workspace",
        {"name": "Globex Renamed", "allowed_domains": ["globex.test"]},
        status=200,
        code=None,
        note="changes globex's own workspace only",
    ),
]


def test_every_operation_has_a_tenancy_case() -> None:
    """A new endpoint without a TEN-1 case fails here: add one to CASES."""
    schema = api.get_openapi_schema()
    prefix = "/api/v1"
    operations = {
        (method.upper(), path.removeprefix(prefix))
        for path, item in schema["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    covered = {(c.method, c.operation) for c in CASES}
    assert operations - covered == set(), "operations without a TEN-1 case in CASES"
    assert covered - operations == set(), "CASES names operations the API does not have"
    # Every operation that takes an id in its path has at least one 404 case.
    with_ids = {op for op in operations if "{" in op[1]}
    assert with_ids <= {(c.method, c.operation) for c in CASES if c.status == 404}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_other_workspace_gets_404_and_acme_is_unchanged(world: World, case: Case) -> None:
    before_all = row_counts()
    before_acme = row_counts(world.acme.workspace)
    acme_domains = list(Workspace.objects.get(pk=world.acme.workspace.pk).allowed_domains)

    path = fill(case.path, world.ids)
    query = {k: fill(v, world.ids) for k, v in case.query.items()}
    globex = world.globex
    if case.method == "GET":
        response = globex.get(path, **query)
    elif case.method == "POST":
        response = globex.post(path, fill(case.body, world.ids))
    elif case.method == "PATCH":
        response = globex.patch(path, fill(case.body, world.ids))
    elif case.method == "PUT":
        response = globex.put(path, fill(case.body, world.ids))
    elif case.method == "DELETE":
        auth = f"Bearer {globex.key}"
        response = globex.client.delete(f"/api/v1{path}", HTTP_AUTHORIZATION=auth)
    else:
        raise AssertionError(f"no client method for {case.method}")

    assert response.status_code == case.status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    if case.code is not None:
        assert set(body) == {"error"}
        assert body["error"]["code"] == case.code
        assert body["error"]["message"]
    text = response.content.decode()
    sent = json.dumps([path, query, fill(case.body, world.ids)])
    for canary in (c for c in world.canaries if c not in sent):
        assert canary not in text, f"acme's {canary!r} leaked to globex"
    if "data" in body:
        assert all(row.get("id") not in world.canaries for row in body["data"])

    # acme is exactly as it was, as seen through its own API and in its rows.
    assert acme_reads(world) == world.baseline
    assert row_counts(world.acme.workspace) == before_acme
    assert Workspace.objects.get(pk=world.acme.workspace.pk).allowed_domains == acme_domains
    if case.status >= 400:
        assert row_counts() == before_all


def test_lists_show_globex_only_its_own_rows(world: World) -> None:
    globex = world.globex
    programs = globex.get("/programs").json()
    assert [p["id"] for p in programs["data"]] == [world.ids["globex_program"]]
    assert programs["next_cursor"] is None
    assert globex.get("/referrals").json() == {"data": [], "next_cursor": None}
    assert globex.get("/rewards").json() == {"data": [], "next_cursor": None}
    # acme sees its own rows in the same lists, so the emptiness above is not vacuous.
    assert [p["id"] for p in world.acme.get("/programs").json()["data"]] == [
        world.ids["acme_program"]
    ]
    assert len(world.acme.get("/referrals").json()["data"]) == 1
    assert len(world.acme.get("/rewards").json()["data"]) == 3  # with the mug granted by hand
    assert globex.get("/fulfilments").json() == {"data": [], "next_cursor": None}
    assert len(world.acme.get("/fulfilments").json()["data"]) == 1


def test_globex_participant_named_alice_is_its_own(world: World) -> None:
    r = world.globex.post("/participants", {"external_id": "alice", "email": "a@globex.test"})
    assert r.status_code == 201
    assert world.globex.get("/participants/alice").json()["email"] == "a@globex.test"
    acme_alice = world.acme.get("/participants/alice").json()
    assert acme_alice["email"] == "alice@example.com"
    assert [a["code"] for a in acme_alice["advocates"]] == [world.ids["alice_code"]]
    # Balances and redemptions stay apart too.
    assert world.globex.get("/participants/alice/balance").json()["balances"] == []
    r = world.globex.post("/participants/alice/redemptions", REDEEM)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "insufficient_balance"


# 401: every operation refuses a request without a live key before it looks at anything.


def _operations() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in HTTP_METHODS
    )


def _call(client: Client, method: str, path: str, **headers: str) -> Any:
    concrete = (
        path.replace("{program_id}", "prg_x")
        .replace("{external_id}", "alice")
        .replace("{referral_id}", "ref_x")
        .replace("{reward_id}", "rwd_x")
        .replace("{fulfilment_id}", "ful_x")
        .replace("{batch_id}", "pob_x")
        .replace("{payout_id}", "pay_x")
        .replace("{pool_id}", "cpl_x")
        .replace("{goal_id}", "goal_x")
        .replace("{endpoint_id}", "whe_x")
        .replace("{message_id}", "msg_x")
        .replace("{connection_id}", "con_x")
        .replace("{item_id}", "inb_x")
        .replace("{journey}", "thank_you")
        .replace("{language}", "en")
        .replace("{channel}", "email")
        .replace("{address}", "a@example.com")
        .replace("{subscription_id}", "sns_x")
        .replace("{key}", "portal_intro")
    )
    assert "{" not in concrete, f"fill in the path parameter of {path}"
    body = json.dumps({"name": "x"})
    if method == "GET":
        return client.get(concrete, **headers)
    return client.generic(method, concrete, body, content_type="application/json", **headers)


@pytest.mark.parametrize(("method", "path"), _operations())
def test_every_operation_needs_a_live_key(db: None, method: str, path: str) -> None:
    acme = make_api("Acme")
    revoked, revoked_raw = create_api_key(workspace=acme.workspace, name="old")
    assert revoke_api_key(key=revoked)
    before = row_counts()
    client = Client()
    for headers in (
        {},
        {"HTTP_AUTHORIZATION": f"Bearer {revoked_raw}"},
        {"HTTP_AUTHORIZATION": "Bearer "},
    ):
        response = _call(client, method, path, **headers)
        assert response.status_code == 401, (headers, response.content)
        assert response.json()["error"]["code"] == "unauthorized"
        assert "Authorization: Bearer" in response.json()["error"]["message"]
    assert row_counts() == before
    assert ApiKey.objects.get(pk=revoked.pk).last_used_at is None
