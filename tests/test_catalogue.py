"""The domain-event catalogue: names, payload schemas, account events and docs/events.md."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import transaction

from goodword.accounts import team
from goodword.accounts.models import ApiKey, Membership
from goodword.accounts.services import create_api_key, revoke_api_key, update_workspace
from goodword.events import catalogue
from goodword.events import services as events
from goodword.events.models import DomainEvent
from goodword.participants.models import Participant
from goodword.rewards import expiry
from goodword.rewards.models import Reward
from goodword.rewards.services import approve_due_rewards
from tests.factories import Api, enrol, make_api, make_program, purchase, refund, signup

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "events.md"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Recorded only when a late event changes a decision in business time; the loops here send
# events in order.
LATE_EVENT_NAMES = {"referral.withdrawn", "reward.withdrawn", "referral.revised", "reward.revised"}


# Every domain event written must match its name's schema.
pytestmark = pytest.mark.usefixtures("rows_match_the_catalogue")


def recorded(workspace_id: int, *names: str) -> list[tuple[str, str, dict[str, Any]]]:
    rows = DomainEvent.objects.filter(workspace_id=workspace_id, name__in=names).order_by("pk")
    return [(e.name, e.subject_id, e.data) for e in rows]


# The code names an event as the first argument of a record function (`events.record("x.y"`,
# `_record("x.y"`, `self._record_reward("x.y"`), or, when it picks one in an expression, as a
# string literal starting with a catalogued noun (`"referral.revised"`).
_RECORD_CALL = re.compile(r'\b_?record\w*\(\s*"([^"]+)"')
_NOUNS = "|".join(sorted({name.split(".")[0] for name in catalogue.CATALOGUE}))
_EVENT_LITERAL = re.compile(rf'"((?:{_NOUNS})\.[a-z_]+)"')


def test_every_event_named_in_the_code_is_catalogued_and_the_reverse() -> None:
    names = set()
    for path in (ROOT / "goodword").rglob("*.py"):
        # The dashboard records no domain events itself (its services do); its strings such as
        # "reward.approve" name audit-log actions.
        if path.name != "catalogue.py" and "dashboard" not in path.parts:
            text = path.read_text()
            names |= {m[1] for m in _RECORD_CALL.finditer(text)}
            names |= {m[1] for m in _EVENT_LITERAL.finditer(text)}
    assert names - set(catalogue.CATALOGUE) == set()
    assert set(catalogue.CATALOGUE) - names == set(), "catalogued, but nothing records it"


def test_an_unknown_name_is_refused_and_nothing_is_written(db: None) -> None:
    acme = make_api("Acme")
    before = DomainEvent.objects.count()
    with (
        transaction.atomic(),
        pytest.raises(catalogue.UnknownEvent, match="'referral.exploded'"),
    ):
        events.record("referral.exploded", workspace_id=acme.workspace.pk, subject_id="ref_x")
    assert DomainEvent.objects.count() == before


def test_validate_names_the_problem() -> None:
    ref = "ref_7c0v9k3n6b1zt4xq8m2d"
    payload = catalogue.validate("reward.created", {"referral": ref, "beneficiary": "friend"})
    assert payload == catalogue.RewardCreated(referral=ref, beneficiary="friend")
    with pytest.raises(catalogue.UnknownEvent):
        catalogue.validate("reward.exploded", {})
    bad: list[tuple[dict[str, Any], str]] = [
        ({"referral": ref}, "reward.created v1: beneficiary: Field required"),
        ({"referral": ref, "beneficiary": "bob"}, "beneficiary: Input should be 'advocate'"),
        ({"referral": "adv_1", "beneficiary": "friend"}, "referral: String should match"),
        ({"referral": ref, "beneficiary": "friend", "x": 1}, "x: Extra inputs are not permitted"),
    ]
    for data, message in bad:
        with pytest.raises(catalogue.InvalidPayload, match=re.escape(message)):
            catalogue.validate("reward.created", data)
    # Values are not coerced: a string is not an amount.
    with pytest.raises(catalogue.InvalidPayload, match="amount: Input should be a valid int"):
        catalogue.validate(
            "credit.redeemed", {"participant": "par_1", "amount": "300", "currency": "USD"}
        )
    with pytest.raises(catalogue.InvalidPayload, match="'rwd_1' is not a ref_ id"):
        catalogue.validate("referral.rewarded", {}, subject_id="rwd_1")


def test_every_entry_has_a_known_subject_and_a_valid_example() -> None:
    for event in catalogue.EVENTS:
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+", event.name)
        assert event.subject in catalogue.SUBJECTS
        assert event.version == 1
        assert event.description.endswith(".")
        catalogue.validate(event.name, event.example)
    assert len(catalogue.CATALOGUE) == len(catalogue.EVENTS)


def test_creating_a_workspace_records_it_its_owner_and_its_key(db: None) -> None:
    acme = make_api("Acme")
    ws = acme.workspace
    key = ApiKey.objects.get(workspace=ws)
    assert recorded(ws.pk, "workspace.created", "member.added", "api_key.created") == [
        ("workspace.created", ws.public_id, {"name": "Acme"}),
        ("member.added", ws.public_id, {"user": "owner@acme.test", "role": "owner"}),
        ("api_key.created", key.public_id, {"name": "default", "prefix": acme.key[:12]}),
    ]


def test_key_created_and_revoked_are_recorded_once(db: None) -> None:
    acme, globex = make_api("Acme"), make_api("Globex")
    ws = acme.workspace
    with time_machine.travel(T0, tick=False):
        key, raw = create_api_key(workspace=ws, name="ci")
    assert revoke_api_key(key=key, now=T0 + timedelta(hours=1))
    assert not revoke_api_key(key=key, now=T0 + timedelta(hours=2))
    data = {"name": "ci", "prefix": raw[:12]}
    rows = DomainEvent.objects.filter(subject_id=key.public_id).order_by("pk")
    assert [(e.name, e.data, e.created_at, e.workspace_id) for e in rows] == [
        ("api_key.created", data, T0, ws.pk),
        ("api_key.revoked", data, T0 + timedelta(hours=1), ws.pk),
    ]
    globex_key = ApiKey.objects.get(workspace=globex.workspace)
    assert [
        s for _, s, _ in recorded(globex.workspace.pk, "api_key.created", "api_key.revoked")
    ] == [globex_key.public_id]


def test_workspace_update_is_recorded_by_the_service_only_when_something_changed(
    db: None,
) -> None:
    acme = make_api("Acme")
    ws = acme.workspace
    assert acme.patch("/workspace", {"name": "Acme Inc"}).status_code == 200
    assert acme.patch("/workspace", {"name": "Acme Inc"}).status_code == 200  # no change
    update_workspace(workspace_id=ws.pk, name="Acme Inc", allowed_domains=["acme.test"])
    assert recorded(ws.pk, "workspace.updated") == [
        ("workspace.updated", ws.public_id, {"fields": ["name"]}),
        ("workspace.updated", ws.public_id, {"fields": ["allowed_domains"]}),
    ]
    # A program's destination allows its host quietly: program.created is the record of it.
    make_program(acme, destination_url="https://shop.acme.test/")
    assert len(recorded(ws.pk, "workspace.updated")) == 2


def _team(acme: Api) -> None:
    """An invitation accepted, its member promoted and removed; another invitation revoked."""
    by = Membership.objects.get(workspace=acme.workspace, role="owner")
    _, token = team.invite_member(email="ann@acme.test", role="analyst", by=by)
    member, _, _ = team.accept_invitation(token=token, password="a long passphrase 42")
    team.change_role(member=member, role="admin", by=by)
    team.remove_member(member=member, by=by)
    invitation, _ = team.invite_member(email="cy@acme.test", role="analyst", by=by)
    team.revoke_invitation(invitation=invitation, by=by)


def _messaging(acme: Api, program_id: str) -> None:
    """Messaging turned on, a journey set, a template saved and deleted
    (tests/test_messaging_api.py in detail)."""
    assert acme.patch("/messaging", {"is_active": True}).status_code == 200
    journey = f"/programs/{program_id}/journeys/referral_request"
    assert acme.put(journey, {"delay_days": 3}).status_code == 200
    template = f"/programs/{program_id}/templates/thank_you/en"
    assert acme.put(template, {"subject": "Thank you!"}).status_code == 200
    auth = f"Bearer {acme.key}"
    assert acme.client.delete(f"/api/v1{template}", HTTP_AUTHORIZATION=auth).status_code == 204


def _import(acme: Api) -> None:
    """A participants file imported: its `import.completed` (no event per row)."""
    from io import BytesIO

    from goodword.imports import runs

    stream = BytesIO(b"external_id,email\r\nimp-1,imp-1@example.com\r\n")
    runs.run(workspace=acme.workspace, kind="participants", stream=stream,
             file_name="people.csv", errors=runs.ErrorList())  # fmt: skip


def _webhooks(acme: Api) -> None:
    """An endpoint's life: created, changed, its secret rotated, turned off by a 410, deleted."""
    from goodword.webhooks import dispatch
    from goodword.webhooks import services as webhooks
    from tests.receiver import Receiver

    with Receiver() as receiver:
        receiver.respond(status=410)
        endpoint = webhooks.create_endpoint(
            workspace=acme.workspace, url=receiver.url, event_types=["reward.approved"]
        )
        endpoint = webhooks.update_endpoint(endpoint=endpoint, description="CRM")
        webhooks.rotate_secret(endpoint=endpoint)
        webhooks.send_test(endpoint=endpoint)
        assert dispatch.deliver_due() == 1
    webhooks.delete_endpoint(endpoint=endpoint)


