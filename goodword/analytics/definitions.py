"""How each number is computed, in plain words: shown on the Overview page, and written out
with examples in docs/analytics.md (a test checks every term is there)."""

from __future__ import annotations

DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "Period",
        "UTC calendar days, from and to both included, in business time: when the click, the "
        "signup or the purchase happened, not when Goodword heard of it. Clicks count on their "
        "day, friends on the day they came, conversions on the day they converted. Money "
        "follows the period's conversions: their orders, everything refunded of those orders "
        "so far, and the rewards earned in the period.",
    ),
    (
        "Advocates",
        "Advocates enrolled by the end of the period. Enrolment time is when Goodword enrolled "
        "them, so an advocate with a click, a share or a friend before the end counts too "
        "(history imported later).",
    ),
    (
        "Sharing advocates",
        "Advocates with a share, a click on their link or a friend who came in the period (a "
        "code typed at checkout is a share too).",
    ),
    (
        "Shares",
        "Share events in the period: an advocate tapped a share button in the portal, the "
        "widget or the share page (copy, native share, email, SMS, WhatsApp and the other "
        "channels), downloaded their QR code, or the business reported a share through the API "
        "(POST /api/v1/shares). Counted by the channel shared through; a share is not a click "
        "(opening or viewing a QR code records nothing).",
    ),
    ("Clicks", "Visits through advocates' links in the period. Link-preview bots are not clicks."),
    (
        "Friends who came",
        "Referrals that started in the period (the friend signed up or first bought through an "
        "advocate). Self-referrals, existing customers and friends of an experiment's holdout "
        "are left out; friends whose attribution window ran out count (they came, and did not "
        "buy in time).",
    ),
    (
        "Converted (referred customers)",
        "Friends whose referral converted in the period and was not reversed since by a refund "
        "of the whole order.",
    ),
    ("Rewarded", "Of the converted friends, those with at least one reward approved by now."),
    (
        "Rates",
        "Each stage divided by the one before, counted in the same period: sharing advocates / "
        "advocates, clicks per sharing advocate, friends per click (above 100 % when friends "
        "type codes without clicking), conversion rate = converted / friends who came, "
        "rewarded / converted. Rates are rounded to 4 decimal places (shown as percentages).",
    ),
    (
        "Participation",
        "Advocates / participants Goodword knows by the end of the period, and advocates with "
        "at least one friend who came by then / the same participants.",
    ),
    (
        "Time to convert",
        "From the first touch (the click, else when the referral started) to the conversion, "
        "over every conversion of the period, refunded ones too: the median, and how many fall "
        "in each bucket.",
    ),
    (
        "K-factor",
        "Friends converted in the period per advocate: the viral coefficient, also clicks per "
        "advocate times conversions per click. Above 1, each advocate brings more than one new "
        "customer.",
    ),
    (
        "New customers by referral",
        "Participants whose first purchase was in the period; the share of them who are "
        "converted friends (referral standing, of the chosen program).",
    ),
    (
        "Revenue, net of refunds",
        "The converting orders of the period's conversions (refunded ones too), less everything "
        "refunded of those orders so far. A refund without an amount refunds the whole order; "
        "partial refunds subtract their amount; an order never loses more than it was. Per "
        "currency: currencies are never added together. Later orders of the same friends are "
        "in 'Orders of referred customers', not here.",
    ),
    (
        "Reward cost",
        "Rewards earned in the period (at the conversion or the event that triggered them; a "
        "reward granted by hand when granted, in the program it is booked to), pending, "
        "approved or fulfilled. Credit, cash, gift cards, donations, products and custom "
        "rewards at their amount; fixed coupons at face value; percent-off coupons, and "
        "products or custom rewards without an amount, are counted but have no value here "
        "(Goodword does not see the discount an order got); points are counted in points, "
        "apart from money (programs give a point no money value). A partial refund shrinks a "
        "pending reward and claws back part of an approved one: the cost is what is left "
        "(what the clawback left as the participant's debt counts as taken back). Reversed and "
        "rejected rewards are shown apart and cost nothing; expired credit still counts.",
    ),
    ("CAC", "Reward cost / converted friends, per currency, in whole minor units (halves up)."),
    ("ROI", "(Revenue net of refunds - reward cost) / reward cost, per currency."),
    (
        "Orders of referred and other customers",
        "Purchases in the period. Referred customers: friends whose referral converted and "
        "stands (of the chosen program, converted at any time); other customers: those never "
        "converted through any program. Average order = order amounts / orders; net per "
        "customer = (order amounts - refunds of those orders) / customers.",
    ),
    (
        "Top advocates",
        "Advocates ranked by converted friends, then friends who came, then clicks, in the "
        "period; their revenue as above, and the cost of the rewards they earned themselves.",
    ),
    (
        "Channels",
        "Shares by the channel shared through; clicks by the channel the link carried "
        "(?via=email); friends and conversions by the "
        "channel of the click that brought them, else by how they were attributed: a code "
        "typed, an invite by email, a coupon on the order. 'link' is a link without a channel.",
    ),
    (
        "Variants and tiers",
        "Numbers per experiment variant each advocate was given when enrolled ('holdout': the "
        "control group), and per tier each advocate has reached now (not the tier at each "
        "referral). Rewards granted by hand belong to no variant or tier.",
    ),
    (
        "Not counted yet",
        "Payback (how long until net revenue covers the reward cost) is still to come; test "
        "data is never counted.",
    ),
)
