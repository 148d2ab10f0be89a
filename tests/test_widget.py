"""The widget's endpoints (`/w/v1/…`), its script (`/widget.js`) and its signing secret."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from goodword.accounts.models import Workspace
from goodword.accounts.origins import forget
from goodword.accounts.services import create_api_key, update_workspace
from goodword.accounts.widget import rotate_widget_secret, sign, verify, widget_secret
from goodword.lib.signing import read_portal_token
from goodword.participants.models import Advocate
from goodword.public.widget import views
from goodword.public.widget.script import script
from goodword.referrals.models import Share
from tests.factories import Story

ORIGIN = "https://www.shop.acme.test"
GZIP_LIMIT = 15 * 1024


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    views.limiter.reset()
    forget()


@pytest.fixture
def site(story: Story) -> dict[str, Any]:
    """acme's pages on shop.acme.test with a publishable key and the signing secret."""
    update_workspace(workspace_id=story.acme.workspace.pk, allowed_domains=["shop.acme.test"])
    _, key = create_api_key(workspace=story.acme.workspace, name="site", kind="publishable")
    return {"key": key, "secret": widget_secret(workspace_id=story.acme.workspace.pk)}


def post(key: str, path: str, body: Any, origin: str = ORIGIN, **headers: str) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body)
    return Client().post(
        f"/w/v1/{path}",
        data,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_ORIGIN=origin,
        **headers,
    )


def signed(site: dict[str, Any], customer: str, **extra: Any) -> dict[str, Any]:
    return {"customer": customer, "signature": sign(site["secret"], customer), **extra}


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


# --- session ---------------------------------------------------------------------------------


def test_anonymous_session_shows_the_offer_only(story: Story, site: dict[str, Any]) -> None:
    response = post(site["key"], "session", {"lang": "it"})
    assert response.status_code == 200, response.content
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    body = response.json()
    assert body["customer"] is None
    assert body["program"]["id"] == story.program["id"]
    assert body["program"]["offer"] == {
        "friend": "5,00 $ di credito",
        "advocate": "10,00 $ di credito",
    }
    assert body["program"]["color"].startswith("#")


def test_signed_in_advocate_gets_code_link_and_portal(story: Story, site: dict[str, Any]) -> None:
    response = post(site["key"], "session", signed(site, "alice"))
    assert response.status_code == 200, response.content
    customer = response.json()["customer"]
    code = story.alice["code"]
    assert customer["enrolled"] is True
    assert customer["code"] == code
    assert customer["link"] == f"http://localhost:8000/r/{code}"
    assert customer["message"] == (
        "A gift for you at Acme when you use my link: $5.00 store credit. (I get $10.00 store "
        "credit if you join.)"
    )
    assert customer["portal_url"].startswith("http://localhost:8000/p/")
    token = read_portal_token(customer["portal_url"].rsplit("/", 1)[1])
    assert token is not None
    assert token.advocate_id == story.alice["id"]


def test_an_identity_without_a_valid_hmac_is_refused(story: Story, site: dict[str, Any]) -> None:
    for body in (
        {"customer": "alice"},
        {"customer": "alice", "signature": sign(site["secret"], "bob")},
        {"customer": "alice", "signature": sign("gw_wss_guess", "alice")},
        {"customer": "alice", "signature": "0" * 64},
    ):
        response = post(site["key"], "session", body)
        assert response.status_code == 401, body
        assert error_code(response) == "bad_signature"
        assert "alice" not in json.dumps(response.json()["error"]).replace("data-customer", "")


def test_secret_key_and_unknown_key_are_refused(story: Story, site: dict[str, Any]) -> None:
    response = post(story.acme.key, "session", {})
    assert response.status_code == 403
    assert error_code(response) == "secret_key_not_allowed"
    response = post("gw_pk_nope", "session", {})
    assert response.status_code == 401
    assert error_code(response) == "unauthorized"


