"""The referrals pages of the dashboard: the list (search, filters, sorting, pages, CSV) and a
referral's page, its timeline: who referred whom, each step with its time and how long it took,
the rule decisions in plain words, the rewards and their ledger transactions, the orders, and
how to reach both people.

Every page is read-only (Can.VIEW): an analyst sees it all; another workspace's referral is a
404; nothing of globex shows in acme's list or export.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern

from goodword.accounts.models import ApiKey
from goodword.accounts.roles import Can
from goodword.dashboard import lists
from goodword.dashboard.referrals import urls as referral_urls
from goodword.dashboard.referrals import views
from goodword.participants.models import Participant
from goodword.referrals.clicklog import ingest_clicks
from goodword.referrals.models import Referral
from goodword.rewards.models import Reward
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
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"


def rows_of(answer: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(answer.content.decode())))


def analyst(api: Api) -> Client:
    return staff(api.workspace, "analyst")


def at(when: datetime, body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "occurred_at": when.isoformat()}


def converted(api: Api, friend: str, code: str, amount: int, when: datetime = T0) -> str:
    """`friend` buys for `amount` with `code`; their referral's id."""
    body = at(when, purchase(f"p-{friend}", friend, f"o-{friend}", amount, referral_code=code))
    answer = api.event(body)
    assert answer.status_code == 201, answer.content
    return str(answer.json()["referrals"][0]["id"])


def with_globex_referral(history: History) -> str:
    """globex: gina refers a friend named like a canary; the referral's id."""
    globex = history.globex
    gina = enrol(globex, history.globex_program["id"], "gina")
    globex.event(purchase("p-gus", "gus-canary", "g-order-1", 9900, referral_code=gina["code"]))
    return str(Referral.objects.get(referee__external_id="gus-canary").public_id)


@pytest.fixture
def history(db: None) -> History:
    return make_history()


# Who may see what.


def test_every_page_names_its_permission() -> None:
    patterns = [p for p in referral_urls.urlpatterns if isinstance(p, URLPattern)]
    found = {p.name: p.callback.permission for p in patterns}  # type: ignore[attr-defined]
    assert found == {"referrals": Can.VIEW, "referrals_export": Can.VIEW, "referral": Can.VIEW}


def test_anonymous_is_sent_to_sign_in(history: History) -> None:
    for path in (
        "/dashboard/referrals/",
        "/dashboard/referrals/export.csv",
        f"/dashboard/referrals/{history.referral_id}/",
    ):
        answer = Client().get(path)
        assert answer.status_code == 302
        assert answer["Location"].startswith("/dashboard/login/?next=/dashboard/referrals/")


def test_another_workspaces_referral_is_a_404(history: History) -> None:
    theirs = with_globex_referral(history)
    acme = analyst(history.acme)
    assert acme.get(f"/dashboard/referrals/{theirs}/").status_code == 404
    assert acme.get("/dashboard/referrals/ref_nosuchreferral/").status_code == 404
    # And the other way round.
    stranger = owner(history.globex.workspace)
    assert stranger.get(f"/dashboard/referrals/{history.referral_id}/").status_code == 404
    assert stranger.get(f"/dashboard/referrals/{theirs}/").status_code == 200


# The list.


def test_list_shows_each_referral_with_money_in_major_units(history: History) -> None:
    with_globex_referral(history)
    answer = analyst(history.acme).get("/dashboard/referrals/")
    assert answer.status_code == 200
    body = text(answer)
    code = history.alice["code"]
    assert f"bob bob@example.net alice {code} Give $10, get $10 Rewarded code" in body, body
    assert "$25.00" in body
    assert ">2500<" not in answer.content.decode()
    assert f'href="/dashboard/referrals/{history.referral_id}/"' in answer.content.decode()
    assert "1 in all" in body
    assert "gus-canary" not in body
    assert "$99.00" not in body


def test_list_searches_by_friend_advocate_and_code(story: Story) -> None:
    acme, code = story.acme, story.alice["code"]
    carol = enrol(acme, story.program["id"], "carol", name="Carol Jones")
    dan = converted(acme, "dan", code, 3000)
    erin = converted(acme, "erin", carol["code"], 2100)
    client = analyst(acme)

    def found(query: str) -> list[str]:
        page = client.get("/dashboard/referrals/", {"q": query}).content.decode()
        return sorted(i for i in (dan, erin) if i in page)

    assert found("dan") == [dan]
    assert found("ERIN@example.NET") == [erin]
    assert found("Carol Jon") == [erin]
    assert found(carol["code"].lower()) == [erin]
    assert found("alice@example.com") == [dan]
    assert found(dan) == [dan]
    assert found("o-erin") == [erin]
    assert found("nobody") == []


