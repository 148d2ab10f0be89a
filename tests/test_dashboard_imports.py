"""Workspace → Imports: CSV uploads of participants and past orders, imported as the API imports
them (the same `imports.uploads.import_upload`), with exact counts and the refused rows on the
answer; the list of the workspace's imports; who may import (owners and admins), the size
limit checked before the body is read, CSRF, the audit log, and globex seeing none of it."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern
from django.utils import timezone

from goodword.accounts.roles import Can
from goodword.dashboard.imports import urls as import_urls
from goodword.imports import people, runs
from goodword.imports.models import Import
from goodword.ingest.models import Event
from goodword.participants.models import Participant
from goodword.referrals.models import Referral
from goodword.rewards.models import Reward
from tests.dashboard import (
    MANAGERS,
    ROLES,
    audits,
    counts_but_signing_in,
    markup,
    owner,
    readable,
    staff,
)
from tests.factories import Api, Story, signup

pytestmark = pytest.mark.usefixtures("rows_match_the_catalogue")

NEW = "/dashboard/imports/new/"
LIST = "/dashboard/imports/"
ORDERS = "order_id,customer_external_id,amount,currency,occurred_at,referral_code\r\n"


def when(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


def upload(client: Client, kind: str, content: bytes, name: str = "people.csv", **form: Any) -> Any:
    file = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(NEW, {"kind": kind, "file": file, **form})


def people_of(api: Api) -> dict[str, tuple[str, str]]:
    found = Participant.objects.for_workspace(api.workspace)
    return {p.external_id: (p.email, p.name) for p in found}


def refused_rows(answer: Any) -> list[tuple[str, str, str]]:
    """The refused rows' table on an answer: (line, reason, row)."""
    body = markup(answer)
    if 'id="refused"' not in body:
        return []
    table = body[body.index('id="refused"') :]
    table = table[table.index("<tbody>") : table.index("</tbody>")]
    cells = re.findall(
        r"<tr><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td><td[^>]*><code>(.*?)</code>", table
    )
    return [(line, html.unescape(reason), html.unescape(row)) for line, reason, row in cells]


def test_each_url_names_its_permission() -> None:
    patterns = [p for p in import_urls.urlpatterns if isinstance(p, URLPattern)]
    found = {p.name: p.callback.permission for p in patterns}  # type: ignore[attr-defined]
    assert found == {"imports": Can.VIEW, "import_create": Can.MANAGE}


def test_participants_upload_shows_exact_counts_and_refused_rows(story: Story) -> None:
    acme = story.acme
    client = owner(acme.workspace)
    first = (
        b"external_id,email,name\r\nhal,hal@example.com,Hal\r\n"
        b'gina,gina@x,"Hopper, Gina"\r\nivy,,Ivy\r\n'
    )
    answer = upload(client, "participants", first, name="customers.csv")
    assert answer.status_code == 200, readable(answer)
    assert "no-cache" in answer["Cache-Control"]
    text = readable(answer)
    assert "customers.csv: imported Participants" in text
    assert "Rows read 3 Created 2 Updated 0 Unchanged 0 Refused 1" in text
    assert refused_rows(answer) == [
        ("3", "email is not an address like name@example.com", 'gina,gina@x,"Hopper, Gina"')
    ]
    assert people_of(acme) == {
        "alice": ("alice@example.com", "Alice"),
        "hal": ("hal@example.com", "Hal"),
        "ivy": ("", "Ivy"),
    }
    # A second file: alice renamed, hal unchanged (empty cells change nothing), one new.
    second = b"external_id,email,name\r\nalice,,Alice Liddell\r\nhal,,\r\njo,jo@example.com,Jo\r\n"
    answer = upload(client, "participants", second, name="more.csv")
    assert answer.status_code == 200
    assert "Rows read 3 Created 1 Updated 1 Unchanged 1 Refused 0" in readable(answer)
    assert refused_rows(answer) == []
    assert people_of(acme)["alice"] == ("alice@example.com", "Alice Liddell")
    imports = Import.objects.for_workspace(acme.workspace).order_by("pk")
    assert [(i.file_name, i.kind, i.status, i.rows, i.created, i.updated, i.skipped, i.failed)
            for i in imports] == [
        ("customers.csv", "participants", "done", 3, 2, 0, 0, 1),
        ("more.csv", "participants", "done", 3, 1, 1, 1, 0),
    ]  # fmt: skip
    first_id, second_id = [i.public_id for i in imports]
    assert audits() == [
        ("owner@acme.test", "import.run", first_id,
         {"kind": "participants", "file_name": "customers.csv", "with_rewards": False, "rows": 3,
          "created": 2, "updated": 0, "skipped": 0, "failed": 1, "already_done": False,
          "resumed_after": 0}, "127.0.0.1"),
        ("owner@acme.test", "import.run", second_id,
         {"kind": "participants", "file_name": "more.csv", "with_rewards": False, "rows": 3,
          "created": 1, "updated": 1, "skipped": 1, "failed": 0, "already_done": False,
          "resumed_after": 0}, "127.0.0.1"),
    ]  # fmt: skip


