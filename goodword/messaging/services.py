"""Writes of the messaging settings: a workspace's sender and manners, a program's journeys and
its own wording of them, and the addresses that get nothing more. One function per use case,
each in a transaction; a refused write raises `goodword.lib.errors.Invalid` with a stable code
and writes nothing. The API and the dashboard call these and nothing else.

Reads that both need (every journey with its effective setting, every template with its
source) are here too, beside the writes whose rules they show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from goodword.accounts.models import Workspace
from goodword.events import services as events
from goodword.lib import ids
from goodword.lib.emails import normalize_email
from goodword.lib.errors import Invalid
from goodword.messaging import checks, content, defaults, phones, reminders, render, unsubscribe
from goodword.messaging.channels import email
from goodword.messaging.channels.errors import ChannelError
from goodword.messaging.journeys import DEFAULT_DELAY, LANGUAGES, default_delay
from goodword.messaging.models import (
    PROGRAM_JOURNEYS,
    TRANSACTIONAL,
    Channel,
    Journey,
    JourneySetting,
    MessageTemplate,
    MessagingSettings,
    Suppression,
)
from goodword.messaging.samples import Preview, render_sample
from goodword.programs.models import Program

__all__ = [
    "SETTINGS_FIELDS",
    "JourneyView",
    "Preview",
    "TemplateView",
    "delete_template",
    "journey_of",
    "journeys_of",
    "normalize_address",
    "preview",
    "save_template",
    "send_test",
    "set_journey",
    "settings_of",
    "suppress_address",
    "template_of",
    "templates_of",
    "unsuppress_address",
    "update_settings",
]

PARTS = ("subject", "html", "text", "sms")
MAX_DELAY_DAYS = 365
MAX_SEGMENT = 64
SETTINGS_FIELDS = checks.SETTINGS_FIELDS
# Settings


def settings_of(workspace: Workspace) -> MessagingSettings:
    """The workspace's settings, or an unsaved row with the defaults when it has none."""
    found = MessagingSettings.objects.for_workspace(workspace).first()
    return found or MessagingSettings(workspace=workspace)


@transaction.atomic
def update_settings(
    *, workspace: Workspace, changes: dict[str, Any], actor: str | None
) -> MessagingSettings:
    """Apply `changes` (names from `SETTINGS_FIELDS`) to the workspace's settings, creating
    them on first use. Every value is checked before anything is written. Records
    `messaging.updated` with the names of the fields that changed, when any did."""
    cleaned = {name: checks.clean_setting(name, value) for name, value in changes.items()}
    row, _ = MessagingSettings.objects.select_for_update().get_or_create(workspace=workspace)
    changed = sorted(name for name, value in cleaned.items() if getattr(row, name) != value)
    if not changed:
        return row
    for name in changed:
        setattr(row, name, cleaned[name])
    row.save(update_fields=[*changed, "updated_at"])
    data: dict[str, Any] = {"fields": changed}
    if actor:
        data["actor"] = actor
    events.record(
        "messaging.updated", workspace_id=workspace.pk, subject_id=workspace.public_id, data=data
    )
    return row


# Journeys


@dataclass(frozen=True)
class JourneyView:
    """A journey of a program as it works now: its own setting, or the defaults."""

    journey: str
    name: str
    transactional: bool
    is_active: bool
    delay_days: int
    min_nps: int | None
    is_default: bool  # no setting saved: the defaults apply
    updated_at: datetime | None
    sms: bool = False  # also sent by text (`defaults.SMS_SENT` journeys only)


def journeys_of(program: Program) -> list[JourneyView]:
    """Every journey of the program, in the order of `Journey`."""
    rows = {
        s.journey: s
        for s in JourneySetting.objects.for_workspace(program.workspace_id).filter(program=program)
    }
    return [_journey_view(journey, rows.get(journey)) for journey in PROGRAM_JOURNEYS]


