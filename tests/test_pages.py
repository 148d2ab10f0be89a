"""SEC-2: every HTML page carries the security headers and a Content-Security-Policy.

`tests/test_browser.py` loads the same pages in Chromium and checks that the policy blocks
nothing they use.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from goodword.lib.csp import POLICY
from tests.factories import Story

BOT = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"

# path (`{code}` is alice's), expected status, who serves it
PAGES = [
    ("/", 200, "django"),
    ("/s/{code}", 200, "django"),
    ("/s/NO-SUCH-CODE", 404, "django"),
    ("/q/{code}/flyer", 200, "django"),
    ("/q/NO-SUCH-CODE/flyer", 404, "django"),
    ("/demo/shop?gw_ref=abc", 200, "django"),
    ("/no/such/page", 404, "django"),
    ("/admin/login/", 200, "django"),
    ("/admin/", 200, "django"),
    ("/admin/referrals/referral/", 200, "django"),
    ("/api/v1/docs", 200, "django"),
    ("/r/{code}", 200, "links"),  # the preview card a link-preview bot gets
    ("/r/NO-SUCH-CODE", 404, "links"),
]


@pytest.mark.parametrize(("path", "status", "server"), PAGES)
def test_html_pages_carry_security_headers(
    story: Story, path: str, status: int, server: str
) -> None:
    client = Client(HTTP_USER_AGENT=BOT)
    if path.startswith("/admin/") and path != "/admin/login/":
        client.force_login(get_user_model().objects.get(username="owner@acme.test"))
    response = client.get(path.format(code=story.alice["code"]))
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] in ("same-origin", "no-referrer")
    policy = response["Content-Security-Policy"]
    if server == "django":
        assert policy == POLICY
        assert response["X-Frame-Options"] == "DENY"
    else:
        assert policy.startswith("default-src 'none'")


def test_qr_codes_carry_nosniff_and_the_svg_a_policy_of_its_own(story: Story) -> None:
    for kind in ("svg", "png"):
        response = Client().get(f"/q/{story.alice['code']}.{kind}")
        assert response.status_code == 200
        assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"
    svg = Client().get(f"/q/{story.alice['code']}.svg")
    assert svg["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"


def test_json_answers_carry_no_page_policy(story: Story) -> None:
    assert "Content-Security-Policy" not in story.acme.get("/referrals")
    assert "Content-Security-Policy" not in Client().get("/healthz")
