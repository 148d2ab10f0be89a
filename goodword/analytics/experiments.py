"""A program's experiment read as an experiment: each variant's conversion and cost with 95 %
intervals, each variant against the first (the control) with a verdict in words, and the
holdout's lift (customers and revenue the program brought per advocate, with intervals).

The definitions, interval methods and verdict rules are in docs/analytics.md ("Experiments");
the interval arithmetic is `intervals`. Unlike the Overview's variants table, conversion here
follows a cohort: of the friends who came in the period, how many converted (by now, and not
reversed), so that it is a proportion with an interval.

The counts and sums the intervals are made of come from the rows when the scope asks for the
raw computation (the reference), else from the rollups (`rolled_experiments`), equal to them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q, QuerySet

from goodword.analytics import queries
from goodword.analytics import rolled_experiments as rolled
from goodword.analytics.intervals import Interval, Sample, difference_of_means, mean, newcombe
from goodword.analytics.intervals import wilson as wilson_interval
from goodword.analytics.scope import Money, Scope, add_to, per, per_currency
from goodword.decisions.experiments import HOLDOUT
from goodword.ingest.models import Event
from goodword.lib.money import display
from goodword.participants.models import Advocate
from goodword.programs.models import Program
from goodword.referrals.models import Referral
from goodword.rewards.models import Reward

# Before these, a verdict says "not enough data yet": friends who came, in each of the two
# variants compared; advocates, in the holdout and among the treated. Below about 30 the
# normal approximation of the lift is rough, and either interval is too wide to decide much.
MIN_FRIENDS = 30
MIN_ADVOCATES = 30

# Verdict codes, stable for API clients.
NO_EXPERIMENT = "no_experiment"
NOT_ENOUGH_DATA = "not_enough_data"
BETTER = "better"
WORSE = "worse"
NO_DIFFERENCE = "no_difference"
DIFFERENCE = "difference"  # the experiment as a whole: some variant differs from the control
LIFT = "lift"
NEGATIVE = "negative"


@dataclass(frozen=True)
class Comparison:
    """A variant against the control: the difference of their conversion rates (this minus
    the control's), with Newcombe's interval, and what it means."""

    against: str
    difference: Interval | None
    verdict: str
    text: str


@dataclass(frozen=True)
class Variant:
    name: str
    weight: int | None  # in the experiment as it is set now; None for a name no longer in it
    advocates: int
    friends: int  # who came in the period through this variant's advocates
    converted: int  # of them, converted by now and not reversed
    conversion: Interval | None  # converted / friends (Wilson)
    per_advocate: Interval | None  # converted / advocates (mean per advocate, normal approx.)
    revenue: tuple[Money, ...]  # the converting orders, net of refunds
    cost: tuple[Money, ...]  # rewards for these friends, pending to fulfilled; no points
    cost_per_converted: tuple[Money, ...]
    comparison: Comparison | None  # None for the control


@dataclass(frozen=True)
class RevenueLift:
    """Net revenue of friends' purchases per advocate in one currency, minor units."""

    currency: str
    holdout: int | None  # per advocate, whole minor units
    treated: int | None
    lift: int | None  # treated minus holdout, with its 95 % interval
    low: int | None
    high: int | None


@dataclass(frozen=True)
class Lift:
    """Treated advocates (every variant) against the holdout's."""

    holdout_advocates: int
    treated_advocates: int
    holdout_customers: int  # friends who bought in their attribution window, in the period
    treated_customers: int
    holdout_per_advocate: float | None
    treated_per_advocate: float | None
    customers: Interval | None  # incremental customers per advocate: treated minus holdout
    revenue: tuple[RevenueLift, ...]
    verdict: str
    text: str


@dataclass(frozen=True)
class Experiment:
    scope: Scope
    name: str  # the experiment's name; "" when the program has none
    control: str  # the variant the others are compared with: the first one set
    variants: tuple[Variant, ...]
    holdout: Lift | None  # None without a holdout
    verdict: str
    text: str


def experiment(scope: Scope, program: Program) -> Experiment:
    """`program`'s experiment over the scope's period (`scope` is of that program)."""
    spec: dict[str, Any] = program.experiment or {}
    weights = {v["name"]: int(v["weight"]) for v in spec.get("variants", [])}
    assigned = (
        set(scope.of(Advocate.objects.all()).exclude(variant="").values_list("variant", flat=True))
        if _raw(scope, program)
        else rolled.assigned(scope)
    )
    names = list(weights) + sorted(assigned - set(weights) - {HOLDOUT})
    if not names:
        text = "This program has no experiment: set one on the program to compare offers."
        return Experiment(scope, "", "", (), None, NO_EXPERIMENT, text)
    counts = _counts(scope) if _raw(scope, program) else rolled.counts(scope)
    variants = _variants(counts, names, weights)
    held = spec.get("holdout_percent", 0) or HOLDOUT in assigned
    lift = _lift(scope, program) if held else None
    verdict, text = _overall(variants, lift)
    return Experiment(scope, str(spec.get("name", "")), names[0], variants, lift, verdict, text)


def _raw(scope: Scope, program: Program) -> bool:
    """Compute from the rows: when asked to, or for a scope of another program or of the
    whole workspace (the facts are each program's, with its own window)."""
    return scope.raw or scope.program_id != program.pk


def _by_variant(qs: QuerySet[Any], field: str) -> dict[str, int]:
    rows = qs.values_list(field).annotate(n=Count("pk")).order_by()
    return {name: int(n) for name, n in rows}


def _counts(scope: Scope) -> rolled.Counts:
    """The variants' counts from the rows (`rolled.counts` reads them from the rollups)."""
    came = queries.came(scope).exclude(advocate__variant="")
    live = came.filter(queries.LIVE)
    per_advocate: dict[str, list[int]] = defaultdict(list)
    rows = live.values_list("advocate_id", "advocate__variant").annotate(n=Count("pk"))
    for _, name, n in rows.order_by():
        per_advocate[name].append(int(n))
    return rolled.Counts(
        advocates=_by_variant(queries.advocates(scope), "variant"),
        friends=_by_variant(came, "advocate__variant"),
        converted=_by_variant(live, "advocate__variant"),
        per_advocate={name: rolled.sums(values) for name, values in per_advocate.items()},
        revenue=_net(queries.revenue_by(live, "advocate__variant"), "advocate__variant"),
        cost=_cost(scope, came),
    )


def _variants(
    counts: rolled.Counts, names: list[str], weights: dict[str, int]
) -> tuple[Variant, ...]:
    out: list[Variant] = []
    for name in names:
        n_friends, n_converted = counts.friends.get(name, 0), counts.converted.get(name, 0)
        # Advocates with a converted friend, their converted and its squares: the rest of the
        # variant's advocates (enrolled by the end) have none.
        sample = _sample(counts.per_advocate.get(name), counts.advocates.get(name, 0))
        spent = counts.cost.get(name, {})
        out.append(
            Variant(
                name=name,
                weight=weights.get(name),
                advocates=sample.n,
                friends=n_friends,
                converted=n_converted,
                conversion=wilson_interval(n_converted, n_friends),
                per_advocate=mean(sample, floor=0.0),
                revenue=per_currency(counts.revenue.get(name, {})),
                cost=per_currency(spent),
                cost_per_converted=tuple(
                    Money(c, amount)
                    for c, total in sorted(spent.items())
                    if (amount := per(total, n_converted)) is not None
                ),
                comparison=None,
            )
        )
    control = out[0]
    return (control, *(_with_comparison(v, control) for v in out[1:]))


def _net(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        if r["order_currency"]:
            add_to(out.setdefault(r[key], {}), [(r["order_currency"], r["gross"] - r["refunded"])])
    return out


def _cost(scope: Scope, came: QuerySet[Referral]) -> dict[str, dict[str, int]]:
    """What the rewards of these friends' referrals cost (advocates' and friends' rewards;
    pending, approved and fulfilled; points are not money), per variant and currency."""
    rewards = scope.of(Reward.objects.all()).filter(referral__in=came.values("pk"))
    out: dict[str, dict[str, int]] = {}
    for r in queries.reward_value_by(rewards, "referral__advocate__variant"):
        in_cost = queries.REWARD_GROUPS[r["status"]] in queries.COST_GROUPS
        if in_cost and r["currency"] != queries.POINTS:
            add_to(
                out.setdefault(r["referral__advocate__variant"], {}), [(r["currency"], r["amount"])]
            )
    return out


def _with_comparison(variant: Variant, control: Variant) -> Variant:
    return replace(variant, comparison=compare(variant, control))


def compare(variant: Variant, control: Variant) -> Comparison:
    """`variant` against `control`, by the verdict rules of docs/analytics.md: not enough
    data below `MIN_FRIENDS` friends in either; better or worse when the 95 % interval of
    the difference lies wholly above or below 0; else no difference told apart from chance."""
    a, b = variant, control
    difference = newcombe(a.converted, a.friends, b.converted, b.friends)
    if difference is None or min(a.friends, b.friends) < MIN_FRIENDS:
        text = (
            f"Not enough data yet to compare {a.name} with {b.name}: {_friends(a.friends)} came "
            f"through {a.name} and {_friends(b.friends)} through {b.name}; a verdict needs at "
            f"least {MIN_FRIENDS} in each."
        )
        return Comparison(b.name, difference, NOT_ENOUGH_DATA, text)
    rates = f"{percent(a.converted / a.friends)} vs {percent(b.converted / b.friends)}"
    detail = f"{rates}, difference {_points(difference)}."
    if difference.excludes_zero:
        verdict, how = (BETTER, "better") if difference.value > 0 else (WORSE, "worse")
        return Comparison(
            b.name, difference, verdict, f"{a.name} converts {how} than {b.name}: {detail}"
        )
    text = (
        f"No difference between {a.name} and {b.name} can be told apart from chance yet: {detail}"
    )
    return Comparison(b.name, difference, NO_DIFFERENCE, text)


def percent(rate: float) -> str:
    """0.121 -> "12.1 %"."""
    return f"{rate * 100:.1f} %"


def _points(d: Interval) -> str:
    """A difference of rates in percentage points: "4.1 points (95 % CI 1.2 to 7.0)"."""
    return f"{d.value * 100:.1f} points (95 % CI {_num(d.low, 100, 1)} to {_num(d.high, 100, 1)})"


def _num(x: float | None, scale: float, places: int) -> str:
    return "?" if x is None else f"{x * scale:.{places}f}"


def _friends(n: int) -> str:
    return f"{n:,} friend" + ("" if n == 1 else "s")


def _advocates(n: int) -> str:
    return f"{n:,} advocate" + ("" if n == 1 else "s")


@dataclass(frozen=True)
class _Purchase:
    at: datetime
    net: int | None  # the order's amount net of refunds, None without an amount
    currency: str


def _lift(scope: Scope, program: Program) -> Lift:
    arms = _arms(scope, program) if _raw(scope, program) else rolled.arms(scope)
    holdout = _sample(arms.customers.get(HOLDOUT), arms.advocates[HOLDOUT])
    treated = _sample(arms.customers.get(""), arms.advocates[""])
    money = tuple(
        _revenue_lift(
            currency, _sample(groups.get(HOLDOUT), holdout.n), _sample(groups.get(""), treated.n)
        )
        for currency, groups in sorted(arms.revenue.items())
    )
    difference = difference_of_means(treated, holdout)
    verdict, text = _lift_verdict(holdout, treated, difference)
    if verdict != NOT_ENOUGH_DATA:
        text = " ".join([text, *(_revenue_text(r) for r in money)])
    return Lift(
        holdout_advocates=holdout.n,
        treated_advocates=treated.n,
        holdout_customers=holdout.total,
        treated_customers=treated.total,
        holdout_per_advocate=_round(holdout.mean),
        treated_per_advocate=_round(treated.mean),
        customers=difference,
        revenue=money,
        verdict=verdict,
        text=text,
    )


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _arms(scope: Scope, program: Program) -> rolled.Arms:
    """The lift's groups from the rows (`rolled.arms` reads them from the rollups)."""
    advocates = queries.advocates(scope).exclude(variant="")
    customers: dict[str, list[int]] = {HOLDOUT: [], "": []}  # "": every treated advocate
    revenue: dict[str, dict[str, list[int]]] = defaultdict(lambda: {HOLDOUT: [], "": []})
    for variant, bought, spent in _bought(scope, program):
        arm = HOLDOUT if variant == HOLDOUT else ""
        customers[arm].append(bought)
        for currency, amount in spent.items():
            revenue[currency][arm].append(amount)
    return rolled.Arms(
        advocates={
            HOLDOUT: advocates.filter(variant=HOLDOUT).count(),
            "": advocates.exclude(variant=HOLDOUT).count(),
        },
        customers={arm: rolled.sums(values) for arm, values in customers.items()},
        revenue={
            currency: {arm: rolled.sums(values) for arm, values in groups.items()}
            for currency, groups in revenue.items()
        },
    )


def _sample(sums: rolled.Sums | None, n: int) -> Sample:
    """A group of `n` advocates (more, when more have values) from the sums of its values."""
    k, total, squares = sums or (0, 0, 0)
    return Sample(max(n, k), total, squares)


def _revenue_lift(currency: str, b: Sample, a: Sample) -> RevenueLift:
    """`a` (the treated) against `b` (the holdout)."""
    d = difference_of_means(a, b)

    def whole(x: float | None) -> int | None:
        return None if x is None else round(x)

    return RevenueLift(
        currency=currency,
        holdout=per(b.total, b.n),
        treated=per(a.total, a.n),
        lift=whole(d.value if d else None),
        low=whole(d.low if d else None),
        high=whole(d.high if d else None),
    )


def _revenue_text(r: RevenueLift) -> str:
    """The revenue lift in words: "Net revenue of friends per advocate, USD: $12.50 more
    (95 % CI $3.10 to $21.90)."."""
    if r.lift is None or r.low is None or r.high is None:
        return f"Net revenue of friends per advocate, {r.currency}: no interval yet."
    how = "more" if r.lift >= 0 else "less"
    return (
        f"Net revenue of friends per advocate, {r.currency}: "
        f"{display(abs(r.lift), r.currency)} {how} "
        f"(95 % CI {display(r.low, r.currency)} to {display(r.high, r.currency)})."
    )


def _bought(scope: Scope, program: Program) -> Iterable[tuple[str, int, dict[str, int]]]:
    """(variant, friends who bought, net revenue per currency) per advocate of the experiment
    with at least one friend: the same rule for the holdout (whose referrals are rejected, so
    only the friends' purchase events tell) and the treated (docs/analytics.md)."""
    referrals = (
        queries.referrals(scope)
        .exclude(advocate__variant="")
        .exclude(reject_reason__in=(Referral.RejectReason.SELF_REFERRAL,))
        .exclude(referee_id=F("advocate__participant_id"))
        .exclude(
            Q(referee__email_normalized=F("advocate__participant__email_normalized"))
            & ~Q(referee__email_normalized="")
        )
    )
    events = (
        Event.objects.filter(
            workspace_id=scope.workspace_id,
            type=Event.Type.PURCHASE,
            test=False,  # test data is never counted, nor makes an existing customer
            customer_external_id__in=referrals.values("referee__external_id"),
        )
        .filter(scope.by_end("occurred_at"))
        .annotate(
            back=queries.refunded(
                order="order_id", customer="customer_external_id", amount="amount"
            )
        )
        .values_list("customer_external_id", "occurred_at", "amount", "currency", "back")
    )
    purchases: dict[str, list[_Purchase]] = defaultdict(list)
    for customer, at, amount, currency, back in events.order_by():
        net = None if amount is None else int(amount) - int(back or 0)
        purchases[customer].append(_Purchase(at, net, currency))
    window = timedelta(days=program.attribution_days)
    per_advocate: dict[int, tuple[str, list[int], dict[str, int]]] = {}
    rows = referrals.values_list(
        "advocate_id", "advocate__variant", "referee__external_id", "clicked_at", "created_at"
    )
    for advocate, variant, friend, clicked, created in rows.order_by("pk"):
        first = clicked or created
        mine = purchases.get(friend, [])
        if any(p.at < first for p in mine):
            continue  # a customer before the first touch: not brought by it
        counted = [p for p in mine if first <= p.at <= first + window and _in(scope, p.at)]
        if not counted:
            continue
        _, bought, spent = per_advocate.setdefault(advocate, (variant, [0], {}))
        bought[0] += 1
        add_to(spent, [(p.currency, p.net) for p in counted if p.net is not None and p.currency])
    return ((variant, bought[0], spent) for variant, bought, spent in per_advocate.values())


def _in(scope: Scope, at: datetime) -> bool:
    return (scope.since is None or at >= scope.since) and (scope.until is None or at < scope.until)


def _lift_verdict(holdout: Sample, treated: Sample, d: Interval | None) -> tuple[str, str]:
    if d is None or min(holdout.n, treated.n) < MIN_ADVOCATES:
        return NOT_ENOUGH_DATA, (
            f"Not enough data yet to measure the lift: {_advocates(holdout.n)} in the holdout "
            f"and {_advocates(treated.n)} in the program; a verdict needs at least "
            f"{MIN_ADVOCATES} in each."
        )
    detail = (
        f"{treated.total / treated.n:.2f} friends who bought per advocate in the program "
        f"against {holdout.total / holdout.n:.2f} in the holdout, {_signed(d.value)} per "
        f"advocate (95 % CI {_num(d.low, 1, 2)} to {_num(d.high, 1, 2)})"
    )
    if d.excludes_zero and d.value > 0:
        per_100 = round(d.value * 100)
        return (
            LIFT,
            f"The program brings customers: {detail}, about {per_100} more per 100 advocates.",
        )
    if d.excludes_zero:
        return (
            NEGATIVE,
            f"Advocates in the program brought fewer customers than the holdout: {detail}.",
        )
    return NO_DIFFERENCE, f"No lift can be told apart from chance yet: {detail}."


def _signed(x: float) -> str:
    return f"{x:.2f} more" if x >= 0 else f"{-x:.2f} fewer"


def _overall(variants: tuple[Variant, ...], lift: Lift | None) -> tuple[str, str]:
    """The experiment's verdict: `difference` when some variant converts better or worse than
    the control, else `not_enough_data` when some comparison lacks data, else
    `no_difference`; its text is every comparison's and the lift's."""
    comparisons = [v.comparison for v in variants if v.comparison is not None]
    codes = {c.verdict for c in comparisons}
    if codes & {BETTER, WORSE}:
        code = DIFFERENCE
    elif NOT_ENOUGH_DATA in codes or not comparisons:
        code = NOT_ENOUGH_DATA
    else:
        code = NO_DIFFERENCE
    texts = [c.text for c in comparisons] or ["Only one variant has advocates: nothing to compare."]
    return code, " ".join(texts + ([lift.text] if lift else []))
