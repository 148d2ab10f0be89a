"""The decision core, table-driven, without a database."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from goodword.decisions.decide import decide_friend
from goodword.decisions.facts import (
    Advocate,
    FriendFacts,
    Program,
    Purchase,
    Refund,
    Rule,
    Signup,
    Touch,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
BOB, ALICE_P, CAROL_P = 10, 1, 2
ALICE = Advocate(id=101, participant=ALICE_P, email="alice@example.com", program=7)
CAROL = Advocate(id=102, participant=CAROL_P, email="carol@example.com", program=7)
RULES = (
    Rule(1, "advocate", "credit", 1000, None, "USD"),
    Rule(2, "friend", "credit", 500, None, "USD"),
)
PROGRAM = Program(
    id=7,
    trigger="purchase",
    min_amount=2000,
    currency="USD",
    first_purchase_only=True,
    attribution_days=30,
    hold_days=14,
    rules=RULES,
)


def code(event: str, at: datetime, advocate: Advocate = ALICE) -> Touch:
    return Touch(event, at, at, advocate, "code")


def buy(event: str, at: datetime, amount: int = 2500, order: str = "") -> Purchase:
    return Purchase(event, at, order or f"o-{event}", amount, "USD")


def facts(
    *items: object, program: Program = PROGRAM, email: str = "bob@example.net"
) -> FriendFacts:
    return FriendFacts(
        friend=BOB,
        friend_email=email,
        program=program,
        touches=tuple(i for i in items if isinstance(i, Touch)),
        signups=tuple(i for i in items if isinstance(i, Signup)),
        purchases=tuple(i for i in items if isinstance(i, Purchase)),
        refunds=tuple(i for i in items if isinstance(i, Refund)),
    )


def one(f: FriendFacts) -> tuple[str, str, str]:
    """(status, reject_reason, converted_by) of the friend's only referral."""
    [plan] = decide_friend(f).referrals
    return plan.status, plan.reject_reason, plan.converted_by


# One row a history, so the table reads as one.
@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ((code("s", T0),), ("signed_up", "", "")),
        ((code("s", T0), buy("p", T0 + DAY)), ("converted", "", "p")),
        # The purchase carrying the code converts at once.
        ((code("p", T0), buy("p", T0)), ("converted", "", "p")),
        # Bought before the first touch: an existing customer, however late that arrives.
        ((buy("old", T0 - DAY), code("s", T0), buy("p", T0 + DAY)), ("rejected", "existing_customer", "")),  # noqa: E501
        ((code("s", T0), buy("p", T0 + DAY, amount=1999)), ("signed_up", "", "")),
        # Window edges: the last second of the window converts; one second later does not.
        ((code("s", T0), buy("p", T0 + 30 * DAY)), ("converted", "", "p")),
        ((code("s", T0), buy("p", T0 + 30 * DAY + timedelta(seconds=1))), ("signed_up", "", "")),
        # First purchase only: a first purchase below the minimum spends the chance.
        ((code("s", T0), buy("p1", T0 + DAY, 100), buy("p2", T0 + 2 * DAY)), ("signed_up", "", "")),
        # A refund reverses, whichever arrived first; a refund of another order does nothing.
        ((code("s", T0), buy("p", T0 + DAY, order="o1"), Refund("r", T0 + 2 * DAY, "o1")), ("reversed", "", "p")),  # noqa: E501
        ((code("s", T0), buy("p", T0 + DAY, order="o1"), Refund("r", T0 + 2 * DAY, "o9")), ("converted", "", "p")),  # noqa: E501
    ],
)  # fmt: skip
def test_outcome_of_a_history(history: tuple[object, ...], expected: tuple[str, str, str]) -> None:
    assert one(facts(*history)) == expected


def test_notes_say_why_a_purchase_did_not_convert() -> None:
    [plan] = decide_friend(
        facts(code("s", T0), buy("p1", T0 + DAY, 100), buy("p2", T0 + 2 * DAY))
    ).referrals
    assert plan.notes == {"p1": "below_min_amount", "p2": "not_first_purchase"}
    later = replace(PROGRAM, first_purchase_only=False)
    [plan] = decide_friend(
        facts(code("s", T0), buy("p1", T0 + DAY, 100), buy("p2", T0 + 2 * DAY), program=later)
    ).referrals
    assert (plan.status, plan.converted_by, plan.notes) == (
        "converted",
        "p2",
        {"p1": "below_min_amount"},
    )


