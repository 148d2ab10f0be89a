"""`POST /api/v1/events` is answered by a fast path (`api.middleware.events_fast_path`) that
must answer exactly as the Ninja operation it stands in for: same status, headers that matter
and bytes, for good requests, replays and every kind of bad request."""

from __future__ import annotations

import json
import random
import types
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import transaction
from django.test import Client, override_settings

from goodword.api.v1 import events as events_api
from goodword.lib import ids
from tests.factories import Story, purchase, refund, signup

FAST = "goodword.api.middleware.events_fast_path"

# A request: body (a JSON-able value, or raw text/bytes sent as is) and extra headers.
Request = tuple[Any, dict[str, str]]

# Each case is a sequence of requests against the same story; the responses to the whole
# sequence are compared, so replays and conflicts are compared too.
CASES: dict[str, list[Request]] = {
    "signup with code": [(signup("e-1", "bob", referral_code="{code}"), {})],
    "loop with replay": [
        (signup("e-1", "bob", referral_code="{code}"), {}),
        (purchase("e-2", "bob", "o-1", 2500), {}),
        (purchase("e-2", "bob", "o-1", 2500), {}),
        (refund("e-3", "bob", "o-1"), {}),
    ],
    "below minimum": [(purchase("e-1", "bob", "o-1", 100, referral_code="{code}"), {})],
    "self referral": [(signup("e-1", "alice", referral_code="{code}"), {})],
    "no attribution": [(purchase("e-1", "carol", "o-1", 2500), {})],
    "bad token": [(signup("e-1", "bob", ref_token="forged"), {})],
    "idempotency key replay": [
        (signup("e-1", "bob"), {"HTTP_IDEMPOTENCY_KEY": "k-1"}),
        (signup("e-1", "bob"), {"HTTP_IDEMPOTENCY_KEY": "k-1"}),
    ],
    "idempotency key reused": [
        (signup("e-1", "bob"), {"HTTP_IDEMPOTENCY_KEY": "k-1"}),
        (signup("e-2", "carol"), {"HTTP_IDEMPOTENCY_KEY": "k-1"}),
    ],
    "idempotency key too long": [(signup("e-1", "bob"), {"HTTP_IDEMPOTENCY_KEY": "k" * 256})],
    "unknown code": [(signup("e-1", "bob", referral_code="NOPE-404"), {})],
    "no key": [(signup("e-1", "bob"), {"HTTP_AUTHORIZATION": ""})],
    "wrong key": [(signup("e-1", "bob"), {"HTTP_AUTHORIZATION": "Bearer gw_sk_wrong"})],
    "wrong scheme": [(signup("e-1", "bob"), {"HTTP_AUTHORIZATION": "Basic {key}"})],
    "empty body": [("", {})],
    "malformed json": [("{not json", {})],
    "invalid utf-8": [(b'{"id": "\xff"}', {})],
    "array body": [([], {})],
    "string body": [("x", {})],
    "nul in value": [(signup("e-\u0000", "bob"), {})],
    "unknown type": [({**signup("e-1", "bob"), "type": "visit"}, {})],
    "extra field": [({**signup("e-1", "bob"), "coupon": "X"}, {})],
    "purchase without order": [({"id": "e-1", "type": "purchase", "customer": {}}, {})],
    "negative amount": [(purchase("e-1", "bob", "o-1", -5), {})],
    "unknown currency": [
        (
            {
                **purchase("e-1", "bob", "o-1", 5),
                "order": {"id": "o", "amount": 5, "currency": "XXZ"},
            },
            {},
        )
    ],  # fmt: skip
    "wrong types": [({"id": 7, "type": "signup", "customer": {"external_id": ["x"]}}, {})],
}


