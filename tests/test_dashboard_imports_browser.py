"""Workspace → Imports in Chromium against a real `goodword serve`, at a phone's and a laptop's
size, with axe, the CSP and the console watched (UI-1): the empty list, the upload form (the
live-orders box shows for past orders only), a participants file with a refused row, the same
file again, a past-orders file, and the list with both imports."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.servers import Server
from tests.test_browser_dashboard import CHROMIUM, owner_session

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PEOPLE = (
    b"external_id,email,name,attr.plan\r\n"
    b"cust-1001,ada@example.com,Ada Lovelace,pro\r\n"
    b"cust-1002,grace@example,Grace Hopper,basic\r\n"
    b"cust-1003,,Katherine Johnson,\r\n"
)
ORDERS = (
    b"order_id,customer_external_id,amount,currency,occurred_at\r\n"
    b"A-1001,cust-1001,42.50,USD,2024-05-01T12:30:00Z\r\n"
    b"A-1002,cust-1003,1000,JPY,2024-05-02T09:00:00+09:00\r\n"
)


def test_imports_pages_in_chromium(server: Server, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    with owner_session(server, tmp_path) as visitor:
        page = visitor.page
        visitor.see("/dashboard/imports/", "imports-empty", "No imports yet")
        page.click("text=Import a file")
        page.wait_for_load_state("networkidle")
        assert page.is_visible("text=What the file holds")
        # The live-orders box and its warning show for past orders only.
        assert not page.is_visible("#id_with_rewards")
        page.check("input[name=kind][value=orders]")
        assert page.is_visible("#id_with_rewards")
        assert page.is_visible("text=these orders may earn rewards")
        visitor.check("imports-form-orders")
        page.check("input[name=kind][value=participants]")
        assert not page.is_visible("#id_with_rewards")

        def send(name: str, content: bytes) -> None:
            page.set_input_files(
                "#id_file", files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
            )
            page.click("form[action$='/imports/new/'] button[type=submit]")
            page.wait_for_load_state("networkidle")

        send("customers.csv", PEOPLE)
        result = page.inner_text("section.im-result")
        assert "customers.csv: imported" in result
        assert [page.inner_text(f".im-result .kpi:nth-child({n}) dd") for n in range(1, 6)] == [
            "3", "2", "0", "0", "1",
        ]  # fmt: skip
        assert page.inner_text(".im-result tbody tr td:nth-child(2)") == (
            "email is not an address like name@example.com"
        )
        visitor.check("imports-result")
        send("customers-again.csv", PEOPLE)
        assert page.is_visible("text=This file was imported already")
        visitor.check("imports-already")
        page.check("input[name=kind][value=orders]")
        send("orders-2024.csv", ORDERS)
        result = page.inner_text("section.im-result")
        assert "orders-2024.csv: imported" in result
        assert "Already known" in result
        visitor.see("/dashboard/imports/", "imports-list", "orders-2024.csv")
        rows = page.locator("#rows tbody tr")
        assert rows.count() == 2
        assert "orders-2024.csv" in rows.nth(0).inner_text()  # newest first
        assert "customers.csv" in rows.nth(1).inner_text()
        assert visitor.problems == []
    api = httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    # What the pages said is what the workspace holds: grace's row was refused.
    known = {c: api.get(f"/participants/{c}").status_code for c in ("cust-1001", "cust-1002")}
    assert known == {"cust-1001": 200, "cust-1002": 404}
    ada = api.get("/participants/cust-1001").json()
    assert (ada["name"], ada["email"], ada["purchase_count"]) == (
        "Ada Lovelace", "ada@example.com", 1,
    )  # fmt: skip