def test_past_orders_earn_nothing_and_known_ones_are_counted(story: Story) -> None:
    acme = story.acme
    bob = signup("s-bob", "bob", referral_code=story.alice["code"], occurred_at=when(2))
    assert acme.event(bob).status_code == 201
    live = {"id": "live-1", "type": "purchase", "customer": {"external_id": "erin"},
            "order": {"id": "o-live", "amount": 1000, "currency": "USD"}}  # fmt: skip
    assert acme.event(live).status_code == 201
    yesterday = when(1)
    content = (
        ORDERS
        + f"o-1,bob,42.50,USD,{yesterday},{story.alice['code']}\r\n"
        + f"o-live,erin,10.00,USD,{yesterday},\r\n"
        + f"o-2,erin,-5,USD,{yesterday},\r\n"
        + "o-3,dora,1000,JPY,2024-03-01T10:00:00+09:00,\r\n"
    ).encode()
    # "Decide them as live orders" left unticked, as it is at first.
    answer = upload(owner(acme.workspace), "orders", content, name="orders-2024.csv")
    assert answer.status_code == 200, readable(answer)
    text = readable(answer)
    assert "orders-2024.csv: imported Past orders · import" in text
    assert "Rows read 4 Created 2 Already known 1 Refused 1" in text
    assert "Updated" not in text.split("Rows read")[1].split("Refused")[0]
    assert refused_rows(answer) == [
        ("4", "amount '-5' is not an amount in major units such as 42.50",
         f"o-2,erin,-5,USD,{yesterday},"),
    ]  # fmt: skip
    history = Event.objects.for_workspace(acme.workspace).filter(source="history")
    assert sorted(history.values_list("order_id", "amount", "currency")) == [
        ("o-1", 4250, "USD"), ("o-3", 1000, "JPY"),
    ]  # fmt: skip
    assert Referral.objects.for_workspace(acme.workspace).get().status == "signed_up"
    assert not Reward.objects.for_workspace(acme.workspace).exists()
    imp = Import.objects.for_workspace(acme.workspace).get()
    assert (imp.kind, imp.with_rewards, imp.created, imp.skipped, imp.failed) == (
        "orders", False, 2, 1, 1,
    )  # fmt: skip


