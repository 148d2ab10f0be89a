"""Previews: a journey's message rendered on sample data, by the same code that renders the
messages people get (`content.py`), so that what a merchant sees is what would be sent.

The sample people and rows are unsaved model instances: a preview writes nothing, and the
program's real reward rules describe the offer and the reward in the preview's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from goodword.accounts.models import Workspace
from goodword.messaging import content, defaults, render, texts
from goodword.messaging.models import TRANSACTIONAL, Journey, MessageTemplate, MessagingSettings
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import Program, RewardRule
from goodword.rewards.models import Reward

ADVOCATE = ("Alice Example", "alice@example.com")
FRIEND = ("Bob Example", "bob@example.com")
CODE = "ALICE10"
COUPON = "THANKS-7Q2K"
SAMPLE_ORDER = 5000  # minor units: what a percent-of-order reward is shown on
NOTES = {
    "en": "I love this shop and I think you will too!",
    "it": "Adoro questo negozio e penso che piacerà anche a te!",
}


@dataclass(frozen=True)
class Preview:
    subject: str
    text: str
    html: str  # the whole email, as `layout.wrap` makes it
    sms: str  # "" for a journey never sent by text
    template: str  # "default", "tpl_…:<version>", or "preview" for unsaved words


def render_sample(
    *,
    program: Program,
    journey: str,
    language: str,
    parts: dict[str, str] | None,
    segment: str = "",
) -> Preview:
    """Render `journey` in `language` on sample data: the given `parts` as if saved (an empty
    or missing part falls back as when sending), or, with None, the saved wording. Raise
    content.PartFailed naming the part that cannot be rendered."""
    ctx = sample_context(program, journey, language)
    if parts is None:
        email_parts, name = content.wording(program.pk, journey, language, segment)
        own = (
            MessageTemplate.objects.filter(
                program=program, journey=journey, language=language, segment__in={segment, ""}
            )
            .order_by("-segment")
            .first()
        )
        sms_source = own.sms if own else ""
        cache = True
    else:
        given = MessageTemplate(**{part: parts.get(part, "") for part in (*_EMAIL, "sms")})
        email_parts, _ = content.merged(journey, language, given)
        name, sms_source, cache = "preview", given.sms, False
    rendered = content.render_parts(ctx, email_parts, name, cache=cache)
    return Preview(
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        sms=_sms(ctx, sms_source),
        template=rendered.template,
    )


_EMAIL = content.EMAIL_PARTS


def _sms(ctx: content.Context, source: str) -> str:
    if not source.strip():
        if ctx.journey not in defaults.SMS_JOURNEYS:
            return ""
        source = defaults.default_template(ctx.journey, ctx.language, "sms")
    try:
        text = render.render(source, content.template_data(ctx), html=False)
        # As sent: the opt-out line added to a marketing text, the length checked.
        return texts.finish(text, journey=ctx.journey, language=ctx.language)
    except render.TemplateFailed as exc:
        raise content.PartFailed("sms", exc.reason) from exc


def sample_context(program: Program, journey: str, language: str) -> content.Context:
    """The data of a sample message: Alice Example (code ALICE10) and her friend Bob."""
    workspace = Workspace.objects.only("name").get(pk=program.workspace_id)
    found = MessagingSettings.objects.for_workspace(workspace).first()
    alice = _person(program, *ADVOCATE)
    bob = _person(program, *FRIEND)
    advocate = Advocate(
        workspace_id=program.workspace_id, program=program, participant=alice, code=CODE
    )
    invite = journey == Journey.FRIEND_INVITE
    to_friend = journey in (Journey.FRIEND_INVITE, Journey.REMIND_FRIEND)
    data = {"note": NOTES.get(language, NOTES["en"])} if invite else {}
    return content.Context(
        journey=journey,
        language=language,
        settings=found or MessagingSettings(workspace_id=program.workspace_id),
        workspace_name=workspace.name,
        program=program,
        recipient=bob if to_friend else alice,
        # A link that unsubscribes nobody: the sample address may be someone's real one.
        unsubscribe_url="" if journey in TRANSACTIONAL else f"{settings.SITE_URL}/u/sample",
        reward=sample_reward(program, journey, alice),
        advocate=advocate if journey in _WITH_ADVOCATE else None,
        friend=bob,
        data=data,
    )


_WITH_ADVOCATE = (
    Journey.REFERRAL_REQUEST,
    Journey.FRIEND_INVITE,
    Journey.REMIND_SHARE,
    Journey.REMIND_FRIEND,
)


def _person(program: Program, name: str, email: str) -> Participant:
    return Participant(workspace_id=program.workspace_id, name=name, email=email)


def sample_reward(program: Program, journey: str, alice: Participant) -> Reward | None:
    """A reward of the program's first active advocate rule (credit of 10.00 when it has
    none), held, approved or expiring as the journey tells."""
    if journey not in TRANSACTIONAL:
        return None
    rule = (
        RewardRule.objects.filter(program=program, is_active=True, beneficiary="advocate")
        .order_by("pk")
        .first()
    )
    now = timezone.now()
    reward = Reward(
        workspace_id=program.workspace_id,
        program=program,
        participant=alice,
        kind=rule.kind if rule else "credit",
        amount=_amount(rule),
        percent_off=rule.percent_off if rule else None,
        currency=rule.currency if rule else "USD",
        hold_until=now + timedelta(days=program.hold_days),
        created_at=now,
        expires_at=now + timedelta(days=7),
    )
    if journey == Journey.REWARD_FULFILLED and reward.kind == "coupon":
        reward.coupon_code = COUPON
    if journey == Journey.COUPON_EXPIRING:  # a coupon, whatever the program's rule gives
        reward.kind, reward.coupon_code = "coupon", COUPON
        reward.coupon_expires_at, reward.expires_at = now + timedelta(days=3), None
        if reward.amount is None and reward.percent_off is None:
            reward.amount = 1000
    return reward


def _amount(rule: RewardRule | None) -> int | None:
    if rule is None:
        return 1000
    if rule.amount is None and rule.percent_of_order:
        return SAMPLE_ORDER * rule.percent_of_order // 100
    return rule.amount
