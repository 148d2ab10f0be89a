"""A program's configuration in plain words, for the people who run it.

`summarize(config)` takes the document `POST /programs` takes (and `config.export` gives) and
returns sentences: "Give $10, get $10 after a first purchase of at least $50; paid after 30
days." Pure: no database, no clock. It reads whatever it is given without complaint (the builder
shows it while a form is half filled in), so a missing value is left out rather than an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from goodword.lib.money import display

Doc = Mapping[str, Any]
POINTS = "PTS"


def money(amount: int, currency: str) -> str:
    """An amount as people say it: whole amounts without their zero cents ("$10", "$10.50",
    "10 CHF", "250 points")."""
    return re.sub(r"\.0+(?=\D|$)", "", display(amount, currency))


def _num(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _either(items: Sequence[Any], word: str = "or") -> str:
    """ "a", "a or b", "a, b or c"."""
    texts = [str(item) for item in items]
    if len(texts) <= 1:
        return "".join(texts)
    return f"{', '.join(texts[:-1])} {word} {texts[-1]}"


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _paid(hold: int) -> str:
    return "paid at once" if hold == 0 else f"paid after {_days(hold)}"


def _moment(value: Any) -> str:
    """ "1 April 2026", or with the time when it is not midnight UTC."""
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    day = f"{at.day} {at:%B %Y}"
    return day if (at.hour, at.minute) == (0, 0) else f"{day} {at:%H:%M} UTC"


def when(trigger: Doc, currency: str, *, to_friend: bool = False) -> str:
    """When a referral converts: "after a first purchase of at least $20"; `to_friend` when
    the sentence is about the friend ("when they sign up")."""
    if trigger.get("event") == "signup":
        return "when they sign up" if to_friend else "when the friend signs up"
    first = "a first purchase" if trigger.get("first_purchase_only", True) else "a purchase"
    least = _num(trigger.get("min_amount"))
    return f"after {first}" + (f" of at least {money(least, currency)}" if least else "")


def _coupon_terms(coupon: Doc, currency: str, pools: Mapping[str, str]) -> list[str]:
    terms = []
    if coupon.get("pool"):
        pool = str(coupon["pool"])
        terms.append(f"a code from the pool {pools.get(pool, pool)}")
    elif coupon.get("pattern"):
        terms.append(f"codes like {coupon['pattern']}")
    elif coupon.get("prefix") or _num(coupon.get("length")):
        length = _num(coupon.get("length")) or 10
        prefix = f"starting {coupon['prefix']} with " if coupon.get("prefix") else "of "
        terms.append(f"codes {prefix}{length} random characters")
    if _num(coupon.get("min_order")) is not None:
        terms.append(f"on orders of at least {money(coupon['min_order'], currency)}")
    if _num(coupon.get("expires_days")):
        terms.append(f"valid for {_days(coupon['expires_days'])}")
    return terms


def offer(
    spec: Doc,
    currency: str,
    *,
    short: bool = False,
    base: str | None = "the order",
    pools: Mapping[str, str] | None = None,
) -> str:
    """What one reward gives: "$10 store credit", "a 15%-off coupon", "250 points"; `short`
    says store credit as its amount alone ("$10"), as in "Give $10, get $10". A share is "of
    `base`", or said alone when `base` is None (the trigger then says of what)."""
    kind = spec.get("kind", "credit")
    cur = POINTS if kind == "points" else str(spec.get("currency") or currency)
    amount, share = _num(spec.get("amount")), _num(spec.get("percent_of_order"))
    value = money(amount, cur) if amount is not None else ""
    # Without an amount yet (a form being filled in), the kind alone.
    if kind == "credit":
        if share:
            return f"store credit worth {share}% of {base}" if base else f"{share}% store credit"
        if not value:
            return "store credit"
        return value if short else f"{value} store credit"
    if kind == "cash":
        if share:
            return f"a {share}% cash commission" + (f" on {base}" if base else "")
        return f"{value} cash".lstrip()
    if kind == "points":
        return value or "points"
    if kind == "coupon":
        off = _num(spec.get("percent_off"))
        text = f"a {off}%-off coupon" if off else f"a {value}-off coupon" if value else "a coupon"
        terms = _coupon_terms(spec.get("coupon") or {}, cur, pools or {})
        return text + (f" ({'; '.join(terms)})" if terms else "")
    if kind == "gift_card":
        return f"a {value} gift card" if value else "a gift card"
    if kind == "charity":
        return f"a {value + ' ' if value else ''}donation to {spec.get('cause', 'a cause')}"
    worth = f", worth {value}" if value else ""
    if kind == "product":
        return f"a free product (SKU {spec.get('sku', '?')}{worth})"
    return f"“{spec.get('description', 'a custom reward')}”" + (f" ({worth[2:]})" if worth else "")


