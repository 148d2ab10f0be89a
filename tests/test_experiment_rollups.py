"""A program's experiment from the rollups (`rolled_experiments`, kept by
`rollup_experiments`): exactly the raw computation's variants, comparisons and holdout lift,
floats included, rebuilt or kept up to date, also when a friend's purchase, a refund, an
earlier purchase, a window change or an email change comes after the numbers were rolled up."""

from __future__ import annotations

import random
from dataclasses import fields, replace
from datetime import date, timedelta

import pytest

from goodword.accounts.models import Workspace
from goodword.analytics import experiments, rollups
from goodword.analytics.experiments import Experiment
from goodword.analytics.models import BoughtFact, ExperimentDay
from goodword.analytics.scope import Money, Scope
from goodword.decisions.experiments import HOLDOUT
from goodword.events.models import DomainEvent
from goodword.ingest.models import Event
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import Program, RewardRule
from goodword.referrals.models import Referral
from goodword.rewards.models import Reward
from tests.test_analytics import BASE, announce, make_random_history

SPEC = {
    "name": "Offers",
    "variants": [{"name": "B", "weight": 2}, {"name": "A", "weight": 1}],
    "holdout_percent": 10,
}


def same(scope: Scope, program: Program) -> Experiment:
    """The experiment from the rollups, checked equal to the raw one field by field (all but
    the scope, which says how it was computed)."""
    got = experiments.experiment(replace(scope, raw=False), program)
    raw = experiments.experiment(replace(scope, raw=True), program)
    for field in fields(Experiment):
        if field.name != "scope":
            assert getattr(got, field.name) == getattr(raw, field.name), (scope, field.name)
    return got


def history(rng: random.Random, name: str) -> Workspace:
    """`make_random_history`, with an experiment set on its first program, a short window on
    its second, and emails that make some referrals self-referrals by email."""
    ws = make_random_history(rng, name)
    first, second = Program.objects.filter(workspace=ws).order_by("pk")
    Program.objects.filter(pk=first.pk).update(experiment=SPEC)
    Program.objects.filter(pk=second.pk).update(attribution_days=rng.choice([1, 3, 7]))
    people = list(Participant.objects.filter(workspace=ws).order_by("pk"))
    for i, person in enumerate(people):
        # A few share an address (self-referrals by email), some have none, the rest their own.
        email = rng.choice(["", f"{name}-{i}@x.test", f"{name}-same@x.test"])
        Participant.objects.filter(pk=person.pk).update(email=email, email_normalized=email)
    # Every advocate in a group, most in the experiment, and more friends for each.
    advocates = list(Advocate.objects.filter(workspace=ws).order_by("pk"))
    for a in advocates:
        a.variant = rng.choice(["A", "B", HOLDOUT, HOLDOUT, ""])
        Advocate.objects.filter(pk=a.pk).update(variant=a.variant)
    for i in range(rng.randrange(6, 16)):
        a = rng.choice(advocates)
        friend = Participant.objects.create(workspace=ws, external_id=f"{name}-f{i}")
        created = BASE + timedelta(minutes=rng.randrange(15 * 24 * 60))
        status = "rejected" if a.variant == HOLDOUT else rng.choice(["signed_up", "converted"])
        Referral.objects.create(
            workspace=ws, program=a.program, advocate=a, referee=friend, status=status,
            reject_reason="holdout" if a.variant == HOLDOUT else "", source="code",
            created_at=created, converted_at=created if status == "converted" else None,
            clicked_at=created - timedelta(hours=5) if rng.random() < 0.5 else None,
        )  # fmt: skip
    # Friends' purchases around their first touch: before it, in the window, after it; some
    # without an amount or a currency, some test data, some refunded (in part, whole, twice).
    referrals = Referral.objects.filter(workspace=ws).select_related("referee").order_by("pk")
    for r in referrals:
        first = r.clicked_at or r.created_at
        for j in range(rng.choice([0, 1, 1, 2, 3])):
            order = f"{name}-x{r.pk}-{j}"
            amount = rng.choice([None, rng.randrange(100, 9000), rng.randrange(100, 9000)])
            Event.objects.create(
                workspace=ws, external_id=order, body_hash="x", type="purchase",
                customer_external_id=r.referee.external_id, order_id=order, amount=amount,
                currency=rng.choice(["USD", "USD", "EUR", ""]), test=rng.random() < 0.1,
                occurred_at=first + timedelta(minutes=rng.randrange(-3000, 12 * 24 * 60)),
                created_at=BASE,
            )  # fmt: skip
            for k in range(rng.choice([0, 0, 1, 2])):
                Event.objects.create(
                    workspace=ws, external_id=f"{order}-r{k}", body_hash="x", type="refund",
                    customer_external_id=r.referee.external_id, order_id=order,
                    amount=rng.choice([None, 50, 700]), currency="", test=rng.random() < 0.1,
                    occurred_at=first + timedelta(days=20), created_at=BASE,
                )  # fmt: skip
    return ws


