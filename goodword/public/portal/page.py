"""What the portal shows an advocate, read for one page: their friends (masked), rewards and
their status in plain words, balance, tier and the next milestone. Only this advocate's rows:
every query filters by the advocate or their participant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from goodword.events.models import DomainEvent
from goodword.messaging import branding, pagecopy, words
from goodword.participants.models import Advocate
from goodword.programs.models import RewardRule
from goodword.public.portal import shared
from goodword.referrals.models import Referral
from goodword.rewards import choice
from goodword.rewards.models import Reward
from goodword.rewards.queries import available_and_pending

SHOWN = 50  # referrals and rewards listed, newest first
_QUALIFIED = (Referral.Status.CONVERTED, Referral.Status.REWARDED)


@dataclass(frozen=True)
class FriendRow:
    name: str  # "Bob M.": a first name and an initial, never an address
    on: str  # the day they came
    status: str  # plain words


@dataclass(frozen=True)
class Option:
    kind: str
    description: str


@dataclass
class RewardRow:
    public_id: str
    description: str
    status: str
    code: str = ""  # a coupon's code, once it is theirs
    options: list[Option] = field(default_factory=list)  # a choice still open


@dataclass(frozen=True)
class BalanceRow:
    currency: str
    available: str
    pending: str


@dataclass(frozen=True)
class Progress:
    tier: str  # "" below the first level
    next_tier: str  # "" at the top
    words: str  # what is left to the next tier or milestone
    value: int  # for a <progress> bar
    maximum: int


@dataclass
class Portal:
    advocate: Advocate
    language: str
    brand: branding.Brand
    link: str
    intro: str
    message: str  # the share box's default
    friends: list[FriendRow]
    rewards: list[RewardRow]
    balance: list[BalanceRow]
    progress: list[Progress]
    consent: str  # the invite form's consent text


def read(advocate: Advocate, language: str, now: datetime) -> Portal:
    """Everything the portal page shows `advocate`, in `language`."""
    program = advocate.program
    common = shared.program(advocate, language)
    zone = shared.workspace(advocate.workspace_id).zone
    brand = common.brand
    link = f"{settings.SITE_URL}/r/{advocate.code}"
    data = _text_data(advocate, link, brand.name, common.offers)

    def day(moment: datetime) -> str:
        return _day_words(moment.astimezone(zone).date(), language)

    def text(key: str) -> str:
        return pagecopy.shown(program, key, language, data, source=common.sources[key]).text

    with translation.override(language):
        message = " ".join(
            part for part in (text("share_message"), text("disclosure"), link) if part
        )
        return Portal(
            advocate=advocate,
            language=language,
            brand=brand,
            link=link,
            intro=text("portal_intro"),
            message=message,
            friends=_friends(advocate, language, day),
            rewards=_rewards(advocate, language, day, now),
            balance=[
                BalanceRow(
                    line.currency,
                    words.format_money(line.available, line.currency, language),
                    words.format_money(line.pending, line.currency, language),
                )
                for line in available_and_pending(advocate.participant)
            ],
            progress=_progress(advocate, common.milestones, language, now),
            consent=consent_text(brand.name),
        )


@lru_cache(maxsize=4096)
def _day_words(day: date, language: str) -> str:
    """`words.format_date`, kept: writing a date out costs about 0.1 ms (the language's
    switch), and a page has one per row."""
    return words.format_date(day, language)


def consent_text(shop: str) -> str:
    """What the advocate agrees to when inviting by email (kept on the invite), in the active
    language."""
    return _("I know my friend and they are happy to hear from %(shop)s.") % {"shop": shop}


def _text_data(advocate: Advocate, link: str, shop: str, offers: dict[str, str]) -> dict[str, Any]:
    name = advocate.participant.name.strip()
    return {
        "advocate": {
            "name": name,
            "first_name": name.split(" ")[0] if name else "",
            "code": advocate.code,
            "link": link,
        },
        "offer": offers,
        "program": {"name": advocate.program.name},
        "workspace": {"name": shop},
    }


def masked(name: str) -> str:
    """ "Bob M." for Bob Marley, "Bob" for Bob; "A friend" when there is no name (or an
    address stands in for one)."""
    parts = name.split()
    if not parts or "@" in name:
        return _("A friend")
    if len(parts) == 1:
        return parts[0][:40]
    return f"{parts[0][:40]} {parts[-1][:1].upper()}."


def _reasons(workspace_id: int, names: tuple[str, ...], ids: list[str]) -> dict[str, str]:
    """The `reason` of each row's latest event among `names` (a reversal's or rejection's)."""
    if not ids:
        return {}
    rows = DomainEvent.objects.filter(
        workspace_id=workspace_id, subject_id__in=ids, name__in=names
    ).order_by("pk")
    return {e.subject_id: str((e.data or {}).get("reason") or "") for e in rows}