@pytest.mark.usefixtures("outbound_loopback")
def test_a_whole_referral_loop_writes_only_catalogued_payloads(db: None) -> None:
    """Signup with a code, purchase, approval, redemption, refund, and the paths around them.

    The autouse fixture checks every row; this test checks the loop reached every event.
    """
    acme = make_api("Acme")
    program = make_program(acme)
    alice = enrol(acme, program["id"], "alice", name="Alice")
    segment = {"external_id": "alice", "attributes": {"segment": "vip"}}
    assert acme.post("/participants", segment).status_code == 200
    acme.event(signup("s-bob", "bob", referral_code=alice["code"]))
    acme.event(purchase("p-bob", "bob", "order-1", 2500))
    assert approve_due_rewards(now=datetime.now(UTC) + timedelta(days=15)) == 2
    assert (
        acme.post(
            "/participants/bob/redemptions", {"order_id": "o-2", "amount": 300, "currency": "USD"}
        ).json()["amount"]
        == 300
    )
    assert acme.event(refund("r-bob", "bob", "order-1")).json()["referrals"][0]["status"] == (
        "reversed"
    )
    self_referral = {
        **signup("s-alice", "alice-2"),
        "customer": {"external_id": "alice-2", "email": "alice@example.com"},
        "referral_code": alice["code"],
    }
    assert acme.event(self_referral).json()["referrals"][0]["reject_reason"] == "self_referral"
    acme.post(f"/programs/{program['id']}/invites", {"advocate": "alice", "email": "c@x.net"})
    _coupon_loop(acme)
    _coupon_pool(acme)
    _partial_refund(acme)
    _tiers(acme)
    _manual_actions(acme)
    _credit_expiry(acme)
    _fulfilment_and_choice(acme)
    _payouts(acme)
    _later_occasions(acme)
    _messaging(acme, program["id"])
    assert acme.patch(f"/programs/{program['id']}", {"status": "paused"}).status_code == 200
    _team(acme)
    assert acme.patch("/workspace", {"name": "Acme Inc"}).status_code == 200
    revoke_api_key(key=ApiKey.objects.get(workspace=acme.workspace))
    _webhooks(acme)
    _import(acme)

    names = set(DomainEvent.objects.values_list("name", flat=True))
    assert names == set(catalogue.CATALOGUE) - LATE_EVENT_NAMES
    converted = DomainEvent.objects.filter(name="referral.converted").order_by("pk")[0]
    assert {k: v for k, v in converted.data.items() if k != "program"} == {
        "order_id": "order-1",
        "amount": 2500,
        "currency": "USD",
    }


