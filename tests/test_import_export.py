"""CSV imports (participants, past orders) and exports: counts, error files, resuming after a
crash, no rewards from history, SEC-7 cells, the upload API and workspace isolation."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from goodword.analytics import rollups
from goodword.analytics.models import ParticipantFact, PurchaseFact
from goodword.events.models import DomainEvent
from goodword.imports import people
from goodword.imports.models import Import
from goodword.ingest.models import Event
from goodword.participants.models import Participant
from goodword.referrals.models import Referral
from goodword.rewards.models import Reward
from tests.factories import Api, History, Story, make_history, purchase, signup

pytestmark = pytest.mark.usefixtures("rows_match_the_catalogue")


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    return path


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def run(kind: str, path: Path, api: Api, *extra: str, **options: Any) -> str:
    out = StringIO()
    call_command(
        "import", kind, str(path), *extra, workspace=api.workspace.public_id, stdout=out,
        **options,
    )  # fmt: skip
    return out.getvalue()


def export(kind: str, api: Api, path: Path) -> Path:
    call_command(
        "export", kind, workspace=api.workspace.public_id, output=str(path), stderr=StringIO()
    )
    return path


def people_of(api: Api) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        p.external_id: (p.email, p.name, p.attributes)
        for p in Participant.objects.for_workspace(api.workspace)
    }


def when(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


# --- participants -------------------------------------------------------------------------

HEADER = ["external_id", "email", "name", "attr.plan", "attr.seats", "attr.vip"]


def test_participants_import_exact_counts_and_error_file(story: Story, tmp_path: Path) -> None:
    acme = story.acme
    path = write_csv(
        tmp_path / "people.csv",
        [
            HEADER,
            ["c1", "c1@example.com", "Carol", "pro", "12", "true"],
            ["", "nobody@example.com", "No id", "", "", ""],
            ["c2", "not-an-email", "Dan", "", "", ""],
            ["c3", "", "Erin", "basic", "007", "false"],
            ["c4", "c4@example.com"],
            ["c5", "", "", "", "", ""],
        ],
    )
    before = Participant.objects.for_workspace(acme.workspace).count()
    out = run("participants", path, acme)
    assert "6 rows read up to line 7; 3 created, 0 updated, 0 unchanged, 3 refused" in out
    assert Participant.objects.for_workspace(acme.workspace).count() == before + 3
    found = people_of(acme)
    assert found["c1"] == ("c1@example.com", "Carol", {"plan": "pro", "seats": 12, "vip": True})
    # "007" is text (a leading zero), "false" a boolean.
    assert found["c3"] == ("", "Erin", {"plan": "basic", "seats": "007", "vip": False})
    assert found["c5"] == ("", "", {})
    assert "c2" not in found
    errors = read_csv(Path(f"{path}.errors.csv"))
    assert errors == [
        ["line", "reason", *HEADER],
        ["3", "external_id is empty", "", "nobody@example.com", "No id", "", "", ""],
        ["4", "email is not an address like name@example.com", "c2", "not-an-email", "Dan",
         "", "", ""],
        ["6", "expected 6 cells as in the header, found 2", "c4", "c4@example.com"],
    ]  # fmt: skip
    imp = Import.objects.get(workspace=acme.workspace)
    assert (imp.status, imp.line, imp.rows, imp.created, imp.failed) == ("done", 7, 6, 3, 3)
    # One domain event for the import, none per row (the rollups read participants by id).
    named = DomainEvent.objects.for_workspace(acme.workspace)
    assert not named.filter(name="participant.created", subject_id__in=Participant.objects.filter(
        external_id__in=["c1", "c3", "c5"]).values("public_id")).exists()  # fmt: skip
    assert list(named.filter(name="import.completed").values_list("subject_id", "data")) == [
        (imp.public_id, {"kind": "participants", "file_name": "people.csv", "rows": 6,
                         "created": 3, "updated": 0, "skipped": 0, "failed": 3}),
    ]  # fmt: skip


def test_a_batch_gets_distinct_public_ids_of_the_usual_form(story: Story, tmp_path: Path) -> None:
    """The ids of a batch's participants come from one read of the random source
    (`ids.new_ids`): each of its own, shaped as every other id."""
    acme = story.acme
    rows = [[f"b{n}", f"b{n}@example.com", f"B {n}", "", "", ""] for n in range(30)]
    run("participants", write_csv(tmp_path / "b.csv", [HEADER, *rows]), acme, batch_size=12)
    made = list(
        Participant.objects.for_workspace(acme.workspace)
        .filter(external_id__startswith="b")
        .values_list("public_id", flat=True)
    )
    assert len(made) == len(set(made)) == 30
    assert all(re.fullmatch(r"par_[0-9a-z]{20}", i) for i in made)


def test_imported_participants_count_in_participation(story: Story, tmp_path: Path) -> None:
    """With no domain event per row, the rollups find imported participants by id: after a
    refresh each has its participant fact, and the overview counts them."""
    acme = story.acme
    rollups.refresh()
    before = ParticipantFact.objects.filter(workspace_id=acme.workspace.pk).count()
    rows = [[f"p{n}", "", "", "", "", ""] for n in range(7)]
    run("participants", write_csv(tmp_path / "p.csv", [HEADER, *rows]), acme)
    rollups.refresh()
    facts = ParticipantFact.objects.filter(workspace_id=acme.workspace.pk)
    assert facts.count() == before + 7
    imported = Participant.objects.for_workspace(acme.workspace).filter(external_id__startswith="p")
    assert set(facts.values_list("participant_id", flat=True)) >= set(
        imported.values_list("pk", flat=True)
    )
    # Another workspace's rollups learn nothing of them.
    globex = ParticipantFact.objects.filter(workspace_id=story.globex.workspace.pk)
    assert not globex.filter(participant_id__in=imported.values("pk")).exists()


def test_upsert_updates_by_external_id_and_leaves_empty_cells_alone(
    story: Story, tmp_path: Path
) -> None:
    acme = story.acme
    alice = Participant.objects.for_workspace(acme.workspace).get(external_id="alice")
    alice.attributes = {"plan": "basic", "seats": 2}
    alice.save()
    path = write_csv(
        tmp_path / "p.csv",
        [
            ["external_id", "email", "name", "attr.plan", "attr.seats"],
            ["alice", "", "Alice A.", "pro", "2"],
            ["zed", "zed@example.com", "", "", ""],
            ["zed", "", "Zed", "", ""],  # the same person later in the batch
        ],
    )
    out = run("participants", path, acme)
    assert "3 rows read up to line 4; 1 created, 1 updated, 1 unchanged, 0 refused" in out
    alice.refresh_from_db()
    assert (alice.email, alice.name) == ("alice@example.com", "Alice A.")
    assert alice.attributes == {"plan": "pro", "seats": 2}
    updated = DomainEvent.objects.get(name="participant.updated", subject_id=alice.public_id)
    assert updated.data == {"fields": ["attributes", "name"], "attributes": ["plan"]}
    assert people_of(acme)["zed"] == ("zed@example.com", "Zed", {})
    assert not Path(f"{path}.errors.csv").exists()  # nothing refused: no error file


def test_resumes_after_a_crash_and_writes_every_row_once(
    story: Story, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = story.acme
    rows: list[list[Any]] = [["external_id", "email", "name"]]
    for n in range(1, 24):
        rows.append([f"r{n}", "bad" if n in (7, 12) else f"r{n}@example.com", f"R {n}"])
    path = write_csv(tmp_path / "big.csv", rows)
    real = people.write
    calls = []

    def crashing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(people, "write", crashing)
    with pytest.raises(RuntimeError, match="power cut"):
        run("participants", path, acme, batch_size=5)
    imp = Import.objects.get(workspace=acme.workspace)
    # Two batches of five rows committed: lines 2-11, one of them refused (r7).
    assert (imp.status, imp.line, imp.rows, imp.created, imp.failed) == ("running", 11, 10, 9, 1)
    imported = Participant.objects.for_workspace(acme.workspace).filter(external_id__startswith="r")
    assert imported.count() == 9
    # The crashed batch's refused row (r12, line 13) was written and is dropped on resume.
    assert [r[0] for r in read_csv(Path(f"{path}.errors.csv"))[1:]] == ["8", "13"]

    monkeypatch.setattr(people, "write", real)
    out = run("participants", path, acme, batch_size=5)
    assert "continued after line 11" in out
    assert "23 rows read up to line 24; 21 created, 0 updated, 0 unchanged, 2 refused" in out
    assert imported.count() == 21
    assert sorted(imported.values_list("external_id", flat=True)) == sorted(
        f"r{n}" for n in range(1, 24) if n not in (7, 12)
    )
    completed = DomainEvent.objects.filter(name="import.completed")
    assert list(completed.values_list("data__created", "data__failed")) == [(21, 2)]
    errors = read_csv(Path(f"{path}.errors.csv"))
    assert [(r[0], r[1], r[2]) for r in errors[1:]] == [
        ("8", "email is not an address like name@example.com", "r7"),
        ("13", "email is not an address like name@example.com", "r12"),
    ]
    # Run again: finished, nothing written.
    out = run("participants", path, acme, batch_size=5)
    assert "imported already" in out
    assert imported.count() == 21
    assert Import.objects.for_workspace(acme.workspace).count() == 1


def test_a_participant_inserted_meanwhile_is_updated_not_refused(
    story: Story, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lookup misses alice, as when the API creates her between it and the insert: the
    insert fails on the unique key and the batch is written again from a fresh lookup."""
    acme = story.acme
    real = people.existing
    calls: list[int] = []

    def missing_once(*args: Any) -> Any:
        calls.append(1)
        return {} if len(calls) == 1 else real(*args)

    monkeypatch.setattr(people, "existing", missing_once)
    path = write_csv(tmp_path / "p.csv", [["external_id", "name"], ["alice", "Alice B."]])
    out = run("participants", path, acme)
    assert "1 rows read up to line 2; 0 created, 1 updated, 0 unchanged, 0 refused" in out
    assert len(calls) == 2
    assert Participant.objects.for_workspace(acme.workspace).get(external_id="alice").name == (
        "Alice B."
    )
    assert (
        Participant.objects.for_workspace(acme.workspace).filter(external_id="alice").count() == 1
    )