def journey_of(*, program: Program, journey: str) -> JourneyView:
    found = (
        JourneySetting.objects.for_workspace(program.workspace_id)
        .filter(program=program, journey=_journey(journey))
        .first()
    )
    return _journey_view(Journey(journey), found)


def _journey_view(journey: Journey, row: JourneySetting | None) -> JourneyView:
    return JourneyView(
        journey=journey.value,
        name=str(journey.label),
        transactional=journey in TRANSACTIONAL,
        is_active=row.is_active if row else True,
        delay_days=row.delay_days if row else default_delay(journey),
        min_nps=row.min_nps if row else None,
        is_default=row is None,
        updated_at=row.updated_at if row else None,
        sms=row.sms if row else False,
    )


def _journey(journey: str) -> str:
    if journey not in PROGRAM_JOURNEYS:
        raise Invalid(
            f"{journey!r} is not a journey; the journeys are: " + ", ".join(PROGRAM_JOURNEYS),
            code="unknown_journey",
            details={"journey": journey, "journeys": list(PROGRAM_JOURNEYS)},
        )
    return journey


@transaction.atomic
def set_journey(
    *,
    program: Program,
    journey: str,
    is_active: bool,
    delay_days: int | None,
    min_nps: int | None,
    actor: str | None,
    sms: bool = False,
) -> JourneySetting:
    """Set how a program runs one journey. `delay_days` is the referral request's (days after
    the purchase) and the reminders' (after enrolment or the referral, before a coupon
    expires; None: the journey's default); `min_nps` the referral request's (the lowest NPS
    answer asked); other journeys refuse them. `sms`: also send it by text, for the journeys
    that may go by text. Records `program.messaging_updated` when what the journey does
    changed; a reminder's changed delay applies to those already queued."""
    if delay_days is None:
        delay_days = default_delay(_journey(journey))
    _check_journey_options(_journey(journey), delay_days, min_nps)
    if sms and journey not in defaults.SMS_SENT:
        raise Invalid(
            f"{journey} is never sent by text message; leave sms out or false",
            code="not_for_journey",
            details={"fields": ["sms"], "journey": journey},
        )
    wanted = {"is_active": is_active, "delay_days": delay_days, "min_nps": min_nps, "sms": sms}
    # A new row starts with the defaults, which are what the journey did without one.
    row, _ = JourneySetting.objects.select_for_update().get_or_create(
        program=program,
        journey=journey,
        defaults={"workspace_id": program.workspace_id, "delay_days": default_delay(journey)},
    )
    changed = sorted(name for name, value in wanted.items() if getattr(row, name) != value)
    if changed:
        for name in changed:
            setattr(row, name, wanted[name])
        row.save(update_fields=[*changed, "updated_at"])
        _record_program(program, actor, journey=journey, language=None, fields=changed)
        if "delay_days" in changed and journey in DEFAULT_DELAY:
            reminders.reschedule(program=program, journey=journey, now=timezone.now())
    return row


# The journeys that wait `delay_days`: the referral request and the reminders.
DELAYED = (Journey.REFERRAL_REQUEST, *DEFAULT_DELAY)


def _check_journey_options(journey: str, delay_days: int, min_nps: int | None) -> None:
    # A reminder waits at least a day: at once, nobody has had time to act.
    low = 1 if journey in DEFAULT_DELAY else 0
    checks.integer("delay_days", delay_days, low, MAX_DELAY_DAYS, "invalid_delay")
    if min_nps is not None:
        checks.integer("min_nps", min_nps, 0, 10, "invalid_min_nps")
    given = {}
    if delay_days != 0 and journey not in DELAYED:
        given["delay_days"] = ", ".join(DELAYED[:-1]) + f" and {DELAYED[-1]}"
    if min_nps is not None and journey != Journey.REFERRAL_REQUEST:
        given["min_nps"] = Journey.REFERRAL_REQUEST.value
    if given:
        applies = ", and ".join(
            f"{name} {'to' if i else 'only applies to'} {where}"
            for i, (name, where) in enumerate(given.items())
        )
        raise Invalid(
            f"{applies}; leave {'them' if len(given) > 1 else 'it'} out for {journey}",
            code="not_for_journey",
            details={"fields": list(given), "journey": journey},
        )