def test_orders_decided_as_live_ones_grant_rewards(story: Story) -> None:
    acme = story.acme
    bob = signup("s-bob", "bob", referral_code=story.alice["code"], occurred_at=when(2))
    assert acme.event(bob).status_code == 201
    content = (ORDERS + f"o-1,bob,42.50,USD,{when(1)},\r\n").encode()
    client = owner(acme.workspace)
    answer = upload(client, "orders", content, with_rewards="on")
    assert answer.status_code == 200, readable(answer)
    assert "Past orders, decided as live orders" in readable(answer)
    assert "Rows read 1 Created 1 Already known 0 Refused 0" in readable(answer)
    event = Event.objects.for_workspace(acme.workspace).get(order_id="o-1")
    assert (event.source, event.amount) == ("import", 4250)
    rewards = Reward.objects.for_workspace(acme.workspace).order_by("beneficiary")
    assert list(rewards.values_list("beneficiary", "amount", "status")) == [
        ("advocate", 1000, "pending"), ("friend", 500, "pending"),
    ]  # fmt: skip
    # The same file without the box ticked is refused (409), and nothing more is written.
    before = counts_but_signing_in()
    again = upload(client, "orders", content)
    assert again.status_code == 409
    assert "This file was imported with --with-rewards" in readable(again)
    after = counts_but_signing_in()
    assert after.pop("accounts.AuditEntry") == before.pop("accounts.AuditEntry") + 1
    assert after == before
    assert audits()[-1][1:4] == (
        "import.fail", "",
        {"kind": "orders", "file_name": "people.csv", "with_rewards": False,
         "code": "import_options_differ",
         "message": audits()[-1][3]["message"]},
    )  # fmt: skip
    assert audits()[-1][3]["message"].startswith("this file was imported with --with-rewards")


def test_the_box_means_nothing_for_participants(story: Story) -> None:
    answer = upload(owner(story.acme.workspace), "participants", b"external_id\r\nx1\r\n",
                    with_rewards="on")  # fmt: skip
    assert answer.status_code == 200
    assert Import.objects.get().with_rewards is False


def test_the_first_refused_rows_are_listed_and_long_ones_cut(story: Story) -> None:
    long_name = "N" * 400
    rows = [f"ok{n},,Ok\r\n" for n in range(3)] + [f"bad{n},nope,\r\n" for n in range(102)]
    content = ("external_id,email,name\r\n" + "".join(rows) + f"x1,bad,{long_name}\r\n").encode()
    answer = upload(owner(story.acme.workspace), "participants", content)
    assert answer.status_code == 200
    text = readable(answer)
    assert "Rows read 106 Created 3 Updated 0 Unchanged 0 Refused 103" in text
    listed = refused_rows(answer)
    assert len(listed) == runs.SHOWN == 100
    assert listed[0] == ("5", "email is not an address like name@example.com", "bad0,nope,")
    assert listed[-1][0] == "104"
    assert "Refused rows: the first 100" in text
    assert "3 refused rows not listed" in text
    # A row over 300 characters is cut short on the page (the reason stays whole).
    cut = upload(owner(story.acme.workspace), "participants",
                 f"external_id,email,name\r\nx2,bad,{long_name}\r\n".encode())  # fmt: skip
    [(line, reason, row)] = refused_rows(cut)
    assert (line, reason) == ("2", "email is not an address like name@example.com")
    assert row == f"x2,bad,{long_name}"[:299] + "…"


def test_the_same_file_again_was_imported_already(story: Story) -> None:
    acme = story.acme
    client = owner(acme.workspace)
    content = b"external_id,name\r\nk1,Kim\r\nk2,\r\n,nobody\r\n"
    assert upload(client, "participants", content).status_code == 200
    before = counts_but_signing_in()
    answer = upload(client, "participants", content, name="renamed.csv")
    assert answer.status_code == 200
    text = readable(answer)
    assert "people.csv: imported already" in text
    assert "This file was imported already (finished" in text
    assert "nothing was done this time" in text
    # The counts are the file's; its refused row was listed on the first answer, not again.
    assert "Rows read 3 Created 2 Updated 0 Unchanged 0 Refused 1" in text
    assert refused_rows(answer) == []
    assert "1 row refused by an earlier upload of this file is not listed again" in text
    after = counts_but_signing_in()
    assert after.pop("accounts.AuditEntry") == before.pop("accounts.AuditEntry") + 1
    assert after == before
    assert audits()[-1][3]["already_done"] is True
    assert Import.objects.for_workspace(acme.workspace).count() == 1