def _coupon_loop(acme: Api) -> None:
    """A coupon for the friend: fulfilled on approval, reversed from `fulfilled` on refund."""
    coupon = make_program(
        acme,
        name="Coupons",
        rewards=[{"beneficiary": "friend", "kind": "coupon", "percent_off": 15}],
    )
    dave = enrol(acme, coupon["id"], "dave")
    assert acme.patch(f"/programs/{coupon['id']}", {"name": "15% off"}).status_code == 200
    acme.event(signup("s-erin", "erin", referral_code=dave["code"]))
    acme.event(purchase("p-erin", "erin", "order-e", 2500))
    approve_due_rewards(now=datetime.now(UTC) + timedelta(days=15))
    acme.event(refund("r-erin", "erin", "order-e"))


def _coupon_pool(acme: Api) -> None:
    """Coupons drawn from a pool of one code: the first takes it (coupon_pool.low), the second
    waits (coupon_pool.empty) until an upload fills it (tests/test_coupons.py in detail)."""
    pool = acme.post("/coupon-pools", {"name": "Spring", "low_threshold": 0}).json()["id"]
    assert acme.patch(f"/coupon-pools/{pool}", {"low_threshold": 1}).status_code == 200
    assert acme.post(f"/coupon-pools/{pool}/codes", {"codes": ["SPRING-1"]}).status_code == 200
    rule = {"beneficiary": "friend", "kind": "coupon", "percent_off": 10, "coupon": {"pool": pool}}
    program = make_program(acme, name="Pool", rewards=[rule])
    uma = enrol(acme, program["id"], "uma")
    for friend in ("vic", "wes"):
        body = purchase(f"p-{friend}", friend, f"order-{friend}", 2500, referral_code=uma["code"])
        (reward,) = acme.event(body).json()["rewards"]
        assert acme.post(f"/rewards/{reward['id']}/approve", {}).status_code == 200
    filled = acme.post(f"/coupon-pools/{pool}/codes", {"codes": ["SPRING-2"]}).json()["filled"]
    assert filled == 1