# The batch endpoint takes the same fast path.
BATCH_CASES: dict[str, list[Request]] = {
    "loop, replays, bad items": [
        (
            {
                "events": [
                    signup("e-1", "bob", referral_code="{code}"),
                    purchase("e-2", "bob", "o-1", 2500),
                    signup("e-1", "bob", referral_code="{code}"),
                    {"id": "e-3", "type": "purchase", "customer": {"external_id": "x"}},
                    signup("e-4", "dan", referral_code="NOPE-404"),
                    {**signup("e-5", "dan"), "type": "visit"},
                ]
            },
            {},
        ),
        ({"events": [purchase("e-2", "bob", "o-1", 2500), refund("e-6", "bob", "o-1")]}, {}),
    ],
    "empty list": [({"events": []}, {})],
    "too many": [({"events": [signup(f"e-{i}", "bob") for i in range(1001)]}, {})],
    "not a list": [({"events": {"id": "e-1"}}, {})],
    "extra field": [({"events": [signup("e-1", "bob")], "more": 1}, {})],
    "empty body": [("", {})],
    "malformed json": [("{not json", {})],
    "no key": [({"events": [signup("e-1", "bob")]}, {"HTTP_AUTHORIZATION": ""})],
}


def _fill(value: Any, story: Story) -> Any:
    """Put the story's code and key into a request's text."""
    if isinstance(value, bytes):
        return value
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("{code}", story.alice["code"]).replace("{key}", story.acme.key)


def _answers(
    story: Story, requests: list[Request], *, fast: bool, path: str = "/api/v1/events"
) -> list[tuple[Any, ...]]:
    """Run the requests with or without the fast path, then roll everything back."""
    middleware = [m for m in settings.MIDDLEWARE if fast or m != FAST]
    seeded = random.Random(7)  # the same public ids on both runs
    fake_secrets = types.SimpleNamespace(token_bytes=seeded.randbytes)
    out = []
    with (
        override_settings(MIDDLEWARE=middleware),
        time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False),
        pytest.MonkeyPatch.context() as patch,
        transaction.atomic(),
    ):
        patch.setattr(ids, "secrets", fake_secrets)
        client = Client()
        for body, headers in requests:
            response = client.post(
                path,
                _fill(body, story),
                content_type="application/json",
                **{
                    name: _fill(value, story)
                    for name, value in {"HTTP_AUTHORIZATION": "Bearer {key}", **headers}.items()
                },
            )
            out.append(
                (
                    response.status_code,
                    response["Content-Type"],
                    response.get("Idempotent-Replayed"),
                    response.content,
                )
            )
        transaction.set_rollback(True)
    return out


@pytest.mark.parametrize("case", CASES)
def test_fast_path_answers_as_the_ninja_operation(story: Story, case: str) -> None:
    fast = _answers(story, CASES[case], fast=True)
    ninja = _answers(story, CASES[case], fast=False)
    assert fast == ninja
    assert all(status < 500 for status, *_ in fast)


@pytest.mark.parametrize("case", BATCH_CASES)
def test_fast_path_answers_batches_as_the_ninja_operation(story: Story, case: str) -> None:
    path = "/api/v1/events/batch"
    fast = _answers(story, BATCH_CASES[case], fast=True, path=path)
    ninja = _answers(story, BATCH_CASES[case], fast=False, path=path)
    assert fast == ninja
    assert all(status < 500 for status, *_ in fast)


def test_a_replay_is_byte_identical_to_the_first_answer(story: Story) -> None:
    # On PostgreSQL the stored result comes back from jsonb with its keys reordered.
    body = purchase("e-1", "bob", "o-1", 2500, referral_code=story.alice["code"])
    first = story.acme.event(body)
    again = story.acme.event(body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = events_api.handle

    def spy(request: Any) -> Any:
        calls.append(request.path)
        return real(request)

    monkeypatch.setattr(events_api, "handle", spy)
    return calls


def test_events_take_the_fast_path_and_nothing_else_does(story: Story, handled: list[str]) -> None:
    assert story.acme.event(signup("e-1", "bob")).status_code == 201
    assert handled == ["/api/v1/events"]
    # Other methods and paths go through the whole stack as before.
    assert story.acme.get("/events").status_code == 405
    assert story.acme.post("/events/", signup("e-2", "bob")).status_code == 404
    assert story.acme.get("/referrals").status_code == 200
    assert handled == ["/api/v1/events"]


def test_fast_path_keeps_the_security_headers(story: Story) -> None:
    response = story.acme.event(signup("e-1", "bob"))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