def test_unknown_workspace_and_missing_column_are_refused(story: Story, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [["email"], ["x@example.com"]])
    with pytest.raises(CommandError, match="no workspace 'ws_nope'"):
        call_command("import", "participants", str(path), workspace="ws_nope")
    with pytest.raises(CommandError, match="the header has no external_id column"):
        run("participants", path, story.acme)
    assert not Participant.objects.filter(email="x@example.com").exists()


# --- orders --------------------------------------------------------------------------------

ORDERS = ["order_id", "customer_external_id", "amount", "currency", "occurred_at", "referral_code"]


def _bob_touched(story: Story) -> None:
    """bob signed up through alice's code two days ago (a live event): referred, not converted."""
    answer = story.acme.event(signup("s-bob", "bob", referral_code=story.alice["code"],
                                     occurred_at=when(2)))  # fmt: skip
    assert answer.status_code == 201, answer.content
    assert Referral.objects.for_workspace(story.acme.workspace).get().status == "signed_up"


def test_past_orders_feed_analytics_and_earn_nothing(story: Story, tmp_path: Path) -> None:
    acme = story.acme
    _bob_touched(story)
    path = write_csv(
        tmp_path / "orders.csv",
        [
            ORDERS,
            ["o-1", "bob", "42.50", "USD", when(1), story.alice["code"]],
            ["o-2", "bob", "30", "usd", when(0.5), ""],
            ["o-3", "dora", "1000", "JPY", "2024-03-01T10:00:00+09:00", ""],
            ["o-1", "bob", "42.50", "USD", when(1), ""],  # the same order again
        ],
    )
    out = run("orders", path, acme)
    assert "4 rows read up to line 5; 3 created, 0 updated, 1 already known, 0 refused" in out
    events = Event.objects.for_workspace(acme.workspace).filter(source="history")
    assert sorted(events.values_list("order_id", "amount", "currency", "type")) == [
        ("o-1", 4250, "USD", "purchase"), ("o-2", 3000, "USD", "purchase"),
        ("o-3", 1000, "JPY", "purchase"),
    ]  # fmt: skip
    assert events.get(order_id="o-3").occurred_at == datetime(2024, 3, 1, 1, tzinfo=UTC)
    # No conversion, no reward: not now, and not when bob's next live event re-decides him.
    referral = Referral.objects.for_workspace(acme.workspace).get()
    assert referral.status == "signed_up"
    assert not Reward.objects.for_workspace(acme.workspace).exists()
    acme.event(signup("s-bob-2", "bob", occurred_at=when(0.1)))
    referral.refresh_from_db()
    assert (referral.status, referral.converted_at) == ("signed_up", None)
    assert not Reward.objects.for_workspace(acme.workspace).exists()
    bob = Participant.objects.for_workspace(acme.workspace).get(external_id="bob")
    dora = Participant.objects.for_workspace(acme.workspace).get(external_id="dora")
    assert (bob.purchase_count, dora.purchase_count) == (2, 1)
    assert dora.first_purchase_at == datetime(2024, 3, 1, 1, tzinfo=UTC)
    # Analytics counts them: a purchase fact per order.
    rollups.refresh()
    facts = PurchaseFact.objects.filter(workspace_id=acme.workspace.pk)
    assert sorted(facts.values_list("customer", "amount", "currency")) == [
        ("bob", 3000, "USD"), ("bob", 4250, "USD"), ("dora", 1000, "JPY")
    ]  # fmt: skip