def test_an_interrupted_import_continues_after_its_last_line(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = story.acme
    content = b"external_id,email\r\n" + b"".join(
        f"r{n},{'bad' if n == 2 else f'r{n}@example.com'}\r\n".encode() for n in range(1, 8)
    )
    real, calls = people.write, []

    def crashing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    # The command line ran it first and was stopped after its first batch (lines 2-4).
    monkeypatch.setattr(people, "write", crashing)
    with pytest.raises(RuntimeError, match="power cut"):
        runs.run(
            workspace=acme.workspace,
            kind="participants",
            stream=io.BytesIO(content),
            file_name="people.csv",
            errors=runs.ErrorList(),
            batch_size=3,
        )
    monkeypatch.setattr(people, "write", real)
    assert Import.objects.get().line == 4
    answer = upload(owner(acme.workspace), "participants", content)
    assert answer.status_code == 200
    text = readable(answer)
    assert "An earlier upload of this file stopped after line 4: this one continued" in text
    assert "Rows read 7 Created 6 Updated 0 Unchanged 0 Refused 1" in text
    assert "1 row refused by an earlier upload of this file is not listed again" in text
    imported = Participant.objects.for_workspace(acme.workspace).filter(external_id__startswith="r")
    assert sorted(imported.values_list("external_id", flat=True)) == [
        "r1", "r3", "r4", "r5", "r6", "r7"
    ]  # fmt: skip
    assert audits()[-1][3]["resumed_after"] == 4


def test_a_file_that_cannot_be_read_is_refused_with_the_reason(story: Story) -> None:
    client = owner(story.acme.workspace)
    before = counts_but_signing_in()
    answer = upload(client, "orders", b"order_id,amount\r\nx,1\r\n")
    assert answer.status_code == 422
    assert (
        "people.csv: The header has no customer_external_id, currency, occurred_at column "
        "(it has: order_id, amount). Nothing was imported." in readable(answer)
    )
    after = counts_but_signing_in()
    assert after.pop("accounts.AuditEntry") == before.pop("accounts.AuditEntry") + 1
    assert after == before
    assert audits()[-1][1] == "import.fail"
    assert audits()[-1][3]["code"] == "bad_header"
    # No file chosen: the form says so, and nothing at all is written.
    before = counts_but_signing_in()
    answer = client.post(NEW, {"kind": "participants"})
    assert answer.status_code == 400
    assert 'id="id_file-error"' in markup(answer)
    assert counts_but_signing_in() == before


def test_a_file_over_the_limit_is_refused_unread(story: Story, settings: Any) -> None:
    settings.API_MAX_UPLOAD_BYTES = 1000
    client = owner(story.acme.workspace)
    before = counts_but_signing_in()
    answer = upload(client, "participants", b"external_id\r\n" + b"x\r\n" * 400)
    assert answer.status_code == 413
    assert "The file is too large: an upload may be up to 1,000 bytes. Nothing was imported." in (
        readable(answer)
    )
    # Not read at all: a body that claims a gigabyte is answered without reading a byte of it
    # (the test client's payload raises when read past what it holds).
    huge = client.post(
        NEW, {"kind": "participants", "file": SimpleUploadedFile("p.csv", b"external_id\n")},
        CONTENT_LENGTH=str(10**9),
    )  # fmt: skip
    assert huge.status_code == 413
    assert counts_but_signing_in() == before
    assert audits() == []
    # Under the limit: imported.
    assert upload(client, "participants", b"external_id\r\n" + b"x\r\n" * 100).status_code == 200
    settings.API_MAX_UPLOAD_BYTES = 64 * 1024 * 1024
    page = client.get(NEW)
    assert "up to 64 MiB" in readable(page)


@pytest.mark.parametrize("role", [r for r in ROLES if r not in MANAGERS])
def test_others_see_the_list_and_get_403_on_upload(story: Story, role: str) -> None:
    acme = story.acme
    upload(owner(acme.workspace), "participants", b"external_id\r\nz1\r\n", name="owners.csv")
    client = staff(acme.workspace, role)
    page = client.get(LIST)
    assert page.status_code == 200
    assert "owners.csv" in readable(page)
    assert "Import a file" not in markup(page)
    assert "Owners and admins import files." in readable(page)
    before, logged = counts_but_signing_in(), audits()
    answer = upload(client, "participants", b"external_id\r\nz2\r\nz3\r\n")
    assert answer.status_code == 403
    assert client.get(NEW).status_code == 403
    assert counts_but_signing_in() == before
    assert audits() == logged
    assert not Participant.objects.filter(external_id__in=["z2", "z3"]).exists()


@pytest.mark.parametrize("role", MANAGERS)
def test_owners_and_admins_import(story: Story, role: str) -> None:
    client = staff(story.acme.workspace, role)
    assert "Import a file" in markup(client.get(LIST))
    assert client.get(NEW).status_code == 200
    assert upload(client, "participants", b"external_id\r\nz1\r\n").status_code == 200
    assert audits()[-1][:2] == (f"{role}@acme.test", "import.run")


def test_upload_checks_the_csrf_token(story: Story) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.get(username="owner@acme.test"))
    before = counts_but_signing_in()
    refused = upload(client, "participants", b"external_id\r\nc1\r\n")
    assert refused.status_code == 403
    assert "CSRF" in markup(refused)
    assert counts_but_signing_in() == before
    page = client.get(NEW)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', markup(page))
    assert token is not None
    done = upload(client, "participants", b"external_id\r\nc1\r\n", csrfmiddlewaretoken=token[1])
    assert done.status_code == 200
    assert Participant.objects.filter(external_id="c1").count() == 1