def _friends(advocate: Advocate, language: str, day: Any) -> list[FriendRow]:
    # Plain rows, not model instances: building 50 referrals and their friends with every
    # column was a fifth of the page's time.
    rows = list(
        Referral.objects.for_workspace(advocate.workspace_id)
        .filter(advocate=advocate)
        .order_by("-created_at", "-pk")
        .values_list("public_id", "status", "reject_reason", "created_at", "referee__name")[:SHOWN]
    )
    reversed_ids = [r[0] for r in rows if r[1] == Referral.Status.REVERSED]
    why = _reasons(advocate.workspace_id, ("referral.reversed",), reversed_ids)
    return [
        FriendRow(masked(name), day(created), _friend_status(key, status, reject, why, language))
        for key, status, reject, created, name in rows
    ]


def _friend_status(
    public_id: str, status: str, reject_reason: str, why: dict[str, str], language: str
) -> str:
    if status == Referral.Status.CLICKED:
        return _("opened your link")
    if status == Referral.Status.SIGNED_UP:
        return _("signed up, no order yet")
    if status == Referral.Status.CONVERTED:
        return _("ordered")
    if status == Referral.Status.REWARDED:
        return _("ordered: you were rewarded")
    if status == Referral.Status.REJECTED:
        reason = words.reversal_reason(reject_reason, language)
        return _("not counted: %(reason)s") % {"reason": reason}
    reason = words.reversal_reason(why.get(public_id) or "refund", language)
    return _("reversed: %(reason)s") % {"reason": reason}


def _rewards(advocate: Advocate, language: str, day: Any, now: datetime) -> list[RewardRow]:
    rows = list(
        Reward.objects.for_workspace(advocate.workspace_id)
        .filter(participant_id=advocate.participant_id, program_id=advocate.program_id)
        .only(*_REWARD_FIELDS)
        .order_by("-created_at", "-pk")[:SHOWN]
    )
    ended = [r.public_id for r in rows if r.status in (Reward.Status.REVERSED,)]
    why = _reasons(advocate.workspace_id, ("reward.reversed",), ended)
    chosen = _chosen([r.public_id for r in rows], advocate.workspace_id)
    out = []
    for r in rows:
        description = words.describe_reward(
            r.kind, r.amount, r.currency, r.percent_off, language, details=r.details
        )
        row = RewardRow(r.public_id, description, _reward_status(r, why, day, language, now))
        if r.public_id in chosen:
            row.status = _("%(status)s (your choice)") % {"status": row.status}
        if r.coupon_code and r.status in (Reward.Status.APPROVED, Reward.Status.FULFILLED):
            row.code = r.coupon_code
        if _choice_open(r, now):
            row.options = [
                Option(kind, _describe_offer(r, kind, language)) for kind in choice.offered_kinds(r)
            ]
        out.append(row)
    return out


# What a reward row of the page reads (the rest of a reward's columns are left in the database).
_REWARD_FIELDS = (
    "public_id",
    "created_at",
    "status",
    "status_reason",
    "kind",
    "amount",
    "currency",
    "percent_off",
    "details",
    "coupon_code",
    "choices",
    "choose_by",
    "hold_until",
)


def _chosen(ids: list[str], workspace_id: int) -> set[str]:
    """The rewards whose beneficiary made their choice (the event log keeps it)."""
    if not ids:
        return set()
    rows = DomainEvent.objects.filter(
        workspace_id=workspace_id, subject_id__in=ids, name="reward.chosen"
    ).values_list("subject_id", "data")
    return {subject for subject, data in rows if (data or {}).get("by") == "beneficiary"}


def _choice_open(reward: Reward, now: datetime) -> bool:
    return (
        reward.status == Reward.Status.PENDING
        and bool(reward.choices)
        and reward.choose_by is not None
        and reward.choose_by > now
    )