def test_list_filters_by_status_program_and_how_they_came(story: Story) -> None:
    acme, code = story.acme, story.alice["code"]
    dan = converted(acme, "dan", code, 3000)
    sam = acme.event(signup("s-sam", "sam", referral_code=code)).json()["referrals"][0]["id"]
    other = make_program(acme, name="Spring", destination_url="https://shop.acme.test/spring")
    fay = converted(acme, "fay", enrol(acme, other["id"], "fred")["code"], 4000)
    client = analyst(acme)

    def found(**params: str) -> list[str]:
        page = client.get("/dashboard/referrals/", params).content.decode()
        return sorted(i for i in (dan, sam, fay) if i in page)

    assert found(status="signed_up") == [sam]
    assert found(status="converted") == sorted([dan, fay])
    assert found(status="rewarded") == []
    assert found(program=other["id"]) == [fay]
    assert found(program=story.program["id"], status="converted") == [dan]
    assert found(source="code") == sorted([dan, sam, fay])
    assert found(source="token") == []
    # Values not offered are ignored, as is an unknown sort.
    assert found(status="nonsense", program="prg_globex", sort="referee__email") == sorted(
        [dan, sam, fay]
    )


def test_list_sorts_by_created_converted_and_amount(story: Story) -> None:
    acme, code = story.acme, story.alice["code"]
    # dan signs up first and buys last.
    acme.event(at(T0, signup("s-dan", "dan", referral_code=code)))
    small = converted(acme, "dan", code, 2100, when=T0 + timedelta(days=5))
    big = converted(acme, "erin", code, 9000, when=T0 + timedelta(days=1))
    middle = converted(acme, "fay", code, 4000, when=T0 + timedelta(days=2))
    client = analyst(acme)

    def order(sort: str) -> list[str]:
        page = client.get("/dashboard/referrals/", {"sort": sort}).content.decode()
        return sorted((small, big, middle), key=page.index)

    assert order("order_amount") == [small, middle, big]
    assert order("-order_amount") == [big, middle, small]
    assert order("converted_at") == [big, middle, small]
    assert order("-converted_at") == [small, middle, big]
    assert order("created_at") == [small, big, middle]
    assert order("-created_at") == [middle, big, small]
    assert order("") == [middle, big, small]  # newest first by default
    page = client.get("/dashboard/referrals/", {"sort": "order_amount"}).content.decode()
    assert 'aria-sort="ascending"><a href="?sort=-order_amount">Order ▲' in page


def test_rows_without_a_value_sort_last_both_ways(story: Story) -> None:
    acme, code = story.acme, story.alice["code"]
    acme.event(at(T0, signup("s-gil", "gil", referral_code=code)))  # never buys
    waiting = str(Referral.objects.get(referee__external_id="gil").public_id)
    cheap = converted(acme, "dan", code, 2100, when=T0 + timedelta(days=2))
    dear = converted(acme, "erin", code, 9000, when=T0 + timedelta(days=1))
    client = analyst(acme)

    def order(sort: str) -> list[str]:
        page = client.get("/dashboard/referrals/", {"sort": sort}).content.decode()
        return sorted((waiting, cheap, dear), key=page.index)

    assert order("order_amount") == [cheap, dear, waiting]
    assert order("-order_amount") == [dear, cheap, waiting]
    assert order("converted_at") == [dear, cheap, waiting]
    assert order("-converted_at") == [cheap, dear, waiting]
    _, *rows = rows_of(client.get("/dashboard/referrals/export.csv", {"sort": "-converted_at"}))
    assert [r[0] for r in rows] == [cheap, dear, waiting]


