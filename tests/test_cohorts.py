"""Cohorts and lifetime value (`goodword.analytics.cohorts`, `GET /cohorts`,
`GET /programs/{id}/cohorts`): exact triangles of a history built from purchase and refund
events, referred customers against the others, per currency; another workspace gets 404."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from django.test import Client

from goodword.analytics import rollups
from goodword.analytics.cohorts import Cohort, cohorts
from goodword.analytics.scope import Scope
from goodword.programs.models import Program
from goodword.referrals.models import Referral
from tests.dashboard import member, owner
from tests.factories import Api, enrol, make_api, make_program, purchase, signup
from tests.shared import kept_for_module, row_counts

NOW = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
SPRING = {"from": "2026-01-01", "to": "2026-04-30"}


def at(day: str) -> str:
    """An event time: `day` (YYYY-MM-DD or with a time) in UTC."""
    return f"{day}T12:00:00Z" if len(day) == 10 else f"{day}Z"


def buy(
    event_id: str, customer: str, order: str, amount: int, day: str, currency: str = "USD", **x: Any
) -> dict[str, Any]:
    body = purchase(event_id, customer, order, amount, occurred_at=at(day), **x)
    body["order"]["currency"] = currency
    return body


def refund(
    event_id: str, customer: str, order: str, amount: int | None, day: str
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": event_id,
        "type": "refund",
        "customer": {"external_id": customer},
        "order": {"id": order},
        "occurred_at": at(day),
    }
    if amount is not None:
        body["order"]["amount"] = amount
    return body


def send(api: Api, body: dict[str, Any]) -> None:
    answer = api.event(body)
    assert answer.status_code in (200, 201), answer.content


@dataclass
class Shop:
    acme: Api
    globex: Api
    main: Program
    second: Program


def build() -> Shop:
    """acme's main program: alice brings bob (January: buys again in February and March, part
    of March refunded), carol (January, refunded in full, so her referral is reversed; buys
    again in April) and dave (February). A second program: gina brings hank (March). Customers
    who came by nobody: olga (January and March), quinn (31 January, 23:30 UTC), pete
    (February, in dollars and in euros). globex has a customer of its own."""
    acme, globex = make_api("Acme"), make_api("Globex")
    with time_machine.travel(datetime(2026, 1, 1, tzinfo=UTC), tick=False):
        main = make_program(acme, name="Main", trigger={"event": "purchase"})
        second = make_program(acme, name="Second", trigger={"event": "purchase"})
        alice = enrol(acme, main["id"], "alice")["code"]
        gina = enrol(acme, second["id"], "gina")["code"]
        other = make_program(globex, name="Globex", destination_url="https://globex.test/")
        ivan = enrol(globex, other["id"], "ivan")["code"]
    with time_machine.travel(NOW, tick=False):
        for body in (
            signup("s-bob", "bob", referral_code=alice, occurred_at=at("2026-01-05")),
            buy("p-bob-1", "bob", "b1", 5000, "2026-01-10"),
            buy("p-bob-2", "bob", "b2", 3000, "2026-02-03"),
            buy("p-bob-3", "bob", "b3", 2000, "2026-03-15"),
            refund("r-bob-3", "bob", "b3", 500, "2026-03-20"),
            signup("s-carol", "carol", referral_code=alice, occurred_at=at("2026-01-20")),
            buy("p-carol-1", "carol", "c1", 4000, "2026-01-25"),
            refund("r-carol-1", "carol", "c1", None, "2026-02-01"),
            buy("p-carol-2", "carol", "c2", 1000, "2026-04-02"),
            signup("s-dave", "dave", referral_code=alice, occurred_at=at("2026-02-10")),
            buy("p-dave-1", "dave", "d1", 2500, "2026-02-12"),
            signup("s-hank", "hank", referral_code=gina, occurred_at=at("2026-03-01")),
            buy("p-hank-1", "hank", "h1", 8000, "2026-03-05"),
            buy("p-olga-1", "olga", "o1", 1000, "2026-01-08"),
            buy("p-olga-2", "olga", "o2", 1000, "2026-03-01"),
            buy("p-quinn-1", "quinn", "q1", 700, "2026-01-31T23:30:00"),
            buy("p-pete-1", "pete", "pe1", 2000, "2026-02-20", "EUR"),
            buy("p-pete-2", "pete", "pu1", 3000, "2026-02-21"),
            buy("p-bob-4", "bob", "b4", 9900, "2026-05-02"),  # after the period
        ):
            send(acme, body)
        send(globex, signup("s-zoe", "zoe", referral_code=ivan, occurred_at=at("2026-01-05")))
        send(globex, buy("p-zoe", "zoe", "z1", 77777, "2026-01-10"))
        send(globex, buy("p-yann", "yann", "y1", 55555, "2026-01-11"))
    return Shop(
        acme,
        globex,
        Program.objects.get(public_id=main["id"]),
        Program.objects.get(public_id=second["id"]),
    )


@pytest.fixture(scope="module")
def built(django_db_setup: None, django_db_blocker: Any) -> Iterator[Shop]:
    with kept_for_module(django_db_blocker):
        yield build()


@pytest.fixture
def shop(built: Shop, db: None) -> Shop:
    return built


def cohort(
    month: date | None,
    customers: int,
    orders: int,
    gross: int,
    refunded: int,
    cumulative: tuple[int, ...],
    *,
    average_order: int | None,
    orders_per_customer: float,
    lifetime_value: int,
) -> Cohort:
    return Cohort(
        month=month,
        customers=customers,
        orders=orders,
        gross=gross,
        refunded=refunded,
        net=gross - refunded,
        average_order=average_order,
        orders_per_customer=orders_per_customer,
        lifetime_value=lifetime_value,
        cumulative=cumulative,
    )


JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


def test_the_history_is_what_the_story_says(shop: Shop) -> None:
    carol = Referral.objects.get(referee__external_id="carol")
    assert carol.status == Referral.Status.REVERSED
    assert carol.converted_at == datetime(2026, 1, 25, 12, tzinfo=UTC)
    converted = Referral.objects.filter(workspace=shop.acme.workspace, converted_at__isnull=False)
    assert sorted(converted.values_list("referee__external_id", flat=True)) == [
        "bob", "carol", "dave", "hank",
    ]  # fmt: skip


def test_workspace_cohorts_in_exact_minor_units(shop: Shop) -> None:
    report = cohorts(Scope(shop.acme.workspace.pk, None, date(2026, 1, 1), date(2026, 4, 30)))
    assert report.through == date(2026, 4, 1)
    assert [c.currency for c in report.currencies] == ["EUR", "USD"]
    usd = report.currencies[1]
    # January: bob 50 + 30 (Feb) + 20 - 5 (Mar); carol 40 - 40 (Jan), 10 (Apr). Bob's May
    # order is after the period.
    assert usd.referred.cohorts == (
        cohort(JAN, 2, 5, 15000, 4500, (2500, 4000, 4750, 5250),
               average_order=3000, orders_per_customer=2.5, lifetime_value=5250),
        cohort(FEB, 1, 1, 2500, 0, (2500, 2500, 2500),
               average_order=2500, orders_per_customer=1.0, lifetime_value=2500),
        cohort(MAR, 1, 1, 8000, 0, (8000, 8000),
               average_order=8000, orders_per_customer=1.0, lifetime_value=8000),
    )  # fmt: skip
    # Month k of the total over the cohorts that reached it: (5000 + 2500 + 8000) / 4,
    # (8000 + 2500 + 8000) / 4, (9500 + 2500) / 3, 10500 / 2.
    assert usd.referred.total == cohort(
        None, 4, 7, 25500, 4500, (3875, 4625, 4000, 5250),
        average_order=3643, orders_per_customer=1.75, lifetime_value=5250,
    )  # fmt: skip
    # Others: olga 10 + 10 (Mar) and quinn 7 (31 January, 23:30 UTC is January); pete's dollars.
    assert usd.other.cohorts == (
        cohort(JAN, 2, 3, 2700, 0, (850, 850, 1350, 1350),
               average_order=900, orders_per_customer=1.5, lifetime_value=1350),
        cohort(FEB, 1, 1, 3000, 0, (3000, 3000, 3000),
               average_order=3000, orders_per_customer=1.0, lifetime_value=3000),
    )  # fmt: skip
    assert usd.other.total == cohort(
        None, 3, 4, 5700, 0, (1567, 1567, 1900, 1350),
        average_order=1425, orders_per_customer=1.33, lifetime_value=1900,
    )  # fmt: skip
    eur = report.currencies[0]
    assert eur.referred.cohorts == ()
    assert eur.referred.total.customers == 0
    assert eur.referred.total.cumulative == ()
    assert eur.other.cohorts == (
        cohort(FEB, 1, 1, 2000, 0, (2000, 2000, 2000),
               average_order=2000, orders_per_customer=1.0, lifetime_value=2000),
    )  # fmt: skip


def test_a_program_counts_its_own_friends_and_others_stay_never_referred(shop: Shop) -> None:
    scope = Scope(shop.acme.workspace.pk, shop.main.pk, date(2026, 1, 1), date(2026, 4, 30))
    usd = next(c for c in cohorts(scope).currencies if c.currency == "USD")
    assert [c.month for c in usd.referred.cohorts] == [JAN, FEB]  # not hank (Second)
    assert usd.referred.total.customers == 3
    # hank converted through another program: not "other" either.
    assert usd.other.total.customers == 3
    second = Scope(shop.acme.workspace.pk, shop.second.pk, date(2026, 1, 1), date(2026, 4, 30))
    usd = next(c for c in cohorts(second).currencies if c.currency == "USD")
    assert usd.referred.cohorts == (
        cohort(MAR, 1, 1, 8000, 0, (8000, 8000),
               average_order=8000, orders_per_customer=1.0, lifetime_value=8000),
    )  # fmt: skip


def test_the_period_chooses_the_cohorts_and_where_counting_stops(shop: Shop) -> None:
    report = cohorts(Scope(shop.acme.workspace.pk, None, date(2026, 2, 1), date(2026, 3, 31)))
    assert report.through == date(2026, 3, 1)
    usd = next(c for c in report.currencies if c.currency == "USD")
    # bob and carol started in January: not a cohort of this period, whatever they bought in it.
    assert [(c.month, c.customers, c.cumulative) for c in usd.referred.cohorts] == [
        (FEB, 1, (2500, 2500)),
        (MAR, 1, (8000,)),
    ]
    assert [(c.month, c.customers, c.cumulative) for c in usd.other.cohorts] == [
        (FEB, 1, (3000, 3000)),
    ]


def test_without_an_end_counting_runs_to_the_latest_purchase(shop: Shop) -> None:
    report = cohorts(Scope(shop.acme.workspace.pk))
    assert report.through == date(2026, 5, 1)
    usd = next(c for c in report.currencies if c.currency == "USD")
    january = usd.referred.cohorts[0]
    assert january.cumulative == (2500, 4000, 4750, 5250, 10200)  # bob's May order: + 99 / 2
    assert report.months == 5


def test_nothing_of_another_workspace(shop: Shop) -> None:
    report = cohorts(Scope(shop.globex.workspace.pk, None, date(2026, 1, 1), date(2026, 4, 30)))
    (usd,) = report.currencies
    assert [(c.month, c.customers, c.net) for c in usd.referred.cohorts] == [(JAN, 1, 77777)]
    assert [(c.month, c.customers, c.net) for c in usd.other.cohorts] == [(JAN, 1, 55555)]


def test_an_empty_workspace_has_no_cohorts(db: None) -> None:
    initech = make_api("Initech")
    report = cohorts(Scope(initech.workspace.pk))
    assert report.through is None
    assert report.currencies == ()
    assert report.months == 0


# The API.


def test_api_answers_the_workspace_cohorts(shop: Shop) -> None:
    answer = shop.acme.get("/cohorts", **SPRING)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["program"] is None
    assert body["period"] == {"start": "2026-01-01", "end": "2026-04-30"}
    assert body["through"] == "2026-04-01"
    assert [c["currency"] for c in body["currencies"]] == ["EUR", "USD"]
    usd = body["currencies"][1]
    assert usd["referred"]["cohorts"][0] == {
        "month": "2026-01-01",
        "customers": 2,
        "orders": 5,
        "gross": 15000,
        "refunded": 4500,
        "net": 10500,
        "average_order": 3000,
        "orders_per_customer": 2.5,
        "lifetime_value": 5250,
        "cumulative": [2500, 4000, 4750, 5250],
    }
    assert usd["referred"]["total"]["month"] is None
    assert usd["referred"]["total"]["cumulative"] == [3875, 4625, 4000, 5250]
    assert usd["other"]["total"]["lifetime_value"] == 1900


def test_api_program_cohorts_both_ways(shop: Shop) -> None:
    by_path = shop.acme.get(f"/programs/{shop.main.public_id}/cohorts", **SPRING)
    by_query = shop.acme.get("/cohorts", program=shop.main.public_id, **SPRING)
    assert by_path.status_code == by_query.status_code == 200
    assert by_path.json() == by_query.json()
    usd = by_path.json()["currencies"][1]
    assert by_path.json()["program"] == shop.main.public_id
    assert [c["month"] for c in usd["referred"]["cohorts"]] == ["2026-01-01", "2026-02-01"]


def test_another_workspaces_program_is_404(shop: Shop) -> None:
    rollups.catch_up()  # the rollups are a cache any read brings up to date: not a change
    before = row_counts()
    for path, params in (
        (f"/programs/{shop.main.public_id}/cohorts", SPRING),
        ("/cohorts", {**SPRING, "program": shop.main.public_id}),
        ("/programs/prg_nope/cohorts", SPRING),
    ):
        answer = shop.globex.get(path, **params)
        assert answer.status_code == 404, (path, answer.content)
        assert answer.json()["error"]["code"] == "not_found"
        assert b"Main" not in answer.content
    # globex's own cohorts show none of acme's numbers.
    own = shop.globex.get("/cohorts", **SPRING).content.decode()
    for canary in ("15000", "25500", "EUR"):
        assert canary not in own
    assert row_counts() == before


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2026-04-30", "to": "2026-01-01"}, "from", "must be on or before `to`"),
        ({"from": "January"}, "from", "must be a date such as 2026-03-01"),
        ({"to": "2026-02-30"}, "to", "must be a date such as 2026-03-01"),
        ({"from": "2016-01-01", "to": "2026-04-30"}, "to", "must be at most 3660 days after"),
    ],
)
def test_a_bad_period_is_422_naming_the_field(
    shop: Shop, params: dict[str, str], field: str, message: str
) -> None:
    for path in ("/cohorts", f"/programs/{shop.main.public_id}/cohorts"):
        answer = shop.acme.get(path, **params)
        assert answer.status_code == 422, (path, answer.content)
        error = answer.json()["error"]
        assert error["code"] == "validation_error"
        assert error["details"][0]["loc"] == ["query", field]
        assert message in error["message"]


def test_api_needs_a_key(shop: Shop) -> None:
    assert Client().get("/api/v1/cohorts").status_code == 401


# The dashboard's Cohorts page and its CSV.


def text(response: Any) -> str:
    body = response.content.decode()
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_cohorts_page_shows_triangles_in_major_units(shop: Shop) -> None:
    page = owner(shop.acme.workspace).get("/dashboard/cohorts/", SPRING)
    assert page.status_code == 200
    shown = text(page)
    assert (
        "Friends referred by any program, and customers never referred, who became customers "
        "from 1 Jan 2026 to 30 Apr 2026; their purchases counted to 30 Apr 2026 (UTC)."
    ) in shown
    usd = shown.split(" USD ")[1]
    assert "Referred customers 4 1.75 $36.43 $52.50 $210.00" in usd
    assert "Other customers 3 1.33 $14.25 $19.00 $57.00" in usd
    referred = usd.split("Referred customers: net revenue per customer")[1].split("Other")[0]
    assert "Month 0 Month 1 Month 2 Month 3" in referred
    assert "Jan 2026 2 2.50 $30.00 $52.50 $25.00 $40.00 $47.50 $52.50" in referred
    assert "Feb 2026 1 1.00 $25.00 $25.00 $25.00 $25.00 $25.00 not yet" in referred
    assert "Mar 2026 1 1.00 $80.00 $80.00 $80.00 $80.00 not yet not yet" in referred
    assert "All cohorts 4 1.75 $36.43 $52.50 $38.75 $46.25 $40.00 $52.50" in referred
    other = usd.split("Other customers: net revenue per customer")[1]
    assert "Jan 2026 2 1.50 $9.00 $13.50 $8.50 $8.50 $13.50 $13.50" in other
    eur = shown.split(" EUR ")[1].split(" USD ")[0]
    assert "Referred customers 0 — — — €0.00" in eur
    assert "Feb 2026 1 1.00 €20.00 €20.00 €20.00 €20.00 €20.00" in eur
    # Raw minor units never show.
    assert "15000" not in shown
    assert "5250" not in shown


def test_cohort_cells_carry_their_text_and_shading_only_as_a_hint(shop: Shop) -> None:
    body = owner(shop.acme.workspace).get("/dashboard/cohorts/", SPRING).content.decode()
    # One scale per currency, its top hank's $80.00: $25.00 is level 2, $80.00 level 4.
    assert '<td class="num co-h4">$80.00</td>' in body
    assert '<td class="num co-h2">$25.00</td>' in body
    assert '<td class="co-none"><span class="visually-hidden">not yet</span></td>' in body
    assert '<th scope="row">Jan 2026</th>' in body
    assert '<th scope="col" class="num">Month 3</th>' in body
    assert '<tr class="co-all">' in body
    assert '<a href="/dashboard/cohorts/" aria-current="page">Cohorts</a>' in body
    nav = body.split('aria-label="Sections"')[1].split("</nav>")[0]
    assert nav.index(">Overview<") < nav.index(">Cohorts<") < nav.index(">Programs<")
    assert not re.search(r"<script(?![^>]*\bsrc=)", body)


def test_cohorts_page_for_one_program(shop: Shop) -> None:
    query = {**SPRING, "program": shop.main.public_id}
    page = owner(shop.acme.workspace).get("/dashboard/cohorts/", query)
    assert page.status_code == 200
    shown = text(page)
    assert "Friends referred by Main, and customers never referred" in shown
    assert "Referred customers 3 2.00 $29.17 $43.33 $130.00" in shown
    assert "Mar 2026 1 1.00 $80.00" not in shown  # hank came by the other program
    expected = f"program={shop.main.public_id}&amp;from=2026-01-01&amp;to=2026-04-30"
    assert f'href="/dashboard/cohorts/cohorts.csv?{expected}"' in page.content.decode()


def test_default_period_is_the_last_12_months(shop: Shop) -> None:
    with time_machine.travel(datetime(2026, 4, 15, 12, tzinfo=UTC), tick=False):
        page = owner(shop.acme.workspace).get("/dashboard/cohorts/")
    body = page.content.decode()
    assert 'name="from" value="2025-05-01"' in body
    assert 'name="to" value="2026-04-15"' in body
    assert "Jan 2026 2 2.50" in text(page)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"from": "2026-04-30", "to": "2026-01-01"}, "from", "Must be on or before the last day"),
        ({"from": "January", "to": "2026-04-30"}, "from", "Must be a date such as 2026-03-01"),
    ],
)
def test_a_bad_period_is_told_next_to_its_field(
    shop: Shop, query: dict[str, str], field: str, message: str
) -> None:
    client = owner(shop.acme.workspace)
    page = client.get("/dashboard/cohorts/", query)
    assert page.status_code == 400
    body = page.content.decode()
    assert f'<span class="error" id="co-{field}-error">{message}</span>' in body
    assert f'aria-describedby="co-{field}-error"' in body
    assert "co-triangle" not in body
    export = client.get("/dashboard/cohorts/cohorts.csv", query)
    assert export.status_code == 400
    assert message in export.content.decode()


def test_cohorts_csv_in_major_units(shop: Shop) -> None:
    answer = owner(shop.acme.workspace).get("/dashboard/cohorts/cohorts.csv", SPRING)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer["Content-Disposition"] == (
        'attachment; filename="cohorts-2026-01-01-2026-04-30.csv"'
    )
    rows = list(csv.reader(io.StringIO(answer.content.decode())))
    assert rows[0] == [
        "currency", "group", "cohort", "customers", "orders", "orders_per_customer",
        "average_order", "lifetime_value", "net", "month_0", "month_1", "month_2", "month_3",
    ]  # fmt: skip
    assert rows[1:] == [
        ["EUR", "other", "2026-02", "1", "1", "1.00", "20.00", "20.00", "20.00",
         "20.00", "20.00", "20.00"],
        ["EUR", "other", "all", "1", "1", "1.00", "20.00", "20.00", "20.00",
         "20.00", "20.00", "20.00"],
        ["USD", "referred", "2026-01", "2", "5", "2.50", "30.00", "52.50", "105.00",
         "25.00", "40.00", "47.50", "52.50"],
        ["USD", "referred", "2026-02", "1", "1", "1.00", "25.00", "25.00", "25.00",
         "25.00", "25.00", "25.00"],
        ["USD", "referred", "2026-03", "1", "1", "1.00", "80.00", "80.00", "80.00",
         "80.00", "80.00"],
        ["USD", "referred", "all", "4", "7", "1.75", "36.43", "52.50", "210.00",
         "38.75", "46.25", "40.00", "52.50"],
        ["USD", "other", "2026-01", "2", "3", "1.50", "9.00", "13.50", "27.00",
         "8.50", "8.50", "13.50", "13.50"],
        ["USD", "other", "2026-02", "1", "1", "1.00", "30.00", "30.00", "30.00",
         "30.00", "30.00", "30.00"],
        ["USD", "other", "all", "3", "4", "1.33", "14.25", "19.00", "57.00",
         "15.67", "15.67", "19.00", "13.50"],
    ]  # fmt: skip


@pytest.mark.parametrize("role", ["analyst", "reviewer", "admin", "owner"])
def test_every_role_may_view(shop: Shop, role: str) -> None:
    client = member(shop.acme.workspace, f"{role}@acme.test", role)
    assert client.get("/dashboard/cohorts/", SPRING).status_code == 200
    assert client.get("/dashboard/cohorts/cohorts.csv", SPRING).status_code == 200


def test_signed_out_is_sent_to_sign_in(shop: Shop) -> None:
    for path in ("/dashboard/cohorts/", "/dashboard/cohorts/cohorts.csv"):
        answer = Client().get(path)
        assert answer.status_code == 302
        assert answer["Location"].startswith("/dashboard/login/?next=")


def test_another_workspaces_program_is_404_on_the_page(shop: Shop) -> None:
    globex = owner(shop.globex.workspace)
    for path in ("/dashboard/cohorts/", "/dashboard/cohorts/cohorts.csv"):
        for program in (shop.main.public_id, "prg_nope"):
            answer = globex.get(path, {**SPRING, "program": program})
            assert answer.status_code == 404, (path, program)
            assert b"Main" not in answer.content
    page = globex.get("/dashboard/cohorts/", SPRING)
    shown = text(page)
    assert "$777.77" in shown
    for canary in ("Main", "Second", "$52.50", "€20.00", "$36.43"):
        assert canary not in shown, canary
    rows = globex.get("/dashboard/cohorts/cohorts.csv", SPRING).content.decode()
    assert "777.77" in rows
    assert "52.50" not in rows


def test_an_empty_workspace_says_so(db: None) -> None:
    initech = make_api("Initech")
    page = owner(initech.workspace).get("/dashboard/cohorts/", SPRING)
    assert page.status_code == 200
    assert "No customers in this period" in text(page)
    rows = owner(initech.workspace).get("/dashboard/cohorts/cohorts.csv", SPRING).content
    assert rows.decode().splitlines() == [
        "currency,group,cohort,customers,orders,orders_per_customer,average_order,"
        "lifetime_value,net"
    ]