def scopes(ws: int, program: int) -> list[Scope]:
    week = (date(2026, 1, 6), date(2026, 1, 13))
    return [
        Scope(ws, program),
        Scope(ws, program, *week),
        Scope(ws, program, date(2026, 1, 9), None),
        Scope(ws, program, None, date(2026, 1, 9)),
        Scope(ws, program, date(2026, 1, 15), date(2026, 1, 15)),
    ]


@pytest.mark.parametrize("how", ["rebuilt", "incremental"])
@pytest.mark.parametrize("seed", range(8))
def test_rolled_experiment_equals_the_raw_on_random_histories(
    db: None, seed: int, how: str
) -> None:
    """Every program and scope of random histories: the same variants, intervals, costs,
    lift and verdicts as computed from the rows, from rollups rebuilt from scratch or kept up
    to date by the domain events and new events as reads catch up."""
    rng = random.Random(seed)
    history(rng, f"noise{seed}")  # another workspace: none of it may count
    if how == "incremental":
        rollups.rebuild()  # the noise is rolled up; what follows comes in as changes
    ws = history(rng, f"s{seed}")
    if how == "rebuilt":
        rollups.rebuild()
    else:
        announce(ws)
    for program in Program.objects.filter(workspace=ws).order_by("pk"):
        for scope in scopes(ws.pk, program.pk):
            same(scope, program)


def test_random_histories_have_what_the_rollups_must_get_right(db: None) -> None:
    """The histories above are not trivial: lifts with purchases in and out of the window,
    costs and revenue in both currencies, and self-referrals by email left out."""
    bought = lifts = costs = 0
    for seed in range(8):
        ws = history(random.Random(seed), f"s{seed}")
        rollups.rebuild()
        bought += BoughtFact.objects.filter(workspace_id=ws.pk).count()
        costs += ExperimentDay.objects.filter(workspace_id=ws.pk, rewards__gt=0).count()
        for program in Program.objects.filter(workspace=ws):
            e = experiments.experiment(Scope(ws.pk, program.pk), program)
            lifts += e.holdout is not None and bool(e.holdout.revenue)
    assert bought > 20
    assert lifts > 2
    assert costs > 5


# Changes that come after the numbers were rolled up, one by one: a holdout advocate's friend
# who comes (rejected: the holdout gets no program) and buys, or does not, in the window.


def setup_story() -> tuple[Program, Referral, Scope]:
    """A program of its own in a random history, with one holdout advocate's friend."""
    ws = history(random.Random(3), "late")
    program = Program.objects.create(
        workspace=ws, name="Story", destination_url="https://x.test/", experiment=SPEC,
        attribution_days=10,
    )  # fmt: skip
    adv_person = Participant.objects.create(workspace=ws, external_id="late-adv", email="a@x.t")
    friend = Participant.objects.create(workspace=ws, external_id="late-friend", email="f@x.t")
    advocate = Advocate.objects.create(
        workspace=ws, program=program, participant=adv_person, code="LATE1",
        code_normalized="LATE1", variant=HOLDOUT,
    )  # fmt: skip
    referral = Referral.objects.create(
        workspace=ws, program=program, advocate=advocate, referee=friend, status="rejected",
        reject_reason="holdout", source="code", created_at=BASE + timedelta(days=2),
        clicked_at=BASE + timedelta(days=1),
    )  # fmt: skip
    rollups.rebuild()
    return program, referral, Scope(ws.pk, program.pk)