def test_other_origins_are_refused_without_cors(story: Story, site: dict[str, Any]) -> None:
    for origin in ("https://evil.test", "https://shop.acme.test.evil.test", "null"):
        response = post(site["key"], "shares", signed(site, "alice", channel="copy"), origin)
        assert response.status_code == 403, origin
        assert error_code(response) == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in response
    assert Share.objects.count() == 0


def test_bad_bodies_get_json_errors(story: Story, site: dict[str, Any]) -> None:
    cases = [
        (b"{not json", 400, "malformed_body"),
        (b"[1]", 400, "malformed_body"),
        (b"\xff\xfe", 400, "malformed_body"),
        (json.dumps({"customer": "x" * 300}).encode(), 422, "validation_error"),
        (json.dumps({"customer": 7}).encode(), 422, "validation_error"),
        (json.dumps({"program": "prg_nope"}).encode(), 404, "no_active_program"),
        (b"{" + b" " * 5000 + b"}", 413, "payload_too_large"),
    ]
    for body, status, code in cases:
        response = post(site["key"], "session", body)
        assert response.status_code == status, body[:40]
        assert error_code(response) == code
    response = Client().get("/w/v1/session")
    assert response.status_code == 405
    response = Client().post("/w/v1/nope")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_rate_limit_answers_429_with_retry_after(story: Story, site: dict[str, Any]) -> None:
    views.limiter.per_window = 2
    try:
        assert post(site["key"], "session", {}).status_code == 200
        assert post(site["key"], "session", {}).status_code == 200
        refused = post(site["key"], "session", {})
        assert refused.status_code == 429
        assert error_code(refused) == "rate_limited"
        assert 1 <= int(refused["Retry-After"]) <= 60
        assert refused["Access-Control-Allow-Origin"] == ORIGIN
        assert "Retry-After" in refused["Access-Control-Expose-Headers"]
        assert post(site["key"], "session", {}, REMOTE_ADDR="10.1.2.3").status_code == 200
    finally:
        views.limiter.per_window = 60


