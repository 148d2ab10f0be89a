"""The participants and advocates pages of the dashboard: the lists (search, filters, sorting,
pages, CSV) and a participant's page (attributes, balances, programs, referrals, rewards).

Every page is read-only (Can.VIEW): an analyst sees it all; another workspace's participant is
a 404; nothing of globex shows in acme's lists or exports.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern

from goodword.accounts.roles import Can
from goodword.dashboard.people import urls as people_urls
from goodword.dashboard.people import views
from goodword.participants.models import Advocate, Participant
from goodword.rewards.services import approve_due_rewards
from tests.dashboard import owner, staff
from tests.dashboard import readable as text
from tests.factories import (
    Api,
    History,
    Story,
    enrol,
    make_history,
    make_program,
    purchase,
    refund,
    signup,
)

pytestmark = pytest.mark.usefixtures("rows_match_the_catalogue")

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def rows_of(answer: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(answer.content.decode())))


def analyst(api: Api) -> Client:
    return staff(api.workspace, "analyst")


def par(external_id: str, api: Api) -> str:
    return str(
        Participant.objects.for_workspace(api.workspace).get(external_id=external_id).public_id
    )


def buys(api: Api, friend: str, code: str, amount: int, when: datetime = T0) -> dict[str, Any]:
    body = purchase(f"p-{friend}", friend, f"o-{friend}", amount, referral_code=code)
    answer = api.event({**body, "occurred_at": when.isoformat()})
    assert answer.status_code == 201, answer.content
    return dict(answer.json())


def with_globex_people(history: History) -> None:
    """globex: gina-canary advocates, gus-canary bought through her."""
    globex = history.globex
    gina = enrol(globex, history.globex_program["id"], "gina-canary", name="Gina Canary")
    buys(globex, "gus-canary", gina["code"], 9900)


@pytest.fixture
def history(db: None) -> History:
    return make_history()


# Who may see what.


def test_every_page_names_its_permission() -> None:
    patterns = [p for p in people_urls.urlpatterns if isinstance(p, URLPattern)]
    found = {p.name: p.callback.permission for p in patterns}  # type: ignore[attr-defined]
    assert found == {
        "participants": Can.VIEW,
        "participants_export": Can.VIEW,
        "participant": Can.VIEW,
        "portal_link": Can.MANAGE,  # a link that signs in as the advocate: audited
        "advocates": Can.VIEW,
        "advocates_export": Can.VIEW,
    }


def test_anonymous_is_sent_to_sign_in(history: History) -> None:
    alice = par("alice", history.acme)
    for path in (
        "/dashboard/participants/",
        "/dashboard/participants/export.csv",
        f"/dashboard/participants/{alice}/",
        "/dashboard/advocates/",
        "/dashboard/advocates/export.csv",
    ):
        answer = Client().get(path)
        assert answer.status_code == 302, path
        assert answer["Location"].startswith("/dashboard/login/?next=/dashboard/"), path


def test_another_workspaces_participant_is_a_404(history: History) -> None:
    with_globex_people(history)
    gina = par("gina-canary", history.globex)
    acme = analyst(history.acme)
    assert acme.get(f"/dashboard/participants/{gina}/").status_code == 404
    assert acme.get("/dashboard/participants/par_nosuchperson/").status_code == 404
    # The external id is not an address: only the public id is.
    assert acme.get("/dashboard/participants/alice/").status_code == 404
    stranger = owner(history.globex.workspace)
    assert stranger.get(f"/dashboard/participants/{par('alice', history.acme)}/").status_code == 404
    assert stranger.get(f"/dashboard/participants/{gina}/").status_code == 200


def test_an_analyst_sees_every_page(history: History) -> None:
    client = analyst(history.acme)
    for path in (
        "/dashboard/participants/",
        "/dashboard/participants/export.csv",
        f"/dashboard/participants/{par('alice', history.acme)}/",
        f"/dashboard/participants/{par('bob', history.acme)}/",
        "/dashboard/advocates/",
        "/dashboard/advocates/export.csv",
    ):
        assert client.get(path).status_code == 200, path


def test_no_globex_data_in_acmes_lists_or_exports(history: History) -> None:
    with_globex_people(history)
    client = analyst(history.acme)
    for path in (
        "/dashboard/participants/",
        "/dashboard/participants/export.csv",
        "/dashboard/advocates/",
        "/dashboard/advocates/export.csv",
    ):
        for query in ({}, {"q": "gus"}, {"program": history.globex_program["id"]}):
            body = client.get(path, query).content.decode()
            for canary in ("gus-canary", "gina-canary", "Gina Canary"):
                assert canary not in body, (path, query)
            assert "$99.00" not in body
            assert "99.00" not in body


# Participants.


def test_participants_list_shows_who_advocates(history: History) -> None:
    answer = analyst(history.acme).get("/dashboard/participants/")
    assert answer.status_code == 200
    body = text(answer)
    assert "bob — bob@example.net — 1" in body
    assert "alice Alice alice@example.com 1 program 0" in body
    assert "2 in all" in body
    page = answer.content.decode()
    assert f'href="/dashboard/participants/{par("alice", history.acme)}/"' in page


def test_participants_list_searches_filters_and_sorts(history: History) -> None:
    acme = history.acme
    acme.post("/participants", {"external_id": "cus_9", "email": "Zoe@Example.org", "name": "Zoe"})
    client = analyst(acme)

    def shown(**params: str) -> list[str]:
        body = text(client.get("/dashboard/participants/", params))
        table = body[body.index("Created") :]
        return [w for w in table.split() if w in ("alice", "bob", "cus_9")]

    assert shown(q="zoe@example") == ["cus_9"]
    assert shown(q="ZOE") == ["cus_9"]
    assert shown(q="ali") == ["alice"]
    assert shown(q=par("bob", acme)) == ["bob"]
    assert shown(advocate="yes") == ["alice"]
    assert sorted(shown(advocate="no")) == ["bob", "cus_9"]
    assert shown(sort="external_id") == ["alice", "bob", "cus_9"]
    assert shown(sort="-external_id") == ["cus_9", "bob", "alice"]
    assert shown(sort="created_at") == ["alice", "bob", "cus_9"]
    assert shown() == ["cus_9", "bob", "alice"]  # newest first
    assert shown(sort="-purchase_count", advocate="no") == ["bob", "cus_9"]


def test_participants_list_pages(history: History, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "PER_PAGE", 1)
    client = analyst(history.acme)
    second = client.get("/dashboard/participants/", {"sort": "external_id", "page": "2"})
    assert "Page 2 of 2 · 2 in all" in text(second)
    assert ">bob<" in second.content.decode()
    assert ">alice<" not in second.content.decode()


def test_participants_export_is_the_filtered_list_without_formulas(history: History) -> None:
    acme = history.acme
    acme.post("/participants", {"external_id": "+mallory", "name": '=HYPERLINK("x")'})
    client = analyst(acme)
    answer = client.get(
        "/dashboard/participants/export.csv", {"advocate": "no", "sort": "external_id"}
    )
    assert answer.status_code == 200
    assert answer["Content-Disposition"] == 'attachment; filename="goodword-participants.csv"'
    rows = rows_of(answer)
    bob = Participant.objects.get(external_id="bob")
    mallory = Participant.objects.get(external_id="+mallory")
    assert rows == [
        {
            "participant_id": mallory.public_id,
            "external_id": "'+mallory",
            "name": '\'=HYPERLINK("x")',
            "email": "",
            "advocate_in_programs": "0",
            "purchase_count": "0",
            "first_purchase_at": "",
            "created_at": mallory.created_at.isoformat(),
        },
        {
            "participant_id": bob.public_id,
            "external_id": "bob",
            "name": "",
            "email": "bob@example.net",
            "advocate_in_programs": "0",
            "purchase_count": "1",
            "first_purchase_at": bob.first_purchase_at.isoformat() if bob.first_purchase_at else "",
            "created_at": bob.created_at.isoformat(),
        },
    ]


def test_participants_list_runs_the_same_queries_for_one_row_or_many(
    history: History, django_assert_max_num_queries: Any
) -> None:
    client = analyst(history.acme)
    client.get("/dashboard/participants/")
    with django_assert_max_num_queries(10):
        assert client.get("/dashboard/participants/").status_code == 200
    for n in range(12):
        enrol(history.acme, history.program["id"], f"adv{n}")
    with django_assert_max_num_queries(10):
        assert client.get("/dashboard/participants/").status_code == 200


# A participant's page.


def test_participant_page_shows_balances_programs_referrals_and_rewards(history: History) -> None:
    acme = history.acme
    acme.post(
        "/participants",
        {"external_id": "alice", "attributes": {"plan": "pro", "phone": "+1 555 0199"}},
    )
    client = analyst(acme)
    answer = client.get(f"/dashboard/participants/{par('alice', acme)}/")
    assert answer.status_code == 200
    body = text(answer)
    page = answer.content.decode()
    assert "<h1>Alice</h1>" in page
    assert "External id alice" in body
    assert "Phone +1 555 0199" in body
    assert "Attributes phone +1 555 0199 plan pro" in body
    # $10.00 earned, $2.00 spent.
    assert (
        "Balances Currency Available Pending Owed by them Cash owed Cash paid "
        "USD $8.00 $0.00 $0.00 $0.00 $0.00"
    ) in body
    code = history.alice["code"]
    assert (
        f"Give $10, get $10 {code} http://testserver/r/{code} http://testserver/s/{code} "
        "SVG · PNG · Printable flyer 1 1 $10.00"
    ) in body.replace("http://localhost:8000", "http://testserver")
    assert "Referred by Nobody referred alice." in body
    made = body[body.index("Referrals made") : body.index("Rewards Reward")]
    assert f"{history.referral_id} bob Give $10, get $10 Rewarded code" in made
    assert "$25.00" in made
    rewards = body[body.index("Rewards Reward") :]
    [advocate_reward] = [
        r["id"] for r in history.converted["rewards"] if r["beneficiary"] == "advocate"
    ]
    assert (
        f"{advocate_reward} Credit as the advocate $10.00 Approved {history.referral_id}" in rewards
    )
    assert f'href="/dashboard/referrals/{history.referral_id}/"' in page
    assert ">1000<" not in page
    assert ">800<" not in page


def test_friend_page_shows_who_referred_them(history: History) -> None:
    body = text(analyst(history.acme).get(f"/dashboard/participants/{par('bob', history.acme)}/"))
    code = history.alice["code"]
    assert (
        f"Referred by Referral Advocate Program Status Channel Created Took Order "
        f"{history.referral_id} alice {code} Give $10, get $10 Rewarded code"
    ) in body
    assert "Not an advocate in any program." in body
    assert "USD $5.00 $0.00" in body


def test_pending_credit_shows_as_pending(story: Story) -> None:
    buys(story.acme, "bob", story.alice["code"], 2500)
    body = text(analyst(story.acme).get(f"/dashboard/participants/{par('alice', story.acme)}/"))
    assert "USD $0.00 $10.00 $0.00 $0.00 $0.00" in body


def test_a_refund_after_spending_shows_what_they_owe(history: History) -> None:
    acme = history.acme
    acme.event(refund("r-bob", "bob", "order-1"))
    body = text(analyst(acme).get(f"/dashboard/participants/{par('alice', acme)}/"))
    # $10.00 taken back from $8.00 left: $2.00 owed.
    assert "USD $0.00 $0.00 $2.00 $0.00 $0.00" in body


def test_odd_external_ids_are_reached_by_public_id(story: Story) -> None:
    odd = "a/b?c d%2F#é"
    enrol(story.acme, story.program["id"], odd, name="Odd", email="odd@example.com")
    person = Participant.objects.get(external_id=odd)
    client = analyst(story.acme)
    listing = client.get("/dashboard/participants/", {"q": "c d%2F"})
    assert f'href="/dashboard/participants/{person.public_id}/"' in listing.content.decode()
    answer = client.get(f"/dashboard/participants/{person.public_id}/")
    assert answer.status_code == 200
    assert f"External id {odd}" in text(answer)


def test_a_cash_commission_shows_as_cash_owed(story: Story) -> None:
    acme = story.acme
    program = make_program(
        acme,
        name="Affiliates",
        hold_days=0,
        rewards=[{"beneficiary": "advocate", "kind": "cash", "amount": 1500, "currency": "EUR"}],
    )
    code = enrol(acme, program["id"], "alice")["code"]
    buys(acme, "bob", code, 2500)
    approve_due_rewards(now=T0 + timedelta(days=400))
    body = text(analyst(acme).get(f"/dashboard/participants/{par('alice', acme)}/"))
    assert "EUR €0.00 €0.00 €0.00 €15.00 €0.00" in body


# Advocates.


def test_advocates_list_counts_referrals_conversions_and_rewards(history: History) -> None:
    acme = history.acme
    carol = enrol(acme, history.program["id"], "carol", name="Carol")
    acme.event(signup("s-sam", "sam", referral_code=carol["code"]))
    buys(acme, "dan", carol["code"], 3000)
    buys(acme, "erin", carol["code"], 3000)
    acme.event(refund("r-erin", "erin", "o-erin"))
    answer = analyst(acme).get("/dashboard/advocates/", {"sort": "code"})
    body = text(answer)
    assert f"{carol['code']} carol Carol Give $10, get $10 3 1 $10.00" in body
    assert f"{history.alice['code']} alice Alice Give $10, get $10 1 1 $10.00" in body
    assert "2 in all" in body
    assert f'href="/dashboard/participants/{par("carol", acme)}/"' in answer.content.decode()


def test_advocates_list_filters_by_program_searches_and_sorts(history: History) -> None:
    acme = history.acme
    spring = make_program(acme, name="Spring", destination_url="https://shop.acme.test/s")
    carol = enrol(acme, spring["id"], "carol", name="Carol")
    for n in range(2):
        buys(acme, f"f{n}", carol["code"], 3000)
    acme.event(signup("s-sam", "sam", referral_code=history.alice["code"]))
    client = analyst(acme)

    def shown(**params: str) -> list[str]:
        body = text(client.get("/dashboard/advocates/", params))
        table = body[body.index("Enrolled") :]
        return [w for w in table.split() if w in ("alice", "carol")]

    assert shown(program=spring["id"]) == ["carol"]
    assert shown(program=history.program["id"]) == ["alice"]
    assert shown(q="CAR") == ["carol"]
    assert shown(q=history.alice["code"].lower()) == ["alice"]
    assert shown(q="alice@example.com") == ["alice"]
    assert shown(sort="-conversions") == ["carol", "alice"]
    assert shown(sort="conversions") == ["alice", "carol"]
    # alice: bob and sam came; carol: two friends.
    assert shown(sort="-referrals_made") == ["carol", "alice"]
    assert shown(sort="created_at") == ["alice", "carol"]
    assert shown() == ["carol", "alice"]


def test_rewards_earned_are_per_currency_and_points_read_as_points(story: Story) -> None:
    acme = story.acme
    program = make_program(
        acme,
        name="Mixed",
        rewards=[
            {"beneficiary": "advocate", "kind": "credit", "amount": 1000, "currency": "EUR"},
            {"beneficiary": "advocate", "kind": "points", "amount": 120},
            {"beneficiary": "friend", "kind": "credit", "amount": 500, "currency": "EUR"},
        ],
    )
    code = enrol(acme, program["id"], "carol")["code"]
    buys(acme, "dan", code, 3000)
    answer = analyst(acme).get("/dashboard/advocates/", {"program": program["id"]})
    assert "€10.00<br>120 points" in answer.content.decode()
    [row] = rows_of(
        analyst(acme).get("/dashboard/advocates/export.csv", {"program": program["id"]})
    )
    assert row["rewards_earned"] == "10.00 EUR; 120 PTS"


def test_advocates_export_is_the_filtered_list_without_formulas(history: History) -> None:
    acme = history.acme
    enrol(acme, history.program["id"], "mallory", name='=HYPERLINK("x")', code="MAL-42")
    answer = analyst(acme).get("/dashboard/advocates/export.csv", {"sort": "created_at"})
    assert answer["Content-Disposition"] == 'attachment; filename="goodword-advocates.csv"'
    rows = rows_of(answer)
    alice = Advocate.objects.get(public_id=history.alice["id"])
    mallory = Advocate.objects.get(participant__external_id="mallory")
    assert [r["advocate_id"] for r in rows] == [alice.public_id, mallory.public_id]
    assert rows[0] == {
        "advocate_id": alice.public_id,
        "program_id": history.program["id"],
        "program": "Give $10, get $10",
        "code": alice.code,
        "participant_id": alice.participant.public_id,
        "external_id": "alice",
        "name": "Alice",
        "email": "alice@example.com",
        "variant": "",
        "referrals": "1",
        "conversions": "1",
        "rewards_earned": "10.00 USD",
        "enrolled_at": alice.created_at.isoformat(),
        "link": history.alice["link"],
    }
    assert rows[1]["name"] == '\'=HYPERLINK("x")'
    assert rows[1]["referrals"] == "0"
    assert rows[1]["rewards_earned"] == ""
    capped = rows_of(analyst(acme).get("/dashboard/advocates/export.csv", {"q": "MAL"}))
    assert [r["code"] for r in capped] == ["MAL-42"]


def test_advocates_export_is_capped(history: History, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "MAX_EXPORT", 1)
    enrol(history.acme, history.program["id"], "carol")
    rows = rows_of(analyst(history.acme).get("/dashboard/advocates/export.csv"))
    assert [r["external_id"] for r in rows] == ["carol"]


def test_advocates_list_runs_the_same_queries_for_one_row_or_many(
    history: History, django_assert_max_num_queries: Any
) -> None:
    client = analyst(history.acme)
    client.get("/dashboard/advocates/")
    # Session, user, devices, membership twice, programs, count, rows, rewards, session save.
    with django_assert_max_num_queries(12):
        assert client.get("/dashboard/advocates/").status_code == 200
    for n in range(12):
        code = enrol(history.acme, history.program["id"], f"adv{n}")["code"]
        buys(history.acme, f"friend{n}", code, 3000)
    with django_assert_max_num_queries(12):
        answer = client.get("/dashboard/advocates/")
    assert answer.status_code == 200
    assert "13 in all" in text(answer)