def test_grants_are_held_from_the_conversion_in_business_time() -> None:
    [plan] = decide_friend(facts(code("s", T0), buy("p", T0 + DAY))).referrals
    assert [(g.beneficiary, g.participant, g.amount, g.hold_until) for g in plan.grants] == [
        ("advocate", ALICE_P, 1000, T0 + 15 * DAY),
        ("friend", BOB, 500, T0 + 15 * DAY),
    ]


@pytest.mark.parametrize(
    ("advocate", "email"),
    [(Advocate(103, BOB, "", 7), ""), (ALICE, "alice@example.com")],
    ids=["same participant", "same mailbox"],
)
def test_self_referral_is_rejected(advocate: Advocate, email: str) -> None:
    f = facts(code("s", T0, advocate), buy("p", T0 + DAY), email=email)
    assert one(f) == ("rejected", "self_referral", "")
    assert decide_friend(f).referrals[0].grants == ()


def test_token_touch_starts_the_window_at_the_click() -> None:
    click = Touch("s", T0 - 29 * DAY, T0, ALICE, "token", "clk_1")
    [plan] = decide_friend(facts(click, buy("p", T0 + 2 * DAY))).referrals
    assert (plan.clicked_at, plan.created_at, plan.click_id) == (T0 - 29 * DAY, T0, "clk_1")
    assert plan.notes == {"p": "expired"}


def test_first_touch_locks_until_its_window_passes_unconverted() -> None:
    locked = decide_friend(facts(code("s1", T0), code("s2", T0 + 29 * DAY, CAROL)))
    assert [(p.advocate.id, p.status) for p in locked.referrals] == [(ALICE.id, "signed_up")]
    assert locked.attribution == {"s1": "attributed", "s2": "locked_to_first_advocate"}
    moved = decide_friend(
        facts(code("s1", T0), code("p", T0 + 31 * DAY, CAROL), buy("p", T0 + 31 * DAY))
    )
    assert [(p.advocate.id, p.status, p.reject_reason) for p in moved.referrals] == [
        (ALICE.id, "rejected", "expired"),
        (CAROL.id, "converted", ""),
    ]
    # A converted referral keeps the friend for good.
    kept = decide_friend(
        facts(code("s1", T0), buy("p", T0 + DAY), code("s2", T0 + 60 * DAY, CAROL))
    )
    assert [(p.advocate.id, p.status) for p in kept.referrals] == [(ALICE.id, "converted")]


def test_a_stale_touch_opens_nothing() -> None:
    stale = Touch("s", T0 - 31 * DAY, T0, ALICE, "token")
    decision = decide_friend(facts(stale))
    assert (decision.referrals, decision.attribution) == ((), {"s": "expired"})


def test_signup_trigger_converts_at_the_signup_after_the_touch() -> None:
    on_signup = replace(PROGRAM, trigger="signup", min_amount=None)
    f = facts(
        Signup("s0", T0 - DAY),
        code("s", T0),
        Signup("s", T0),
        buy("p", T0 + DAY),
        program=on_signup,
    )
    [plan] = decide_friend(f).referrals
    assert (plan.status, plan.converted_by, plan.order) == ("converted", "s", None)
    assert plan.notes == {}  # a purchase after the conversion is none of its business


def test_arrival_order_never_changes_the_decision() -> None:
    history = [
        code("s1", T0),
        code("s2", T0 + DAY, CAROL),
        Signup("s1", T0),
        buy("p1", T0 + 2 * DAY, 100, order="o1"),
        buy("p2", T0 + 3 * DAY, order="o2"),
        Refund("r1", T0 + 4 * DAY, "o2"),
    ]
    expected = decide_friend(facts(*history, program=replace(PROGRAM, first_purchase_only=False)))
    rng = random.Random(7)
    for _ in range(50):
        rng.shuffle(history)
        got = decide_friend(facts(*history, program=replace(PROGRAM, first_purchase_only=False)))
        assert got == expected
    assert [(p.status, p.converted_by, p.reversed_by) for p in expected.referrals] == [
        ("reversed", "p2", "r1")
    ]