def _describe_offer(reward: Reward, kind: str, language: str) -> str:
    if kind == reward.kind:
        return words.describe_reward(
            reward.kind,
            reward.amount,
            reward.currency,
            reward.percent_off,
            language,
            details=reward.details,
        )
    offer = next(c for c in reward.choices or [] if c["kind"] == kind)
    currency = "PTS" if kind == "points" else str(offer.get("currency") or reward.currency)
    return words.describe_reward(
        kind,
        offer.get("amount"),
        currency,
        offer.get("percent_off"),
        language,
        details=choice.details_of(offer),
    )


def _reward_status(
    reward: Reward, why: dict[str, str], day: Any, language: str, now: datetime
) -> str:
    status = reward.status
    if status == Reward.Status.PENDING:
        if _choice_open(reward, now) and reward.choose_by is not None:
            return _("choose by %(date)s") % {"date": day(reward.choose_by)}
        return _("pending until %(date)s") % {"date": day(reward.hold_until)}
    if status == Reward.Status.APPROVED:
        return _("earned")
    if status == Reward.Status.PENDING_FULFILMENT:
        return _("earned: on its way")
    if status == Reward.Status.FULFILLED:
        return _("paid")
    if status == Reward.Status.EXPIRED:
        return _("expired")
    if status == Reward.Status.REJECTED:
        return _("not given: %(reason)s") % {"reason": words.reversal_reason("manual", language)}
    # A reason typed by staff is their internal note: the advocate reads plain words.
    code = "manual" if reward.status_reason else (why.get(reward.public_id) or "refund")
    return _("reversed: %(reason)s") % {"reason": words.reversal_reason(code, language)}


def _progress(
    advocate: Advocate, rules: Sequence[RewardRule], language: str, now: datetime
) -> list[Progress]:
    """Where the advocate stands on the program's tiers and its next milestone bonus (`rules`:
    the program's active milestone rules)."""
    out = []
    tiers = advocate.program.tiers or {}
    if tiers.get("levels"):
        out.append(_tier_progress(advocate, tiers, language, now))
    if not rules:
        return out
    count = _qualified(advocate, None).count()
    for rule in rules:
        step = _next_milestone(rule.milestone or {}, count)
        if step is None:
            continue
        bonus = words.describe_reward(
            rule.kind, rule.amount, rule.currency, rule.percent_off, language
        )
        left = step - count
        text = ngettext(
            "%(count)s more friend who orders, and you get a bonus: %(bonus)s",
            "%(count)s more friends who order, and you get a bonus: %(bonus)s",
            left,
        ) % {"count": left, "bonus": bonus}
        out.append(Progress("", "", text, count, step))
    return out


def _qualified(advocate: Advocate, since: datetime | None) -> Any:
    found = Referral.objects.for_workspace(advocate.workspace_id).filter(
        advocate=advocate, status__in=_QUALIFIED
    )
    return found if since is None else found.filter(converted_at__gte=since)


def _tier_progress(
    advocate: Advocate, tiers: dict[str, Any], language: str, now: datetime
) -> Progress:
    since = None
    if tiers.get("period") == "month":
        since = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elif tiers.get("period") == "year":
        since = now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    found = _qualified(advocate, since)
    by_revenue = tiers.get("basis") == "revenue"
    if by_revenue:
        reached = sum(int(v or 0) for v in found.values_list("order_amount", flat=True))
    else:
        reached = found.count()
    levels = [(str(level["name"]), int(level["min"])) for level in tiers["levels"]]
    tier = ""
    for name, minimum in levels:
        if reached >= minimum:
            tier = name
    above = [(name, minimum) for name, minimum in levels if minimum > reached]
    if not above:
        return Progress(tier, "", _("You are at the top level."), 1, 1)
    next_name, target = above[0]
    left = target - reached
    if by_revenue:
        amount = words.format_money(left, advocate.program.currency, language)
        text = _("%(amount)s more in your friends' orders to reach %(tier)s") % {
            "amount": amount,
            "tier": next_name,
        }
    else:
        text = ngettext(
            "%(count)s more friend who orders to reach %(tier)s",
            "%(count)s more friends who order to reach %(tier)s",
            left,
        ) % {"count": left, "tier": next_name}
    return Progress(tier, next_name, text, reached, target)


def _next_milestone(milestone: dict[str, Any], count: int) -> int | None:
    """The qualified-referral count of the next bonus after `count`; None when none is left."""
    if milestone.get("every"):
        every = int(milestone["every"])
        return (count // every + 1) * every
    ahead = [int(n) for n in milestone.get("at") or [] if int(n) > count]
    return ahead[0] if ahead else None