def _record_program(
    program: Program,
    actor: str | None,
    *,
    journey: str,
    language: str | None,
    fields: list[str],
    version: int | None = None,
    segment: str = "",
) -> None:
    data: dict[str, Any] = {
        "journey": journey,
        "language": language,
        "fields": fields,
        "version": version,
    }
    if segment:
        data["segment"] = segment
    if actor:
        data["actor"] = actor
    events.record(
        "program.messaging_updated",
        workspace_id=program.workspace_id,
        subject_id=program.public_id,
        data=data,
    )


# Templates


@dataclass(frozen=True)
class TemplateView:
    """A journey in a language: the program's own wording, or the default one."""

    journey: str
    language: str
    own: MessageTemplate | None
    parts: dict[str, str]  # the own parts as saved, else the default's
    default: dict[str, str]  # the default wording's parts
    segment: str = ""  # "": the wording for everyone


def default_parts(journey: str, language: str) -> dict[str, str]:
    """The default wording's four parts ("" for the text of a journey never sent by text)."""
    out = {}
    for part in PARTS:
        try:
            out[part] = defaults.default_template(journey, language, part)
        except KeyError:
            out[part] = ""
    return out


def templates_of(program: Program) -> list[TemplateView]:
    """Every journey in every language, in the order of `Journey` then `LANGUAGES`, each
    followed by the program's wordings of it for segments (by segment)."""
    own = {
        (t.journey, t.language, t.segment): t
        for t in MessageTemplate.objects.for_workspace(program.workspace_id).filter(program=program)
    }
    out = []
    for journey in PROGRAM_JOURNEYS:
        for language in LANGUAGES:
            out.append(_template_view(journey, language, own.get((journey, language, ""))))
            out.extend(
                _template_view(journey, language, own[key], segment=key[2])
                for key in sorted(own)
                if key[:2] == (journey, language) and key[2]
            )
    return out


def template_of(
    *, program: Program, journey: str, language: str, segment: str = ""
) -> TemplateView:
    """One journey in one language, for everyone or a segment; Invalid for a journey,
    language or segment that cannot be."""
    segment = clean_segment(segment)
    own = _own(program, _journey(journey), _template_language(language), segment)
    return _template_view(journey, language, own, segment=segment)


def clean_segment(segment: str) -> str:
    """A segment as templates keep it: the `segment` attribute's value, one line of at most
    64 characters ("": everyone)."""
    value = segment.strip()
    if len(value) > MAX_SEGMENT or any(ord(c) < 32 for c in value):
        raise Invalid(
            f"segment must be one line of at most {MAX_SEGMENT} characters, the value of the "
            "recipients' segment attribute",
            code="invalid_segment",
            details={"segment": segment[:100]},
        )
    return value


def _own(program: Program, journey: str, language: str, segment: str) -> MessageTemplate | None:
    return (
        MessageTemplate.objects.for_workspace(program.workspace_id)
        .filter(program=program, journey=journey, language=language, segment=segment)
        .first()
    )


def _template_view(
    journey: str, language: str, own: MessageTemplate | None, *, segment: str = ""
) -> TemplateView:
    default = default_parts(journey, language)
    parts = {part: getattr(own, part) for part in PARTS} if own else dict(default)
    return TemplateView(journey, language, own, parts, default, segment)


def _template_language(language: str) -> str:
    if language not in LANGUAGES:
        raise checks.unknown_language(language)
    return language


def check_parts(journey: str, parts: dict[str, str]) -> None:
    """Compile each non-empty part; Invalid `template_invalid` naming the first that cannot
    be, `not_for_journey` for a text message of a journey never sent by text."""
    if parts.get("sms", "").strip() and journey not in defaults.SMS_JOURNEYS:
        raise Invalid(
            f"{journey} is never sent by text message; leave sms empty",
            code="not_for_journey",
            details={"fields": ["sms"], "journey": journey},
        )
    for part in PARTS:
        source = parts.get(part, "")
        if not source.strip():
            continue
        try:
            render.check(source, html=part == "html")
        except render.TemplateFailed as exc:
            raise template_invalid(part, exc.reason) from None


