"""Messaging: the message log, the workspace's messaging settings, each program's journeys and
templates (with previews on sample data), and suppressed addresses. Writes go through
`goodword.messaging.services`; how messages are decided and sent is docs/messaging.md."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.db.models import Q
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from goodword.api.v1.auth import workspace_of
from goodword.api.v1.pagination import MAX_LIMIT, paginate
from goodword.api.v1.rewards import actor_of
from goodword.api.v1.schemas import ERRORS, PatchIn, Unset
from goodword.lib.errors import DomainError, NotFound
from goodword.messaging import services
from goodword.messaging.channels import sms
from goodword.messaging.models import Message, MessagingSettings, Suppression
from goodword.programs.models import Program

router = Router(tags=["messaging"])

MessageStatus = Literal["pending", "sent", "failed", "skipped"]
# The journeys (`messaging.models.Journey`; tests/test_messaging_api.py keeps them in step).
JourneyName = Literal[
    "referral_request",
    "reward_earned",
    "reward_approved",
    "reward_fulfilled",
    "reward_reversed",
    "reward_expiring",
    "thank_you",
    "friend_invite",
    "remind_share",
    "remind_friend",
    "coupon_expiring",
    "staff_new_referral",
    "staff_review_waiting",
    "staff_low_coupons",
    "staff_webhook_failing",
    "staff_payouts_due",
    "kpi_digest",
]
Strict = Field(strict=True)
# Values are the service's to check, with its codes (`invalid_color`, `invalid_time_zone`), not
# a generic `validation_error`; the schema only says what type each is.
Bool = Annotated[bool, Strict]
Int = Annotated[int, Strict]


class MessageOut(Schema):
    id: str
    program: str | None
    participant: str | None = Field(description="the recipient's external_id")
    journey: str
    channel: str = Field(description="email, sms or slack")
    transactional: bool = Field(description="a reward notice: sent whatever marketing choices")
    referral: str | None
    reward: str | None
    to: str = Field(description="the address it went to; empty until it is sent")
    language: str
    status: str = Field(description="pending, sent, failed or skipped")
    skip_reason: str | None = Field(description="why it was not sent, when skipped")
    error: str | None = Field(description="the last failure: the provider's words, or template")
    attempts: int
    subject: str
    template: str = Field(description='"default", or the template and version ("tpl_…:3")')
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="when it is due, while pending")
    sent_at: datetime | None


class MessageDetail(MessageOut):
    text: str
    html: str


class MessageList(Schema):
    data: list[MessageOut]
    next_cursor: str | None


class SettingsOut(Schema):
    is_active: bool = Field(description="false: nothing is sent (the default)")
    from_name: str = Field(description="the sender's name; empty: the workspace's name")
    reply_to: str
    language: str = Field(description="for recipients whose language is not written")
    time_zone: str = Field(description="for recipients without one (quiet hours)")
    brand_color: str
    logo_url: str
    weekly_cap: int = Field(description="non-transactional messages per recipient in 7 days")
    quiet_start: int = Field(description="hour of the recipient's day quiet hours start")
    quiet_end: int = Field(description="hour they end; equal to quiet_start: no quiet hours")
    require_consent: bool = Field(description="non-transactional messages need consent")
    postal_address: str = Field(description="printed in every email's footer; lines by \\n")
    sms_enabled: bool = Field(description="also text the journeys programs send by text")
    phone_region: str = Field(
        description='the country of phone numbers written without a country code ("": none)'
    )
    sms_configured: bool = Field(description="false: SMS_URL is not set, no text is sent")
    updated_at: datetime | None = Field(description="null: never changed, the defaults apply")


class SettingsPatch(PatchIn):
    is_active: Bool | Unset = None
    from_name: str | Unset = None
    reply_to: str | Unset = Field(default=None, description='an email address, or ""')
    language: str | Unset = Field(default=None, description="en or it")
    time_zone: str | Unset = Field(default=None, description="an IANA name: Europe/Rome")
    brand_color: str | Unset = Field(default=None, description="#RRGGBB")
    logo_url: str | Unset = Field(default=None, description='an http(s) URL, or ""')
    weekly_cap: Int | Unset = Field(default=None, description="0 to 50")
    quiet_start: Int | Unset = Field(default=None, description="0 to 23")
    quiet_end: Int | Unset = Field(default=None, description="0 to 23")
    require_consent: Bool | Unset = None
    postal_address: str | Unset = Field(
        default=None, description="your business's postal address, at most 300 characters"
    )
    sms_enabled: Bool | Unset = None
    phone_region: str | Unset = Field(default=None, description='IT, US, GB…, or ""')


class JourneyOut(Schema):
    journey: str
    name: str
    transactional: bool
    is_active: bool
    delay_days: int = Field(
        description="referral_request: days after the purchase (0); remind_share: after "
        "enrolment (3); remind_friend: after the referral (5); coupon_expiring: before the "
        "coupon expires (3); 0 for the other journeys"
    )
    min_nps: int | None = Field(description="referral_request: lowest NPS answer asked")
    is_default: bool = Field(description="true: never set, the defaults apply")
    updated_at: datetime | None
    sms: bool = Field(description="also sent by text (referral_request and reward notices)")


class JourneyList(Schema):
    data: list[JourneyOut]


class JourneyIn(Schema):
    model_config = {"extra": "forbid"}

    is_active: Bool = True
    delay_days: Int | None = Field(
        default=None,
        description="referral_request (0 to 365) and the reminders (1 to 365); omitted or "
        "null: the journey's default",
    )
    min_nps: Int | None = Field(default=None, description="referral_request only: 0 to 10")
    sms: Bool = Field(
        default=False,
        description="also by text: referral_request, reward_earned, reward_approved, "
        "reward_fulfilled",
    )


class Parts(Schema):
    subject: str
    html: str
    text: str
    sms: str


class TemplateSummary(Schema):
    journey: str
    language: str
    segment: str = Field(
        description='for recipients whose `segment` attribute is this; "": for everyone else'
    )
    source: str = Field(description='"own" (the program\'s wording) or "default"')
    id: str | None
    version: int | None
    updated_at: datetime | None


class TemplateList(Schema):
    data: list[TemplateSummary]


class TemplateOut(TemplateSummary, Parts):
    default: Parts = Field(description="the default wording, to start from or go back to")
    created_at: datetime | None


class TemplateIn(Schema):
    model_config = {"extra": "forbid"}

    subject: str = ""
    html: str = ""
    text: str = ""
    sms: str = ""


class PreviewIn(PatchIn):
    subject: str | Unset = None
    html: str | Unset = None
    text: str | Unset = None
    sms: str | Unset = None


class PreviewOut(Schema):
    subject: str
    text: str
    html: str = Field(description="the whole email")
    sms: str = Field(description="empty for a journey never sent by text")
    template: str = Field(description='"default", "tpl_…:<version>", or "preview"')


class SuppressionOut(Schema):
    channel: str
    address: str = Field(description="normalised: the email in lower case, a number in E.164")
    reason: str = Field(description="unsubscribed, bounced, complained or stopped")
    created_at: datetime


class SuppressionList(Schema):
    data: list[SuppressionOut]
    next_cursor: str | None = Field(description="channel:address of the last row")


class SuppressionIn(Schema):
    model_config = {"extra": "forbid"}

    channel: str = Field(default="email", description="email or sms")
    address: str
    reason: str = Field(default="unsubscribed", description="or bounced, complained, stopped")


def _or_none(value: str) -> str | None:
    return value or None


def render_message(m: Message) -> dict[str, Any]:
    return {
        "id": m.public_id,
        "program": m.program.public_id if m.program else None,
        "participant": m.participant.external_id if m.participant else None,
        "journey": m.journey,
        "channel": m.channel,
        "transactional": m.transactional,
        "referral": _or_none(m.referral_public_id),
        "reward": _or_none(m.reward_public_id),
        "to": m.to,
        "language": m.language,
        "status": m.status,
        "skip_reason": _or_none(m.skip_reason),
        "error": _or_none(m.error),
        "attempts": m.attempts,
        "subject": m.subject,
        "template": m.template,
        "created_at": m.created_at,
        "next_attempt_at": m.next_attempt_at if m.status == Message.Status.PENDING else None,
        "sent_at": m.sent_at,
    }


def render_settings(s: MessagingSettings) -> dict[str, Any]:
    fields = {name: getattr(s, name) for name in services.SETTINGS_FIELDS}
    return {
        **fields,
        "sms_configured": sms.is_enabled(),
        "updated_at": s.updated_at if s.pk else None,
    }


def render_journey(view: services.JourneyView) -> dict[str, Any]:
    return vars(view).copy()


def render_template_summary(view: services.TemplateView) -> dict[str, Any]:
    own = view.own
    return {
        "journey": view.journey,
        "language": view.language,
        "segment": view.segment,
        "source": "own" if own else "default",
        "id": own.public_id if own else None,
        "version": own.version if own else None,
        "updated_at": own.updated_at if own else None,
    }


def render_template(view: services.TemplateView) -> dict[str, Any]:
    return {
        **render_template_summary(view),
        **view.parts,
        "default": view.default,
        "created_at": view.own.created_at if view.own else None,
    }


def render_suppression(s: Suppression) -> dict[str, Any]:
    return {
        "channel": s.channel,
        "address": s.address,
        "reason": s.reason,
        "created_at": s.created_at,
    }


def get_program(request: HttpRequest, program_id: str) -> Program:
    qs = Program.objects.for_workspace(workspace_of(request))
    program: Program = get_object_or_404(qs, public_id=program_id)
    return program


def _messages(request: HttpRequest) -> Any:
    qs = Message.objects.for_workspace(workspace_of(request))
    return qs.select_related("program", "participant")


# The message log


@router.get("/messages", response={200: MessageList, **ERRORS})
def list_messages(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = 20,
    participant: str | None = None,
    referral: str | None = None,
    journey: JourneyName | None = None,
    status: MessageStatus | None = None,
) -> dict[str, Any]:
    """Messages, newest first: queued, sent, failed and skipped (with the reason).
    `participant` is the recipient's external_id or id (`par_…`)."""
    qs = _messages(request)
    if participant:
        qs = qs.filter(
            Q(participant__external_id=participant) | Q(participant__public_id=participant)
        )
    if referral:
        qs = qs.filter(referral_public_id=referral)
    if journey:
        qs = qs.filter(journey=journey)
    if status:
        qs = qs.filter(status=status)
    return paginate(qs, cursor=cursor, limit=limit, render=render_message)


