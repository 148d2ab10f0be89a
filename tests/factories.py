"""Plain typed factories and the cast: acme, alice, bob, mallory; globex gets 404."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.test import Client

from goodword.accounts.models import Workspace
from goodword.accounts.services import create_workspace


@dataclass
class Api:
    """A workspace and a client that speaks JSON to the API with its key."""

    workspace: Workspace
    key: str
    client: Client

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.key}", **(headers or {})}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, **self._headers(None))

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return self.client.post(
            f"/api/v1{path}", data, content_type="application/json", **self._headers(headers)
        )

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(
            f"/api/v1{path}",
            json.dumps(body),
            content_type="application/json",
            **self._headers(None),
        )

    def put(self, path: str, body: Any) -> Any:
        return self.client.put(
            f"/api/v1{path}",
            json.dumps(body),
            content_type="application/json",
            **self._headers(None),
        )

    def event(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        return self.post("/events", body, headers)


def make_api(name: str) -> Api:
    workspace, key = create_workspace(name=name, owner_email=f"owner@{name.lower()}.test")
    return Api(workspace=workspace, key=key, client=Client())


PROGRAM = {
    "name": "Give $10, get $10",
    "destination_url": "https://shop.acme.test/welcome",
    "rewards": [
        {"beneficiary": "advocate", "kind": "credit", "amount": 1000, "currency": "USD"},
        {"beneficiary": "friend", "kind": "credit", "amount": 500, "currency": "USD"},
    ],
    "trigger": {"event": "purchase", "min_amount": 2000},
    "hold_days": 14,
    "attribution_days": 30,
}


def make_program(api: Api, **overrides: Any) -> dict[str, Any]:
    response = api.post("/programs", {**PROGRAM, **overrides})
    assert response.status_code == 201, response.content
    return dict(response.json())


def enrol(api: Api, program_id: str, external_id: str, **extra: Any) -> dict[str, Any]:
    body = {"external_id": external_id, "email": f"{external_id}@example.com", **extra}
    response = api.post(f"/programs/{program_id}/advocates", body)
    assert response.status_code in (200, 201), response.content
    return dict(response.json())


@dataclass
class Story:
    acme: Api
    globex: Api
    program: dict[str, Any]
    alice: dict[str, Any]


def make_story(**program: Any) -> Story:
    acme = make_api("Acme")
    globex = make_api("Globex")
    prg = make_program(acme, **program)
    alice = enrol(acme, prg["id"], "alice", name="Alice")
    return Story(acme=acme, globex=globex, program=prg, alice=alice)


def purchase(
    event_id: str, customer: str, order_id: str, amount: int, **extra: Any
) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "purchase",
        "customer": {"external_id": customer, "email": f"{customer}@example.net"},
        "order": {"id": order_id, "amount": amount, "currency": "USD"},
        **extra,
    }


def signup(event_id: str, customer: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "signup",
        "customer": {"external_id": customer, "email": f"{customer}@example.net"},
        **extra,
    }


def refund(event_id: str, customer: str, order_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "refund",
        "customer": {"external_id": customer},
        "order": {"id": order_id},
    }


@dataclass
class History:
    """acme after a whole referral story; globex with a program of its own."""

    acme: Api
    globex: Api
    program: dict[str, Any]
    alice: dict[str, Any]
    converted: dict[str, Any]  # the answer to bob's converting purchase
    redemption: dict[str, Any]
    invite: dict[str, Any]
    globex_program: dict[str, Any]

    @property
    def referral_id(self) -> str:
        return str(self.converted["referrals"][0]["id"])

    @property
    def reward_ids(self) -> list[str]:
        return [r["id"] for r in self.converted["rewards"]]


def make_history() -> History:
    """alice refers bob, who signs up and buys; both rewards are approved; alice spends 2.00 of
    her credit and invites carol. globex has a program and nothing else."""
    from goodword.rewards.services import approve_due_rewards

    acme = make_api("Acme")
    globex = make_api("Globex")
    program = make_program(acme)
    alice = enrol(acme, program["id"], "alice", name="Alice")
    acme.event(signup("s-bob", "bob", referral_code=alice["code"]))
    converted = acme.event(purchase("p-bob", "bob", "order-1", 2500)).json()
    approve_due_rewards(now=datetime.now(UTC) + timedelta(days=15))
    redemption = acme.post(
        "/participants/alice/redemptions",
        {"order_id": "acme-order-7", "amount": 200, "currency": "USD"},
    ).json()
    invite = acme.post(
        f"/programs/{program['id']}/invites",
        {"advocate": "alice", "email": "carol@example.net"},
    ).json()
    globex_program = make_program(
        globex, name="Globex friends", destination_url="https://shop.globex.test/"
    )
    return History(acme, globex, program, alice, converted, redemption, invite, globex_program)