def test_preflight_is_answered_for_allowed_origins(site: dict[str, Any]) -> None:
    client = Client()
    ok = client.options(
        "/w/v1/shares", HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert ok.status_code == 204
    assert ok["Access-Control-Allow-Origin"] == ORIGIN
    assert ok["Access-Control-Allow-Methods"] == "GET, POST"
    other = client.options(
        "/w/v1/shares", HTTP_ORIGIN="https://evil.test", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "Access-Control-Allow-Origin" not in other


# --- enrol and share -------------------------------------------------------------------------


def test_signed_in_customer_enrols_once(story: Story, site: dict[str, Any]) -> None:
    first = post(site["key"], "session", signed(site, "carol"))
    assert first.json()["customer"] == {"enrolled": False, "can_enrol": True}
    assert not Advocate.objects.filter(participant__external_id="carol").exists()
    made = post(site["key"], "enrol", signed(site, "carol"))
    assert made.status_code == 201, made.content
    assert made.json()["customer"]["enrolled"] is True
    again = post(site["key"], "enrol", signed(site, "carol"))
    assert again.status_code == 200
    assert again.json()["customer"]["code"] == made.json()["customer"]["code"]
    assert Advocate.objects.filter(participant__external_id="carol").count() == 1


def test_enrolment_follows_the_programs_eligibility(story: Story, site: dict[str, Any]) -> None:
    rule = {"who": "listed", "external_ids": ["dave"]}
    response = story.acme.patch(f"/programs/{story.program['id']}", {"eligibility": rule})
    assert response.status_code == 200, response.content
    state = post(site["key"], "session", signed(site, "carol")).json()["customer"]
    assert state == {"enrolled": False, "can_enrol": False}
    refused = post(site["key"], "enrol", signed(site, "carol"))
    assert refused.status_code == 409
    assert error_code(refused) == "not_eligible"
    assert not Advocate.objects.filter(participant__external_id="carol").exists()
    anonymous = post(site["key"], "enrol", {})
    assert anonymous.status_code == 422
    assert error_code(anonymous) == "customer_required"


def test_share_records_one_widget_share(story: Story, site: dict[str, Any]) -> None:
    response = post(site["key"], "shares", signed(site, "alice", channel="whatsapp"))
    assert response.status_code == 201, response.content
    assert response.json() == {"channel": "whatsapp", "recorded": True}
    share = Share.objects.get()
    assert (share.channel, share.source) == ("whatsapp", "widget")
    assert share.advocate.participant.external_id == "alice"


def test_share_refusals_record_nothing(story: Story, site: dict[str, Any]) -> None:
    unknown = post(site["key"], "shares", signed(site, "alice", channel="pigeon"))
    assert unknown.status_code == 422
    assert error_code(unknown) == "unknown_channel"
    stranger = post(site["key"], "shares", signed(site, "carol", channel="copy"))
    assert stranger.status_code == 404
    assert error_code(stranger) == "not_an_advocate"
    anonymous = post(site["key"], "shares", {"channel": "copy"})
    assert anonymous.status_code == 404
    assert Share.objects.count() == 0


def test_other_workspaces_key_never_reaches_acme(story: Story, site: dict[str, Any]) -> None:
    update_workspace(workspace_id=story.globex.workspace.pk, allowed_domains=["shop.acme.test"])
    _, globex_key = create_api_key(workspace=story.globex.workspace, name="s", kind="publishable")
    body = {"program": story.program["id"]}
    response = post(globex_key, "session", body)
    assert response.status_code == 404
    assert error_code(response) == "no_active_program"
    # Signed with acme's secret, "alice" means nothing to globex.
    response = post(globex_key, "shares", signed(site, "alice", channel="copy"))
    assert response.status_code == 401
    assert Share.objects.count() == 0


# --- the signing secret ----------------------------------------------------------------------


def test_signing_secret_is_made_once_and_rotates(story: Story) -> None:
    ws = story.acme.workspace
    first = widget_secret(workspace_id=ws.pk)
    assert first.startswith("gw_wss_")
    assert widget_secret(workspace_id=ws.pk) == first
    now = timezone.now()
    second = rotate_widget_secret(workspace_id=ws.pk, now=now)
    assert second != first
    workspace = Workspace.objects.get(pk=ws.pk)
    assert verify(workspace, "alice", sign(second, "alice"), now)
    assert verify(workspace, "alice", sign(first, "alice").upper(), now + timedelta(hours=23))
    assert not verify(workspace, "alice", sign(first, "alice"), now + timedelta(hours=25))
    assert not verify(workspace, "", sign(second, ""), now)


def test_signature_matches_the_documented_example() -> None:
    # docs/sharing-widget.md shows this pair for Python and Node.
    assert sign("gw_wss_example", "customer-42") == (
        "263511b07274803f232eab61acc2a5d5e1be1448376b564283a5d5322e0a3a8b"
    )


# --- the script ------------------------------------------------------------------------------


def test_widget_js_is_small_cached_and_versioned(db: None) -> None:
    client = Client()
    response = client.get("/widget.js", HTTP_ACCEPT_ENCODING="gzip, br")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Content-Encoding"] == "gzip"
    assert len(response.content) <= GZIP_LIMIT, f"{len(response.content)} bytes gzipped"
    assert gzip.decompress(response.content) == script().body
    assert response["Cache-Control"].startswith("public, max-age=3600")
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    plain = client.get("/widget.js")
    assert "Content-Encoding" not in plain
    assert len(gzip.compress(plain.content, 9)) <= GZIP_LIMIT
    version = script().version
    pinned = client.get(f"/widget/{version}.js")
    assert pinned.status_code == 200
    assert pinned["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get("/widget/000000000000.js").status_code == 404
    unchanged = client.get("/widget.js", HTTP_IF_NONE_MATCH=f'"{version}"')
    assert unchanged.status_code == 304
    # Nothing in it reaches for another host but the share links a person taps.
    text = plain.content.decode()
    assert "import(" not in text
    assert "eval(" not in text
    assert "innerHTML" not in text