def template_invalid(part: str, reason: str) -> Invalid:
    return Invalid(
        f"the {part} part cannot be used: {reason}",
        code="template_invalid",
        details={"part": part, "reason": reason},
    )


@transaction.atomic
def save_template(
    *,
    program: Program,
    journey: str,
    language: str,
    subject: str,
    html: str,
    text: str,
    sms: str,
    actor: str | None,
    segment: str = "",
) -> MessageTemplate:
    """Save the program's own wording of a journey in a language; an empty part uses the
    default's (an empty `text` is made from `html`). Each change adds 1 to `version`; saving
    the same words again changes nothing. Records `program.messaging_updated`."""
    parts = {"subject": subject, "html": html, "text": text, "sms": sms}
    _journey(journey)
    _template_language(language)
    segment = clean_segment(segment)
    if not any(value.strip() for value in parts.values()):
        raise Invalid(
            "every part is empty; write at least one, or delete the template to use the "
            "default wording",
            code="template_empty",
        )
    check_parts(journey, parts)
    now = timezone.now()
    row, created = MessageTemplate.objects.select_for_update().get_or_create(
        program=program,
        journey=journey,
        language=language,
        segment=segment,
        defaults={"workspace_id": program.workspace_id, **parts, "created_at": now,
                  "updated_at": now},
    )  # fmt: skip
    if created:
        changed = sorted(part for part, value in parts.items() if value)
    else:
        changed = sorted(part for part, value in parts.items() if getattr(row, part) != value)
        if not changed:
            return row
        for part in changed:
            setattr(row, part, parts[part])
        row.version += 1
        row.updated_at = now
        row.save(update_fields=[*changed, "version", "updated_at"])
    _record_program(
        program,
        actor,
        journey=journey,
        language=language,
        fields=changed,
        version=row.version,
        segment=segment,
    )
    return row


@transaction.atomic
def delete_template(
    *, program: Program, journey: str, language: str, actor: str | None, segment: str = ""
) -> bool:
    """Go back to the default wording of a journey in a language (for a segment: to the
    program's wording for everyone). False when there was no such wording; else records
    `program.messaging_updated` naming the parts it had."""
    segment = clean_segment(segment)
    own = _own(program, _journey(journey), _template_language(language), segment)
    if own is None:
        return False
    had = sorted(part for part in PARTS if getattr(own, part))
    own.delete()
    _record_program(program, actor, journey=journey, language=language, fields=had, segment=segment)
    return True


def preview(
    *,
    program: Program,
    journey: str,
    language: str,
    parts: dict[str, str] | None,
    segment: str = "",
) -> Preview:
    """Render a journey on sample data (`samples.py`): the given parts as if they were saved,
    or, with None, the saved wording (or the default). Invalid `template_invalid` names the
    part and the line that cannot be rendered."""
    _journey(journey)
    _template_language(language)
    segment = clean_segment(segment)
    if parts is not None:
        unknown = sorted(set(parts) - set(PARTS))
        if unknown:
            raise Invalid(
                f"{unknown[0]} is not a template part; the parts are: {', '.join(PARTS)}",
                code="unknown_part",
                details={"part": unknown[0]},
            )
        check_parts(journey, parts)
    try:
        return render_sample(
            program=program, journey=journey, language=language, parts=parts, segment=segment
        )
    except content.PartFailed as exc:
        raise template_invalid(exc.part, exc.reason) from None


# Suppressions


def _channel(channel: str) -> str:
    if channel not in Channel.values:
        raise Invalid(
            f"{channel!r} is not a channel; use one of: " + ", ".join(Channel.values),
            code="unknown_channel",
            details={"channel": channel},
        )
    return channel


