"""SEC-3 (links redirect only to allowed destinations) and SEC-4 (API keys)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from typing import Any
from urllib.parse import quote, unquote

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from goodword.accounts.models import ApiKey, Workspace
from goodword.accounts.services import create_api_key, revoke_api_key
from goodword.lib.signing import read_ref_token
from goodword.participants.models import Advocate, Participant
from goodword.public import links
from goodword.wsgi import application
from tests.factories import PROGRAM, Api, Story, enrol
from tests.shared import row_counts

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"
DESTINATION = "https://shop.acme.test/welcome"
EVIL = "evil.example"


def wsgi_get(path_info: str, query: str = "", **environ: str) -> tuple[str, dict[str, str]]:
    """Call the production WSGI entry point the way granian does, `/r/` fast path included."""
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        answer["status"] = status
        answer["headers"] = dict(headers)

    env = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "HTTP_USER_AGENT": BROWSER,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        **environ,
    }
    b"".join(application(env, start_response))
    return answer["status"], answer["headers"]


def assert_goes_to(location: str, destination: str, advocate_id: str) -> None:
    """The redirect is exactly the destination plus one fresh `gw_ref`, nothing else."""
    base, _, query = location.partition("gw_ref=")
    assert base in (destination + "?", destination + "&"), location
    token = read_ref_token(query)
    assert token is not None, location
    assert token.advocate_id == advocate_id
    assert EVIL not in location


# SEC-3: the link redirects to the program's destination and to nothing from the request.

HOSTILE_QUERIES = [
    f"next=https://{EVIL}/",
    f"url=https://{EVIL}/",
    f"redirect=//{EVIL}",
    f"redirect_uri=https%3A%2F%2F{EVIL}%2F",
    f"return_to=https://{EVIL}/&continue=https://{EVIL}/",
    f"destination=https://{EVIL}/&dest=https://{EVIL}/",
    f"gw_ref={EVIL}",
    f"gw_ref=x.y.z.w&gw_ref=https://{EVIL}/",
    f"via=https://{EVIL}/&utm_source=https://{EVIL}/",
    f"to=javascript:alert(1)&next=data:text/html,{EVIL}",
]


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_link_ignores_redirect_targets_in_the_query(story: Story, query: str) -> None:
    code = story.alice["code"]
    response = Client().get(f"/r/{code}?{query}", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    assert_goes_to(response["Location"], DESTINATION, story.alice["id"])
    status, headers = wsgi_get(f"/r/{code}", query)
    assert status == "302 Found"
    assert_goes_to(headers["Location"], DESTINATION, story.alice["id"])


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_HOST": EVIL},
        {"HTTP_X_FORWARDED_HOST": EVIL, "HTTP_X_FORWARDED_PROTO": "https"},
        {"HTTP_REFERER": f"https://{EVIL}/", "HTTP_ORIGIN": f"https://{EVIL}"},
        {"HTTP_X_ORIGINAL_URL": f"https://{EVIL}/", "HTTP_X_REWRITE_URL": f"//{EVIL}"},
    ],
)
def test_link_ignores_redirect_targets_in_headers(story: Story, headers: dict[str, str]) -> None:
    status, answer = wsgi_get(f"/r/{story.alice['code']}", **headers)
    assert status == "302 Found"
    assert_goes_to(answer["Location"], DESTINATION, story.alice["id"])
    response = Client().get(f"/r/{story.alice['code']}", HTTP_USER_AGENT=BROWSER, **headers)
    # Django may refuse a Host it does not serve (400); it never redirects anywhere else.
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert_goes_to(response["Location"], DESTINATION, story.alice["id"])


PATH_TRICKS = [
    "/r/{code}/..//{evil}",
    "/r/{code}//{evil}",
    "/r//{evil}",
    "/r///{evil}/",
    "/r/{code}/https://{evil}/",
    "/r/https://{evil}",
    "/r/%2F%2F{evil}",
    "/r/{code}%2F%2F{evil}",
    "/r/{code}%2F..%2F..%2F{evil}",
    "/r/%5C%5C{evil}",
    "/r/{code}%0D%0ALocation:%20https://{evil}/",
    "/r/{code}%00https://{evil}",
    "/r/..%2F{evil}",
]


@pytest.mark.parametrize("trick", PATH_TRICKS)
def test_link_path_tricks_never_redirect_elsewhere(story: Story, trick: str) -> None:
    path = trick.format(code=story.alice["code"], evil=EVIL)
    for status, location in (_via_django(path), _via_wsgi(unquote(path))):
        assert status in (302, 404), (path, status)
        if status == 302:
            assert_goes_to(location, DESTINATION, story.alice["id"])


def _via_django(path: str) -> tuple[int, str]:
    response = Client().get(path, HTTP_USER_AGENT=BROWSER)
    return response.status_code, response.get("Location", "")


def _via_wsgi(path_info: str) -> tuple[int, str]:
    status, headers = wsgi_get(path_info)
    return int(status.split()[0]), headers.get("Location", "")


def test_link_preview_for_bots_links_only_to_our_own_link(story: Story) -> None:
    response = Client().get(
        f"/r/{story.alice['code']}?next=https://{EVIL}/", HTTP_USER_AGENT="facebookexternalhit/1.1"
    )
    assert response.status_code == 200
    assert EVIL not in response.content.decode()
    assert f"{settings.SITE_URL}/r/{story.alice['code']}" in response.content.decode()


def test_paused_program_link_goes_to_the_destination_only(story: Story) -> None:
    assert (
        story.acme.patch(f"/programs/{story.program['id']}", {"status": "paused"}).status_code
        == 200
    )
    links.forget()
    response = Client().get(
        f"/r/{story.alice['code']}?next=https://{EVIL}/", HTTP_USER_AGENT=BROWSER
    )
    assert response.status_code == 302
    assert response["Location"] == DESTINATION


BAD_OVERRIDES = [
    f"https://{EVIL}/",
    "https://shop.acme.test.evil.example/",
    "https://evilshop.acme.test/",
    "https://acme.test/",
    "https://shop.acme.test@evil.example/",
    "https://user:pw@shop.acme.test/",
    "https://evil.example#@shop.acme.test/",
    "https://evil.example\\@shop.acme.test/",
    "//shop.acme.test/alice",
    "/alice",
    "javascript:alert(1)//shop.acme.test",
    "data:text/html,shop.acme.test",
    "ftp://shop.acme.test/alice",
    "https://shop.acme.test/\r\nLocation: https://evil.example/",
    "https://shop.acme.test:99999/",
]


@pytest.mark.parametrize("override", BAD_OVERRIDES)
def test_override_outside_allowed_domains_is_refused(story: Story, override: str) -> None:
    before = row_counts()
    response = story.acme.post(
        f"/programs/{story.program['id']}/advocates",
        {"external_id": "mallory", "email": "mallory@example.org", "destination_url": override},
    )
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "destination_not_allowed"
    assert "shop.acme.test" in error["message"]
    assert not Advocate.objects.filter(participant__external_id="mallory").exists()
    assert not Participant.objects.filter(external_id="mallory").exists()
    assert row_counts() == before


@pytest.mark.parametrize(
    "override",
    [
        "https://shop.acme.test/alice",
        "https://eu.shop.acme.test/alice?lang=fr",
        "http://a.b.shop.acme.test/x#top",
        "HTTPS://Shop.Acme.Test/caps",
    ],
)
def test_override_on_allowed_domain_or_subdomain_is_used(story: Story, override: str) -> None:
    carol = enrol(story.acme, story.program["id"], "carol", destination_url=override)
    assert carol["destination_url"] == override
    response = Client().get(f"/r/{carol['code']}", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    base, _, fragment = override.partition("#")
    location, _, location_fragment = response["Location"].partition("#")
    assert location_fragment == fragment
    assert_goes_to(location, base, carol["id"])


BAD_DESTINATIONS = [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)//https://shop.acme.test/",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://shop.acme.test/",
    "mailto:owner@acme.test",
    "https://user:pw@shop.acme.test/",
    "https://user@shop.acme.test/",
    "https://:pw@shop.acme.test/",
    "//shop.acme.test/welcome",
    "/welcome",
    "shop.acme.test/welcome",
    "https://",
    "https:///welcome",
    " https://shop.acme.test/",
    "https://shop.acme.test/\r\nSet-Cookie: a=b",
    "https://shop.acme.test\\@evil.example/",
    "https://shop.acme.test:99999/",
    "https://shop acme.test/",
    "",
]


@pytest.mark.parametrize("url", BAD_DESTINATIONS)
def test_program_with_unsafe_destination_is_refused(story: Story, url: str) -> None:
    acme = story.acme
    before = row_counts()
    domains = list(Workspace.objects.get(pk=acme.workspace.pk).allowed_domains)
    response = acme.post("/programs", {**PROGRAM, "destination_url": url})
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "invalid_destination"
    assert "destination_url" in response.json()["error"]["message"]
    assert row_counts() == before
    assert Workspace.objects.get(pk=acme.workspace.pk).allowed_domains == domains

    program_path = f"/programs/{story.program['id']}"
    program = acme.get(program_path).json()
    response = acme.patch(program_path, {"destination_url": url, "name": "Changed"})
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "invalid_destination"
    assert acme.get(program_path).json() == program
    assert row_counts() == before
    assert Workspace.objects.get(pk=acme.workspace.pk).allowed_domains == domains


def test_narrowed_domains_turn_links_off_until_allowed_again(story: Story) -> None:
    acme, code = story.acme, story.alice["code"]
    carol = enrol(acme, story.program["id"], "carol", destination_url="https://eu.shop.acme.test/c")
    assert Client().get(f"/r/{code}", HTTP_USER_AGENT=BROWSER).status_code == 302

    r = acme.patch("/workspace", {"allowed_domains": ["other.test"]})
    assert r.json()["allowed_domains"] == ["other.test"]
    links.forget()
    for c in (code, carol["code"]):
        response = Client().get(f"/r/{c}", HTTP_USER_AGENT=BROWSER)
        assert response.status_code == 404
        assert "Location" not in response
        status, headers = wsgi_get(f"/r/{c}")
        assert status == "404 Not Found"
        assert "Location" not in headers

    # A parent domain allows both the program's host and the advocate's subdomain again.
    acme.patch("/workspace", {"allowed_domains": ["acme.test"]})
    links.forget()
    response = Client().get(f"/r/{carol['code']}", HTTP_USER_AGENT=BROWSER)
    assert_goes_to(response["Location"], "https://eu.shop.acme.test/c", carol["id"])
    response = Client().get(f"/r/{code}", HTTP_USER_AGENT=BROWSER)
    assert_goes_to(response["Location"], DESTINATION, story.alice["id"])


# SEC-4: API keys.


def _every_value() -> list[str]:
    out = []
    for model in apps.get_models():
        for row in model._default_manager.values():
            out.extend(str(v) for v in row.values())
    return out


def test_keys_are_stored_only_as_sha256_and_shown_once(db: None) -> None:
    stdout = io.StringIO()
    call_command("createworkspace", "Acme", "--owner", "owner@acme.test", "--json", stdout=stdout)
    printed = json.loads(stdout.getvalue())
    raw = printed["api_key"]
    assert raw.startswith("gw_sk_")
    ws = Workspace.objects.get(public_id=printed["workspace"]["id"])
    key2, raw2 = create_api_key(workspace=ws, name="second")
    assert raw2 != raw

    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get("/api/v1/workspace", **auth).status_code == 200
    rows = []
    for key in (raw, raw2):
        row = ApiKey.objects.get(key_hash=hashlib.sha256(key.encode()).hexdigest())
        assert row.prefix == key[:12]
        rows.append(row)
        # Beyond the short prefix shown in lists, no column of any row holds the secret.
        secret = key[12:]
        assert all(secret not in value for value in _every_value())
    # The key object create_api_key returns does not carry the secret either.
    assert key2.key_hash == hashlib.sha256(raw2.encode()).hexdigest()
    assert raw2[12:] not in repr(vars(key2))

    # Nothing the API answers gives a key back.
    for path in ("/api/v1/workspace", "/api/v1/programs", "/api/v1/referrals", "/api/v1/rewards"):
        body = client.get(path, **auth).content.decode()
        assert raw[12:] not in body
        assert raw2[12:] not in body
    # The staff area shows keys by prefix, never the secret or its hash.
    admin = get_user_model().objects.create_superuser("root@acme.test", "root@acme.test", "pw")
    client.force_login(admin)
    pages = [client.get("/admin/accounts/apikey/")]
    pages += [client.get(f"/admin/accounts/apikey/{row.pk}/change/") for row in rows]
    for response in pages:
        assert response.status_code == 200
        page = response.content.decode()
        for key, row in zip((raw, raw2), rows, strict=True):
            assert key[12:] not in page
            assert row.key_hash not in page
    assert raw[:12] in pages[0].content.decode()


def test_revocation_is_effective_on_the_next_request(acme: Api) -> None:
    spare, spare_raw = create_api_key(workspace=acme.workspace, name="spare")
    assert acme.get("/workspace").status_code == 200
    key = ApiKey.objects.get(key_hash=hashlib.sha256(acme.key.encode()).hexdigest())
    assert revoke_api_key(key=key)
    response = acme.get("/workspace")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert acme.post("/participants", {"external_id": "zed"}).status_code == 401
    assert not Participant.objects.filter(external_id="zed").exists()
    assert not revoke_api_key(key=key)
    # The workspace's other keys keep working.
    ok = Client().get("/api/v1/workspace", HTTP_AUTHORIZATION=f"Bearer {spare_raw}")
    assert ok.status_code == 200


@pytest.mark.parametrize(
    "name", ["api_key", "key", "token", "access_token", "apikey", "authorization", "bearer"]
)
def test_key_in_query_string_or_cookie_is_never_accepted(acme: Api, name: str) -> None:
    client = Client()
    for query in (f"{name}={acme.key}", f"{name}={quote('Bearer ' + acme.key)}"):
        response = client.get(f"/api/v1/workspace?{query}")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        response = client.post(
            f"/api/v1/participants?{query}",
            json.dumps({"external_id": "zed"}),
            content_type="application/json",
        )
        assert response.status_code == 401
    client.cookies[name] = acme.key
    assert client.get("/api/v1/workspace").status_code == 401
    # Form fields do not carry keys either.
    response = client.post("/api/v1/participants", {name: acme.key, "external_id": "zed"})
    assert response.status_code == 401
    assert not Participant.objects.filter(external_id="zed").exists()


def test_key_in_other_headers_is_never_accepted(acme: Api) -> None:
    for header in (
        "HTTP_X_API_KEY",
        "HTTP_API_KEY",
        "HTTP_X_AUTHORIZATION",
        "HTTP_PROXY_AUTHORIZATION",
    ):
        response = Client().get("/api/v1/workspace", **{header: acme.key})
        assert response.status_code == 401, header


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Bearer garbage",
        "Bearer gw_sk_",
        "Bearer gw_sk_" + "A" * 32,
        "Bearer {key}x",
        "Bearer {key_cut}",
        "Bearer {key_upper}",
        "Bearer {key} extra",
        "Bearer  {key}",
        "Bearer\t{key}",
        "Bearer {key_long}",
        "{key}",
        "Token {key}",
        "Basic {basic_user}",
        "Basic {basic_password}",
        "Digest username={key}",
        "Bearer ключ",
    ],
)
def test_malformed_authorization_is_401(acme: Api, header: str) -> None:
    value = header.format(
        key=acme.key,
        key_cut=acme.key[:-1],
        key_upper=acme.key.upper(),
        key_long=acme.key + "x" * 200,
        basic_user=_basic(acme.key, "")[6:],
        basic_password=_basic("", acme.key)[6:],
    )
    before = row_counts()
    response = Client().post(
        "/api/v1/participants",
        json.dumps({"external_id": "zed"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=value,
    )
    assert response.status_code == 401, value
    assert response.json()["error"]["code"] == "unauthorized"
    assert row_counts() == before
    assert acme.get("/workspace").status_code == 200