def test_a_customer_with_past_orders_is_an_existing_customer(story: Story, tmp_path: Path) -> None:
    """Past orders convert nothing, but they are proof of a customer: dora, who bought 30 days
    ago (history), signs up with alice's code and buys: rejected as an existing customer, no
    reward. erin's history order came after her touch: no proof, she converts."""
    acme = story.acme
    path = write_csv(
        tmp_path / "orders.csv",
        [ORDERS, ["o-1", "dora", "42", "USD", when(30), ""],
         ["o-2", "erin", "9", "USD", when(1), ""]],
    )  # fmt: skip
    run("orders", path, acme)
    code = story.alice["code"]
    for name, days in (("dora", 3), ("erin", 3)):
        answer = acme.event(signup(f"s-{name}", name, referral_code=code, occurred_at=when(days)))
        assert answer.status_code == 201, answer.content
        answer = acme.event(
            purchase(f"b-{name}", name, f"live-{name}", 5000, occurred_at=when(0.5))
        )
        assert answer.status_code == 201, answer.content
    referrals = Referral.objects.for_workspace(acme.workspace)
    dora = referrals.get(referee__external_id="dora")
    assert (dora.status, dora.reject_reason) == ("rejected", "existing_customer")
    assert not Reward.objects.filter(referral=dora).exists()
    erin = referrals.get(referee__external_id="erin")
    assert (erin.status, erin.order_id) == ("converted", "live-erin")
    assert Reward.objects.filter(referral=erin).count() == 2


