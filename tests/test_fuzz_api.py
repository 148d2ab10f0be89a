"""SEC-10: fuzz the API from its own OpenAPI schema with Schemathesis, as acme and as globex.

As acme, the owner: no 5xx, every status documented, every body as the schema says. As globex
with acme's real ids in every path: never a 2xx, nothing of acme's in any answer, and acme's
rows unchanged.

Requests go in-process to the whole WSGI app (`goodword.wsgi.application`, the one `goodword
serve` runs, events fast path included) and reach pytest-django's test database. Each operation
gets its own copy of one world (acme's whole referral story) and its examples build on each
other's writes, as a client's requests would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from goodword.wsgi import application
from tests.factories import Api, make_history
from tests.shared import kept_for_module, row_counts

pytestmark = pytest.mark.long

# Per operation and pass, on top of Schemathesis's deterministic coverage cases: the module
# takes about a minute on 2 cores (less on SQLite, a little more on PostgreSQL).
MAX_EXAMPLES = 100

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class World:
    acme: Api
    globex: Api
    # acme's real values, by the name of the path or query parameter that takes them.
    ids: dict[str, list[str]]
    # Strings only acme's data holds: none may appear in what globex is answered.
    canaries: list[str]


def build_world() -> World:
    """acme with one whole referral story (click to redemption); globex with a program."""
    h = make_history()
    acme, globex, program, alice = h.acme, h.globex, h.program, h.alice
    referral, rewards = h.referral_id, h.reward_ids
    redemption, invite = h.redemption, h.invite
    ids = {
        "program_id": [program["id"]],
        "external_id": ["alice", "bob"],
        "referral_id": [referral],
        "reward_id": list(rewards),
        "program": [program["id"]],
        "advocate": ["alice"],
        "referee": ["bob"],
        "participant": ["alice", "bob"],
        "referral": [referral],
        "cursor": [program["id"], referral, *rewards],
        "referral_code": [alice["code"]],
        **later_kinds(acme),
        **messaging_kinds(acme, program["id"]),
    }
    canaries = [
        program["id"],
        alice["id"],
        alice["code"],
        referral,
        *rewards,
        redemption["id"],
        invite["id"],
        acme.workspace.public_id,
        "alice@example.com",
        "bob@example.net",
        "carol@example.net",
        "shop.acme.test",
        "acme-order-7",
        "acme-fuzz@example.org",
        "Acme fuzz subject",
    ]
    return World(acme=acme, globex=globex, ids=ids, canaries=canaries)


def later_kinds(acme: Api) -> dict[str, list[str]]:
    """acme's coupon pool, a fulfilment waiting in the queue, and a payout batch approved for
    a cash reward, by their path parameters."""
    pool = acme.post("/coupon-pools", {"name": "Fuzz pool", "low_threshold": 1}).json()["id"]
    acme.post(f"/coupon-pools/{pool}/codes", {"codes": ["FUZZ-1", "FUZZ-2"]})
    product = {"kind": "product", "sku": "SOCK-1", "reason": "fuzz"}
    assert acme.post("/participants/alice/rewards", product).status_code == 201
    fulfilment = acme.get("/fulfilments").json()["data"][0]["id"]
    cash = {"kind": "cash", "amount": 2500, "currency": "USD", "reason": "fuzz"}
    assert acme.post("/participants/bob/rewards", cash).status_code == 201
    batch = acme.post("/payout-batches", {"currency": "USD", "min_amount": 0}).json()
    assert acme.post(f"/payout-batches/{batch['id']}/approve", {}).status_code == 200
    goal = {"name": "Fuzz goal", "metric": "referrals", "target": 10, "period": "this_year"}
    goal_id = acme.post("/goals", goal).json()["id"]
    return {
        "goal_id": [goal_id],
        "pool_id": [pool],
        "fulfilment_id": [fulfilment],
        "batch_id": [batch["id"]],
        "payout_id": [p["id"] for p in batch["payouts"]],
    }


def messaging_kinds(acme: Api, program_id: str) -> dict[str, list[str]]:
    """acme's own wording of a journey, a suppressed address and a message to alice, by the
    path parameters that name them."""
    from goodword.messaging.models import Message
    from goodword.participants.models import Participant

    wording = {"subject": "Acme fuzz subject", "sms": "{{ advocate.code }}"}
    template = f"/programs/{program_id}/templates/referral_request/en"
    assert acme.put(template, wording).status_code == 200
    assert acme.post("/suppressions", {"address": "acme-fuzz@example.org"}).status_code == 201
    message = Message.objects.create(
        workspace=acme.workspace,
        participant=Participant.objects.get(workspace=acme.workspace, external_id="alice"),
        journey="referral_request",
        cause="referral_request:fuzz",
        subject="Acme fuzz subject",
        created_at=datetime.now(UTC),
    )
    staff = acme.post("/staff-notifications", {"email": "owner@acme.test"})
    assert staff.status_code == 201, staff.content
    words = {"source": "Acme fuzz words {{ advocate.code }}"}
    page_text = acme.put(f"/programs/{program_id}/page-texts/portal_intro?language=it", words)
    assert page_text.status_code == 200, page_text.content
    return {
        "key": ["portal_intro", "share_message"],
        "subscription_id": [staff.json()["id"]],
        "message_id": [message.public_id],
        "journey": ["referral_request", "thank_you"],
        "language": ["en", "it"],
        "channel": ["email"],
        "address": ["acme-fuzz@example.org"],
    }


# acme's real values once the module's world is built. The schema and its strategies are made
# at collection, before any world: the generators read this when they draw.
ACME_IDS: dict[str, list[str]] = {}


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    with kept_for_module(django_db_blocker):
        world = build_world()
        ACME_IDS.update(world.ids)
        yield world
        ACME_IDS.clear()


@pytest.fixture
def world(fuzz_world: World, db: None) -> Iterator[World]:
    # Django's WSGI handler closes the connection as each request starts and ends, as it should
    # under a real server; here that would end the test's transaction (its test client, too,
    # disconnects these while it calls the app).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield fuzz_world
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _acme_value(name: str) -> Any:
    return st.deferred(lambda: st.sampled_from(ACME_IDS[name]))


def _mostly(chosen: Any, generated: Any) -> Any:
    """Two draws in three from `chosen`, and shrink towards it: generated ids find only 404s,
    generated currencies only 422s (the coverage phase sends enough of those)."""
    return st.sampled_from([True, True, False]).flatmap(lambda c: chosen if c else generated)


# Mixed into generated bodies by field name: values the server accepts beyond what the schema
# says (ISO currencies, allowed domains, e-mail addresses, existing ids), so that requests get
# past validation, and edge values a generator rarely draws.
PLAUSIBLE: dict[str, Any] = {
    "currency": st.sampled_from(["USD", "EUR", "JPY"]),
    "destination_url": st.sampled_from(["https://shop.acme.test/welcome", "https://acme.test/"]),
    "email": st.sampled_from(["dan@example.org", "Erin@Example.org "]),
    "external_id": st.sampled_from(["alice", "bob", "dan", "a/b"]),
    "advocate": st.sampled_from(["alice", "bob"]),
    "id": st.sampled_from(["s-bob", "p-bob", "order-1", "e-1"]),
    "order_id": st.sampled_from(["acme-order-7", "o-1"]),
    "amount": st.integers(1, 5000),
    "referral_code": _acme_value("referral_code"),
    "allowed_domains": st.just(["acme.test", "shop.acme.test"]),
    # Valid JSON and valid per the schema: offsets past PostgreSQL's +-15:59, instants whose
    # UTC falls outside years 1-9999, a lone surrogate and a 2**64 integer in free-form
    # attributes. (Not NaN: Schemathesis cannot report a case whose body holds one.)
    "occurred_at": st.sampled_from(
        ["2024-05-01T12:00:00+16:00", "9999-12-31T23:00:00-14:00", "0001-01-01T01:00:00+14:00"]
    ),
    "attributes": st.sampled_from([{"\udc00": 1}, {"n": 2**64}, {"tier": "gold"}]),
}


def _plausible(value: Any, key: str | None = None) -> Any:
    """The generated value, or one with some fields, at any depth, swapped for plausible ones."""
    if isinstance(value, dict):
        inner = st.fixed_dictionaries({k: _plausible(v, k) for k, v in value.items()})
    elif isinstance(value, list):
        inner = st.tuples(*(_plausible(v) for v in value)).map(list)
    else:
        inner = st.just(value)
    return _mostly(PLAUSIBLE[key], inner) if key in PLAUSIBLE else inner


def _with_acme_ids(values: Any) -> Any:
    """The generated parameters, or those with some swapped for acme's real ids, so that
    requests reach acme's objects and not only 404s."""
    names = [n for n in values if n in ACME_IDS] if isinstance(values, dict) else []
    if not names:
        return st.just(values)
    swapped = {name: _mostly(_acme_value(name), st.just(values[name])) for name in names}
    return st.fixed_dictionaries(swapped).map(lambda got: {**values, **got})