def ruled(**conditions: object) -> Program:
    """The program with one extra advocate rule under `conditions`."""
    from goodword.decisions.facts import Conditions

    extra = Rule(3, "advocate", "credit", 700, None, "USD", name="bonus")
    extra = replace(extra, conditions=Conditions(**conditions))  # type: ignore[arg-type]
    return replace(PROGRAM, rules=(*RULES, extra))


def items(
    event: str, at: datetime, products: tuple[str, ...], categories: tuple[str, ...]
) -> Purchase:
    return Purchase(event, at, f"o-{event}", 2500, "USD", products, categories)


VIP = replace(ALICE, attributes={"segment": "vip", "early": True})


@pytest.mark.parametrize(
    ("program", "history", "stopped"),
    [
        (ruled(min_amount=5000), (code("s", T0), buy("p", T0 + DAY, 5000)), ()),
        (ruled(min_amount=5000), (code("s", T0), buy("p", T0 + DAY, 4999)), ((3, "min_amount"),)),
        (ruled(max_amount=3000), (code("s", T0), buy("p", T0 + DAY, 3001)), ((3, "max_amount"),)),
        (ruled(currency="EUR"), (code("s", T0), buy("p", T0 + DAY)), ((3, "currency"),)),
        (ruled(purchase_number=1), (code("s", T0), buy("p", T0 + DAY)), ()),
        (ruled(product_ids=("sku-1",)), (code("s", T0), items("p", T0 + DAY, ("sku-1", "sku-2"), ())), ()),  # noqa: E501
        (ruled(product_ids=("sku-9",)), (code("s", T0), items("p", T0 + DAY, ("sku-1",), ())), ((3, "product_ids"),)),  # noqa: E501
        (ruled(category_ids=("shoes",)), (code("s", T0), items("p", T0 + DAY, ("sku-1",), ("shoes",))), ()),  # noqa: E501
        (ruled(advocate=(("segment", ("vip", "gold")),)), (code("s", T0, VIP), buy("p", T0 + DAY)), ()),  # noqa: E501
        (ruled(advocate=(("early", ("true",)),)), (code("s", T0, VIP), buy("p", T0 + DAY)), ()),
        (ruled(advocate=(("segment", ("vip",)),)), (code("s", T0), buy("p", T0 + DAY)), ((3, "advocate_attributes"),)),  # noqa: E501
        (ruled(friend=(("plan", ("pro",)),)), (code("s", T0), buy("p", T0 + DAY)), ((3, "friend_attributes"),)),  # noqa: E501
    ],
)  # fmt: skip
def test_rule_conditions(
    program: Program, history: tuple[object, ...], stopped: tuple[object, ...]
) -> None:
    [plan] = decide_friend(facts(*history, program=program)).referrals
    assert plan.status == "converted"
    assert plan.stopped == stopped
    granted = {g.rule for g in plan.grants}
    assert granted == {1, 2} | ({3} if not stopped else set())


def test_nth_purchase_counts_in_business_time() -> None:
    second = ruled(purchase_number=2)
    lenient = replace(second, first_purchase_only=False, min_amount=3000)
    # The first purchase is below the program's minimum; the second converts and is the 2nd.
    f = facts(
        code("s", T0), buy("p1", T0 + DAY, 1000), buy("p2", T0 + 2 * DAY, 4000), program=lenient
    )
    [plan] = decide_friend(f).referrals
    assert (plan.converted_by, plan.stopped, {g.rule for g in plan.grants}) == ("p2", (), {1, 2, 3})