def test_history_imported_after_a_signup_rejects_at_the_next_decision(
    story: Story, tmp_path: Path
) -> None:
    """bob signed up through alice's code (open, not converted); then his past orders, from
    before the touch, are imported: his next purchase finds him an existing customer."""
    acme = story.acme
    _bob_touched(story)
    run(
        "orders",
        write_csv(tmp_path / "o.csv", [ORDERS, ["o-9", "bob", "20", "USD", when(40), ""]]),
        acme,
    )
    answer = acme.event(purchase("b-bob", "bob", "live-bob", 5000, occurred_at=when(0.5)))
    assert answer.status_code == 201, answer.content
    referral = Referral.objects.for_workspace(acme.workspace).get()
    assert (referral.status, referral.reject_reason) == ("rejected", "existing_customer")
    assert not Reward.objects.for_workspace(acme.workspace).exists()


def test_orders_with_rewards_go_through_ingestion(story: Story, tmp_path: Path) -> None:
    acme = story.acme
    _bob_touched(story)
    path = write_csv(tmp_path / "orders.csv", [ORDERS, ["o-1", "bob", "42.50", "USD", when(1), ""]])
    out = run("orders", path, acme, with_rewards=True)
    assert "1 rows read up to line 2; 1 created, 0 updated, 0 already known, 0 refused" in out
    event = Event.objects.for_workspace(acme.workspace).get(order_id="o-1")
    assert (event.source, event.amount) == ("import", 4250)
    referral = Referral.objects.for_workspace(acme.workspace).get()
    assert (referral.status, referral.order_id, referral.order_amount) == (
        "converted", "o-1", 4250,
    )  # fmt: skip
    rewards = Reward.objects.for_workspace(acme.workspace).order_by("beneficiary")
    assert list(rewards.values_list("beneficiary", "amount", "status")) == [
        ("advocate", 1000, "pending"), ("friend", 500, "pending"),
    ]  # fmt: skip
    # The same file without the flag is refused: it was imported with it.
    with pytest.raises(CommandError, match="imported with --with-rewards"):
        run("orders", path, acme)
    assert rewards.count() == 2