def test_export_does_not_count_the_rows(story: Story) -> None:
    converted(story.acme, "dan", story.alice["code"], 2100)
    client = analyst(story.acme)
    client.get("/dashboard/referrals/")  # the session, warm
    with CaptureQueriesContext(connection) as queries:
        answer = client.get("/dashboard/referrals/export.csv")
    assert answer.status_code == 200
    assert len(rows_of(answer)) == 1 + 1  # the header and dan's referral
    assert not [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def test_list_pages(story: Story, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "PER_PAGE", 2)
    made = [converted(story.acme, f"f{n}", story.alice["code"], 2000 + n) for n in range(5)]
    client = analyst(story.acme)
    first = client.get("/dashboard/referrals/", {"sort": "order_amount"})
    third = client.get("/dashboard/referrals/", {"sort": "order_amount", "page": "3"})
    assert [i for i in made if i in first.content.decode()] == made[:2]
    assert [i for i in made if i in third.content.decode()] == made[4:]
    assert "Page 1 of 3 · 5 in all" in text(first)
    assert 'href="?sort=order_amount&amp;page=2" rel="next"' in first.content.decode()


def test_list_runs_the_same_queries_for_one_row_or_many(
    story: Story, django_assert_max_num_queries: Any
) -> None:
    client = analyst(story.acme)
    converted(story.acme, "f0", story.alice["code"], 2500)
    client.get("/dashboard/referrals/")  # the session, warm
    # Session, user, devices, membership twice, programs (a filter), count, rows, session save.
    with django_assert_max_num_queries(11):
        assert client.get("/dashboard/referrals/").status_code == 200
    for n in range(1, 12):
        converted(story.acme, f"f{n}", story.alice["code"], 2500)
    with django_assert_max_num_queries(11):
        assert client.get("/dashboard/referrals/").status_code == 200


# The export.


def test_export_is_the_filtered_list_in_major_units_without_formulas(story: Story) -> None:
    acme, code = story.acme, story.alice["code"]
    body = purchase("p-x", "mallory", "=order", 2550, referral_code=code)
    body["customer"]["name"] = '=HYPERLINK("x")'
    mallory = acme.event(at(T0 + timedelta(hours=3), body)).json()["referrals"][0]["id"]
    converted(acme, "dan", code, 3000)
    acme.event(signup("s-sam", "sam", referral_code=code))
    answer = analyst(acme).get("/dashboard/referrals/export.csv", {"q": "mallory"})
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer["Content-Disposition"] == 'attachment; filename="goodword-referrals.csv"'
    header, *rows = rows_of(answer)
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    referral = Referral.objects.get(public_id=mallory)
    assert row == {
        "referral_id": mallory,
        "program_id": story.program["id"],
        "program": "Give $10, get $10",
        "status": "converted",
        "reject_reason": "",
        "source": "code",
        "channel": "code",
        "advocate_external_id": "alice",
        "advocate_name": "Alice",
        "advocate_email": "alice@example.com",
        "advocate_code": code,
        "friend_external_id": "mallory",
        "friend_name": '\'=HYPERLINK("x")',
        "friend_email": "mallory@example.net",
        "created_at": referral.created_at.isoformat(),
        "clicked_at": "",
        "signed_up_at": referral.created_at.isoformat(),
        "converted_at": (T0 + timedelta(hours=3)).isoformat(),
        "seconds_to_convert": str(
            int((T0 + timedelta(hours=3) - referral.created_at).total_seconds())
        ),
        "rewarded_at": "",
        "rejected_at": "",
        "reversed_at": "",
        "order_id": "'=order",
        "order_amount": "25.50",
        "order_currency": "USD",
    }
    everything = rows_of(analyst(acme).get("/dashboard/referrals/export.csv"))
    assert len(everything) == 1 + 3


def test_export_is_capped_and_keeps_the_lists_order(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "MAX_EXPORT", 2)
    for n, amount in enumerate((3000, 2100, 5000)):
        converted(story.acme, f"f{n}", story.alice["code"], amount)
    _, *rows = rows_of(
        analyst(story.acme).get("/dashboard/referrals/export.csv", {"sort": "-order_amount"})
    )
    assert [r[-2] for r in rows] == ["50.00", "30.00"]
    page = analyst(story.acme).get("/dashboard/referrals/").content.decode()
    assert "The export holds the first 2 of these" in page


def test_no_globex_data_in_acmes_list_or_export(history: History) -> None:
    with_globex_referral(history)
    client = analyst(history.acme)
    for path in ("/dashboard/referrals/", "/dashboard/referrals/export.csv"):
        for query in ({}, {"q": "gus"}, {"program": history.globex_program["id"]}):
            body = client.get(path, query).content.decode()
            assert "gus-canary" not in body
            assert "gina" not in body
            assert "g-order-1" not in body


# A referral's page.


def click(code: str, query: str) -> str:
    answer = Client().get(f"/r/{code}{query}", HTTP_USER_AGENT=PHONE)
    assert answer.status_code == 302
    return str(parse_qs(urlsplit(answer["Location"]).query)["gw_ref"][0])


def test_timeline_tells_the_story_in_order_with_how_long_each_step_took(story: Story) -> None:
    acme = story.acme
    with time_machine.travel(T0, tick=False):
        token = click(story.alice["code"], "?via=whatsapp&utm_source=flyer")
    assert ingest_clicks() == 1
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        answer = acme.event(signup("s-bob", "bob", ref_token=token)).json()
    referral = answer["referrals"][0]["id"]
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        rewards = acme.event(purchase("p-bob", "bob", "order-1", 2500)).json()["rewards"]
    approve_due_rewards(now=T0 + timedelta(days=17))
    with time_machine.travel(T0 + timedelta(days=20), tick=False):
        acme.event(refund("r-bob", "bob", "order-1"))
    alice, bob = (r["id"] for r in sorted(rewards, key=lambda r: r["beneficiary"]))

    answer = analyst(acme).get(f"/dashboard/referrals/{referral}/")
    assert answer.status_code == 200
    body = text(answer)
    assert "Referral " + referral + " Reversed" in body
    assert "Alice referred bob to Give $10, get $10 with their link, shared by whatsapp." in body
    timeline = body[body.index("Timeline") : body.index("Summary")]
    assert timeline == (
        "Timeline "
        "Clicked alice's link 2026-03-02 09:00 channel whatsapp; UTM flyer; on a mobile "
        "Signed up +1 h 2026-03-02 10:00 referred by alice with their link "
        "Converted +1 day 23 h 2026-03-04 09:00 order order-1 for $25.00 "
        "Reward granted: $10.00 credit for alice (advocate) +0 s 2026-03-04 09:00 "
        "Advocate's credit; held until 2026-03-18 09:00; program version 1 "
        "Reward granted: $5.00 credit for bob (friend) +0 s 2026-03-04 09:00 "
        "Friend's credit; held until 2026-03-18 09:00; program version 1 "
        "Rewarded: the first reward was approved +15 days 2026-03-19 09:00 "
        "Reward approved: $10.00 credit for alice (advocate) +0 s 2026-03-19 09:00 "
        "its hold ended "
        "Reward approved: $5.00 credit for bob (friend) +0 s 2026-03-19 09:00 its hold ended "
        "Order order-1 refunded +3 days 2026-03-22 09:00 in full "
        "Reversed +0 s 2026-03-22 09:00 a refund "
        "Reward reversed: $10.00 credit for alice (advocate) +0 s 2026-03-22 09:00 "
        "was approved "
        "Reward reversed: $5.00 credit for bob (friend) +0 s 2026-03-22 09:00 was approved "
        "Taken back through the ledger: $10.00 credit for alice (advocate) +0 s "
        "2026-03-22 09:00 "
        "Taken back through the ledger: $5.00 credit for bob (friend) +0 s 2026-03-22 09:00 "
    )
    summary = body[body.index("Summary") : body.index("Rule decisions")]
    assert summary == (
        f"Summary Program Give $10, get $10 Code {story.alice['code']} Came by their link "
        "Channel whatsapp UTM flyer / — / — "
        "First touch to sign-up 1 h First touch to conversion 2 days "
        "Conversion to first reward approved 15 days Conversion to reversal 18 days "
        "Order order-1 · $25.00 "
    )
    # Each reward's ledger: the reward, then its clawback, in money.
    ledger = body[body.index("Ledger transactions") : body.index("bob's orders")]
    assert ledger == (
        "Ledger transactions Reward When Kind Account Amount "
        f"{alice} 2026-03-19 09:00 Reward Workspace · rewards -$10.00 alice · credit $10.00 "
        f"{alice} 2026-03-22 09:00 Clawback alice · credit -$10.00 Workspace · rewards $10.00 "
        f"{bob} 2026-03-19 09:00 Reward Workspace · rewards -$5.00 bob · credit $5.00 "
        f"{bob} 2026-03-22 09:00 Clawback bob · credit -$5.00 Workspace · rewards $5.00 "
    )
    orders = body[body.index("bob's orders") : body.index(" Messages None yet.")]
    assert orders == (
        "bob's orders When What Order Amount Note "
        "2026-03-22 09:00 Refund order-1 in full its order "
        "2026-03-04 09:00 Purchase order-1 $25.00 converted the referral"
    )


def test_referral_page_shows_rewards_and_how_to_reach_both_people(history: History) -> None:
    bob = Participant.objects.get(external_id="bob")
    bob.attributes = {"phone": "+1 555 0100"}
    bob.save(update_fields=["attributes"])
    answer = analyst(history.acme).get(f"/dashboard/referrals/{history.referral_id}/")
    body = text(answer)
    page = answer.content.decode()
    mine = Reward.objects.filter(referral__public_id=history.referral_id)
    alice_reward, bob_reward = (mine.get(beneficiary=b) for b in ("advocate", "friend"))
    hold = alice_reward.hold_until.strftime("%Y-%m-%d %H:%M")
    assert (
        f"{alice_reward.public_id} alice advocate Credit $10.00 Approved Advocate's credit "
        f"{hold} 1 —"
    ) in body
    assert (
        f"{bob_reward.public_id} bob friend Credit $5.00 Approved Friend's credit {hold} 1 —"
    ) in body
    assert ">1000<" not in page
    assert ">500<" not in page
    contact = body[body.index("How to reach them") : body.index("Rewards Reward")]
    assert contact == (
        "How to reach them Advocate: Alice External id alice Email alice@example.com "
        "Friend: bob External id bob Email bob@example.net Phone +1 555 0100 "
    )
    alice = Participant.objects.get(external_id="alice")
    assert f'href="/dashboard/participants/{alice.public_id}/"' in page
    assert f'href="/dashboard/participants/{bob.public_id}/"' in page
    assert 'href="mailto:bob@example.net"' in page
    assert 'href="tel:+1 555 0100"' in page
    assert f'href="/dashboard/rewards/{alice_reward.public_id}/"' in page
    assert "Every rule that applies at the conversion gave its reward." in body


def test_rule_decisions_say_which_cap_or_condition_stopped_which_rule(story: Story) -> None:
    acme = story.acme
    program = make_program(
        acme,
        name="Capped",
        rewards=[
            {"name": "Base", "beneficiary": "advocate", "kind": "credit", "amount": 1000,
             "caps": [{"per": "advocate", "period": "month", "count": 1}]},
            {"name": "Big order bonus", "beneficiary": "advocate", "kind": "cash",
             "amount": 500, "conditions": {"min_amount": 5000}},
            {"beneficiary": "friend", "kind": "credit", "amount": 500},
        ],
    )  # fmt: skip
    carol = enrol(acme, program["id"], "carol")["code"]
    first = converted(acme, "dan", carol, 2500)
    second = converted(acme, "erin", carol, 2500, when=T0 + timedelta(days=1))
    client = analyst(acme)

    def decisions(referral: str) -> str:
        body = text(client.get(f"/dashboard/referrals/{referral}/"))
        return body[body.index("Rule decisions") : body.index("How to reach them")]

    assert decisions(first) == (
        "Rule decisions The rule “Big order bonus” gave the advocate nothing: the order "
        "($25.00) was below the rule's minimum. "
    )
    assert decisions(second) == (
        "Rule decisions "
        "The rule “Base” gave the advocate nothing: the rule's cap per advocate in the "
        "calendar month was reached. "
        "The rule “Big order bonus” gave the advocate nothing: the order ($25.00) was below "
        "the rule's minimum. "
    )


def test_a_rejection_is_explained(story: Story) -> None:
    acme, code = story.acme, story.alice["code"]
    acme.event(at(T0, purchase("p-old", "olga", "o-old", 2500)))
    late = converted(acme, "olga", code, 3000, when=T0 + timedelta(days=3))
    self_referral = converted(acme, "alice", code, 3000)
    client = analyst(acme)
    body = text(client.get(f"/dashboard/referrals/{late}/"))
    assert "Referral " + late + " Rejected" in body
    assert (
        "Rule decisions Rejected: the friend had bought before they were referred, and only "
        "new customers count. How to reach them"
    ) in body
    assert "No rewards: it was rejected." in body
    body = text(client.get(f"/dashboard/referrals/{self_referral}/"))
    assert (
        "Rejected: the friend is the advocate themself (the same customer or email address), "
        "and nobody may refer themself."
    ) in body
    assert "2026-03-02 09:00 Purchase o-old $25.00 before the referral" in text(
        client.get(f"/dashboard/referrals/{late}/")
    )


def test_coupon_reward_shows_its_code_and_when_it_was_used(story: Story) -> None:
    acme = story.acme
    program = make_program(
        acme,
        name="Coupons",
        hold_days=0,
        rewards=[{"beneficiary": "friend", "kind": "coupon", "amount": 1000, "currency": "USD"}],
    )
    code = enrol(acme, program["id"], "carol")["code"]
    referral = converted(acme, "dan", code, 2500)
    approve_due_rewards(now=T0 + timedelta(days=1))
    reward = Reward.objects.get(referral__public_id=referral)
    assert reward.coupon_code
    later = purchase("p-dan-2", "dan", "o-dan-2", 4000)
    later["order"]["coupons"] = [reward.coupon_code]
    acme.event(at(T0 + timedelta(days=5), later))
    body = text(analyst(acme).get(f"/dashboard/referrals/{referral}/"))
    assert "Coupon $10.00 off Fulfilled" in body
    assert f"{reward.coupon_code} used 2026-03-07 09:00" in body
    assert "Coupon used: $10.00 off coupon for dan (friend)" in body
    assert f"2026-03-07 09:00 {reward.coupon_code}; on order o-dan-2" in body
    assert "2026-03-07 09:00 Purchase o-dan-2 $40.00" in body


def test_an_analyst_sees_every_page(history: History) -> None:
    client = analyst(history.acme)
    for path in (
        "/dashboard/referrals/",
        "/dashboard/referrals/export.csv",
        f"/dashboard/referrals/{history.referral_id}/",
    ):
        assert client.get(path).status_code == 200, path


def test_an_invite_and_a_rejection_by_hand_are_steps_with_who_and_why(story: Story) -> None:
    acme = story.acme
    with time_machine.travel(T0, tick=False):
        invited = acme.post(
            f"/programs/{story.program['id']}/invites",
            {"advocate": "alice", "email": "carol@example.net"},
        )
        assert invited.status_code == 201, invited.content
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        answer = acme.event(signup("s-carol", "carol"))
    referral = answer.json()["referrals"][0]["id"]
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        rewards = acme.event(purchase("p-carol", "carol", "order-9", 3000)).json()["rewards"]
    [carols] = [r["id"] for r in rewards if r["beneficiary"] == "friend"]
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        rejected = acme.post(f"/rewards/{carols}/reject", {"reason": "duplicate account"})
    assert rejected.status_code == 200, rejected.content
    body = text(analyst(acme).get(f"/dashboard/referrals/{referral}/"))
    timeline = body[body.index("Timeline") : body.index("Summary")]
    assert timeline.startswith(
        "Timeline alice invited carol@example.net by email 2026-03-02 09:00 "
        "Signed up +2 h 2026-03-02 11:00 referred by alice with an email invite "
        "Converted +22 h 2026-03-03 09:00 order order-9 for $30.00 "
    ), timeline
    key = ApiKey.objects.get(workspace=acme.workspace).public_id
    assert timeline.endswith(
        "Reward rejected: $5.00 credit for carol (friend) +1 day 2026-03-04 09:00 "
        f"reason: duplicate account; by API key {key} "
    ), timeline
    assert "Came by an email invite Channel invite" in body


def test_a_long_list_counts_only_so_far(story: Story, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the cap the count stops ("more than"): counting a million rows took longer than
    the page; a page past the cap still counts far enough to know there is a next one."""
    monkeypatch.setattr(views, "PER_PAGE", 2)
    monkeypatch.setattr(lists, "COUNT_CAP", 3)
    made = [converted(story.acme, f"f{n}", story.alice["code"], 2000 + n) for n in range(5)]
    client = analyst(story.acme)
    first = client.get("/dashboard/referrals/", {"sort": "order_amount"})
    assert "Page 1 of many · more than 4 in all" in text(first)
    assert 'href="?sort=order_amount&amp;page=2" rel="next"' in first.content.decode()
    last = client.get("/dashboard/referrals/", {"sort": "order_amount", "page": "3"})
    assert "Page 3 of 3 · 5 in all" in text(last)
    assert [i for i in made if i in last.content.decode()] == made[4:]
    assert 'rel="next"' not in last.content.decode()


def test_list_orders_a_column_without_nulls_plainly(story: Story) -> None:
    """`NULLS LAST` only where a column can be null: on the newest-first default it kept
    PostgreSQL from reading the (workspace, created_at, id) index backwards."""
    converted(story.acme, "dan", story.alice["code"], 2100)
    client = analyst(story.acme)
    client.get("/dashboard/referrals/")  # the session, warm
    for params, nulls_last in (({}, False), ({"sort": "order_amount"}, True)):
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/dashboard/referrals/", params).status_code == 200
        (page,) = [
            q["sql"]
            for q in queries.captured_queries
            if "ORDER BY" in q["sql"] and "referrals_referral" in q["sql"]
        ]
        assert ("NULLS LAST" in page) is nulls_last