def _partial_refund(acme: Api) -> None:
    """A commission in its hold shrinks with a partial refund (reward.adjusted)."""
    commission = make_program(
        acme,
        name="Commission",
        rewards=[
            {"beneficiary": "advocate", "kind": "credit", "percent_of_order": 10,
             "refund_policy": "proportional"},
        ],
    )  # fmt: skip
    gina = enrol(acme, commission["id"], "gina")
    acme.event(signup("s-hal", "hal", referral_code=gina["code"]))
    acme.event(purchase("p-hal", "hal", "order-h", 4000))
    partial = {**refund("r-hal", "hal", "order-h"), "order": {"id": "order-h", "amount": 1000}}
    assert acme.event(partial).status_code == 201


def _tiers(acme: Api) -> None:
    """An advocate's first conversion lifts them from Member to Silver (advocate.promoted); the
    program runs an experiment (experiment.assigned)."""
    tiers = {"levels": [{"name": "Member", "min": 0}, {"name": "Silver", "min": 1}]}
    experiment = {
        "name": "Test",
        "variants": [{"name": "A", "weight": 1}, {"name": "B", "weight": 1}],
    }  # noqa: E501
    program = make_program(acme, name="Tiers", tiers=tiers, experiment=experiment)
    ivan = enrol(acme, program["id"], "ivan")
    acme.event(signup("s-jo", "jo", referral_code=ivan["code"]))
    acme.event(purchase("p-jo", "jo", "order-j", 2500))


def _manual_actions(acme: Api) -> None:
    """Each manual action once (tests/test_reward_actions.py checks them in detail)."""
    program = make_program(acme, name="Manual", hold_days=30)
    frank = enrol(acme, program["id"], "frank")
    acme.event(purchase("p-gus", "gus", "order-g", 2500, referral_code=frank["code"]))
    held = acme.get("/rewards", participant="gus").json()["data"][0]["id"]
    paid = acme.get("/rewards", participant="frank").json()["data"][0]["id"]
    reason = {"reason": "by hand"}
    assert acme.post(f"/rewards/{held}/reject", reason).status_code == 200
    assert acme.post(f"/rewards/{paid}/approve", {}).status_code == 200
    assert acme.post(f"/rewards/{paid}/fulfil", {"reference": "payout-1"}).status_code == 200
    assert acme.post(f"/rewards/{paid}/reverse", reason).status_code == 200
    grant = {"kind": "credit", "amount": 500, "currency": "USD", **reason}
    assert acme.post("/participants/gus/rewards", grant).status_code == 201
    adjust = {"amount": -200, "currency": "USD", **reason}
    assert acme.post("/participants/gus/credit-adjustments", adjust).status_code == 201


def _later_occasions(acme: Api) -> None:
    """A friend's coupon used on another customer's order (coupon.used; it attributes them),
    and a commission on a subscription payment after the conversion."""
    rules = [
        {"beneficiary": "friend", "kind": "coupon", "amount": 500},
        {"beneficiary": "advocate", "kind": "cash", "percent_of_order": 10,
         "trigger": "subscription_payment"},
    ]  # fmt: skip
    program = make_program(
        acme, name="Later", rewards=rules, trigger={"event": "signup"}, hold_days=0
    )
    max_ = enrol(acme, program["id"], "max")
    acme.event(signup("s-nia", "nia", referral_code=max_["code"]))
    approve_due_rewards(now=datetime.now(UTC))
    code = acme.get("/rewards", participant="nia").json()["data"][0]["coupon_code"]
    order = {"id": "order-o", "amount": 3000, "currency": "USD", "coupons": [code]}
    assert (
        acme.event({**purchase("p-oz", "oz", "order-o", 3000), "order": order}).status_code == 201
    )
    payment = {**purchase("sp-nia", "nia", "inv-1", 2000), "type": "subscription_payment"}
    assert acme.event(payment).json()["rewards"][0]["amount"] == 200