def buy(
    referral: Referral,
    key: str,
    days: float,
    amount: int | None,
    kind: str = "purchase",
    test: bool = False,
) -> None:
    Event.objects.create(
        workspace_id=referral.workspace_id, external_id=key, body_hash="x", type=kind,
        customer_external_id=referral.referee.external_id, order_id=f"order-{key}",
        amount=amount, currency="USD" if kind == "purchase" else "",
        occurred_at=BASE + timedelta(days=days), created_at=BASE, test=test,
    )  # fmt: skip


def holdout_bought(e: Experiment) -> int:
    assert e.holdout is not None
    return e.holdout.holdout_customers


def test_a_purchase_in_the_window_counts_one_after_it_does_not(db: None) -> None:
    program, referral, scope = setup_story()
    assert holdout_bought(same(scope, program)) == 0
    buy(referral, "late-out", 1 + 10 + 0.5, 3000)  # after first touch + 10 days
    assert holdout_bought(same(scope, program)) == 0
    buy(referral, "late-in", 1 + 9.5, 2500)  # a friend who bought, in the window
    assert holdout_bought(same(scope, program)) == 1
    # In a period that holds only the purchase out of the window: not bought there.
    day = (BASE + timedelta(days=11.5)).date()
    assert holdout_bought(same(replace(scope, start=day, end=day), program)) == 0


def test_revenue_whose_squares_pass_64_bits_is_exact_over_all_history(db: None) -> None:
    """SQLite's integers are 64 bits: a square of this net is not (it is summed in Python)."""
    program, referral, scope = setup_story()
    buy(referral, "late-huge", 3, 5_000_000_000)
    lift = same(scope, program).holdout
    assert lift is not None
    assert [(r.currency, r.holdout) for r in lift.revenue] == [("USD", 5_000_000_000)]


def test_test_purchases_neither_count_nor_make_an_existing_customer(db: None) -> None:
    program, referral, scope = setup_story()
    buy(referral, "late-test", 3, 2500, test=True)  # in the window, but test data
    assert holdout_bought(same(scope, program)) == 0
    buy(referral, "late-in", 4, 2500)
    buy(referral, "late-test-before", 0.5, 900, test=True)  # before the click, test data
    assert holdout_bought(same(scope, program)) == 1
    e = same(scope, program)
    assert e.holdout is not None
    assert [(r.currency, r.holdout) for r in e.holdout.revenue] == [("USD", 2500)]


def test_a_refund_lowers_the_net_revenue_as_the_raw_computation_does(db: None) -> None:
    program, referral, scope = setup_story()
    buy(referral, "late-in", 3, 2500)
    was = same(scope, program)
    Event.objects.create(
        workspace_id=referral.workspace_id, external_id="late-refund", body_hash="x",
        type="refund", customer_external_id="late-friend", order_id="order-late-in",
        amount=1000, currency="", occurred_at=BASE + timedelta(days=4), created_at=BASE,
    )  # fmt: skip
    now = same(scope, program)
    assert now.holdout is not None
    assert was.holdout is not None
    usd = [r for r in now.holdout.revenue if r.currency == "USD"]
    old = [r for r in was.holdout.revenue if r.currency == "USD"]
    assert usd != old