# The schema the app serves, read once at collection (no database needed). The key goes in
# every request's headers, not through the schema's security parameters: with those,
# Schemathesis sends half its negative cases without a key, testing only the 401.
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json",
    application,
    config=schemathesis.Config.from_dict(
        {
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "database": "none",
                "with-security-parameters": False,
            }
        }
    ),
)


@schema.hook("flatmap_path_parameters")
def _acme_path(ctx: Any, path_parameters: Any) -> Any:
    return _with_acme_ids(path_parameters)


@schema.hook("flatmap_query")
def _acme_query(ctx: Any, query: Any) -> Any:
    return _with_acme_ids(query)


@schema.hook("flatmap_body")
def _plausible_body(ctx: Any, body: Any) -> Any:
    return _plausible(body)


def acme_path(case: schemathesis.Case, world: World, i: int = 0) -> dict[str, str]:
    """The case's path parameters, each set to the i-th of acme's real values for it."""
    names = list(case.path_parameters or {})
    missing = [name for name in names if name not in world.ids]
    assert not missing, f"no acme value for path parameters {missing}: add them to the world"
    return {name: world.ids[name][i % len(world.ids[name])] for name in names}


def call(case: schemathesis.Case, api: Api, checks: list[Any]) -> None:
    """Send the case with the workspace's key and run the checks on the answer.

    In a savepoint, as a server runs each request in a transaction of its own: a request that
    fails in the database leaves the next one a usable connection.
    """
    with transaction.atomic():
        case.call_and_validate(headers={"Authorization": f"Bearer {api.key}"}, checks=checks)