def _payouts(acme: Api) -> None:
    """Cash for two advocates, batched and approved; one payout paid, one failed (the batch
    closes); the failed cash in a new batch, cancelled (tests/test_payouts.py in detail)."""
    cash = {"beneficiary": "advocate", "kind": "cash", "amount": 1500}
    program = make_program(acme, name="Cash", rewards=[cash])
    for who in ("olga", "piet"):
        code = enrol(acme, program["id"], who)["code"]
        acme.event(purchase(f"p-{who}", f"{who}-friend", f"order-{who}", 2500, referral_code=code))
    approve_due_rewards(now=datetime.now(UTC) + timedelta(days=15))
    batch = acme.post("/payout-batches", {"currency": "USD", "min_amount": 1500}).json()
    paid, failed = acme.post(f"/payout-batches/{batch['id']}/approve", {}).json()["payouts"]
    assert acme.post(f"/payouts/{paid['id']}/paid", {"reference": "PP-1"}).status_code == 200
    assert acme.post(f"/payouts/{failed['id']}/failed", {"reason": "bounced"}).status_code == 200
    again = acme.post("/payout-batches", {"currency": "USD", "min_amount": 1500}).json()
    assert acme.post(f"/payout-batches/{again['id']}/cancel", {}).status_code == 200


def _credit_expiry(acme: Api) -> None:
    """Credit that expires 30 days after approval: announced 7 days before, then expired."""
    rule = {"beneficiary": "advocate", "kind": "credit", "amount": 1000, "expires_days": 30,
            "expiry_notice_days": 7}  # fmt: skip
    program = make_program(acme, name="Expiring", rewards=[rule])
    kim = enrol(acme, program["id"], "kim")
    acme.event(purchase("p-lee", "lee", "order-l", 2500, referral_code=kim["code"]))
    approved = datetime.now(UTC) + timedelta(days=15)
    approve_due_rewards(now=approved)  # the earlier steps' held rewards too
    assert expiry.announce_expiring_credit(now=approved + timedelta(days=23)) == 1
    assert expiry.expire_due_credit(now=approved + timedelta(days=30)) == 1


def _fulfilment_and_choice(acme: Api) -> None:
    """The friend chooses a gift card over credit; approval queues it and the advocate's free
    mug; the mug is delivered; a refund cancels the card still to deliver (tests/
    test_fulfilment.py and tests/test_choice.py in detail)."""
    offers = [{"kind": "gift_card", "amount": 2000}]
    rules = [
        {"beneficiary": "advocate", "kind": "product", "sku": "MUG"},
        {"beneficiary": "friend", "kind": "credit", "amount": 500, "choices": offers},
    ]
    program = make_program(acme, name="Queue", rewards=rules)
    quinn = enrol(acme, program["id"], "quinn")
    acme.event(purchase("p-rae", "rae", "order-r", 2500, referral_code=quinn["code"]))
    # The ingestion engine does not copy a rule's choices to its rewards yet: as it will.
    rae = Reward.objects.get(participant__external_id="rae", workspace=acme.workspace)
    assert rae.rule is not None
    rae.choices, rae.choose_by = rae.rule.choices, rae.created_at + timedelta(days=14)
    rae.save(update_fields=["choices", "choose_by"])
    assert acme.post(f"/rewards/{rae.public_id}/choose", {"kind": "gift_card"}).status_code == 200
    approve_due_rewards(now=datetime.now(UTC) + timedelta(days=15))
    mug = acme.get("/fulfilments", kind="product").json()["data"][0]["id"]
    assert acme.post(f"/fulfilments/{mug}/done", {"reference": "SHOP-1"}).status_code == 200
    acme.event(refund("r-rae", "rae", "order-r"))
    assert acme.get("/fulfilments", status="cancelled").json()["data"][0]["kind"] == "gift_card"