def test_rule_dates_and_hold_use_business_time() -> None:
    from goodword.decisions.facts import Conditions

    window = Rule(
        3, "advocate", "credit", 700, None, "USD", name="launch", conditions=Conditions(),
        hold_days=0, starts_at=T0, ends_at=T0 + 2 * DAY,
    )  # fmt: skip
    program = replace(PROGRAM, rules=(*RULES, window))
    [inside] = decide_friend(facts(code("s", T0), buy("p", T0 + DAY), program=program)).referrals
    assert [(g.rule, g.hold_until) for g in inside.grants] == [
        (1, T0 + 15 * DAY),
        (2, T0 + 15 * DAY),
        (3, T0 + DAY),  # its own hold of 0 days
    ]
    [after] = decide_friend(facts(code("s", T0), buy("p", T0 + 2 * DAY), program=program)).referrals
    assert after.stopped == ((3, "after_rule_end"),)
    [before] = decide_friend(
        facts(code("s", T0 - DAY), buy("p", T0 - DAY), program=program)
    ).referrals
    assert before.stopped == ((3, "before_rule_start"),)


def test_a_signup_conversion_stops_rules_that_need_an_order() -> None:
    on_signup = replace(ruled(min_amount=100), trigger="signup", min_amount=None)
    [plan] = decide_friend(facts(code("s", T0), Signup("s", T0), program=on_signup)).referrals
    assert plan.stopped == ((3, "no_order"),)


def refunds_program(policy: str) -> Program:
    """Advocate: 10% of the order as credit; friend: a fixed 500; both under `policy`."""
    commission = Rule(1, "advocate", "credit", None, None, "USD", percent_of_order=10)
    fixed = Rule(2, "friend", "credit", 500, None, "USD")
    return replace(
        PROGRAM,
        rules=(replace(commission, refund_policy=policy), replace(fixed, refund_policy=policy)),
    )


def after_refunds(policy: str, *refunded: int | None) -> tuple[str, list[tuple[int | None, bool]]]:
    history: list[object] = [code("s", T0), buy("p", T0 + DAY, 4000, order="o1")]
    history += [
        Refund(f"r{i}", T0 + (2 + i) * DAY, "o1", amount) for i, amount in enumerate(refunded)
    ]
    [plan] = decide_friend(facts(*history, program=refunds_program(policy))).referrals
    return plan.status, [(g.amount, g.reversed_at is not None) for g in plan.grants]


@pytest.mark.parametrize(
    ("policy", "refunded", "expected"),
    [
        ("threshold", (), ("converted", [(400, False), (500, False)])),
        # 40.00 - 15.00 leaves 25.00, above the program's minimum of 20.00: both kept.
        ("threshold", (1500,), ("converted", [(400, False), (500, False)])),
        # Another 10.00 leaves 15.00: below the minimum, both reversed.
        ("threshold", (1500, 1000), ("converted", [(400, True), (500, True)])),
        ("proportional", (1000,), ("converted", [(300, False), (500, False)])),
        ("proportional", (1000, 2000), ("converted", [(100, False), (500, False)])),
        ("full", (100,), ("converted", [(400, True), (500, True)])),
        # The whole order, at once or in parts, reverses the referral whatever the policy.
        ("proportional", (None,), ("reversed", [(400, True), (500, True)])),
        ("proportional", (1000, 3000), ("reversed", [(300, True), (500, True)])),
    ],
)  # fmt: skip
def test_partial_refund_policies(
    policy: str,
    refunded: tuple[int | None, ...],
    expected: tuple[str, list[tuple[int | None, bool]]],
) -> None:
    assert after_refunds(policy, *refunded) == expected


def test_commission_is_a_share_of_the_converting_order() -> None:
    program = refunds_program("threshold")
    [plan] = decide_friend(
        facts(code("s", T0), buy("p", T0 + DAY, 2599), program=program)
    ).referrals
    assert [g.amount for g in plan.grants] == [259, 500]  # rounded down to the minor unit


def capped(*caps: object) -> Program:
    from goodword.decisions.facts import Cap

    assert all(isinstance(c, Cap) for c in caps)
    rule = replace(RULES[0], caps=caps)  # type: ignore[arg-type]
    return replace(PROGRAM, rules=(rule, RULES[1]))