@router.get("/messages/{message_id}", response={200: MessageDetail, **ERRORS})
def read_message(request: HttpRequest, message_id: str) -> dict[str, Any]:
    """One message with what it said: its subject, plain text and HTML as sent."""
    message: Message = get_object_or_404(_messages(request), public_id=message_id)
    return {**render_message(message), "text": message.text, "html": message.html}


# Settings


@router.get("/messaging", response={200: SettingsOut, **ERRORS})
def read_settings(request: HttpRequest) -> dict[str, Any]:
    return render_settings(services.settings_of(workspace_of(request)))


@router.patch("/messaging", response={200: SettingsOut, **ERRORS})
def change_settings(request: HttpRequest, body: SettingsPatch) -> dict[str, Any]:
    row = services.update_settings(
        workspace=workspace_of(request),
        changes=body.model_dump(exclude_unset=True),
        actor=actor_of(request),
    )
    return render_settings(row)


# Journeys


@router.get("/programs/{program_id}/journeys", response={200: JourneyList, **ERRORS})
def list_journeys(request: HttpRequest, program_id: str) -> dict[str, Any]:
    """Every journey with its setting (the defaults when it was never set)."""
    program = get_program(request, program_id)
    return {"data": [render_journey(v) for v in services.journeys_of(program)]}


