"""Branding in Chromium against a real `goodword serve`, at a phone's and a laptop's size, with
axe, the CSP and the console watched: the Branding page (a logo uploaded, a hostile file
refused), a program's Pages and brand page, the page-text editor with its live preview and a
template error, and the share page in Italian in the brand's colour."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.servers import Server
from tests.test_browser_dashboard import CHROMIUM, owner_session

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _logo(path: Path) -> Path:
    image = Image.new("RGB", (900, 240), (255, 213, 0))
    for x in range(60, 840):
        for y in range(90, 150):
            image.putpixel((x, y), (24, 24, 27))
    out = io.BytesIO()
    image.save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return path


def test_branding_and_page_texts_in_chromium(server: Server, tmp_path: Path) -> None:
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
        },
    )
    assert made.status_code == 201, made.text
    program = made.json()["id"]
    enrolled = api.post(
        f"/programs/{program}/advocates",
        json={"external_id": "alice", "name": "Alice Liddell", "email": "alice@example.net"},
    )
    assert enrolled.status_code == 201, enrolled.text
    code = enrolled.json()["code"]
    logo = _logo(tmp_path / "logo.png")
    svg = tmp_path / "evil.png"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')

    with owner_session(server, tmp_path) as visitor:
        page = visitor.page
        visitor.see("/dashboard/branding/", "branding", "no logo yet")
        page.fill("#id_brand_color", "#ffd500")
        page.set_input_files("#id_logo", str(logo))
        page.click("text=Save branding")
        page.wait_for_load_state("networkidle")
        assert page.is_visible("text=Branding saved.")
        src = page.get_attribute(".bd-sample img", "src")
        assert src is not None
        assert src.startswith("/brand/")
        served = httpx.get(server.url + src)
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        with Image.open(io.BytesIO(served.content)) as image:
            assert image.size == (600, 160)
        visitor.check("branding-logo")

        page.set_input_files("#id_logo", str(svg))
        page.click("text=Save branding")
        page.wait_for_load_state("networkidle")
        assert "SVG is not accepted" in page.inner_text("#logo-error")
        # The refusal is a 400, which the browser reports itself; that one is expected.
        assert visitor.problems.pop() == (
            "console: Failed to load resource: the server responded with a status of 400 "
            "(Bad Request)"
        )
        visitor.check("branding-refused")

        visitor.see(f"/dashboard/programs/{program}/pages/", "program-pages", "Page texts")
        page.click(f"a[href='/dashboard/programs/{program}/pages/portal_intro/it/']")
        page.wait_for_load_state("networkidle")
        assert "Condividi il tuo link con gli amici" in page.inner_text("#preview")
        page.fill("#id_source", "Ciao {{ advocate.first_name }}! Ricevi {{ offer.friend }}.")
        page.wait_for_selector("#preview .pt-shown:text-matches('^Ciao Alice! Ricevi')")
        visitor.check("page-text-editor")
        page.fill("#id_source", "Ciao\n{% endif %}")
        page.wait_for_selector("#preview .ms-failed:text-matches('line 2: unexpected tag')")
        visitor.check("page-text-error")
        page.fill("#id_source", "Ciao {{ advocate.first_name }}: condividi e ricevi un regalo.")
        page.wait_for_selector("#preview .pt-shown")
        page.click("#text-form button[type=submit]:text('Save')")
        page.wait_for_load_state("networkidle")
        assert page.is_visible("text=Saved: version 1.")
        visitor.check("page-text-saved")

        # The advocate's share page, in Italian (the browser's language) and the brand's yellow.
        page.set_extra_http_headers({"Accept-Language": "it-IT,it;q=0.9"})
        visitor.see(f"/s/{code}", "share-page-it", "Condividi il tuo link personale")
        assert "condividi e ricevi un regalo" in page.inner_text("main")
        assert page.get_attribute("html", "lang") == "it"
        assert page.get_attribute("header.brand img", "src") == src

        page.set_extra_http_headers({})
        page.goto(f"{server.url}/dashboard/programs/{program}/pages/portal_intro/it/")
        page.click("text=Reset to the default")
        page.wait_for_load_state("networkidle")
        assert page.is_visible("text=Back to the default text.")
        assert visitor.problems == []