def test_bad_orders_are_refused_with_reasons(story: Story, tmp_path: Path) -> None:
    acme = story.acme
    acme.event(
        {"id": "live-1", "type": "purchase", "customer": {"external_id": "erin"},
         "order": {"id": "o-live", "amount": 1000, "currency": "USD"}}
    )  # fmt: skip
    path = write_csv(
        tmp_path / "orders.csv",
        [
            ORDERS[:5],
            ["o-1", "erin", "42.505", "USD", when(1)],
            ["o-2", "erin", "-5", "USD", when(1)],
            ["o-3", "erin", "5", "EURO", when(1)],
            ["o-4", "erin", "5", "USD", "yesterday"],
            ["o-5", "erin", "5", "USD", when(-1)],
            ["", "erin", "5", "USD", when(1)],
            ["o-live", "erin", "10.00", "USD", when(1)],  # sent live already
            ["o-6", "erin", "7.5", "KWD", when(1)],
        ],
    )
    out = run("orders", path, acme)
    assert "8 rows read up to line 9; 1 created, 0 updated, 1 already known, 6 refused" in out
    reasons = [(r[0], r[1]) for r in read_csv(Path(f"{path}.errors.csv"))[1:]]
    assert reasons == [
        ("2", "amount has more than 2 decimal places for USD"),
        ("3", "amount '-5' is not an amount in major units such as 42.50"),
        ("4", "currency 'EURO' is not an ISO 4217 code such as USD"),
        ("5", "occurred_at is not an ISO 8601 time such as 2024-05-01T12:30:00Z"),
        ("6", "occurred_at is in the future"),
        ("7", "order_id is empty"),
    ]
    assert Event.objects.for_workspace(acme.workspace).get(order_id="o-6").amount == 7500
    assert Event.objects.for_workspace(acme.workspace).filter(order_id="o-live").count() == 1


# --- exports and SEC-7 -----------------------------------------------------------------------

HOSTILE = ["=HYPERLINK(\"http://evil.test\")", "+1 555", "-2+3", "@SUM(A1)", "\tx", "\rx", "'=x",
           "'", "''@y"]  # fmt: skip


def test_hostile_cells_are_neutralised_and_round_trip(story: Story, tmp_path: Path) -> None:
    acme, globex = story.acme, story.globex
    for i, text in enumerate(HOSTILE):
        body = {"external_id": f"h{i}", "email": f"h{i}@example.com", "name": text,
                "attributes": {"note": text, "n": -i, "vip": i % 2 == 0}}  # fmt: skip
        assert acme.post("/participants", body).status_code in (200, 201)
    out = export("participants", acme, tmp_path / "out.csv")
    text = out.read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text
    assert "''=x" in text
    for row in read_csv(out)[1:]:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    # Into another workspace: the same people, the same values.
    summary = run("participants", out, globex)
    assert "0 refused" in summary
    assert people_of(globex) == people_of(acme)
    # Back into the same one: nothing changes.
    summary = run("participants", out, acme)
    assert "0 created, 0 updated" in summary
    again = export("participants", globex, tmp_path / "again.csv")
    strip = [slice(0, 5)]  # ids and times differ between workspaces
    assert [r[strip[0]] for r in read_csv(again)] == [r[strip[0]] for r in read_csv(out)]


@pytest.fixture
def history(db: None) -> History:
    return make_history()


