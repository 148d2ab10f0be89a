"""Refer by name: `GET /api/v1/referrers/lookup?q=`, and publishable keys across the API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from goodword.accounts.models import ApiKey, Workspace
from goodword.accounts.origins import forget
from goodword.accounts.services import create_api_key, revoke_api_key, update_workspace
from goodword.api.v1 import referrers
from goodword.api.v1.api import api
from goodword.participants.lookup import mask_name
from tests.factories import Api, Story, enrol, make_program
from tests.shared import row_counts
from tests.test_tenancy import HTTP_METHODS, _call

LOOKUP = "/api/v1/referrers/lookup"


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    referrers.limiter.reset()
    forget()


def publishable(api: Api) -> str:
    _, raw = create_api_key(workspace=api.workspace, name="site", kind="publishable")
    return raw


def lookup(key: str, q: str, **headers: str) -> Any:
    return Client().get(LOOKUP, {"q": q}, HTTP_AUTHORIZATION=f"Bearer {key}", **headers)


# --- publishable keys ------------------------------------------------------------------------


def _operations() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in HTTP_METHODS
    )


@pytest.mark.parametrize(("method", "path"), _operations())
def test_publishable_key_is_refused_everywhere_but_lookup(
    story: Story, method: str, path: str
) -> None:
    key = publishable(story.acme)
    before = row_counts()
    response = _call(Client(), method, path, HTTP_AUTHORIZATION=f"Bearer {key}")
    if path == LOOKUP:
        assert response.status_code == 422  # reached the operation: `q` is missing
        return
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "publishable_key_not_allowed"
    assert "secret key" in error["message"]
    assert row_counts() == before


def test_publishable_key_is_kept_whole_and_secret_key_is_not(story: Story) -> None:
    key, raw = create_api_key(workspace=story.acme.workspace, name="site", kind="publishable")
    assert raw.startswith("gw_pk_")
    assert key.publishable_value == raw
    assert key.prefix == raw[:12]
    secret = ApiKey.objects.for_workspace(story.acme.workspace).get(name="default")
    assert secret.kind == "secret"
    assert secret.publishable_value == ""


def test_revoked_publishable_key_is_refused_on_the_next_call(story: Story) -> None:
    key, raw = create_api_key(workspace=story.acme.workspace, name="site", kind="publishable")
    assert lookup(raw, "Alice").status_code == 200
    assert revoke_api_key(key=key)
    response = lookup(raw, "Alice")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


# --- lookup ----------------------------------------------------------------------------------


def test_mask_name() -> None:
    assert mask_name("Alice Smith") == "Alice S."
    assert mask_name("  alice   van der berg ") == "alice B."
    assert mask_name("Alice") == "Alice"
    assert mask_name("") == ""
    assert mask_name("alice@example.com Smith") == "a. S."


def test_lookup_by_name_prefix_masks_and_never_shows_emails(story: Story) -> None:
    acme = story.acme
    program = story.program["id"]
    alice = enrol(acme, program, "alice-s", name="Alice Smith", email="alice.smith@example.com")
    enrol(acme, program, "bob", name="Bob Alison", email="bob@example.com")
    key = publishable(acme)
    response = lookup(key, "smi")
    assert response.status_code == 200
    assert response.json() == {
        "data": [{"code": alice["code"], "name": "Alice S.", "program": program}]
    }
    # Word starts only: "lis" is inside "Alison", not at a word's start.
    assert lookup(key, "lis").json() == {"data": []}
    names = [m["name"] for m in lookup(key, "ali").json()["data"]]
    assert names == ["Alice", "Alice S.", "Bob A."]
    assert "@" not in lookup(key, "ali").content.decode()


def test_lookup_by_exact_email_only(story: Story) -> None:
    acme = story.acme
    program = story.program["id"]
    carol = enrol(acme, program, "carol", name="Carol Jones", email="Carol@Example.com")
    key = story.acme.key  # a secret key may look up too
    found = lookup(key, "carol@EXAMPLE.com").json()
    assert found == {"data": [{"code": carol["code"], "name": "Carol J.", "program": program}]}
    # No prefix, no +tag folding: an email matches exactly or not at all.
    assert lookup(key, "carol@example.co").json() == {"data": []}
    assert lookup(key, "carol+x@example.com").json() == {"data": []}


def test_lookup_returns_at_most_five(story: Story) -> None:
    for i in range(7):
        enrol(story.acme, story.program["id"], f"sam-{i}", name=f"Sam Number{i}")
    found = lookup(story.acme.key, "sam").json()["data"]
    assert len(found) == 5
    assert [m["name"] for m in found] == ["Sam N."] * 5


def test_lookup_of_a_short_or_long_query_is_422(story: Story) -> None:
    for q in ("al", "  al  ", "x" * 201):
        response = lookup(story.acme.key, q)
        assert response.status_code == 422, q
        assert response.json()["error"]["code"] == "validation_error"
    response = Client().get(LOOKUP, HTTP_AUTHORIZATION=f"Bearer {story.acme.key}")
    assert response.status_code == 422


def test_lookup_never_returns_another_workspaces_advocates(story: Story) -> None:
    globex_program = make_program(story.globex, destination_url="https://shop.globex.test/")
    enrol(story.globex, globex_program["id"], "gina", name="Alice Globex", email="g@globex.test")
    for key in (story.acme.key, publishable(story.acme)):
        found = lookup(key, "alice").json()["data"]
        assert [m["program"] for m in found] == [story.program["id"]]
        assert lookup(key, "g@globex.test").json() == {"data": []}
    found = lookup(publishable(story.globex), "alice").json()["data"]
    assert [m["name"] for m in found] == ["Alice G."]


def test_lookup_skips_programs_that_are_not_active(story: Story) -> None:
    response = story.acme.patch(f"/programs/{story.program['id']}", {"status": "paused"})
    assert response.status_code == 200, response.content
    assert lookup(story.acme.key, "alice").json() == {"data": []}


def test_lookup_is_rate_limited_per_key_and_address(story: Story, settings: Any) -> None:
    referrers.limiter.per_window = 3
    try:
        key = publishable(story.acme)
        for _ in range(3):
            assert lookup(key, "alice").status_code == 200
        refused = lookup(key, "alice")
        assert refused.status_code == 429
        assert 1 <= int(refused["Retry-After"]) <= 60
        assert refused.json()["error"]["code"] == "rate_limited"
        # Another address, or another key, has its own allowance.
        assert lookup(key, "alice", REMOTE_ADDR="10.0.0.9").status_code == 200
        assert lookup(story.acme.key, "alice").status_code == 200
    finally:
        referrers.limiter.per_window = settings.LOOKUP_RATE_PER_MINUTE


def test_lookup_answers_cors_only_for_allowed_origins(story: Story) -> None:
    update_workspace(workspace_id=story.acme.workspace.pk, allowed_domains=["shop.acme.test"])
    key = publishable(story.acme)
    ok = lookup(key, "alice", HTTP_ORIGIN="https://www.shop.acme.test")
    assert ok.status_code == 200
    assert ok["Access-Control-Allow-Origin"] == "https://www.shop.acme.test"
    assert "Origin" in ok["Vary"]
    refused = lookup(key, "alice", HTTP_ORIGIN="https://evil.test")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in refused
    # The preflight: answered for origins some workspace allows.
    client = Client()
    preflight = client.options(
        LOOKUP, HTTP_ORIGIN="https://shop.acme.test", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "https://shop.acme.test"
    assert "Authorization" in preflight["Access-Control-Allow-Headers"]
    other = client.options(
        LOOKUP, HTTP_ORIGIN="https://evil.test", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert other.status_code == 204
    assert "Access-Control-Allow-Origin" not in other
    assert Workspace.objects.get(pk=story.acme.workspace.pk).allowed_domains == ["shop.acme.test"]


def test_lookup_is_in_the_openapi_schema() -> None:
    schema = api.get_openapi_schema()
    operation = schema["paths"][LOOKUP]["get"]
    assert json.dumps(operation).count("429") >= 1
