"""The webhook endpoints API: create, list, read, change, delete, the secret (only in the answers
to create and rotate), test events, the delivery log, replays, the exact error codes of bad
input, and 404 for every route with another workspace's ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from goodword.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from tests.factories import Api, make_api
from tests.shared import row_counts

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
URL = "https://hooks.acme.test/goodword"
ENDPOINT_KEYS = {
    "id",
    "url",
    "description",
    "event_types",
    "active",
    "disabled_reason",
    "failing_since",
    "previous_secret_expires_at",
    "created_at",
    "updated_at",
}


def at(when: datetime) -> Any:
    return time_machine.travel(when, tick=False)


@pytest.fixture
def acme(db: None) -> Api:
    return make_api("Acme")


@pytest.fixture
def globex(db: None) -> Api:
    return make_api("Globex")


def create(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"url": URL, **fields}
    with at(NOW):
        answer = api.post("/webhook-endpoints", body)
    assert answer.status_code == 201, answer.content
    return dict(answer.json())


def delete(api: Api, path: str) -> Any:
    return api.client.delete(f"/api/v1{path}", HTTP_AUTHORIZATION=f"Bearer {api.key}")


def message(endpoint_id: str, *, status: str = "failed", minutes: int = 0) -> WebhookMessage:
    """A message of `referral.converted` made `minutes` after NOW, as the fan-out makes one."""
    endpoint = WebhookEndpoint.objects.get(public_id=endpoint_id)
    return WebhookMessage.objects.create(
        workspace_id=endpoint.workspace_id,
        endpoint=endpoint,
        event_name="referral.converted",
        payload={"name": "referral.converted", "data": {"amount": 2500, "currency": "USD"}},
        status=status,
        attempts=2,
        created_at=NOW + timedelta(minutes=minutes),
    )


def attempt(m: WebhookMessage, code: int | None, seconds: int, **fields: Any) -> WebhookAttempt:
    return WebhookAttempt.objects.create(
        message=m,
        endpoint=m.endpoint,
        at=m.created_at + timedelta(seconds=seconds),
        status_code=code,
        duration_ms=fields.pop("duration_ms", 120),
        **fields,
    )


def error(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.content
    body = answer.json()
    assert set(body) == {"error"}
    assert body["error"]["message"]
    return str(body["error"]["code"])


# Create and read.


def test_create_answers_the_secret_once(acme: Api) -> None:
    made = create(
        acme, event_types=["referral.converted", "reward.approved"], description="Shop backend"
    )
    assert set(made) == ENDPOINT_KEYS | {"secret"}
    assert made["id"].startswith("whe_")
    assert made["secret"].startswith("whsec_")
    assert {k: made[k] for k in ENDPOINT_KEYS - {"id"}} == {
        "url": URL,
        "description": "Shop backend",
        "event_types": ["referral.converted", "reward.approved"],
        "active": True,
        "disabled_reason": None,
        "failing_since": None,
        "previous_secret_expires_at": None,
        "created_at": "2026-03-10T12:00:00Z",
        "updated_at": "2026-03-10T12:00:00Z",
    }
    row = WebhookEndpoint.objects.get(public_id=made["id"])
    assert row.secret == made["secret"]
    assert row.workspace_id == acme.workspace.pk
    # Never again: not in the endpoint, the list, nor anywhere in their text.
    one = acme.get(f"/webhook-endpoints/{made['id']}")
    many = acme.get("/webhook-endpoints")
    assert set(one.json()) == ENDPOINT_KEYS
    for answer in (one, many):
        assert answer.status_code == 200
        assert made["secret"] not in answer.content.decode()
        assert "whsec_" not in answer.content.decode()


def test_create_defaults_to_every_event_and_no_description(acme: Api) -> None:
    made = create(acme)
    assert (made["event_types"], made["description"]) == ([], "")


def test_repeated_event_types_are_kept_once(acme: Api) -> None:
    made = create(acme, event_types=["reward.approved", "referral.created", "reward.approved"])
    assert made["event_types"] == ["reward.approved", "referral.created"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "ftp://hooks.acme.test/x"}, "invalid_url"),
        ({"url": "not a url"}, "invalid_url"),
        ({"url": ""}, "invalid_url"),
        ({"url": "https://user:pw@hooks.acme.test/"}, "invalid_url"),
        ({"url": "http://127.0.0.1:8000/hook"}, "invalid_url"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "invalid_url"),
        ({"url": "http://10.0.0.7/hook"}, "invalid_url"),
        ({"url": "https://hooks.acme.test/" + "a" * 2000}, "invalid_url"),
        ({"url": URL, "event_types": ["referral.converted", "nope.nothing"]}, "unknown_event_type"),
        ({"url": URL, "event_types": ["webhook.test"]}, "unknown_event_type"),
        ({"url": URL, "event_types": "referral.converted"}, "validation_error"),
        ({"url": URL, "description": "x" * 201}, "validation_error"),
        ({"url": URL, "secret": "whsec_mine"}, "validation_error"),
        ({"url": 7}, "validation_error"),
        ({}, "validation_error"),
    ],
)
def test_bad_endpoints_are_refused_with_their_code_and_nothing_is_written(
    acme: Api, body: dict[str, Any], code: str
) -> None:
    before = row_counts()
    assert error(acme.post("/webhook-endpoints", body), 422) == code
    assert row_counts() == before


def test_an_unknown_event_type_names_what_is_unknown(acme: Api) -> None:
    body = {"url": URL, "event_types": ["nope.b", "referral.converted", "nope.a"]}
    answer = acme.post("/webhook-endpoints", body)
    assert answer.json()["error"]["details"] == {"unknown": ["nope.a", "nope.b"]}


def test_list_is_newest_first_and_paginated(acme: Api, globex: Api) -> None:
    first, second, third = (create(acme, description=f"n{n}") for n in range(3))
    create(globex)
    page = acme.get("/webhook-endpoints", limit=2).json()
    assert [e["id"] for e in page["data"]] == [third["id"], second["id"]]
    assert page["next_cursor"] == second["id"]
    rest = acme.get("/webhook-endpoints", limit=2, cursor=page["next_cursor"]).json()
    assert rest == {
        "data": [acme.get(f"/webhook-endpoints/{first['id']}").json()],
        "next_cursor": None,
    }
    assert error(acme.get("/webhook-endpoints", limit=0), 400) == "invalid_limit"
    assert error(acme.get("/webhook-endpoints", cursor="whe_nope"), 400) == "invalid_cursor"


# Change and delete.


def test_patch_changes_what_is_sent(acme: Api) -> None:
    made = create(acme, event_types=["referral.converted"], description="old")
    path = f"/webhook-endpoints/{made['id']}"
    later = NOW + timedelta(hours=1)
    with at(later):
        answer = acme.patch(path, {"url": "https://new.acme.test/hooks", "description": "new"})
    assert answer.status_code == 200, answer.content
    changed = answer.json()
    assert (changed["url"], changed["description"], changed["event_types"]) == (
        "https://new.acme.test/hooks",
        "new",
        ["referral.converted"],
    )
    assert changed["updated_at"] == "2026-03-10T13:00:00Z"
    assert acme.patch(path, {"event_types": []}).json()["event_types"] == []
    off = acme.patch(path, {"active": False}).json()
    assert (off["active"], off["disabled_reason"]) == (False, None)
    assert acme.patch(path, {"active": True}).json()["active"] is True
    assert acme.patch(path, {}).json() == acme.get(path).json()
    assert "secret" not in acme.get(path).json()


def test_turning_on_clears_what_turned_it_off(acme: Api) -> None:
    made = create(acme)
    WebhookEndpoint.objects.filter(public_id=made["id"]).update(
        active=False, disabled_reason="gone", failing_since=NOW
    )
    path = f"/webhook-endpoints/{made['id']}"
    off = acme.get(path).json()
    assert (off["active"], off["disabled_reason"], off["failing_since"]) == (
        False,
        "gone",
        "2026-03-10T12:00:00Z",
    )
    on = acme.patch(path, {"active": True}).json()
    assert (on["active"], on["disabled_reason"], on["failing_since"]) == (True, None, None)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "javascript:alert(1)"}, "invalid_url"),
        ({"url": "http://[::1]/hook"}, "invalid_url"),
        ({"event_types": ["reward.nope"]}, "unknown_event_type"),
        ({"url": None}, "validation_error"),
        ({"active": None}, "validation_error"),
        ({"active": "yes"}, "validation_error"),
        ({"secret": "whsec_mine"}, "validation_error"),
        ({"description": "x" * 201}, "validation_error"),
    ],
)
def test_bad_patches_are_refused_and_change_nothing(
    acme: Api, body: dict[str, Any], code: str
) -> None:
    made = create(acme, event_types=["referral.converted"])
    path = f"/webhook-endpoints/{made['id']}"
    before, counts = acme.get(path).json(), row_counts()
    assert error(acme.patch(path, body), 422) == code
    assert acme.get(path).json() == before
    assert row_counts() == counts


def test_delete_removes_the_endpoint_and_its_log(acme: Api) -> None:
    made = create(acme)
    attempt(message(made["id"]), 500, 1)
    path = f"/webhook-endpoints/{made['id']}"
    answer = delete(acme, path)
    assert (answer.status_code, answer.content) == (204, b"")
    assert error(acme.get(path), 404) == "not_found"
    assert WebhookEndpoint.objects.count() == 0
    assert WebhookMessage.objects.count() == 0
    assert WebhookAttempt.objects.count() == 0


# The secret.


def test_rotation_answers_the_new_secret_once_and_keeps_the_old_for_the_grace(acme: Api) -> None:
    made = create(acme)
    path = f"/webhook-endpoints/{made['id']}/rotate-secret"
    with at(NOW + timedelta(hours=1)):
        answer = acme.post(path, {"grace_hours": 48})
    assert answer.status_code == 200, answer.content
    rotated = answer.json()
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != made["secret"]
    assert rotated["previous_secret_expires_at"] == "2026-03-12T13:00:00Z"
    row = WebhookEndpoint.objects.get(public_id=made["id"])
    assert (row.secret, row.previous_secret) == (rotated["secret"], made["secret"])
    shown = acme.get(f"/webhook-endpoints/{made['id']}")
    assert rotated["secret"] not in shown.content.decode()
    assert shown.json()["previous_secret_expires_at"] == "2026-03-12T13:00:00Z"


def test_rotation_without_a_body_keeps_the_old_secret_24_hours(acme: Api) -> None:
    made = create(acme)
    path = f"/webhook-endpoints/{made['id']}/rotate-secret"
    with at(NOW):
        bare = acme.post(path, b"")  # no body at all, as `curl -X POST` sends
        empty = acme.post(path, {})
    assert bare.status_code == 200, bare.content
    assert bare.json()["previous_secret_expires_at"] == "2026-03-11T12:00:00Z"
    assert empty.json()["previous_secret_expires_at"] == "2026-03-11T12:00:00Z"
    # The second rotation keeps only the secret it replaced.
    row = WebhookEndpoint.objects.get(public_id=made["id"])
    assert (row.secret, row.previous_secret) == (empty.json()["secret"], bare.json()["secret"])


def test_rotation_with_no_grace_drops_the_old_secret_at_once(acme: Api) -> None:
    made = create(acme)
    answer = acme.post(f"/webhook-endpoints/{made['id']}/rotate-secret", {"grace_hours": 0})
    assert answer.json()["previous_secret_expires_at"] is None
    assert WebhookEndpoint.objects.get(public_id=made["id"]).previous_secret == ""


@pytest.mark.parametrize("grace", [-1, 169, "24", 1.5, None])
def test_a_bad_grace_is_refused_and_the_secret_stays(acme: Api, grace: Any) -> None:
    made = create(acme)
    answer = acme.post(f"/webhook-endpoints/{made['id']}/rotate-secret", {"grace_hours": grace})
    assert error(answer, 422) == "validation_error"
    row = WebhookEndpoint.objects.get(public_id=made["id"])
    assert (row.secret, row.previous_secret) == (made["secret"], "")


# Test events, the delivery log, replays.


def test_a_test_event_is_a_message_due_now(acme: Api) -> None:
    made = create(acme, event_types=["reward.approved"])
    with at(NOW):
        answer = acme.post(f"/webhook-endpoints/{made['id']}/test", {})
    assert answer.status_code == 201, answer.content
    sent = answer.json()
    assert sent["id"].startswith("msg_")
    assert {k: v for k, v in sent.items() if k != "id"} == {
        "endpoint": made["id"],
        "event_type": "webhook.test",
        "event": None,
        "status": "pending",
        "attempts": 0,
        "last_status_code": None,
        "last_attempt_at": None,
        "next_attempt_at": "2026-03-10T12:00:00Z",
        "created_at": "2026-03-10T12:00:00Z",
    }
    row = WebhookMessage.objects.get(public_id=sent["id"])
    assert row.payload["name"] == "webhook.test"


def test_messages_list_with_attempts_and_last_status_filtered_by_status(acme: Api) -> None:
    made = create(acme)
    other = create(acme, url="https://other.acme.test/")
    failed = message(made["id"], status="failed", minutes=1)
    attempt(failed, 500, 1)
    attempt(failed, None, 60, error="timed out after 10 s")
    delivered = message(made["id"], status="delivered", minutes=2)
    attempt(delivered, 503, 1)
    attempt(delivered, 204, 30)
    message(other["id"], status="failed", minutes=3)
    path = f"/webhook-endpoints/{made['id']}/messages"
    page = acme.get(path).json()
    assert [(m["id"], m["status"], m["last_status_code"]) for m in page["data"]] == [
        (delivered.public_id, "delivered", 204),
        (failed.public_id, "failed", None),
    ]
    assert page["data"][0]["attempts"] == 2
    assert page["data"][0]["next_attempt_at"] is None  # only while pending
    only = acme.get(path, status="failed").json()["data"]
    assert [m["id"] for m in only] == [failed.public_id]
    assert error(acme.get(path, status="lost"), 422) == "validation_error"
    paged = acme.get(path, limit=1).json()
    assert (len(paged["data"]), paged["next_cursor"]) == (1, delivered.public_id)


def test_a_message_with_its_delivery_log(acme: Api) -> None:
    made = create(acme)
    m = message(made["id"], status="delivered")
    attempt(m, None, 1, duration_ms=10_000, error="timed out after 10 s")
    attempt(m, 500, 60, response_body="upstream broke", duration_ms=35)
    attempt(m, 200, 300, response_body="ok", duration_ms=12)
    answer = acme.get(f"/webhook-endpoints/{made['id']}/messages/{m.public_id}")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["payload"] == m.payload
    assert (body["event_type"], body["attempts"], body["last_status_code"]) == (
        "referral.converted",
        2,
        200,
    )
    assert body["attempt_log"] == [
        {
            "at": "2026-03-10T12:00:01Z",
            "status_code": None,
            "success": False,
            "duration_ms": 10000,
            "response_body": "",
            "error": "timed out after 10 s",
        },
        {
            "at": "2026-03-10T12:01:00Z",
            "status_code": 500,
            "success": False,
            "duration_ms": 35,
            "response_body": "upstream broke",
            "error": "",
        },
        {
            "at": "2026-03-10T12:05:00Z",
            "status_code": 200,
            "success": True,
            "duration_ms": 12,
            "response_body": "ok",
            "error": "",
        },
    ]


def test_replaying_a_message_makes_it_due_now_under_the_same_id(acme: Api) -> None:
    made = create(acme)
    m = message(made["id"], status="failed")
    attempt(m, 500, 1)
    later = NOW + timedelta(days=2)
    with at(later):
        answer = acme.post(f"/webhook-endpoints/{made['id']}/messages/{m.public_id}/replay", {})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["id"], body["status"], body["attempts"], body["next_attempt_at"]) == (
        m.public_id,
        "pending",
        0,
        "2026-03-12T12:00:00Z",
    )
    assert WebhookAttempt.objects.filter(message=m).count() == 1  # the log is kept


def test_replaying_a_range_replays_only_the_messages_made_in_it(acme: Api) -> None:
    made = create(acme)
    other = create(acme, url="https://other.acme.test/")
    inside = [message(made["id"], minutes=n) for n in (0, 30, 59)]
    edge = message(made["id"], minutes=60)  # `until` is excluded
    before = message(made["id"], minutes=-1)
    elsewhere = message(other["id"], minutes=10)
    body = {"since": "2026-03-10T12:00:00Z", "until": "2026-03-10T13:00:00Z"}
    with at(NOW + timedelta(days=1)):
        answer = acme.post(f"/webhook-endpoints/{made['id']}/replay", body)
    assert (answer.status_code, answer.json()) == (200, {"replayed": 3})
    statuses = {
        m.public_id: WebhookMessage.objects.get(pk=m.pk).status
        for m in [*inside, edge, before, elsewhere]
    }
    assert [statuses[m.public_id] for m in inside] == ["pending"] * 3
    assert [statuses[m.public_id] for m in (edge, before, elsewhere)] == ["failed"] * 3


@pytest.mark.parametrize(
    "body",
    [
        {"since": "2026-03-10T13:00:00Z", "until": "2026-03-10T12:00:00Z"},
        {"since": "2026-03-10T12:00:00Z", "until": "2026-03-10T12:00:00Z"},
        {"since": "yesterday", "until": "2026-03-10T12:00:00Z"},
        {"since": "2026-03-10T12:00:00Z"},
        {"since": "2026-03-10T12:00:00Z", "until": "2026-03-10T13:00:00Z", "all": True},
    ],
)
def test_a_bad_range_is_refused_and_nothing_is_replayed(acme: Api, body: dict[str, Any]) -> None:
    made = create(acme)
    m = message(made["id"])
    answer = acme.post(f"/webhook-endpoints/{made['id']}/replay", body)
    assert error(answer, 422) == "validation_error"
    assert WebhookMessage.objects.get(pk=m.pk).status == "failed"


# Other workspaces.


def routes(endpoint_id: str, message_id: str) -> list[tuple[str, str, Any]]:
    e, m = f"/webhook-endpoints/{endpoint_id}", f"/webhook-endpoints/{endpoint_id}/messages"
    return [
        ("GET", e, None),
        ("PATCH", e, {"description": "pwned"}),
        ("PATCH", e, {"active": False}),
        ("DELETE", e, None),
        ("POST", f"{e}/rotate-secret", {"grace_hours": 0}),
        ("POST", f"{e}/test", {}),
        ("GET", m, None),
        ("GET", f"{m}/{message_id}", None),
        ("POST", f"{m}/{message_id}/replay", {}),
        ("POST", f"{e}/replay", {"since": "2026-03-01T00:00:00Z", "until": "2026-04-01T00:00:00Z"}),
    ]


def call(api: Api, method: str, path: str, body: Any) -> Any:
    if method == "GET":
        return api.get(path)
    if method == "DELETE":
        return delete(api, path)
    if method == "PATCH":
        return api.patch(path, body)
    return api.post(path, body)


def test_another_workspace_gets_404_on_every_route(acme: Api, globex: Api) -> None:
    made = create(acme, description="Acme canary hook")
    m = message(made["id"])
    attempt(m, 500, 1, response_body="acme canary body")
    theirs = create(globex)
    before = (row_counts(), acme.get(f"/webhook-endpoints/{made['id']}").json())
    secret = WebhookEndpoint.objects.get(public_id=made["id"]).secret
    # acme's endpoint; acme's message under globex's own endpoint.
    cases = routes(made["id"], m.public_id) + routes(theirs["id"], m.public_id)[7:9]
    for method, path, body in cases:
        answer = call(globex, method, path, body)
        assert error(answer, 404) == "not_found", (method, path)
        text = answer.content.decode()
        assert "canary" not in text
        assert secret not in text
        assert URL not in text
    assert (row_counts(), acme.get(f"/webhook-endpoints/{made['id']}").json()) == before
    assert WebhookEndpoint.objects.get(public_id=made["id"]).secret == secret
    assert WebhookMessage.objects.get(pk=m.pk).status == "failed"
    assert globex.get("/webhook-endpoints").json()["data"] == [
        globex.get(f"/webhook-endpoints/{theirs['id']}").json()
    ]
    assert error(globex.get("/webhook-endpoints", cursor=made["id"]), 400) == "invalid_cursor"


def test_a_message_of_another_endpoint_of_the_same_workspace_is_404(acme: Api) -> None:
    made, other = create(acme), create(acme, url="https://other.acme.test/")
    m = message(other["id"])
    for method, path, body in routes(made["id"], m.public_id)[7:9]:
        assert error(call(acme, method, path, body), 404) == "not_found"
    assert WebhookMessage.objects.get(pk=m.pk).status == "failed"


def test_the_delivery_log_is_json_all_the_way(acme: Api) -> None:
    """A response body that is not JSON (or not text) comes back as a JSON string."""
    made = create(acme)
    m = message(made["id"])
    attempt(m, 500, 1, response_body='<html>"broken"\n</html>')
    body = acme.get(f"/webhook-endpoints/{made['id']}/messages/{m.public_id}").content
    assert json.loads(body)["attempt_log"][0]["response_body"] == '<html>"broken"\n</html>'