def test_the_envelope_is_what_consumers_get(db: None) -> None:
    acme = make_api("Acme")
    event = DomainEvent.objects.get(name="workspace.created", workspace=acme.workspace)
    event.created_at = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    assert event.envelope() == {
        "id": event.public_id,
        "name": "workspace.created",
        "version": 1,
        "subject": acme.workspace.public_id,
        "created_at": "2026-03-04T09:00:00Z",
        "data": {"name": "Acme"},
    }


# docs/events.md: the reference section is generated from the catalogue.

_START, _END = "<!-- catalogue:start -->", "<!-- catalogue:end -->"
_ID_PATTERN = re.compile(r"\^(\w+)_\[0-9a-z\]\+\$")


def _type(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return " or ".join(_type(option) for option in schema["anyOf"])
    if "enum" in schema:
        return " or ".join(f'`"{value}"`' for value in schema["enum"])
    if schema["type"] == "array":
        return f"list of {_type(schema['items'])}s"
    id_prefix = _ID_PATTERN.fullmatch(schema.get("pattern", ""))
    if id_prefix:
        return f"`{id_prefix[1]}_…` id"
    return str(schema["type"])


def _event_section(event: catalogue.EventType) -> list[str]:
    schema = event.payload.model_json_schema()
    required = set(schema.get("required", []))
    lines = [
        f"### `{event.name}`",
        "",
        f"{event.description} Subject: {catalogue.SUBJECTS[event.subject]} "
        f"(`{event.subject}_…`). Version {event.version}.",
        "",
    ]
    fields = schema.get("properties", {})
    if not fields:
        return [*lines, "No data: `{}`.", ""]
    lines += ["| field | type | meaning |", "|---|---|---|"]
    for name, field in fields.items():
        optional = "" if name in required else ", optional"
        lines.append(f"| `{name}` | {_type(field)}{optional} | {field.get('description', '')} |")
    return [*lines, "", "```json", json.dumps(dict(event.example)), "```", ""]


def reference() -> str:
    """The generated part of docs/events.md: a summary table, then each event's data."""
    lines = ["| event | subject | version | meaning |", "|---|---|---|---|"]
    lines += [
        f"| [`{e.name}`](#{e.name.replace('.', '')}) | `{e.subject}_…` | {e.version} "
        f"| {e.description} |"
        for e in catalogue.EVENTS
    ]
    lines.append("")
    for event in catalogue.EVENTS:
        lines += _event_section(event)
    return "\n".join(lines)


def test_docs_events_md_is_generated_from_the_catalogue() -> None:
    text = DOCS.read_text()
    head, rest = text.split(_START + "\n")
    body, tail = rest.split(_END)
    expected = reference()
    if os.environ.get("GOODWORD_WRITE_DOCS") == "1":
        text = f"{head}{_START}\n{expected}{_END}{tail}"
        DOCS.write_text(text)
        body = expected
    assert body == expected, (
        "docs/events.md is out of date: run "
        "GOODWORD_WRITE_DOCS=1 .venv/bin/pytest tests/test_catalogue.py -k docs"
    )
    for name in catalogue.CATALOGUE:
        assert f"### `{name}`" in text


def test_participant_update_is_recorded_only_when_something_changed(db: None) -> None:
    acme = make_api("Acme")
    ws = acme.workspace
    body = {"external_id": "alice", "email": "alice@example.net", "name": "Alice"}
    first = {**body, "attributes": {"segment": "vip", "plan": "pro"}}
    assert acme.post("/participants", first).status_code == 201
    assert acme.post("/participants", first).status_code == 200  # nothing changed
    assert acme.post("/participants", {**body, "attributes": {"segment": True}}).status_code == 200
    # JSON true is not 1, though Python's True == 1.
    assert acme.post("/participants", {**body, "attributes": {"segment": 1}}).status_code == 200
    renamed = {
        **body,
        "email": "ALICE@example.net",
        "name": "Alice B",
        "attributes": {"plan": "pro"},
    }
    assert acme.post("/participants", renamed).status_code == 200
    alice = Participant.objects.get(workspace=ws, external_id="alice")
    assert alice.attributes == {"segment": 1, "plan": "pro"}
    attributes = {"fields": ["attributes"], "attributes": ["segment"]}
    assert recorded(ws.pk, "participant.created", "participant.updated") == [
        ("participant.created", alice.public_id, {}),
        ("participant.updated", alice.public_id, attributes),
        ("participant.updated", alice.public_id, attributes),
        ("participant.updated", alice.public_id, {"fields": ["email", "name"], "attributes": []}),
    ]
