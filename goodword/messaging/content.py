"""What a message says: the data its template gets, its template, and the rendered parts.

The data is plain strings (docs/messaging.md lists them per journey): merchants' Liquid sees
nothing else. The template is the program's own wording (`MessageTemplate`) if it has one for
the language, else the default (`messaging/defaults/`); a part the program left empty falls
back to the default's, and a missing plain-text part is made from the HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from goodword.messaging import defaults, journeys, layout, render, words
from goodword.messaging.models import Journey, MessageTemplate, MessagingSettings
from goodword.participants import portal
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import Program, RewardRule
from goodword.rewards.models import Reward

# Parts of an email, and the template part each is rendered from.
EMAIL_PARTS = ("subject", "html", "text")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    template: str  # "default", or "tpl_…:<version>"


@dataclass
class Context:
    """What a message's data is made from, loaded by the sender."""

    journey: str
    language: str
    settings: MessagingSettings
    workspace_name: str
    program: Program | None
    recipient: Participant
    unsubscribe_url: str
    reward: Reward | None = None
    advocate: Advocate | None = None
    friend: Participant | None = None
    data: dict[str, Any] | None = None  # the cause's event data
    # Read by the sender once per claim (`loading.Loaded`); None: read here, for one message.
    templates: Mapping[tuple[int, str, str, str], MessageTemplate] | None = None  # by
    # program, journey, language and segment
    rules: Sequence[RewardRule] | None = None  # the program's active rules, oldest first
    time_zone: str = ""  # the recipient's, for the dates a message shows; "": the workspace's
    segment: str = ""  # the recipient's `segment` attribute: picks the program's wording for it


def brand(ctx: Context) -> dict[str, str]:
    return {
        "name": ctx.settings.from_name or ctx.workspace_name,
        "color": ctx.settings.brand_color,
        "logo_url": ctx.settings.logo_url,
    }


def template_data(ctx: Context) -> dict[str, Any]:
    """The data a journey's template gets (docs/messaging.md, "Template data")."""
    name = ctx.recipient.name.strip()
    data: dict[str, Any] = {
        "workspace": {"name": ctx.workspace_name},
        "program": {"name": ctx.program.name if ctx.program else ""},
        "brand": brand(ctx),
        "recipient": {
            "name": name,
            "first_name": name.split(" ")[0] if name else "",
            "email": ctx.recipient.email,
        },
        "language": ctx.language,
        "unsubscribe_url": ctx.unsubscribe_url,
    }
    if ctx.reward is not None:
        data["reward"] = _reward(ctx, ctx.reward)
    if ctx.advocate is not None:
        data["advocate"] = _advocate(ctx.advocate)
        if ctx.recipient.pk == ctx.advocate.participant_id:
            # Only to the advocate themselves (never in a friend's invitation): the link signs
            # its holder in to the advocate's portal. Fresh at each rendering; it works for
            # PORTAL_LINK_DAYS.
            data["advocate"]["portal_url"] = (
                portal.make_link(ctx.advocate, timezone.now()).url
                if ctx.advocate.pk is not None
                # A sample message (a preview, a test send): a link that signs nobody in.
                else f"{settings.SITE_URL}/p/sample"
            )
    if ctx.journey in _OFFERED and ctx.program:
        data["offer"] = offers(ctx.program, ctx.language, ctx.rules)
    if ctx.journey == Journey.FRIEND_INVITE:
        data["note"] = str((ctx.data or {}).get("note") or "")
    if ctx.journey == Journey.THANK_YOU:
        friend = ctx.friend.name.strip() if ctx.friend else ""
        data["friend"] = {"first_name": friend.split(" ")[0] if friend else ""}
    return data


# The journeys whose template gets the program's `offer`.
_OFFERED = (
    Journey.REFERRAL_REQUEST,
    Journey.FRIEND_INVITE,
    Journey.REMIND_SHARE,
    Journey.REMIND_FRIEND,
)


def _reward(ctx: Context, reward: Reward) -> dict[str, str]:
    language = ctx.language
    out = {
        "description": words.describe_reward(
            reward.kind, reward.amount, reward.currency, reward.percent_off, language
        ),
        "final_on": _date(reward.hold_until, ctx),
        "code": reward.coupon_code,
        "expires_on": _date(reward.expires_at, ctx),
        "reason": "",
    }
    if ctx.journey == Journey.REWARD_REVERSED:
        # A reason typed by staff is their internal note: the recipient reads plain words.
        code = "manual" if (ctx.data or {}).get("reason") else "refund"
        out["reason"] = words.reversal_reason(code, language)
    if ctx.journey == Journey.COUPON_EXPIRING:
        out["expires_on"] = _date(reward.coupon_expires_at, ctx)
    if ctx.journey == Journey.REWARD_EXPIRING:
        moment = (ctx.data or {}).get("expires_at")
        if moment:
            out["expires_on"] = _date(datetime.fromisoformat(moment), ctx)
    return out