_PLAIN_DEFAULTS = {"trigger": "conversion", "refund_policy": "threshold"}
_NOT_PLAIN = (
    "conditions",
    "caps",
    "milestone",
    "choices",
    "hold_days",
    "starts_at",
    "ends_at",
    "expires_days",
    "percent_of_order",
)


def _plain(rule: Doc) -> bool:
    """A rule that says nothing but who gets what when the referral converts."""
    if any(rule.get(name) not in (None, "", default) for name, default in _PLAIN_DEFAULTS.items()):
        return False
    return not any(rule.get(name) not in (None, {}, []) for name in _NOT_PLAIN)


def _attributes(person: str, match: Any) -> list[str]:
    if not isinstance(match, Mapping):
        return []
    return [f"the {person}'s {key} is {_either(values)}" for key, values in match.items()]


def conditions(spec: Doc, currency: str) -> list[str]:
    """Each condition of a rule as a clause: "the order is at least $25"."""
    cur = str(spec.get("currency") or currency)
    low, high = _num(spec.get("min_amount")), _num(spec.get("max_amount"))
    out = []
    if low is not None and high is not None:
        out.append(f"the order is between {money(low, cur)} and {money(high, cur)}")
    elif low is not None:
        out.append(f"the order is at least {money(low, cur)}")
    elif high is not None:
        out.append(f"the order is at most {money(high, cur)}")
    if spec.get("currency"):
        out.append(f"the order is in {spec['currency']}")
    if _num(spec.get("purchase_number")):
        out.append(f"it is the friend's {_ordinal(spec['purchase_number'])} purchase")
    if spec.get("product_ids"):
        out.append(f"the order includes product {_either(spec['product_ids'])}")
    if spec.get("category_ids"):
        out.append(f"the order includes a product in {_either(spec['category_ids'])}")
    if spec.get("tiers"):
        out.append(f"the advocate's tier is {_either(spec['tiers'])}")
    if spec.get("variants"):
        out.append(f"the advocate's variant is {_either(spec['variants'])}")
    return (
        out
        + _attributes("advocate", spec.get("advocate"))
        + _attributes("friend", spec.get("friend"))
    )


_CAP_SCOPE = {"advocate": "per advocate", "friend": "per friend", "program": "in the program"}
_CAP_PERIOD = {"lifetime": "", "month": " per month", "year": " per year"}


def cap(spec: Doc, currency: str) -> str:
    """ "at most 5 rewards per advocate per month", "at most $5,000 of rewards in the program"."""
    count, amount = _num(spec.get("count")), _num(spec.get("amount"))
    if count is not None:
        limit = "at most 1 reward" if count == 1 else f"at most {count} rewards"
    else:
        limit = f"at most {money(amount or 0, currency)} of rewards"
    period = spec.get("period", "lifetime")
    span = (
        f" in any {_days(_num(spec.get('days')) or 1)}"
        if period == "rolling"
        else _CAP_PERIOD.get(period, "")
    )
    return f"{limit} {_CAP_SCOPE.get(spec.get('per', 'advocate'), '')}{span}"