# The world is per operation, not per example, on purpose (see the module docstring). Requests
# hit the database: no per-example deadline.
FUZZ = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


@schema.parametrize()
@FUZZ
def test_owner_gets_no_server_error_and_answers_match_the_schema(
    case: schemathesis.Case, world: World
) -> None:
    call(case, world.acme, CHECKS)
    # Coverage cases (the deterministic edge cases) are made at collection, before acme exists,
    # so their ids find only 404s: send each again with acme's ids, to reach a real object.
    if case.path_parameters and case.meta is not None and case.meta.phase.name == "coverage":
        case.path_parameters = acme_path(case, world)
        call(case, world.acme, CHECKS)


@pytest.fixture
def sent() -> list[str]:
    """Everything globex has sent so far in this operation's examples."""
    return []


@schema.parametrize()
@FUZZ
def test_other_workspace_never_gets_2xx_on_acme_ids(
    case: schemathesis.Case, world: World, sent: list[str]
) -> None:
    names = list(case.path_parameters or {})
    before = row_counts(world.acme.workspace)

    def no_2xx_on_acme_ids(ctx: Any, response: schemathesis.Response, case: Any) -> None:
        assert not (names and 200 <= response.status_code < 300), (
            f"globex got {response.status_code} on acme's {case.path_parameters}"
        )

    def no_acme_data(ctx: Any, response: schemathesis.Response, case: Any) -> None:
        # What globex sent itself, now or earlier (acme's ids in the path, a domain it allowed
        # itself), may come back.
        leaked = [c for c in world.canaries if c in response.text and not any(c in s for s in sent)]
        assert not leaked, f"globex was answered acme's data: {leaked}"

    # Each of acme's values in turn, whatever was drawn for the path.
    rounds = max((len(world.ids[name]) for name in names if name in world.ids), default=1)
    for i in range(rounds):
        case.path_parameters = acme_path(case, world, i)
        sent.append(json.dumps([case.path_parameters, case.query, case.body], default=str))
        call(case, world.globex, [*CHECKS, no_2xx_on_acme_ids, no_acme_data])
    assert row_counts(world.acme.workspace) == before, "globex changed acme's rows"
