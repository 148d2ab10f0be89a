"""Messaging in Chromium against a real `goodword serve`, at a phone's and a laptop's size,
with axe, the CSP and the console watched (UI-1): the settings page, a program's journeys, and
the template editor with its live preview (a sandboxed frame), a template error shown next to
its part, saving, and a test sent to oneself."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.servers import Server
from tests.test_browser_dashboard import CHROMIUM, owner_session

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_messaging_pages_in_chromium(server: Server, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    api = httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    made = api.post(
        "/programs",
        json={
            "name": "Give $10, get $10",
            "destination_url": f"{server.url}/demo/shop",
            "rewards": [
                {"beneficiary": "advocate", "kind": "credit", "amount": 1000, "currency": "USD"},
                {"beneficiary": "friend", "kind": "credit", "amount": 500, "currency": "USD"},
            ],
            "trigger": {"event": "purchase", "min_amount": 2000},
        },
    )
    assert made.status_code == 201, made.text
    program = made.json()["id"]
    editor = f"/dashboard/programs/{program}/messages/referral_request/en/"
    with owner_session(server, tmp_path) as visitor:
        page = visitor.page
        visitor.see("/dashboard/messaging/", "messaging-settings", "nothing is sent until")
        page.check("#id_is_active")
        page.fill("#id_from_name", "Acme Shop")
        page.click("form[action$='/messaging/save/'] button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.is_visible("text=Messaging is on: messages go out from now on.")
        visitor.see(
            f"/dashboard/programs/{program}/messages/", "messaging-journeys", "Days after joining"
        )
        visitor.see(editor, "messaging-editor-default", "Using the default wording")
        page.click("text=Customise")
        page.wait_for_load_state("networkidle")
        # Typing previews the unsaved words on sample data, in the sandboxed frame.
        page.fill("#id_subject", "Hello {{ recipient.first_name }}, share {{ advocate.code }}")
        # (wait_for_selector, not wait_for_function: the page's CSP forbids eval)
        page.wait_for_selector("#preview .ms-subject:text-is('Hello Alice, share ALICE10')")
        frame = page.frame_locator("iframe.ms-frame")
        assert "ALICE10" in frame.locator("body").inner_text()
        visitor.check("messaging-editor")
        page.fill("#id_html", "<p>Hi</p>\n{% endfor %}")
        page.wait_for_selector("#error-html:text-matches('^line 2: unexpected tag')")
        assert page.is_visible("#preview .ms-failed")
        visitor.check("messaging-editor-error")
        page.fill("#id_html", "<p>Hi {{ recipient.first_name }}, here is {{ advocate.link }}</p>")
        page.wait_for_selector("#preview iframe.ms-frame", state="attached")
        assert page.inner_text("#error-html") == ""
        page.click("#template-form button[type=submit]:text('Save')")
        page.wait_for_load_state("networkidle")
        assert page.is_visible("text=Saved: version 1.")
        page.click("text=Send a test to me")
        page.wait_for_selector("#test-result .ms-ok")
        assert "A test is on its way to owner@acme.test." in page.inner_text("#test-result")
        visitor.check("messaging-editor-saved")
        # A wording of its own for the "vip" segment, in Italian, from the Messages page.
        page.goto(f"{server.url}/dashboard/programs/{program}/messages/")
        page.click("details.ms-segment summary >> nth=0")  # the referral request's
        page.fill("#segment-referral_request", "vip")
        page.select_option("#segment-language-referral_request", "it")
        page.click("form[action$='/referral_request/segment/'] button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.is_visible("h1:text('for the segment “vip”')")
        page.fill("#id_subject", "Solo per te, {{ recipient.first_name }}")
        page.wait_for_selector("#preview .ms-subject:text-is('Solo per te, Alice')")
        page.click("#template-form button[type=submit]:text('Save')")
        page.wait_for_load_state("networkidle")
        assert page.is_visible("text=Saved: version 1.")
        visitor.check("messaging-editor-segment")
        visitor.see(f"/dashboard/programs/{program}/messages/", "messaging-journeys-segment", "vip")
        visitor.see("/dashboard/messages/", "messaging-log", "No messages yet")
        assert visitor.problems == []
    saved = api.get(f"/programs/{program}/templates/referral_request/en")
    assert saved.status_code == 200, saved.text
    assert saved.json()["subject"] == "Hello {{ recipient.first_name }}, share {{ advocate.code }}"
    vip = api.get(f"/programs/{program}/templates/referral_request/it", params={"segment": "vip"})
    assert (vip.json()["segment"], vip.json()["subject"]) == (
        "vip",
        "Solo per te, {{ recipient.first_name }}",
    )