def test_exports_of_each_kind_hold_only_their_workspace(history: History, tmp_path: Path) -> None:
    acme, globex = history.acme, history.globex
    expected = {"participants": 2, "referrals": 1, "rewards": 2, "payouts": 0}
    for kind, count in expected.items():
        rows = read_csv(export(kind, acme, tmp_path / f"{kind}.csv"))
        assert len(rows) == 1 + count, kind
        assert read_csv(export(kind, globex, tmp_path / f"g-{kind}.csv"))[1:] == []
    referral = read_csv(tmp_path / "referrals.csv")[1]
    assert referral[0] == history.referral_id
    assert referral[-3:] == ["order-1", "25.00", "USD"]
    rewards = read_csv(tmp_path / "rewards.csv")
    amount = rewards[0].index("amount")
    assert sorted(r[amount] for r in rewards[1:]) == ["10.00", "5.00"]
    out = StringIO()
    call_command("export", "audit", workspace=globex.workspace.public_id, stdout=out,
                 stderr=StringIO())  # fmt: skip
    assert "bob" not in out.getvalue()
    assert "alice" not in out.getvalue()


# --- the upload API ------------------------------------------------------------------------


def upload(api: Api, kind: str, content: bytes, **form: Any) -> Any:
    return api.client.post(
        f"/api/v1/imports/{kind}",
        {"file": SimpleUploadedFile("people.csv", content, content_type="text/csv"), **form},
        HTTP_AUTHORIZATION=f"Bearer {api.key}",
    )


def test_upload_answers_with_counts_and_refused_rows(story: Story) -> None:
    acme, globex = story.acme, story.globex
    content = b"external_id,email,name\r\nalice,,Alice Upload\r\ngina,gina@x,Gina\r\nhal,,Hal\r\n"
    response = upload(acme, "participants", content)
    assert response.status_code == 200, response.content
    body = response.json()
    assert {k: body[k] for k in ("kind", "status", "line", "rows", "created", "updated",
                                 "skipped", "failed", "already_done")} == {
        "kind": "participants", "status": "done", "line": 4, "rows": 3, "created": 1,
        "updated": 1, "skipped": 0, "failed": 1, "already_done": False,
    }  # fmt: skip
    assert body["id"].startswith("imp_")
    assert body["errors"] == [
        {"line": 3, "reason": "email is not an address like name@example.com",
         "row": ["gina", "gina@x", "Gina"]}
    ]  # fmt: skip
    # globex's upload of the same file is its own: acme's alice is not touched.
    response = upload(globex, "participants", content)
    assert (response.json()["created"], response.json()["updated"]) == (2, 0)
    assert people_of(acme)["alice"][1] == "Alice Upload"
    assert people_of(globex)["alice"] == ("", "Alice Upload", {})
    assert Import.objects.for_workspace(acme.workspace).count() == 1


def test_upload_of_orders_and_its_limits(story: Story, settings: Any) -> None:
    acme = story.acme
    content = f"{','.join(ORDERS[:5])}\n o-9,ivy,12.00,EUR,{when(3)}\n".encode()
    response = upload(acme, "orders", content)
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    assert not Reward.objects.for_workspace(acme.workspace).exists()
    bad = upload(acme, "orders", b"order_id\r\nx\r\n")
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "bad_header"
    anonymous = acme.client.post(
        "/api/v1/imports/participants", {"file": SimpleUploadedFile("p.csv", b"external_id\n")}
    )
    assert anonymous.status_code == 401
    settings.API_MAX_UPLOAD_BYTES = 1000
    big = upload(acme, "participants", b"external_id\n" + b"x\n" * 1000)
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "payload_too_large"
    # Under the upload limit but over the JSON one: accepted.
    settings.API_MAX_BODY_BYTES = 100
    small = upload(acme, "participants", b"external_id\n" + b"x\n" * 100)
    assert small.status_code == 200
    assert Import.objects.for_workspace(acme.workspace).count() == 2


def test_text_that_is_not_utf8_is_refused(story: Story) -> None:
    response = upload(story.acme, "participants", b"external_id,name\nx,\xff\xfe\n")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "bad_encoding"


def test_counted_reader_streams(tmp_path: Path) -> None:
    from goodword.imports.reading import Reader, Record

    stream = io.BytesIO(b'\xef\xbb\xbfexternal_id,name\r\na,"multi\nline"\r\n\r\nb,\'=x\r\n')
    reader = Reader(stream)
    assert reader.header == ["external_id", "name"]
    got = [(r.line, r.values) for r in reader.records() if isinstance(r, Record)]
    assert got == [(2, {"external_id": "a", "name": "multi\nline"}),
                   (5, {"external_id": "b", "name": "=x"})]  # fmt: skip