def _milestone(spec: Doc) -> str:
    if spec.get("at"):
        return f"only when the advocate reaches {_either(spec['at'])} qualified referrals"
    return f"only at every {_ordinal(_num(spec.get('every')) or 2)} qualified referral"


def _trigger(rule: Doc, converts: str, currency: str) -> str:
    trigger = rule.get("trigger") or "conversion"
    mine = rule.get("beneficiary") == "friend"
    if trigger == "subscription_payment":
        months = _num(rule.get("recurring_months"))
        whose = "their" if mine else "the friend's"
        text = f"on each of {whose} subscription payments" + (
            f" for {months} month{'s' if months != 1 else ''}"
            if months
            else " for as long as they subscribe"
        )
        if _num(rule.get("max_total")):
            text += f", at most {money(rule['max_total'], currency)} in all"
        return text
    who, does = ("they", "") if mine else ("the friend", "s")
    if trigger == "nps":
        return f"when {who} first answer{does} an NPS survey after converting"
    if trigger == "event":
        name = rule.get("event_name", "?")
        return f"when {who} first send{does} the event {name} after converting"
    return converts


_REFUND = {
    "proportional": "a partial refund shrinks it with the order",
    "full": "any refund of the order reverses it",
}


def _dates(rule: Doc) -> str:
    start, end = rule.get("starts_at"), rule.get("ends_at")
    if start and end:
        return f"for conversions from {_moment(start)} and before {_moment(end)}"
    if start:
        return f"for conversions from {_moment(start)}"
    return f"for conversions before {_moment(end)}" if end else ""


def _expiry(rule: Doc) -> str:
    days, notice = _num(rule.get("expires_days")), _num(rule.get("expiry_notice_days"))
    if not days:
        return ""
    what = "unspent points expire" if rule.get("kind") == "points" else "unspent credit expires"
    text = f"{what} {_days(days)} after approval"
    return text + (f", with a notice {_days(notice)} before" if notice else "")


def _choices(rule: Doc, currency: str, pools: Mapping[str, str]) -> str:
    picks = [offer(c, currency, pools=pools) for c in rule.get("choices") or []]
    if not picks:
        return ""
    days = _num(rule.get("choice_days")) or 14
    return f"or, if they pick it within {_days(days)}, {_either(picks)}"


def rule_sentence(
    rule: Doc, *, currency: str, converts: str, pools: Mapping[str, str] | None = None
) -> str:
    """One reward rule, all it says: who gets what, on which event, under which conditions,
    within which caps, when paid."""
    pools = pools or {}
    cur = POINTS if rule.get("kind") == "points" else str(rule.get("currency") or currency)
    base = None if rule.get("trigger") == "subscription_payment" else "the order"
    who = "the friend" if rule.get("beneficiary") == "friend" else "the advocate"
    head = f"{who} gets {offer(rule, currency, base=base, pools=pools)}"
    head += " " + _trigger(rule, converts, cur)
    terms = conditions(rule.get("conditions") or {}, currency)
    if terms:
        head += ", if " + _either(terms, "and")
    clauses = [head, _choices(rule, currency, pools)]
    if rule.get("milestone"):
        clauses.append(_milestone(rule["milestone"]))
    clauses += [cap(c, cur) for c in rule.get("caps") or []]
    clauses.append(_dates(rule))
    if _num(rule.get("hold_days")) is not None:
        clauses.append(_paid(rule["hold_days"]))
    clauses += [_expiry(rule), _REFUND.get(str(rule.get("refund_policy")), "")]
    text = "; ".join(c for c in clauses if c) + "."
    name = str(rule.get("name") or "")
    return f"{name}: {text}" if name else text[0].upper() + text[1:]