def with_usage(program: Program, usage: dict[tuple[int, str, int], Any], at: datetime) -> Any:
    f = replace(facts(code("s", at - DAY), buy("p", at), program=program), usage=usage)
    [plan] = decide_friend(f).referrals
    return plan.stopped


def test_caps_count_what_the_rule_granted_in_their_period() -> None:
    from goodword.decisions.facts import Cap

    at = datetime(2026, 3, 15, 12, tzinfo=UTC)
    march = datetime(2026, 3, 1, tzinfo=UTC)
    feb = datetime(2026, 2, 28, tzinfo=UTC)
    monthly = capped(Cap("advocate", "month", count=2))
    # Two this month: the third is stopped; February's do not count.
    assert with_usage(monthly, {(1, "advocate", ALICE_P): ((march, 2, 2000),)}, at) == (
        (1, "cap_advocate_month"),
    )
    assert (
        with_usage(monthly, {(1, "advocate", ALICE_P): ((feb, 5, 5000), (march, 1, 1000))}, at)
        == ()
    )
    # Another advocate's rewards are theirs.
    assert with_usage(monthly, {(1, "advocate", CAROL_P): ((march, 9, 9000),)}, at) == ()
    # Value: 1,000 more on top of 2,500 would pass 3,000.
    value = capped(Cap("program", "year", amount=3000))
    assert with_usage(value, {(1, "program", 0): ((feb, 2, 2500),)}, at) == (
        (1, "cap_program_year"),
    )
    assert with_usage(value, {(1, "program", 0): ((feb, 2, 2000),)}, at) == ()
    # Rolling 7 days: the 9th of March is out of the window, the 10th in.
    rolling = capped(Cap("advocate", "rolling", count=1, days=6))
    ninth, tenth = datetime(2026, 3, 9, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC)
    assert with_usage(rolling, {(1, "advocate", ALICE_P): ((ninth, 1, 1000),)}, at) == ()
    assert with_usage(rolling, {(1, "advocate", ALICE_P): ((tenth, 1, 1000),)}, at) == (
        (1, "cap_advocate_rolling"),
    )
    lifetime = capped(Cap("friend", "lifetime", count=1))
    past = datetime(2020, 1, 1, tzinfo=UTC)
    assert with_usage(lifetime, {(1, "friend", BOB): ((past, 1, 1000), (None, 1, 1000))}, at) == (
        (1, "cap_friend_lifetime"),
    )


def test_tier_counts_referrals_or_revenue_before_the_conversion_within_its_period() -> None:
    from goodword.decisions.facts import Conditions, Tiers

    at = datetime(2026, 3, 15, 12, tzinfo=UTC)
    gold_only = Rule(
        9, "advocate", "credit", 2000, None, "USD", conditions=Conditions(tiers=("Gold",))
    )
    for tiers, history, tier, promoted, stopped in [
        # 3 referrals before: Silver; this 4th makes Gold for the next ones.
        (
            Tiers("referrals", "lifetime", (("Silver", 0), ("Gold", 4))),
            ((datetime(2025, 1, 1, tzinfo=UTC), 3, 0), (None, 3, 0)),
            "Silver",
            "Gold",
            ((9, "advocate_tier"),),
        ),
        # Last year's do not count in a yearly period.
        (
            Tiers("referrals", "year", (("Silver", 0), ("Gold", 1))),
            ((datetime(2025, 12, 31, tzinfo=UTC), 5, 0),),
            "Silver",
            "Gold",
            ((9, "advocate_tier"),),
        ),
        # Revenue: 300.00 brought already reaches Gold at 250.00.
        (
            Tiers("revenue", "month", (("Silver", 0), ("Gold", 25000))),
            ((datetime(2026, 3, 2, tzinfo=UTC), 2, 30000),),
            "Gold",
            "",
            (),
        ),
    ]:
        program = replace(PROGRAM, rules=(*RULES, gold_only), tiers=tiers)
        f = replace(
            facts(code("s", at - DAY), buy("p", at), program=program), referrals={ALICE_P: history}
        )
        [plan] = decide_friend(f).referrals
        assert (plan.tier, plan.promoted_to, plan.stopped) == (tier, promoted, stopped)