@router.put("/programs/{program_id}/journeys/{journey}", response={200: JourneyOut, **ERRORS})
def set_journey(
    request: HttpRequest, program_id: str, journey: str, body: JourneyIn
) -> dict[str, Any]:
    program = get_program(request, program_id)
    services.set_journey(
        program=program,
        journey=journey,
        is_active=body.is_active,
        delay_days=body.delay_days,
        min_nps=body.min_nps,
        actor=actor_of(request),
        sms=body.sms,
    )
    return render_journey(services.journey_of(program=program, journey=journey))


# Templates

TEMPLATE = "/programs/{program_id}/templates/{journey}/{language}"


@router.get("/programs/{program_id}/templates", response={200: TemplateList, **ERRORS})
def list_templates(request: HttpRequest, program_id: str) -> dict[str, Any]:
    """Every journey in every language: the program's own wording, or the default."""
    program = get_program(request, program_id)
    return {"data": [render_template_summary(v) for v in services.templates_of(program)]}


# `?segment=vip`: the program's wording for recipients whose `segment` attribute is "vip";
# none (""): the wording for everyone.


@router.get(TEMPLATE, response={200: TemplateOut, **ERRORS})
def read_template(
    request: HttpRequest, program_id: str, journey: str, language: str, segment: str = ""
) -> dict[str, Any]:
    program = get_program(request, program_id)
    return render_template(
        services.template_of(program=program, journey=journey, language=language, segment=segment)
    )


