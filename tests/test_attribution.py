"""Attribution views (`goodword.analytics.attribution`, `GET /api/v1/attribution`, the
Attribution page): who gets the credit for a friend several advocates touched, under
first-touch, last-touch, linear and time-decay, with totals that always add up."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goodword.analytics import activity, money
from goodword.analytics.attribution import (
    MODELS,
    Attribution,
    Touch,
    UnknownModel,
    attribution,
    parse_model,
    shares,
    split,
)
from goodword.analytics.scope import Money, Scope
from goodword.ingest.models import Event
from goodword.programs.models import Program
from goodword.referrals.models import Referral
from tests.dashboard import member, owner
from tests.factories import Api, enrol, make_api, make_program, purchase, signup
from tests.shared import kept_for_module
from tests.test_analytics import at, click, own_click_log, refund, send

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
DAY = timedelta(days=1)


@dataclass
class Shop:
    acme: Api
    globex: Api
    program: Program
    codes: dict[str, str]  # advocate's external id -> code

    def scope(self, program: bool = True) -> Scope:
        pk = self.program.pk if program else None
        return Scope(self.acme.workspace.pk, pk, date(2026, 3, 1), date(2026, 3, 31))


def build_shop() -> Shop:
    """acme's program, advocates alice, carol and dan:

    - bob: alice's code at signup (T0), then carol's link clicked at T0+7d and brought back on
      his purchase of $60 at T0+14d;
    - erin: dan's code at signup and on her $30 purchase; carol's code only after she bought;
    - frank: carol's code at signup (T0+2d), alice's code on his $40 purchase (T0+4d), $10 of
      it refunded;
    - gina: alice's code on a $25 purchase refunded in full (reversed: no friend, no revenue).

    globex has a program and a converted friend of its own.
    """
    acme, globex = make_api("Acme"), make_api("Globex")
    with at(T0 - DAY):
        prg = make_program(acme, name="Dollars")
        codes = {name: enrol(acme, prg["id"], name)["code"] for name in ("alice", "carol", "dan")}
        other = make_program(globex, name="Globex", destination_url="https://globex.test/")
        hank = enrol(globex, other["id"], "hank")["code"]
    a, c, d = codes["alice"], codes["carol"], codes["dan"]
    with at(T0):
        send(acme, signup("s-bob", "bob", referral_code=a))
        send(globex, signup("s-ivan", "ivan", referral_code=hank))
    with at(T0 + DAY):
        send(acme, signup("s-erin", "erin", referral_code=d))
        send(acme, purchase("p-gina", "gina", "order-4", 2500, referral_code=a))
        send(globex, purchase("p-ivan", "ivan", "order-g", 9999))
    with at(T0 + 2 * DAY):
        send(acme, signup("s-frank", "frank", referral_code=c))
        send(acme, refund("r-gina", "gina", "order-4", None))
    with at(T0 + 3 * DAY):
        send(acme, purchase("p-erin", "erin", "order-2", 3000, referral_code=d))
    with at(T0 + 4 * DAY):
        send(acme, purchase("p-frank", "frank", "order-3", 4000, referral_code=a))
    with at(T0 + 5 * DAY):
        send(acme, signup("s-erin-2", "erin", referral_code=c))
    with at(T0 + 6 * DAY):
        send(acme, refund("r-frank", "frank", "order-3", 1000))
    with at(T0 + 7 * DAY):
        token = click(c, "email")
    with at(T0 + 14 * DAY):
        send(acme, purchase("p-bob", "bob", "order-1", 6000, ref_token=token))
    return Shop(acme, globex, Program.objects.get(public_id=prg["id"]), codes)


@pytest.fixture(scope="module")
def built(django_db_setup: None, django_db_blocker: Any) -> Iterator[Shop]:
    with kept_for_module(django_db_blocker), own_click_log():
        yield build_shop()


@pytest.fixture
def shop(built: Shop, db: None) -> Shop:
    return built


def by_code(a: Attribution, shop: Shop) -> dict[str, tuple[float, int, int, int]]:
    """external id -> (friends, revenue, first-touch friends, first-touch revenue), USD."""
    names = {code: name for name, code in shop.codes.items()}

    def usd(items: tuple[Money, ...]) -> int:
        return sum(m.amount for m in items if m.currency == "USD")

    return {
        names[c.code]: (
            c.friends,
            usd(c.revenue),
            c.first_touch_friends,
            usd(c.first_touch_revenue),
        )
        for c in a.credits
    }


def decay(days: float) -> float:
    return float(0.5 ** (days / 7))


# --- the engine keeps a second advocate's touch ------------------------------------------------


def test_second_advocates_touch_is_kept_on_the_event_and_the_lock_holds(shop: Shop) -> None:
    ws = shop.acme.workspace
    bob = Referral.objects.for_workspace(ws).get(referee__external_id="bob")
    assert bob.advocate.code == shop.codes["alice"]
    assert bob.status == Referral.Status.CONVERTED
    assert bob.converted_at == T0 + 14 * DAY
    p_bob = Event.objects.for_workspace(ws).get(external_id="p-bob")
    assert p_bob.advocate is not None
    assert p_bob.advocate.code == shop.codes["carol"]
    assert (p_bob.touched_at, p_bob.touch_source) == (T0 + 7 * DAY, "token")
    assert p_bob.result["attribution"] == "locked_to_first_advocate"
    # One referral per friend: the later advocates opened none.
    assert Referral.objects.for_workspace(ws).filter(referee__external_id="bob").count() == 1


# --- the four models ---------------------------------------------------------------------------


def test_first_touch_is_the_referrals_lock(shop: Shop) -> None:
    a = attribution(shop.scope(), "first_touch")
    assert (a.friends, a.revenue, a.multi_touch) == (3, (Money("USD", 12000),), 2)
    assert by_code(a, shop) == {
        "alice": (1.0, 6000, 1, 6000),  # bob; gina was reversed: no friend, nothing net
        "carol": (1.0, 3000, 1, 3000),  # frank, $40 less $10 refunded
        "dan": (1.0, 3000, 1, 3000),  # erin
    }


def test_last_touch_goes_to_the_last_advocate_before_the_conversion(shop: Shop) -> None:
    a = attribution(shop.scope(), "last_touch")
    # bob's last touch is carol's link, frank's is alice's code; carol's code after erin bought
    # is no touch of that conversion.
    assert by_code(a, shop) == {
        "alice": (1.0, 3000, 1, 6000),
        "carol": (1.0, 6000, 1, 3000),
        "dan": (1.0, 3000, 1, 3000),
    }


def test_linear_shares_equally(shop: Shop) -> None:
    a = attribution(shop.scope(), "linear")
    assert by_code(a, shop) == {
        "alice": (1.0, 3000 + 1500, 1, 6000),
        "carol": (1.0, 3000 + 1500, 1, 3000),
        "dan": (1.0, 3000, 1, 3000),
    }


def test_time_decay_halves_a_touch_every_seven_days(shop: Shop) -> None:
    a = attribution(shop.scope(), "time_decay")
    assert a.half_life_days == 7
    # bob: alice 14 days before (weight 1/4), carol 7 days before (1/2): 1/3 and 2/3.
    # frank: carol 2 days before (2^(-2/7)), alice at the conversion (1).
    frank_alice = 1 / (1 + decay(2))
    frank_carol = decay(2) / (1 + decay(2))
    credits = by_code(a, shop)
    assert credits["alice"][0] == pytest.approx(1 / 3 + frank_alice, abs=1e-12)
    assert credits["carol"][0] == pytest.approx(2 / 3 + frank_carol, abs=1e-12)
    assert credits["dan"][0] == 1.0
    # $30 net of frank: 1648.048 and 1351.952 cents -> 1648 and 1352 (largest remainder).
    assert round(3000 * frank_alice, 3) == 1648.048
    assert (credits["alice"][1], credits["carol"][1], credits["dan"][1]) == (
        2000 + 1648,
        4000 + 1352,
        3000,
    )


@pytest.mark.parametrize("model", MODELS)
def test_totals_are_conserved_under_every_model(shop: Shop, model: str) -> None:
    for scope in (shop.scope(), shop.scope(program=False)):
        a = attribution(scope, model)
        assert a.friends == activity.funnel(scope).converted == 3
        assert a.revenue == money.revenue(scope).net == (Money("USD", 12000),)
        assert sum(c.friends for c in a.credits) == pytest.approx(a.friends, abs=1e-9)
        assert sum(c.first_touch_friends for c in a.credits) == a.friends
        for got in (
            [m for c in a.credits for m in c.revenue],
            [m for c in a.credits for m in c.first_touch_revenue],
        ):
            assert sum(m.amount for m in got if m.currency == "USD") == 12000


def test_a_period_without_the_conversions_credits_nobody(shop: Shop) -> None:
    april = Scope(shop.acme.workspace.pk, shop.program.pk, date(2026, 4, 1), date(2026, 4, 30))
    a = attribution(april, "linear")
    assert (a.friends, a.revenue, a.multi_touch, a.credits) == (0, (), 0, ())


def test_a_period_cut_after_the_first_conversions_counts_only_them(shop: Shop) -> None:
    early = Scope(shop.acme.workspace.pk, shop.program.pk, date(2026, 3, 1), date(2026, 3, 10))
    a = attribution(early, "last_touch")
    assert a.friends == 2
    assert a.revenue == (Money("USD", 6000),)
    assert {k: v[:2] for k, v in by_code(a, shop).items()} == {
        "alice": (1.0, 3000),  # frank's last touch
        "dan": (1.0, 3000),
        "carol": (0.0, 0),  # touched frank first: shown with her first-touch credit
    }


# --- pure parts --------------------------------------------------------------------------------


def test_shares_of_one_friend() -> None:
    t = T0 + 14 * DAY
    touches = [Touch(1, T0, 0), Touch(2, T0 + 7 * DAY, 5), Touch(1, T0 + DAY, 3)]
    assert shares("first_touch", locked=1, touches=touches, converted_at=t) == {1: 1.0}
    assert shares("last_touch", locked=1, touches=touches, converted_at=t) == {2: 1.0}
    assert shares("linear", locked=1, touches=touches, converted_at=t) == {1: 0.5, 2: 0.5}
    # An advocate's latest touch counts: alice 13 days before, carol 7.
    weights = {1: decay(13), 2: decay(7)}
    expected = {k: w / sum(weights.values()) for k, w in weights.items()}
    assert shares("time_decay", locked=1, touches=touches, converted_at=t) == pytest.approx(
        expected, abs=1e-15
    )
    # Touches at the same instant: the later event is the last one.
    tied = [Touch(1, T0, 0), Touch(2, T0, 7), Touch(3, T0, 4)]
    assert shares("last_touch", locked=1, touches=tied, converted_at=t) == {2: 1.0}
    assert shares("linear", locked=4, touches=[], converted_at=t) == {4: 1.0}


@given(
    st.integers(min_value=-(10**9), max_value=10**12),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=6),
)
def test_split_adds_up_exactly(amount: int, raw: list[int]) -> None:
    total = sum(raw) or 1
    parts = {i: (w or (1 if not sum(raw) else 0)) / total for i, w in enumerate(raw)}
    parts = {k: v for k, v in parts.items() if v} or {0: 1.0}
    norm = sum(parts.values())
    parts = {k: v / norm for k, v in parts.items()}
    whole = split(amount, parts)
    assert sum(whole.values()) == amount
    for key, share in parts.items():
        assert abs(whole[key] - amount * share) < 1 + 1e-6 * abs(amount)


def test_shares_always_sum_to_one() -> None:
    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(0, 6)
        touches = [
            Touch(rng.randint(1, 4), T0 + timedelta(hours=rng.randint(0, 24 * 30)), i)
            for i in range(n)
        ]
        for model in MODELS:
            got = shares(
                model, locked=rng.randint(1, 4), touches=touches, converted_at=T0 + 31 * DAY
            )
            assert sum(got.values()) == pytest.approx(1.0, abs=1e-12), (model, touches)
            assert all(0 < v <= 1 for v in got.values())


def test_unknown_model_is_refused_with_a_stable_code() -> None:
    assert parse_model(None) == parse_model("") == "first_touch"
    with pytest.raises(UnknownModel) as refused:
        parse_model("u_shaped")
    assert refused.value.code == "unknown_attribution_model"
    assert refused.value.status == 422
    assert "first_touch, last_touch, linear, time_decay" in refused.value.message


# --- API ---------------------------------------------------------------------------------------


def test_api_answers_the_model(shop: Shop) -> None:
    answer = shop.acme.get("/attribution", model="linear", program=shop.program.public_id, **MARCH)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["model"] == "linear"
    assert body["program"] == shop.program.public_id
    assert body["period"] == {"start": "2026-03-01", "end": "2026-03-31"}
    assert (body["friends"], body["multi_touch"], body["half_life_days"]) == (3, 2, 7)
    assert body["revenue"] == [{"currency": "USD", "amount": 12000}]
    rows = {r["code"]: r for r in body["advocates"]}
    alice = rows[shop.codes["alice"]]
    assert alice["friends"] == 1.0
    assert alice["first_touch_friends"] == 1
    assert alice["revenue"] == [{"currency": "USD", "amount": 4500}]
    assert alice["first_touch_revenue"] == [{"currency": "USD", "amount": 6000}]
    assert alice["touched"] == 2
    assert alice["external_id"] == "alice"
    # Without a model: first touch, the whole workspace.
    plain = shop.acme.get("/attribution", **MARCH).json()
    assert plain["model"] == "first_touch"
    assert plain["program"] is None
    assert sum(r["friends"] for r in plain["advocates"]) == 3


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"model": "u_shaped"}, 422, "unknown_attribution_model"),
        ({"model": "LINEAR"}, 422, "unknown_attribution_model"),
        ({"from": "March"}, 422, "validation_error"),
        ({"from": "2026-03-31", "to": "2026-03-01"}, 422, "validation_error"),
        ({"program": "prg_nope"}, 404, "not_found"),
    ],
)
def test_api_refuses_bad_input_with_a_stable_code(
    shop: Shop, query: dict[str, str], status: int, code: str
) -> None:
    answer = shop.acme.get("/attribution", **query)
    assert answer.status_code == status, answer.content
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["message"]


def test_api_another_workspaces_program_is_404(shop: Shop) -> None:
    answer = shop.globex.get("/attribution", program=shop.program.public_id, model="linear")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert shop.program.public_id not in answer.content.decode()
    own = shop.globex.get("/attribution", model="last_touch", **MARCH)
    assert own.status_code == 200
    body = own.json()
    assert body["friends"] == 1
    assert body["revenue"] == [{"currency": "USD", "amount": 9999}]
    assert [r["external_id"] for r in body["advocates"]] == ["hank"]
    for canary in (*shop.codes.values(), "alice", "carol", "Dollars"):
        assert canary not in own.content.decode()


def test_api_needs_a_key(shop: Shop) -> None:
    answer = shop.acme.client.get("/api/v1/attribution")
    assert answer.status_code == 401


# --- dashboard ---------------------------------------------------------------------------------


def test_page_shows_the_chosen_model_beside_first_touch(shop: Shop) -> None:
    page = owner(shop.acme.workspace).get("/dashboard/attribution/", {**MARCH, "model": "linear"})
    assert page.status_code == 200
    body = page.content.decode()
    assert '<option value="linear" selected>Linear</option>' in body
    assert "credited to each advocate under linear, beside first touch" in body
    assert body.count("At first touch") == 2
    assert "$45.00" in body
    assert "$60.00" in body
    assert "$120.00" in body
    assert 'href="/dashboard/attribution/"' in body  # the navigation has the section
    assert "/dashboard/attribution/advocates.csv?" in body


def test_first_touch_is_not_shown_beside_itself(shop: Shop) -> None:
    page = owner(shop.acme.workspace).get("/dashboard/attribution/", MARCH)
    assert page.status_code == 200
    body = page.content.decode()
    assert '<option value="first_touch" selected>First touch</option>' in body
    assert "At first touch" not in body
    assert "$60.00" in body  # alice's bob


def test_page_time_decay_shows_fractions(shop: Shop) -> None:
    page = owner(shop.acme.workspace).get(
        "/dashboard/attribution/",
        {**MARCH, "model": "time_decay", "program": shop.program.public_id},
    )
    assert page.status_code == 200
    body = page.content.decode()
    assert "$36.48" in body
    assert "$53.52" in body
    assert "0.88" in body  # alice: 1/3 + 0.549...


@pytest.mark.parametrize("role", ["owner", "admin", "analyst", "reviewer"])
def test_every_role_may_view(shop: Shop, role: str) -> None:
    client = member(shop.acme.workspace, f"{role}-at@acme.test", role)
    assert client.get("/dashboard/attribution/", MARCH).status_code == 200
    assert client.get("/dashboard/attribution/advocates.csv", MARCH).status_code == 200


def test_unknown_model_on_the_page_is_told_next_to_the_chooser(shop: Shop) -> None:
    client = owner(shop.acme.workspace)
    page = client.get("/dashboard/attribution/", {**MARCH, "model": "u_shaped"})
    assert page.status_code == 400
    assert 'id="at-model-error"' in page.content.decode()
    assert "alice" not in page.content.decode()
    export = client.get("/dashboard/attribution/advocates.csv", {"model": "u_shaped"})
    assert export.status_code == 400
    assert b"model" in export.content


def test_csv_in_major_units(shop: Shop) -> None:
    answer = owner(shop.acme.workspace).get(
        "/dashboard/attribution/advocates.csv", {**MARCH, "model": "last_touch"}
    )
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    assert "attribution-last_touch-2026-03-01-2026-03-31.csv" in answer["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.content.decode())))
    got = {
        r["external_id"]: (r["friends"], r["revenue_net"], r["first_touch_revenue_net"])
        for r in rows
    }
    assert got == {
        "carol": ("1.0", "60.00 USD", "30.00 USD"),
        "alice": ("1.0", "30.00 USD", "60.00 USD"),
        "dan": ("1.0", "30.00 USD", "30.00 USD"),
    }


def test_signed_out_is_sent_to_sign_in(shop: Shop) -> None:
    from django.test import Client

    answer = Client().get("/dashboard/attribution/")
    assert answer.status_code == 302
    assert "/dashboard/login/" in answer["Location"]


def test_dashboard_another_workspaces_program_is_404(shop: Shop) -> None:
    globex = owner(shop.globex.workspace)
    for path in ("/dashboard/attribution/", "/dashboard/attribution/advocates.csv"):
        answer = globex.get(path, {**MARCH, "program": shop.program.public_id})
        assert answer.status_code == 404, path
        assert b"Dollars" not in answer.content
    page = globex.get("/dashboard/attribution/", MARCH).content.decode()
    assert "hank" in page or "$99.99" in page
    for canary in (*shop.codes.values(), "alice", "Dollars", "$120.00"):
        assert canary not in page, canary


# --- the same numbers the plain way, on random histories ---------------------------------------


def plain_attribution(
    workspace_id: int, program: Program, model: str, start: datetime, end: datetime
) -> tuple[dict[int, float], dict[int, float], int, int]:
    """The definitions of docs/analytics.md as loops over rows: credited friends and exact
    (fractional) revenue in cents per advocate id, converted friends, net revenue."""
    referrals = [
        r
        for r in Referral.objects.for_workspace(workspace_id).filter(program=program)
        if r.converted_at is not None and start <= r.converted_at < end
    ]
    events = list(Event.objects.for_workspace(workspace_id).select_related("advocate"))
    window = timedelta(days=program.attribution_days)
    friends: dict[int, float] = {}
    revenue: dict[int, float] = {}
    converted = net_total = 0
    for r in referrals:
        assert r.converted_at is not None
        customer = r.referee.external_id
        latest = {r.advocate_id: (r.first_touch_at, 0)}
        for e in events:
            if (
                e.customer_external_id == customer
                and e.advocate is not None
                and e.touched_at is not None
                and e.advocate.program_id == program.pk
                and e.occurred_at <= r.converted_at
                and r.converted_at - window <= e.touched_at <= r.converted_at
            ):
                held = latest.get(e.advocate_id)
                if held is None or (e.touched_at, e.pk) > held:
                    latest[e.advocate_id] = (e.touched_at, e.pk)
        if model == "first_touch":
            weights = {r.advocate_id: 1.0}
        elif model == "last_touch":
            weights = {max(latest, key=lambda a: latest[a]): 1.0}
        elif model == "linear":
            weights = dict.fromkeys(latest, 1.0)
        else:
            weights = {
                a: 0.5 ** ((r.converted_at - at).total_seconds() / 86400 / 7)
                for a, (at, _) in latest.items()
            }
        total = sum(weights.values())
        refunds = [
            e.amount if e.amount is not None else r.order_amount
            for e in events
            if e.type == "refund"
            and e.order_id == r.order_id
            and e.customer_external_id == customer
        ]
        net = (r.order_amount or 0) - min(sum(x or 0 for x in refunds), r.order_amount or 0)
        net_total += net
        live = r.status in (Referral.Status.CONVERTED, Referral.Status.REWARDED)
        converted += live
        for a, w in weights.items():
            if live:
                friends[a] = friends.get(a, 0.0) + w / total
            revenue[a] = revenue.get(a, 0.0) + net * w / total
    return friends, revenue, converted, net_total


def random_history(seed: int) -> tuple[Api, Program]:
    rng = random.Random(seed)
    api = make_api(f"Initech{seed}")
    base = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    prg = make_program(api, name="Random")
    codes = [enrol(api, prg["id"], name)["code"] for name in ("alice", "carol", "dan")]
    n = 0

    def event(kind: str, friend: str, when: datetime, code: str | None, **order: Any) -> None:
        nonlocal n
        n += 1
        body: dict[str, Any] = {
            "id": f"e-{n}",
            "type": kind,
            "customer": {"external_id": friend, "email": f"{friend}@example.net"},
            "occurred_at": when.isoformat(),
        }
        if code:
            body["referral_code"] = code
        if order:
            body["order"] = {"currency": "USD", **order}
        send(api, body)

    for i in range(14):
        friend, t = f"friend-{i}", base + timedelta(days=i, hours=rng.randint(0, 23))
        event("signup", friend, t, rng.choice(codes))
        for _ in range(rng.randint(0, 3)):
            t += timedelta(days=rng.randint(0, 5), hours=rng.randint(1, 20))
            event("signup", friend, t, rng.choice(codes))
        if rng.random() < 0.85:
            t += timedelta(days=rng.randint(0, 4), hours=rng.randint(1, 20))
            amount = rng.randint(2000, 9000)
            event("purchase", friend, t, rng.choice([None, *codes]), id=f"o-{i}", amount=amount)
            if rng.random() < 0.3:
                back = rng.choice([None, rng.randint(1, amount)])
                refund_order = {"id": f"o-{i}", **({"amount": back} if back else {})}
                event("refund", friend, t + timedelta(hours=2), None, **refund_order)
            if rng.random() < 0.3:
                event("signup", friend, t + timedelta(days=1), rng.choice(codes))
    # A friend whose first advocate's window ran out before another one brought them.
    first, second = rng.sample(codes, 2)
    event("signup", "late", base, first)
    event("signup", "late", base + timedelta(days=35), second)
    event("purchase", "late", base + timedelta(days=36), None, id="o-late", amount=5000)
    return api, Program.objects.get(public_id=prg["id"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_numbers_equal_the_plain_computation_on_random_histories(db: None, seed: int) -> None:
    api, program = random_history(seed)
    ws = api.workspace.pk
    scope = Scope(ws, program.pk, date(2026, 1, 1), date(2026, 4, 30))
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)
    codes = {a.pk: a.code for a in program.advocate_set.all()}
    late = Referral.objects.for_workspace(ws).filter(referee__external_id="late")
    assert sorted(r.reject_reason or r.status for r in late) == ["converted", "expired"]
    multi = set()
    for model in MODELS:
        friends, revenue, converted, net = plain_attribution(ws, program, model, start, end)
        a = attribution(scope, model)
        assert a.friends == converted
        assert a.revenue == ((Money("USD", net),) if net or converted else ())
        got = {c.code: c for c in a.credits}
        for pk, code in codes.items():
            credit = got.get(code)
            assert (credit.friends if credit else 0.0) == pytest.approx(
                friends.get(pk, 0.0), abs=1e-9
            ), (model, code)
            cents = sum(m.amount for m in credit.revenue) if credit else 0
            # Whole cents: each conversion's share is off by less than one cent.
            assert abs(cents - revenue.get(pk, 0.0)) < a.multi_touch + 1e-6, (model, code)
        assert sum(m.amount for c in a.credits for m in c.revenue) == net
        multi.add(a.multi_touch)
    assert len(multi) == 1
    assert multi.pop() > 0  # the history has friends several advocates touched


# --- in a real browser -------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.e2e
def test_attribution_page_in_chromium(server: Any, tmp_path: Path) -> None:
    """UI-1 for the Attribution page: axe at a phone's and a laptop's size, no console error,
    nothing off loopback; the model chooser works without JavaScript."""
    from tests.test_browser_dashboard import CHROMIUM, _history, owner_session

    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    _history(server)
    with owner_session(server, tmp_path) as visitor:
        page = visitor.page
        visitor.see("/dashboard/attribution/", "attribution", "Credit per advocate")
        page.select_option("#at-model", "time_decay")
        page.click("form.at-filters button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert "model=time_decay" in page.url
        assert "under time decay, beside first touch" in page.content()
        visitor.check("attribution-time-decay")
        assert visitor.problems == []
        answer = page.goto(server.url + "/dashboard/attribution/?model=nope")
        assert answer is not None
        assert answer.status == 400
        assert "Choose one of the models" in page.content()
        visitor.check("attribution-error")
    # The page answered 400 on purpose, which Chromium logs; nothing else went wrong.
    assert visitor.problems == [
        "console: Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