def _advocate(advocate: Advocate) -> dict[str, str]:
    name = advocate.participant.name.strip()
    return {
        "code": advocate.code,
        "link": f"{settings.SITE_URL}/r/{advocate.code}",
        "share_url": f"{settings.SITE_URL}/s/{advocate.code}",
        "name": name,
        "first_name": name.split(" ")[0] if name else "",
    }


def offers(
    program: Program, language: str, rules: Sequence[RewardRule] | None = None
) -> dict[str, str]:
    """What the program gives a friend and an advocate, in plain words ("" when nothing).
    `rules`: the program's active rules, oldest first, when the caller has them."""
    out = {"friend": "", "advocate": ""}
    if rules is None:
        rules = list(RewardRule.objects.filter(program=program, is_active=True).order_by("pk"))
    for rule in rules:
        if out[rule.beneficiary]:
            continue
        out[rule.beneficiary] = words.describe_reward(
            rule.kind, rule.amount, rule.currency, rule.percent_off, language
        )
    return out


def _date(moment: datetime | None, ctx: Context) -> str:
    """The day `moment` falls on where the recipient lives: a reward final at 23:00 UTC on the
    1st is final on the 2nd in Rome."""
    if moment is None:
        return ""
    local = moment.astimezone(journeys.zone(ctx.time_zone or ctx.settings.time_zone))
    return words.format_date(local.date(), ctx.language)


def wording(
    program_id: int | None, journey: str, language: str, segment: str = ""
) -> tuple[dict[str, str], str]:
    """The template's parts and its name: the program's own for the language (the segment's
    if it has one, else the one for everyone), else the default; the program's empty parts
    filled from the default."""
    own = (
        MessageTemplate.objects.filter(
            program_id=program_id, journey=journey, language=language, segment__in={segment, ""}
        )
        .only("public_id", "version", "segment", *EMAIL_PARTS)
        .order_by("-segment")  # the segment's, when there is one, before everyone's ("")
        .first()
        if program_id
        else None
    )
    return merged(journey, language, own)


def own_template(
    templates: Mapping[tuple[int, str, str, str], MessageTemplate],
    program_id: int,
    journey: str,
    language: str,
    segment: str,
) -> MessageTemplate | None:
    """`wording`'s choice among templates read before: the segment's, else everyone's."""
    found = templates.get((program_id, journey, language, segment)) if segment else None
    return found or templates.get((program_id, journey, language, ""))


def merged(journey: str, language: str, own: MessageTemplate | None) -> tuple[dict[str, str], str]:
    """`own`'s parts (saved, or a preview's), its empty ones filled as `wording` says."""
    parts = {part: defaults.default_template(journey, language, part) for part in EMAIL_PARTS}
    if own is None:
        return parts, "default"
    for part in EMAIL_PARTS:
        if getattr(own, part).strip():
            parts[part] = getattr(own, part)
    if not own.text.strip():
        parts["text"] = ""  # made from the program's HTML, not the default's words
    return parts, f"{own.public_id}:{own.version}"


class PartFailed(render.TemplateFailed):
    """A template part (`part`: subject, html, text) that cannot be rendered."""

    def __init__(self, part: str, reason: str) -> None:
        super().__init__(reason)
        self.part = part


def render_email(ctx: Context) -> Rendered:
    """Render the message; raise render.TemplateFailed for a template that cannot be."""
    program_id = ctx.program.pk if ctx.program else None
    if ctx.templates is None:
        parts, name = wording(program_id, ctx.journey, ctx.language, ctx.segment)
    else:
        own = (
            own_template(ctx.templates, program_id, ctx.journey, ctx.language, ctx.segment)
            if program_id
            else None
        )
        parts, name = merged(ctx.journey, ctx.language, own)
    return render_parts(ctx, parts, name)


def render_parts(ctx: Context, parts: dict[str, str], name: str, *, cache: bool = True) -> Rendered:
    """Render `parts` (as `wording` gives them); raise PartFailed naming the part that cannot
    be. `cache=False` for words that are not saved (a preview's)."""
    data = template_data(ctx)
    key = f"{name}:{ctx.journey}:{ctx.language}"

    def one(part: str, *, html: bool) -> str:
        try:
            return render.render(
                parts[part], data, html=html, key=f"{key}:{part}" if cache else None
            )
        except render.TemplateFailed as exc:
            raise PartFailed(part, exc.reason) from exc

    subject = one("subject", html=False)
    content = one("html", html=True)
    text = one("text", html=False) if parts["text"] else layout.to_text(content)
    footer = "\n".join(line for line in (ctx.workspace_name, ctx.settings.postal_address) if line)
    html = layout.wrap(
        content,
        brand=brand(ctx),
        language=ctx.language,
        preheader="",
        unsubscribe_url=ctx.unsubscribe_url,
        footer=footer,
    )
    text = text.strip() + layout.text_footer(footer, ctx.unsubscribe_url, ctx.language)
    return Rendered(" ".join(subject.split())[:500], text, html, name)