def _tiers(tiers: Doc, currency: str) -> str:
    revenue = tiers.get("basis") == "revenue"
    period = {"year": "each calendar year", "month": "each calendar month"}.get(
        str(tiers.get("period")), "all time"
    )
    levels = [
        f"{level.get('name', '?')} from "
        + (money(_num(level.get("min")) or 0, currency) if revenue else str(level.get("min", 0)))
        for level in tiers.get("levels") or []
    ]
    basis = "the revenue their referrals brought" if revenue else "qualified referrals"
    return f"Advocates' tiers by {basis}, {period}: {', '.join(levels)}."


def _experiment(test: Doc) -> str:
    variants = test.get("variants") or []
    names = _either([v.get("name", "?") for v in variants], "and")
    weights = ":".join(str(_num(v.get("weight")) or 1) for v in variants)
    text = f"Experiment “{test.get('name', '')}”: advocates are split between {names} ({weights})"
    held = _num(test.get("holdout_percent"))
    return text + (f"; {held}% are held out and get no program." if held else ".")


def _eligibility(rule: Doc) -> str:
    who = rule.get("who", "everyone")
    if who == "customers":
        days = _num(rule.get("min_days_as_customer"))
        after = f", {_days(days)} after their first purchase" if days else ""
        return f"Only customers may become advocates{after}."
    if who == "promoters":
        return "Only promoters (latest NPS answer 9 or 10) may become advocates."
    if who == "listed":
        n = len(rule.get("external_ids") or [])
        return f"Only the {n} listed customer{'s' if n != 1 else ''} may become advocates."
    return ""


def summarize(config: Doc, *, pools: Mapping[str, str] | None = None) -> list[str]:
    """The program in plain words, one sentence per idea: the offer, each other rule, the
    attribution window, tiers, the experiment, who may advocate. `pools` names coupon pools
    by id."""
    currency = str(config.get("currency") or "USD")
    converts = when(config.get("trigger") or {}, currency)
    hold = _num(config.get("hold_days"))
    hold = 30 if hold is None else hold
    rules = [r for r in config.get("rewards") or [] if isinstance(r, Mapping)]
    plain = {side: [r for r in rules if _plain(r) and r.get("beneficiary") == side]
             for side in ("advocate", "friend")}  # fmt: skip
    if len(plain["advocate"]) == 1 and len(plain["friend"]) == 1:
        give = offer(plain["friend"][0], currency, short=True, pools=pools)
        get = offer(plain["advocate"][0], currency, short=True, pools=pools)
        sentences = [f"Give {give}, get {get} {converts}; {_paid(hold)}."]
        rules = [r for r in rules if r is not plain["advocate"][0] and r is not plain["friend"][0]]
    else:
        sentences = [f"A referral converts {converts}; rewards are {_paid(hold)}."]
    trigger = config.get("trigger") or {}
    sentences += [
        rule_sentence(
            r,
            currency=currency,
            converts=when(trigger, currency, to_friend=r.get("beneficiary") == "friend"),
            pools=pools,
        )
        for r in rules
    ]
    days = _num(config.get("attribution_days"))
    sentences.append(
        f"A friend's conversion counts within {_days(30 if days is None else days)} of their "
        "first click."
    )
    if config.get("tiers"):
        sentences.append(_tiers(config["tiers"], currency))
    if config.get("experiment"):
        sentences.append(_experiment(config["experiment"]))
    if config.get("eligibility"):
        sentences.append(_eligibility(config["eligibility"]))
    return [s for s in sentences if s]


def rewards_line(config: Doc) -> str:
    """The rewards in a few words, for a list: "advocate $10 store credit · friend 15%-off
    coupon"."""
    currency = str(config.get("currency") or "USD")
    parts = []
    for rule in config.get("rewards") or []:
        text = offer(rule, currency)
        if rule.get("choices"):
            text += " or a pick"
        parts.append(f"{rule.get('beneficiary', 'advocate')}: {text}")
    return " · ".join(parts)
