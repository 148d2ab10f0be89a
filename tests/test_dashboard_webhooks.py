"""The webhooks pages: who may see and do what (owner and admin manage, analyst and reviewer
read), every action through the services and in the audit log, the secret shown once, the
status in plain words, the last 24 hours, and 404 for another workspace's ids. In Chromium at
a phone's and a laptop's size with axe (UI-1)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine
from django.test import Client
from django.urls import URLPattern

from goodword.accounts.models import AuditEntry
from goodword.accounts.roles import Can
from goodword.dashboard.webhooks import urls as webhook_urls
from goodword.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from tests.dashboard import MANAGERS, ROLES, counts_but_signing_in, markup, readable, staff
from tests.factories import Api, make_api
from tests.servers import Server
from tests.test_browser_dashboard import CHROMIUM, owner_session

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
URL = "https://hooks.acme.test/goodword"
FORM = {
    "url": URL,
    "events": "chosen",
    "event_types": ["referral.converted", "reward.approved"],
    "description": "Shop backend",
}
PERMISSIONS = {
    "webhooks": Can.VIEW,
    "webhook_create": Can.MANAGE,
    "webhook": Can.VIEW,
    "webhook_edit": Can.MANAGE,
    "webhook_enable": Can.MANAGE,
    "webhook_disable": Can.MANAGE,
    "webhook_rotate": Can.MANAGE,
    "webhook_test": Can.MANAGE,
    "webhook_replay_range": Can.MANAGE,
    "webhook_delete": Can.MANAGE,
    "webhook_message": Can.VIEW,
    "webhook_message_replay": Can.MANAGE,
}


def at(when: datetime) -> Any:
    return time_machine.travel(when, tick=False)


@pytest.fixture(autouse=True)
def _an_hour_after(request: pytest.FixtureRequest) -> Any:
    """The clock stands at NOW + 1 hour for everything here but the browser's session (whose
    waits need a clock that moves): sessions made now stay valid through the test."""
    if request.node.get_closest_marker("browser"):
        yield
        return
    with at(NOW + timedelta(hours=1)):
        yield


@pytest.fixture
def acme(db: None) -> Api:
    return make_api("Acme")


def endpoint_of(api: Api, **fields: Any) -> WebhookEndpoint:
    body = {"url": URL, "event_types": ["referral.converted"], **fields}
    with at(NOW):
        answer = api.post("/webhook-endpoints", body)
    assert answer.status_code == 201, answer.content
    return WebhookEndpoint.objects.get(public_id=answer.json()["id"])


def message_of(endpoint: WebhookEndpoint, status: str = "failed", minutes: int = 0) -> Any:
    return WebhookMessage.objects.create(
        workspace_id=endpoint.workspace_id,
        endpoint=endpoint,
        event_name="referral.converted",
        payload={"name": "referral.converted", "data": {"amount": 2500, "currency": "USD"}},
        status=status,
        attempts=1,
        created_at=NOW + timedelta(minutes=minutes),
    )


def attempt(message: WebhookMessage, code: int | None, minutes: int = 1, **fields: Any) -> None:
    WebhookAttempt.objects.create(
        message=message,
        endpoint=message.endpoint,
        at=NOW + timedelta(minutes=minutes),
        status_code=code,
        duration_ms=fields.pop("duration_ms", 80),
        **fields,
    )


def audits(prefix: str = "webhook") -> list[tuple[str, str, str, dict[str, Any]]]:
    rows = AuditEntry.objects.filter(action__startswith=prefix).order_by("pk")
    return [(e.actor, e.action, e.subject, e.data) for e in rows]


def page(client: Client, path: str, **params: Any) -> Any:
    return client.get(path, params)


def base(endpoint: WebhookEndpoint) -> str:
    return f"/dashboard/webhooks/{endpoint.public_id}/"


# Permissions.


def test_every_page_and_action_names_its_permission() -> None:
    patterns = [p for p in webhook_urls.urlpatterns if isinstance(p, URLPattern)]
    assert {p.name: getattr(p.callback, "permission", None) for p in patterns} == PERMISSIONS


def actions(endpoint: WebhookEndpoint, message: WebhookMessage) -> list[tuple[str, dict[str, Any]]]:
    """Every POST the pages make, with a valid form."""
    e = base(endpoint)
    return [
        ("/dashboard/webhooks/new/", FORM),
        (e + "edit/", {**FORM, "description": "changed"}),
        (e + "disable/", {}),
        (e + "enable/", {}),
        (e + "rotate/", {"grace_hours": "24"}),
        (e + "test/", {}),
        (e + "replay/", {"since": "2026-03-10T00:00", "until": "2026-03-11T00:00"}),
        (f"{e}messages/{message.public_id}/replay/", {}),
        (e + "delete/", {}),
    ]


@pytest.mark.parametrize("role", ["analyst", "reviewer"])
def test_readers_see_every_page_but_change_nothing(acme: Api, role: str) -> None:
    endpoint = endpoint_of(acme, description="Shop backend")
    message = message_of(endpoint)
    client = staff(acme.workspace, role)
    for path in (
        "/dashboard/webhooks/",
        base(endpoint),
        f"{base(endpoint)}messages/{message.public_id}/",
    ):
        answer = page(client, path)
        assert answer.status_code == 200, path
        body = markup(answer)
        assert "hooks.acme.test" in body
        assert "Replay" not in body
        assert "Rotate" not in body
        assert "New endpoint" not in body
        assert 'name="url"' not in body
    before = counts_but_signing_in()
    forbidden = [client.post(path, form).status_code for path, form in actions(endpoint, message)]
    forbidden += [
        client.get(path).status_code
        for path in ("/dashboard/webhooks/new/", base(endpoint) + "delete/")
    ]
    assert forbidden == [403] * 11
    assert counts_but_signing_in() == before
    assert audits() == []


@pytest.mark.parametrize("role", MANAGERS)
def test_managers_may_do_every_action_each_audited(acme: Api, role: str) -> None:
    endpoint = endpoint_of(acme)
    message = message_of(endpoint)
    client = staff(acme.workspace, role)
    for path, form in actions(endpoint, message):
        with at(NOW + timedelta(hours=2)):
            answer = client.post(path, form)
        assert answer.status_code in (200, 302), (path, answer.status_code, readable(answer))
    done = [action for _, action, _, _ in audits()]
    assert done == [
        "webhook_endpoint.create",
        "webhook_endpoint.change",
        "webhook_endpoint.disable",
        "webhook_endpoint.enable",
        "webhook_endpoint.rotate_secret",
        "webhook_endpoint.send_test",
        "webhook_endpoint.replay_range",
        "webhook_message.replay",
        "webhook_endpoint.delete",
    ]
    assert {actor for actor, _, _, _ in audits()} == {f"{role}@acme.test"}
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_anonymous_visitors_are_sent_to_sign_in(acme: Api) -> None:
    endpoint = endpoint_of(acme)
    for path in ("/dashboard/webhooks/", base(endpoint)):
        answer = Client().get(path)
        assert answer.status_code == 302
        assert answer["Location"].startswith("/dashboard/login/")


# Making an endpoint: its secret once.


def test_create_shows_the_secret_once_and_audits_without_it(acme: Api) -> None:
    client = staff(acme.workspace, "owner")
    form = page(client, "/dashboard/webhooks/new/")
    body = markup(form)
    assert "<legend>Referral</legend>" in body
    assert "<legend>Reward</legend>" in body
    assert 'value="referral.converted"' in body
    with at(NOW):
        answer = client.post("/dashboard/webhooks/new/", FORM)
    assert answer.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.url, endpoint.event_types, endpoint.description) == (
        URL,
        ["referral.converted", "reward.approved"],
        "Shop backend",
    )
    shown = markup(answer)
    assert f'value="{endpoint.secret}"' in shown
    assert "shown only this once" in shown
    assert 'data-copy="secret"' in shown
    assert "no-store" in answer["Cache-Control"]
    assert audits() == [
        (
            "owner@acme.test",
            "webhook_endpoint.create",
            endpoint.public_id,
            {
                "url": URL,
                "event_types": ["referral.converted", "reward.approved"],
                "description": "Shop backend",
            },
        )
    ]
    for path in ("/dashboard/webhooks/", base(endpoint), "/dashboard/audit/"):
        assert endpoint.secret not in markup(page(client, path)), path


def test_every_event_is_the_default_and_ignores_the_ticks(acme: Api) -> None:
    client = staff(acme.workspace, "admin")
    with at(NOW):
        client.post("/dashboard/webhooks/new/", {**FORM, "events": "all"})
    assert WebhookEndpoint.objects.get().event_types == []


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"url": "http://127.0.0.1/hook"}, "id_url", "This URL cannot receive webhooks"),
        ({"url": "ftp://hooks.acme.test/"}, "id_url", "use http or https"),
        ({"url": ""}, "id_url", "This field is required."),
        ({"event_types": []}, "event-types", "Tick at least one event"),
        ({"event_types": ["nope.nothing"]}, "event-types", "Select a valid choice"),
        ({"description": "x" * 201}, "id_description", "at most 200 characters"),
    ],
)
def test_a_bad_form_shows_the_error_next_to_its_field(
    acme: Api, change: dict[str, Any], field: str, message: str
) -> None:
    client = staff(acme.workspace, "owner")
    before = counts_but_signing_in()
    answer = client.post("/dashboard/webhooks/new/", {**FORM, **change})
    body = markup(answer)
    assert answer.status_code == 400
    assert f'id="{field}-error"' in body
    assert message in body
    assert counts_but_signing_in() == before
    assert audits() == []


# The list and an endpoint's page.


def test_the_list_says_the_status_in_plain_words_with_the_last_day(acme: Api) -> None:
    healthy = endpoint_of(acme, url="https://a.acme.test/")
    gone = endpoint_of(acme, url="https://b.acme.test/", event_types=[])
    by_hand = endpoint_of(acme, url="https://c.acme.test/")
    WebhookEndpoint.objects.filter(pk=gone.pk).update(active=False, disabled_reason="gone")
    WebhookEndpoint.objects.filter(pk=by_hand.pk).update(active=False)
    m = message_of(healthy, status="delivered")
    for n, code in enumerate([500, 200, 204, None]):
        attempt(m, code, minutes=n)
    # An attempt of two days ago counts for the last delivery only if it is the latest.
    old = message_of(by_hand, minutes=-2 * 24 * 60)
    attempt(old, 410, minutes=-2 * 24 * 60)
    text = readable(page(staff(acme.workspace, "analyst"), "/dashboard/webhooks/"))
    assert (
        "https://a.acme.test/ referral.converted Active 2026-03-10 12:03 · no answer "
        "50% of 4 attempts" in text
    )
    assert (
        "https://b.acme.test/ Every event Disabled "
        "Turned off by Goodword: the receiver answered 410 Gone" in text
    )
    assert (
        "Turned off by hand: nothing is sent until it is turned on. 2026-03-08 12:00 · 410 —"
        in text
    )


def test_the_endpoint_page_lists_deliveries_filtered_by_status(acme: Api) -> None:
    endpoint = endpoint_of(acme)
    failed = message_of(endpoint, status="failed", minutes=1)
    attempt(failed, 502, minutes=2)
    delivered = message_of(endpoint, status="delivered", minutes=3)
    attempt(delivered, 200, minutes=4)
    client = staff(acme.workspace, "owner")
    text = readable(page(client, base(endpoint)))
    assert (
        f"{delivered.public_id} referral.converted Delivered 1 200 2026-03-10 12:03 Replay" in text
    )
    assert f"{failed.public_id} referral.converted Failed 1 502 2026-03-10 12:01 Replay" in text
    assert "50% attempts answered 2xx (24 h, of 2)" in text
    only = readable(page(client, base(endpoint), status="failed"))
    assert failed.public_id in only
    assert delivered.public_id not in only


def test_the_message_page_shows_the_payload_and_every_attempt(acme: Api) -> None:
    endpoint = endpoint_of(acme)
    message = message_of(endpoint, status="delivered")
    attempt(message, None, minutes=1, error="timed out after 10 s", duration_ms=10000)
    attempt(message, 200, minutes=2, response_body="<b>thanks</b>", duration_ms=31)
    answer = page(
        staff(acme.workspace, "analyst"), f"{base(endpoint)}messages/{message.public_id}/"
    )
    body = markup(answer)
    assert "&quot;amount&quot;: 2500,\n    &quot;currency&quot;: &quot;USD&quot;" in body
    assert "&lt;b&gt;thanks&lt;/b&gt;" in body  # the receiver's answer, escaped
    text = readable(answer)
    assert "2026-03-10 12:01:00 Failed timed out after 10 s no answer 10000 ms empty" in text
    assert "2026-03-10 12:02:00 Delivered 200 31 ms <b>thanks</b>" in text


def test_settings_change_is_audited_only_when_something_changed(acme: Api) -> None:
    endpoint = endpoint_of(acme, description="old")
    client = staff(acme.workspace, "admin")
    form = {"url": "https://new.acme.test/", "events": "all", "description": "old"}
    assert client.post(base(endpoint) + "edit/", form).status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types) == ("https://new.acme.test/", [])
    assert audits() == [
        (
            "admin@acme.test",
            "webhook_endpoint.change",
            endpoint.public_id,
            {
                "changes": {
                    "url": [URL, "https://new.acme.test/"],
                    "event_types": [["referral.converted"], []],
                }
            },
        )
    ]
    client.post(base(endpoint) + "edit/", form)
    assert len(audits()) == 1
    bad = client.post(base(endpoint) + "edit/", {**form, "url": "http://10.1.2.3/"})
    assert bad.status_code == 400
    assert 'id="id_url-error"' in markup(bad)
    endpoint.refresh_from_db()
    assert endpoint.url == "https://new.acme.test/"
    assert len(audits()) == 1


def test_turning_off_and_on_in_plain_words(acme: Api) -> None:
    endpoint = endpoint_of(acme)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=NOW)
    client = staff(acme.workspace, "owner")
    assert "no delivery has succeeded since 2026-03-10 12:00 UTC" in readable(
        page(client, base(endpoint))
    )
    client.post(base(endpoint) + "disable/")
    text = readable(page(client, base(endpoint)))
    assert "Disabled Turned off by hand" in text
    assert "Turn on" in text
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        disabled_reason="failing", failing_since=NOW
    )
    assert "no delivery succeeded for days (failing since 2026-03-10 12:00 UTC)" in readable(
        page(client, base(endpoint))
    )
    client.post(base(endpoint) + "enable/")
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.disabled_reason, endpoint.failing_since) == (True, "", None)
    assert [(a, d) for _, a, _, d in audits()] == [
        ("webhook_endpoint.disable", {"url": URL}),
        ("webhook_endpoint.enable", {"url": URL, "was_disabled_because": "failing"}),
    ]


def test_rotation_shows_the_new_secret_once_with_the_grace(acme: Api) -> None:
    endpoint = endpoint_of(acme)
    old = endpoint.secret
    client = staff(acme.workspace, "owner")
    with at(NOW):
        answer = client.post(base(endpoint) + "rotate/", {"grace_hours": "72"})
    endpoint.refresh_from_db()
    assert (endpoint.previous_secret, endpoint.previous_secret_expires_at) == (
        old,
        NOW + timedelta(hours=72),
    )
    body = markup(answer)
    assert f'value="{endpoint.secret}"' in body
    assert old not in body
    assert "no-store" in answer["Cache-Control"]
    assert (
        "Until 2026-03-13 12:00 UTC each delivery carries a signature by the old secret"
        in readable(answer)
    )
    assert audits() == [
        (
            "owner@acme.test",
            "webhook_endpoint.rotate_secret",
            endpoint.public_id,
            {"grace_hours": 72},
        )
    ]
    with at(NOW):
        shown = markup(client.get(base(endpoint)))
    assert endpoint.secret not in shown
    assert old not in shown
    # A grace that is not offered rotates nothing.
    client.post(base(endpoint) + "rotate/", {"grace_hours": "5"})
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret
    assert len(audits()) == 1


def test_test_event_and_replays(acme: Api) -> None:
    endpoint = endpoint_of(acme)
    client = staff(acme.workspace, "owner")
    with at(NOW):
        answer = client.post(base(endpoint) + "test/", follow=True)
    sent = WebhookMessage.objects.get(event_name="webhook.test")
    assert f"Test event {sent.public_id} is on its way." in readable(answer)
    inside, outside = message_of(endpoint, minutes=10), message_of(endpoint, minutes=120)
    form = {"since": "2026-03-10T12:05", "until": "2026-03-10 13:00"}
    answer = client.post(base(endpoint) + "replay/", form, follow=True)
    assert "1 message will be sent again." in readable(answer)
    statuses = {m.pk: m.status for m in WebhookMessage.objects.all()}
    assert (statuses[inside.pk], statuses[outside.pk]) == ("pending", "failed")
    answer = client.post(
        f"{base(endpoint)}messages/{outside.public_id}/replay/", {"back": "message"}
    )
    assert answer["Location"] == f"{base(endpoint)}messages/{outside.public_id}/"
    assert WebhookMessage.objects.get(pk=outside.pk).status == "pending"
    assert [(a, s, d) for _, a, s, d in audits()] == [
        ("webhook_endpoint.send_test", endpoint.public_id, {"message": sent.public_id}),
        (
            "webhook_endpoint.replay_range",
            endpoint.public_id,
            {"since": "2026-03-10T12:05:00+00:00", "until": "2026-03-10T13:00:00+00:00"},
        ),
        (
            "webhook_message.replay",
            outside.public_id,
            {"endpoint": endpoint.public_id, "event_type": "referral.converted"},
        ),
    ]


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (
            {"since": "2026-03-10T13:00", "until": "2026-03-10T12:00"},
            "replay-until",
            "Must be after",
        ),
        ({"since": "yesterday", "until": "2026-03-10T12:00"}, "replay-since", "Enter a moment"),
        ({"since": "2026-03-10T12:00"}, "replay-until", "This field is required."),
    ],
)
def test_a_bad_range_replays_nothing(
    acme: Api, form: dict[str, str], field: str, message: str
) -> None:
    endpoint = endpoint_of(acme)
    m = message_of(endpoint)
    answer = staff(acme.workspace, "owner").post(base(endpoint) + "replay/", form)
    assert answer.status_code == 400
    body = markup(answer)
    assert f'id="{field}-error"' in body
    assert message in body
    assert WebhookMessage.objects.get(pk=m.pk).status == "failed"
    assert audits() == []


def test_delete_asks_first(acme: Api) -> None:
    endpoint = endpoint_of(acme)
    client = staff(acme.workspace, "admin")
    confirm = client.get(base(endpoint) + "delete/")
    assert f"Delete the endpoint {URL}?" in readable(confirm)
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert client.post(base(endpoint) + "delete/")["Location"] == "/dashboard/webhooks/"
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert audits() == [
        ("admin@acme.test", "webhook_endpoint.delete", endpoint.public_id, {"url": URL})
    ]


def test_another_workspace_gets_404_for_every_id(acme: Api) -> None:
    endpoint = endpoint_of(acme, description="Acme canary hook")
    message = message_of(endpoint)
    globex = make_api("Globex")
    theirs = endpoint_of(globex, url="https://hooks.globex.test/")
    client = staff(globex.workspace, "owner")
    before = counts_but_signing_in()
    paths = [p for p, _ in actions(endpoint, message)][1:] + [
        base(endpoint),
        f"{base(endpoint)}messages/{message.public_id}/",
        # acme's message under globex's own endpoint
        f"{base(theirs)}messages/{message.public_id}/",
        f"{base(theirs)}messages/{message.public_id}/replay/",
    ]
    for path in paths:
        answer = client.post(path, {**FORM, "grace_hours": "0"})
        assert answer.status_code == 404, path
    for path in (base(endpoint), base(endpoint) + "delete/"):
        assert client.get(path).status_code == 404
    listed = markup(client.get("/dashboard/webhooks/"))
    assert "hooks.acme.test" not in listed
    assert "canary" not in listed
    assert "hooks.globex.test" in listed
    assert counts_but_signing_in() == before
    assert audits() == []


def test_the_navigation_links_the_page(acme: Api) -> None:
    for role in ROLES:
        body = markup(page(staff(acme.workspace, role), "/dashboard/"))
        assert re.search(r'<a href="/dashboard/webhooks/">Webhooks</a>', body), role


# In a real browser (UI-1).


@pytest.mark.browser
@pytest.mark.e2e
def test_webhooks_pages_in_chromium(server: Server, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    api = httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    made = api.post(
        "/webhook-endpoints",
        json={"url": "https://crm.acme.test/hooks/goodword-referrals", "description": "CRM"},
    )
    assert made.status_code == 201, made.text
    endpoint = made.json()["id"]
    sent = api.post(f"/webhook-endpoints/{endpoint}/test", json={})
    assert sent.status_code == 201, sent.text
    with owner_session(server, tmp_path) as visitor:
        page_ = visitor.page
        visitor.see("/dashboard/webhooks/new/", "webhook-new", "New webhook endpoint")
        page_.fill("#id_url", "https://shop.acme.test/hooks")
        page_.check("input[name=events][value=chosen]")
        page_.check("input[value='referral.converted']")
        page_.click("text=Create the endpoint")
        page_.wait_for_load_state("networkidle")
        secret = page_.input_value("#secret")
        assert secret.startswith("whsec_")
        assert page_.is_visible("button[data-copy=secret]")  # copy.js ran
        visitor.check("webhook-secret")
        visitor.see("/dashboard/webhooks/", "webhooks", "shop.acme.test")
        visitor.see(f"/dashboard/webhooks/{endpoint}/", "webhook", "Deliveries")
        message = sent.json()["id"]
        visitor.see(
            f"/dashboard/webhooks/{endpoint}/messages/{message}/", "webhook-message", "webhook.test"
        )
        visitor.see(f"/dashboard/webhooks/{endpoint}/delete/", "webhook-delete", "Delete")
        assert visitor.problems == []
    listed = api.get("/webhook-endpoints").json()["data"]
    assert [e["url"] for e in listed] == [
        "https://shop.acme.test/hooks",
        "https://crm.acme.test/hooks/goodword-referrals",
    ]
