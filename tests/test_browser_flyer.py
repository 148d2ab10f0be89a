"""The printable flyer in Chromium (UI-1): at a phone's and a laptop's size in English and
Italian, with axe, the CSP, the console and every request watched; the QR code loads; the
Print button appears (its script is a file) and is gone in print; printed as a PDF it is one
page on A4 and on US Letter. Screenshots (print ones too) go to $GOODWORD_SCREENSHOTS."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from goodword.programs.models import Program
from tests.factories import enrol, make_program, make_story
from tests.test_browser_dashboard import CHROMIUM, Visitor, chromium

pytestmark = [pytest.mark.browser]

# CSS pixels of the printable area of each paper at 96 dpi, inside the flyer's 12 mm margins.
PAPERS = {"A4": (794 - 91, 1123 - 91), "Letter": (816 - 91, 1056 - 91)}


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


def test_flyer_in_chromium(transactional_db: None, live_server: Any, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    # Rows first: Playwright's event loop makes Django refuse ORM calls from this thread.
    story = make_story()
    code = story.alice["code"]
    italian = make_program(story.acme, name="Porta un amico")
    Program.objects.filter(public_id=italian["id"]).update(language="it")
    giulia = enrol(story.acme, italian["id"], "giulia", name="Giulia Rossi")["code"]
    shots = Path(os.environ.get("GOODWORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        visitor = Visitor(browser, live_server.url, shots)
        page = visitor.page
        visitor.see(f"/q/{code}/flyer", "flyer-en", "Scan or type the code at checkout")
        assert page.is_visible("#print")  # the script ran, from its file
        loaded = page.eval_on_selector(".qr img", "img => img.complete && img.naturalWidth")
        assert loaded > 0
        assert page.inner_text(".code strong") == code
        page.emulate_media(media="print")
        assert not page.is_visible("#print")
        assert not page.is_visible(".tools")
        for paper, (width, height) in PAPERS.items():
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=str(shots / f"flyer-print-{paper}.png"), full_page=True)
            # Everything on the sheet is within one printed page.
            bottom = page.eval_on_selector(".sheet", "s => s.getBoundingClientRect().bottom")
            assert bottom <= height, (paper, bottom)
            pdf = page.pdf(format=paper, prefer_css_page_size=True, print_background=True)
            (shots / f"flyer-{paper}.pdf").write_bytes(pdf)
            assert pdf_pages(pdf) == 1, paper
        page.emulate_media(media="screen")
        visitor.see(f"/q/{giulia}/flyer", "flyer-it", "Inquadra il codice o digitalo alla cassa")
        assert page.get_attribute("html", "lang") == "it"
        # The offer in Italian words.
        headline = page.inner_text("h1")
        assert headline == "Un regalo da Giulia: 5,00 $ di credito"
        problems = list(visitor.problems)
    assert problems == []