def test_a_purchase_before_the_first_touch_sent_late_unmakes_the_customer(db: None) -> None:
    program, referral, scope = setup_story()
    buy(referral, "late-in", 3, 2500)
    assert holdout_bought(same(scope, program)) == 1
    buy(referral, "late-before", 0.5, 900)  # before the click: an existing customer
    assert holdout_bought(same(scope, program)) == 0
    rollups.rebuild()
    assert holdout_bought(same(scope, program)) == 0


def test_a_window_change_on_the_program_counts_again_every_purchase(db: None) -> None:
    program, referral, scope = setup_story()
    buy(referral, "late-in", 1 + 5, 2500)
    assert holdout_bought(same(scope, program)) == 1
    for days in (4, 30):
        # As `update_program` does it; the facts see the window itself, not the event's fields.
        Program.objects.filter(pk=program.pk).update(attribution_days=days)
        DomainEvent.objects.create(
            workspace_id=program.workspace_id, name="program.updated",
            subject_id=program.public_id, data={"fields": ["attribution_days"]}, created_at=BASE,
        )  # fmt: skip
        program.refresh_from_db()
        assert holdout_bought(same(scope, program)) == (days == 30)


def test_an_email_change_that_makes_a_self_referral_takes_the_friend_out(db: None) -> None:
    program, referral, scope = setup_story()
    buy(referral, "late-in", 3, 2500)
    assert holdout_bought(same(scope, program)) == 1
    Participant.objects.filter(pk=referral.referee_id).update(email_normalized="a@x.t")
    Participant.objects.filter(pk=referral.advocate.participant_id).update(email_normalized="a@x.t")
    DomainEvent.objects.create(
        workspace_id=referral.workspace_id, name="participant.updated",
        subject_id=referral.referee.public_id, created_at=BASE,
    )  # fmt: skip
    assert holdout_bought(same(scope, program)) == 0


def test_a_reward_and_a_conversion_move_the_variants_money(db: None) -> None:
    """A referral that converts with an order, and a reward granted for it later: the
    variant's revenue and cost from the days, as computed from the rows."""
    program, referral, scope = setup_story()
    ws = referral.workspace_id
    someone = Participant.objects.create(workspace_id=ws, external_id="new-a")
    mine = Advocate.objects.create(
        workspace_id=ws, program=program, participant=someone, code="NEWA",
        code_normalized="NEWA", variant="A",
    )  # fmt: skip
    friend = Participant.objects.create(workspace_id=ws, external_id="new-f")
    converted = Referral.objects.create(
        workspace_id=referral.workspace_id, program=program, advocate=mine, referee=friend,
        status="converted", source="code", created_at=BASE + timedelta(days=3),
        converted_at=BASE + timedelta(days=4), order_id="o-new", order_amount=4200,
        order_currency="EUR",
    )  # fmt: skip
    DomainEvent.objects.create(
        workspace_id=referral.workspace_id, name="referral.converted",
        subject_id=converted.public_id, created_at=BASE,
    )  # fmt: skip
    with_order = same(scope, program)
    reward = Reward.objects.create(
        workspace_id=referral.workspace_id, program=program, referral=converted,
        rule=RewardRule.objects.create(
            workspace_id=ws, program=program, beneficiary="friend", kind="credit", amount=700
        ),
        participant=friend, beneficiary="friend", kind="credit", status="approved",
        currency="EUR", amount=700, earned_at=BASE + timedelta(days=5),
        hold_until=BASE, created_at=BASE, trigger_event="t-new",
    )  # fmt: skip
    DomainEvent.objects.create(
        workspace_id=referral.workspace_id, name="reward.created", subject_id=reward.public_id,
        created_at=BASE,
    )  # fmt: skip
    with_reward = same(scope, program)
    (a_was,) = [v for v in with_order.variants if v.name == "A"]
    (a_now,) = [v for v in with_reward.variants if v.name == "A"]
    assert (a_was.friends, a_was.converted, a_was.revenue, a_was.cost) == (
        1,
        1,
        (Money("EUR", 4200),),
        (),
    )
    assert a_now.cost == (Money("EUR", 700),)