# Rules triggered after the conversion.


def occasion(event: str, at: datetime, kind: str = "subscription_payment", **extra: Any) -> Any:
    from goodword.decisions.facts import Occasion

    if kind == "subscription_payment":
        extra = {"order_id": f"o-{event}", "amount": 2000, "currency": "USD", **extra}
    return Occasion(event, at, kind, **extra)


COMMISSION = Rule(
    5, "advocate", "credit", None, None, "USD", percent_of_order=10,
    trigger="subscription_payment", recurring_months=2, max_total=500,
)  # fmt: skip
LATER = replace(PROGRAM, rules=(*RULES, COMMISSION, Rule(6, "friend", "points", 50, None, "PTS",
                trigger="nps"), Rule(7, "advocate", "credit", 300, None, "USD", trigger="event",
                event_name="review_posted")))  # fmt: skip


def later_grants(*occasions: Any, refunds: tuple[Refund, ...] = ()) -> list[tuple[Any, ...]]:
    """(rule, occasion, amount, reversed) of the grants made after the conversion at T0 + DAY."""
    base = facts(code("s", T0), buy("p", T0 + DAY), *refunds, program=LATER)
    [plan] = decide_friend(replace(base, occasions=tuple(occasions))).referrals
    return [
        (g.rule, g.occasion, g.amount, g.reversed_at is not None) for g in plan.grants if g.occasion
    ]


@pytest.mark.parametrize(
    ("occasions", "refunds", "expected"),
    [
        # Each payment after the conversion, 10% of it, until max_total (500) is reached.
        (
            (occasion("a", T0 + 2 * DAY), occasion("b", T0 + 3 * DAY, amount=4000)),
            (),
            [(5, "a", 200, False), (5, "b", 300, False)],
        ),  # fmt: skip
        # Before the conversion, or two calendar months after it (Mar 3 -> May 3): nothing.
        ((occasion("a", T0), occasion("b", T0 + DAY + timedelta(days=61))), (), []),
        ((occasion("a", T0 + DAY + timedelta(days=60)),), (), [(5, "a", 200, False)]),
        # Its refund reverses a payment's grant, and frees its share of the total.
        (
            (occasion("a", T0 + 2 * DAY, amount=5000), occasion("b", T0 + 3 * DAY)),
            (Refund("r", T0 + 2 * DAY + timedelta(hours=1), "o-a"),),
            [(5, "a", 500, True), (5, "b", 200, False)],
        ),  # fmt: skip
        # NPS and a named custom event: the first after the conversion, once.
        (
            (
                occasion("n0", T0, "nps"),
                occasion("n1", T0 + 2 * DAY, "nps"),
                occasion("n2", T0 + 3 * DAY, "nps"),
            ),
            (),
            [(6, "n1", 50, False)],
        ),  # fmt: skip
        (
            (
                occasion("c0", T0 + 2 * DAY, "event", name="other"),
                occasion("c1", T0 + 3 * DAY, "event", name="review_posted"),
            ),
            (),
            [(7, "c1", 300, False)],
        ),  # fmt: skip
    ],
)
def test_rules_after_the_conversion(
    occasions: tuple[Any, ...], refunds: tuple[Refund, ...], expected: list[tuple[Any, ...]]
) -> None:
    assert later_grants(*occasions, refunds=refunds) == expected


def test_recurring_grants_count_against_their_caps_within_one_decision() -> None:
    from goodword.decisions.facts import Cap

    capped = replace(COMMISSION, max_total=None, caps=(Cap("advocate", "month", count=2),))
    program = replace(PROGRAM, rules=(*RULES, capped))
    base = facts(code("s", T0), buy("p", T0 + DAY), program=program)
    payments = tuple(occasion(e, T0 + (2 + i) * DAY) for i, e in enumerate("abc"))
    [plan] = decide_friend(replace(base, occasions=payments)).referrals
    assert [g.occasion for g in plan.grants if g.occasion] == ["a", "b"]
    assert plan.notes["c"] == "cap_advocate_month"
