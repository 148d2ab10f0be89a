"""The unsubscribe page in Chromium (UI-1): asked, then done, in English and Italian, at a
phone's and a laptop's size, with axe, the CSP and the console watched; only the button's POST
unsubscribes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from goodword.messaging import unsubscribe
from goodword.messaging.models import Suppression
from tests.factories import make_api
from tests.test_browser_dashboard import CHROMIUM, Visitor, chromium

pytestmark = [pytest.mark.browser]


def test_unsubscribe_page_in_chromium(
    transactional_db: None, live_server: Any, tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    # Rows first: Playwright's event loop makes Django refuse ORM calls from this thread.
    acme = make_api("Acme")
    path = "/u/" + unsubscribe.token(acme.workspace.pk, "email", "bob@example.net")
    shots = Path(os.environ.get("GOODWORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        visitor = Visitor(browser, live_server.url, shots)
        page = visitor.page
        visitor.see(path + "?lang=it", "unsubscribe-it", "Annullare l")
        assert page.get_attribute("html", "lang") == "it"
        visitor.see(path, "unsubscribe-ask", "b***@example.net will get no more")
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert "You are unsubscribed" in page.content()
        visitor.check("unsubscribe-done")
        problems = list(visitor.problems)
    assert problems == []
    row = Suppression.objects.get()
    assert (row.address, row.reason) == ("bob@example.net", "unsubscribed")