@router.put(TEMPLATE, response={200: TemplateOut, **ERRORS})
def save_template(
    request: HttpRequest,
    program_id: str,
    journey: str,
    language: str,
    body: TemplateIn,
    segment: str = "",
) -> dict[str, Any]:
    """Save the program's own wording; 422 `template_invalid` names the part and the line."""
    program = get_program(request, program_id)
    services.save_template(
        program=program,
        journey=journey,
        language=language,
        segment=segment,
        **body.model_dump(),
        actor=actor_of(request),
    )
    return render_template(
        services.template_of(program=program, journey=journey, language=language, segment=segment)
    )


@router.delete(TEMPLATE, response={204: None, **ERRORS})
def delete_template(
    request: HttpRequest, program_id: str, journey: str, language: str, segment: str = ""
) -> Status[None]:
    """Go back to the default wording, or for a segment to the wording for everyone (204 also
    when there was none of its own)."""
    program = get_program(request, program_id)
    services.delete_template(
        program=program,
        journey=journey,
        language=language,
        segment=segment,
        actor=actor_of(request),
    )
    return Status(204, None)


@router.post(TEMPLATE + "/preview", response={200: PreviewOut, **ERRORS})
def preview_template(
    request: HttpRequest,
    program_id: str,
    journey: str,
    language: str,
    body: PreviewIn | None = None,
    segment: str = "",
) -> dict[str, Any]:
    """Render on sample data the parts sent (as if saved), or, with none, the saved wording."""
    program = get_program(request, program_id)
    parts = body.model_dump(exclude_unset=True) if body else {}
    shown = services.preview(
        program=program, journey=journey, language=language, parts=parts or None, segment=segment
    )
    return vars(shown).copy()


# Suppressions


@router.get("/suppressions", response={200: SuppressionList, **ERRORS})
def list_suppressions(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = 20,
    channel: Literal["email", "sms"] | None = None,
    address: str | None = None,
) -> dict[str, Any]:
    """Addresses that get no more messages, newest first."""
    qs = Suppression.objects.for_workspace(workspace_of(request))
    if channel:
        qs = qs.filter(channel=channel)
    if address:
        qs = qs.filter(address=_lookup(channel or "email", address))
    return _page(qs, cursor, limit)


def _lookup(channel: str, address: str) -> str:
    try:
        return services.normalize_address(channel, address)
    except DomainError:
        return address.strip()  # not an address: it finds nothing


def _page(qs: Any, cursor: str | None, limit: int) -> dict[str, Any]:
    """Suppressions have no public id: the cursor is `channel:address` of the last row."""
    if not 1 <= limit <= MAX_LIMIT:
        raise DomainError(f"limit must be between 1 and {MAX_LIMIT}", code="invalid_limit")
    if cursor:
        channel, _, address = cursor.partition(":")
        anchor = qs.filter(channel=channel, address=address).values_list("pk", flat=True).first()
        if anchor is None:
            raise DomainError("cursor is not valid for this list", code="invalid_cursor")
        qs = qs.filter(pk__lt=anchor)
    rows = list(qs.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more else None
    return {
        "data": [render_suppression(s) for s in rows],
        "next_cursor": f"{last.channel}:{last.address}" if last else None,
    }


@router.post("/suppressions", response={200: SuppressionOut, 201: SuppressionOut, **ERRORS})
def add_suppression(request: HttpRequest, body: SuppressionIn) -> Status[dict[str, Any]]:
    """Send an address nothing more: 201 when new, 200 when it already was (its reason kept,
    except that a bounce, complaint or STOP replaces an unsubscribe)."""
    row, created = services.suppress_address(
        workspace=workspace_of(request),
        channel=body.channel,
        address=body.address,
        reason=body.reason,
    )
    return Status(201 if created else 200, render_suppression(row))


@router.delete("/suppressions/{channel}/{address}", response={204: None, **ERRORS})
def delete_suppression(request: HttpRequest, channel: str, address: str) -> Status[None]:
    """Let an address receive messages again; 404 when it was not suppressed."""
    if not services.unsuppress_address(
        workspace=workspace_of(request), channel=channel, address=address
    ):
        raise NotFound(f"{address} is not suppressed for {channel}")
    return Status(204, None)