def normalize_address(channel: str, address: str) -> str:
    """The one spelling of an address that suppressions are kept under: a normalised email
    (`normalize_email`) or an E.164 number."""
    if _channel(channel) == Channel.SMS:
        try:
            return phones.normalize_phone(address, region=None)
        except phones.InvalidPhone as exc:
            raise Invalid(
                f"{exc.reason}; write the number with its country code, such as +39 333 123 4567",
                code="invalid_phone",
            ) from None
    try:
        validate_email(address.strip())
    except ValidationError:
        raise Invalid(
            "address must be an email address, such as name@example.org", code="invalid_email"
        ) from None
    return normalize_email(address)


@transaction.atomic
def suppress_address(
    *, workspace: Workspace, channel: str, address: str, reason: str = "unsubscribed"
) -> tuple[Suppression, bool]:
    """Send the address nothing more (`unsubscribed`: no marketing; a bounce, complaint or
    STOP: nothing at all). Returns the row and whether it is new; an existing row keeps its
    reason, except that a hard reason replaces `unsubscribed`."""
    normalized = normalize_address(channel, address)
    if reason not in Suppression.Reason.values:
        raise Invalid(
            f"{reason!r} is not a reason; use one of: " + ", ".join(Suppression.Reason.values),
            code="unknown_reason",
            details={"reason": reason},
        )
    created = unsubscribe.suppress(
        workspace_id=workspace.pk,
        channel=channel,
        address=normalized,
        reason=reason,
        now=timezone.now(),
    )
    row = Suppression.objects.for_workspace(workspace).get(channel=channel, address=normalized)
    return row, created


@transaction.atomic
def unsuppress_address(*, workspace: Workspace, channel: str, address: str) -> bool:
    """Let the address receive messages again; False when it was not suppressed."""
    try:
        normalized = normalize_address(channel, address)
    except Invalid as exc:
        if exc.code == "unknown_channel":
            raise
        return False  # not an address, so not a suppressed one
    deleted, _ = (
        Suppression.objects.for_workspace(workspace)
        .filter(channel=channel, address=normalized)
        .delete()
    )
    return deleted > 0


# A test of the wording, by email (the dashboard's "Send a test to me"; added by h_dash)

TEST_SENDS = 5  # tests one staff member may send in TEST_WINDOW seconds
TEST_WINDOW = 600


def send_test(
    *,
    program: Program,
    journey: str,
    language: str,
    parts: dict[str, str] | None,
    to: str,
    requested_by: str,
) -> Preview:
    """Email `preview`'s message (the same layout, on sample data) to `to`, the staff member
    who asks, with "[Test]" before the subject. At most `TEST_SENDS` per `requested_by` in
    `TEST_WINDOW` seconds, counted in Django's cache (a template that fails counts nothing).
    Codes: preview's, no_address, too_many_tests, send_failed."""
    if not to:
        raise Invalid("your account has no email address to send a test to", code="no_address")
    shown = preview(program=program, journey=journey, language=language, parts=parts)
    key = f"messaging:test-sends:{requested_by}"
    cache.add(key, 0, timeout=TEST_WINDOW)
    if cache.incr(key) > TEST_SENDS:
        raise Invalid(
            f"at most {TEST_SENDS} tests every {TEST_WINDOW // 60} minutes; try again later",
            code="too_many_tests",
        )
    found = settings_of(program.workspace)
    test = email.Email(
        message_id=ids.new_id("test"),
        to=to,
        from_name=found.from_name or program.workspace.name,
        reply_to=found.reply_to,
        subject=f"[Test] {shown.subject}",
        text=shown.text,
        html=shown.html,
        unsubscribe_url="",  # the sample's link unsubscribes nobody; no header for it
    )
    conn = email.connection()
    try:
        email.send(test, conn=conn)
    except ChannelError as exc:
        raise Invalid(f"the test could not be sent: {exc.reason}", code="send_failed") from None
    finally:
        conn.close()
    return shown