def test_the_list_newest_first_in_pages(story: Story) -> None:
    ws = story.acme.workspace
    start = timezone.now() - timedelta(days=1)
    for n in range(52):
        at = start + timedelta(minutes=n)
        Import.objects.create(
            workspace=ws, kind="participants" if n % 2 else "orders", digest=f"{n:064x}",
            file_name=f"file-{n:02}.csv", status="done", line=n + 1, rows=n, created=n,
            created_at=at, updated_at=at, finished_at=at,
        )  # fmt: skip
    client = owner(ws)
    first = readable(client.get(LIST))
    names = re.findall(r"file-(\d\d)\.csv", first)
    assert names == [f"{n:02}" for n in range(51, 1, -1)]
    assert "Page 1 of 2 · 52 in all" in first
    second = re.findall(r"file-(\d\d)\.csv", readable(client.get(LIST, {"page": "2"})))
    assert second == ["01", "00"]
    orders = re.findall(r"file-(\d\d)\.csv", readable(client.get(LIST, {"kind": "orders"})))
    assert orders == [f"{n:02}" for n in range(50, -1, -2)]
    assert re.findall(r"file-(\d\d)\.csv", readable(client.get(LIST, {"q": "file-07"}))) == ["07"]


def test_globex_never_sees_acmes_imports(story: Story) -> None:
    acme, globex = story.acme, story.globex
    upload(owner(acme.workspace), "participants", b"external_id\r\nacme-canary\r\n",
           name="acme-secret-list.csv")  # fmt: skip
    acme_import = Import.objects.get(workspace=acme.workspace).public_id
    client = owner(globex.workspace)
    # The same file is globex's own import: acme's row and participant are not touched.
    answer = upload(client, "participants", b"external_id\r\nacme-canary\r\n", name="g.csv")
    assert "Rows read 1 Created 1" in readable(answer)
    assert acme_import not in markup(answer)
    for query in ({}, {"q": acme_import}, {"q": "acme-secret"}, {"status": "done"}):
        body = markup(client.get(LIST, query))
        # The table's rows: the search box and the sort links repeat q.
        body = body[body.index("<tbody>") : body.index("</tbody>")]
        assert "acme-secret-list.csv" not in body
        assert acme_import not in body
    assert "g.csv" in markup(client.get(LIST))
    assert Import.objects.for_workspace(globex.workspace).count() == 1
    assert Participant.objects.filter(external_id="acme-canary").count() == 2


def test_the_navigation_links_the_page(story: Story) -> None:
    for role in ROLES:
        body = markup(staff(story.acme.workspace, role).get("/dashboard/"))
        assert re.search(r'<a href="/dashboard/imports/"[^>]*>Imports</a>', body), role
    page = markup(owner(story.acme.workspace).get(LIST))
    assert '<a href="/dashboard/imports/" aria-current="page">Imports</a>' in page
