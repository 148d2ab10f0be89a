"""The sender: claim due messages, decide each on the facts now, render, send, record.

A claim pushes its messages' `next_attempt_at` a lease ahead in one short transaction (under
`SKIP LOCKED` on PostgreSQL, so senders take different ones). Its messages are then sent over
up to `MESSAGE_EMAIL_SESSIONS` mail sessions at once, each in a thread with a database
connection of its own (sending waits on the mail server and the database far more than it
computes), and each message's outcome is written right after its send, in its own statement.
One recipient's messages go out one after another in one session, in claim order, so the
weekly cap counts each. So a sender killed mid-claim leaves:
- messages it had not reached: leased, due again when the lease ends, sent then;
- the messages it was sending, one per session: each that the provider had accepted before
  the kill, its outcome not yet written, is sent again when the lease ends, under the same
  `Message-ID`.
That window (at most `MESSAGE_EMAIL_SESSIONS` messages per sender, each between the
provider's answer and our write) is the whole of "at least once": no message is lost, and no
cause is told twice otherwise. A caller inside a transaction (a test's) sends in one session
on its own connection, which alone sees its uncommitted rows.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.conf import settings as django_settings
from django.db import close_old_connections, connections, transaction
from django.db import connection as db
from django.db.models import F
from django.utils import timezone

from goodword.lib.emails import normalize_email
from goodword.lib.errors import Conflict
from goodword.messaging import (
    content,
    fanout,
    journeys,
    loading,
    reminders,
    render,
    staff_send,
    stops,
    texts,
    unsubscribe,
)
from goodword.messaging.channels import email, sms
from goodword.messaging.channels.errors import ChannelError
from goodword.messaging.models import (
    STAFF,
    Channel,
    Journey,
    Message,
    MessagingSettings,
)
from goodword.participants.models import Advocate, Participant
from goodword.participants.services import enrol_advocate, ineligibility
from goodword.programs.models import Program
from goodword.referrals.models import Invite
from goodword.rewards.models import Reward

logger = logging.getLogger(__name__)

BATCH = 200  # messages per claim
MAX_ATTEMPTS = 8  # tries before a message fails (about 4 hours of backoff)
Pending = Message.Status.PENDING
# A reward notice that a later state makes pointless (see journeys.Facts.superseded).
_STILL = {
    Journey.REWARD_EARNED: {Reward.Status.PENDING},
    Journey.REWARD_APPROVED: {Reward.Status.APPROVED, Reward.Status.PENDING_FULFILMENT},
}


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(60 * 2 ** (attempts - 1), 3600))


def send_due(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Claim and send up to `limit` due messages; return how many were claimed."""
    now = now or timezone.now()
    claimed = _claim(now, limit)
    if not claimed:
        return 0
    loaded = loading.Loaded.load(claimed, now)
    lanes = _lanes(claimed, loaded)
    sessions = min(max(1, int(django_settings.MESSAGE_EMAIL_SESSIONS)), len(lanes))
    if sessions == 1 or db.in_atomic_block:
        _send_lanes(lanes, loaded, now)
    else:
        _send_in_parallel(lanes, loaded, now, sessions)
    return len(claimed)


def _lanes(claimed: list[Message], loaded: loading.Loaded) -> list[list[Message]]:
    """The claim's messages by recipient address (normalized), each lane in claim order: one
    address's messages go out one after another, so decide() sees the weekly count that the
    one before added (`Loaded.sent`, `Loaded.sent_to`)."""
    lanes: dict[tuple[object, ...], list[Message]] = {}
    for message in claimed:
        invite = loaded.invites.get(loading.invite_id(message))
        person = loaded.people.get(message.participant_id or 0)
        address = invite.email if invite is not None else person.email if person else ""
        key: tuple[object, ...] = (
            (message.workspace_id, normalize_email(address))
            if address
            else ("participant", message.participant_id or f"message {message.pk}")
        )
        lanes.setdefault(key, []).append(message)
    return list(lanes.values())


def _send_lanes(lanes: Iterable[list[Message]], loaded: loading.Loaded, now: datetime) -> None:
    """Send the lanes' messages in one session: each message is a MAIL FROM on it."""
    conn = email.connection()
    try:
        for lane in lanes:
            for message in lane:
                if message.channel == Channel.EMAIL:
                    conn.open()  # at the first email only (a claim of texts needs none)
                _one(message, loaded, conn, now)
    finally:
        conn.close()


def _send_in_parallel(
    lanes: list[list[Message]], loaded: loading.Loaded, now: datetime, sessions: int
) -> None:
    """Send the lanes over `sessions` sessions at once, each thread taking the next lane when
    done with one (a slow recipient's server holds one session, not the claim)."""
    waiting = deque(lanes)

    def take() -> Iterable[list[Message]]:
        while True:
            try:
                yield waiting.popleft()  # atomic: two threads never take one lane
            except IndexError:
                return

    def session() -> None:
        try:
            _send_lanes(take(), loaded, now)
        finally:
            connections.close_all()  # this thread's own: a new one per claim

    with ThreadPoolExecutor(max_workers=sessions, thread_name_prefix="sender") as pool:
        futures = [pool.submit(session) for _ in range(sessions)]
    for future in futures:
        future.result()  # a session's error surfaces here; its messages come due after the lease


@transaction.atomic
def _claim(now: datetime, limit: int) -> list[Message]:
    due = Message.objects.filter(status=Pending, next_attempt_at__lte=now).order_by(
        "next_attempt_at", "pk"
    )
    if db.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True)
    rows = list(due[:limit])
    if rows:
        Message.objects.filter(pk__in=[m.pk for m in rows]).update(
            next_attempt_at=now + timedelta(seconds=django_settings.MESSAGE_LEASE_SECONDS),
            attempts=F("attempts") + 1,
        )
        for m in rows:
            m.attempts += 1
    return rows


def _invited_friend(invite: Invite) -> Participant:
    """The friend as a recipient: only an address (unsaved; the friend may be nobody's
    participant, and is not made one by being invited)."""
    return Participant(workspace_id=invite.workspace_id, name="", email=invite.email)


def _one(message: Message, loaded: loading.Loaded, conn: object, now: datetime) -> None:
    settings = loaded.settings.get(message.workspace_id) or MessagingSettings(
        workspace_id=message.workspace_id
    )
    if message.journey in STAFF:  # the business's own team: staff_send.py decides and writes
        _staff(
            message, settings.language, loaded.workspaces.get(message.workspace_id, ""), conn, now
        )
        return
    invite = loaded.invites.get(loading.invite_id(message))
    if invite is not None:
        person: Participant | None = _invited_friend(invite)
    else:
        person = loaded.people.get(message.participant_id or 0)
    program = loaded.programs.get(message.program_id or 0)
    facts = _facts(message, loaded, settings, person, program, now)
    verdict = journeys.decide(facts)
    if verdict.later is not None:
        _write(message, next_attempt_at=verdict.later, attempts=F("attempts") - 1)
        return
    if not verdict.send:
        _write(message, status=Message.Status.SKIPPED, skip_reason=verdict.skip)
        return
    assert person is not None  # noqa: S101 - decide() sends to someone
    advocate = invite.advocate if invite is not None else loaded.reminded.advocate(message)
    if message.journey == Journey.REFERRAL_REQUEST and program is not None:
        try:
            advocate, _ = enrol_advocate(program=program, participant=person)
        except Conflict:
            _write(message, status=Message.Status.SKIPPED, skip_reason="not_eligible")
            return
    if message.channel == Channel.SMS:
        ctx = _context(message, loaded, settings, person, program, advocate, verdict.language, "")
        _deliver_sms(message, loaded, ctx, person, now)
        return
    _deliver(message, loaded, settings, person, program, advocate, verdict.language, conn, now)


def _facts(
    message: Message,
    loaded: loading.Loaded,
    settings: MessagingSettings,
    person: Participant | None,
    program: Program | None,
    now: datetime,
) -> journeys.Facts:
    setting = loaded.journeys.get((message.program_id or 0, message.journey))
    manners = journeys.Manners(
        is_active=settings.is_active,
        journey_active=setting.is_active if setting else True,
        min_nps=setting.min_nps if setting else None,
        require_consent=settings.require_consent,
        weekly_cap=settings.weekly_cap,
        quiet_start=settings.quiet_start,
        quiet_end=settings.quiet_end,
        time_zone=settings.time_zone,
        language=settings.language,
        program_active=program is None or program.status == Program.Status.ACTIVE,
        program_language=program.language if program is not None else "",
        sms_active=sms.is_enabled() and settings.sms_enabled and bool(setting and setting.sms),
    )
    texting = message.channel == Channel.SMS
    recipient = None
    suppressed = ""
    sent = 0
    invite = loaded.invites.get(loading.invite_id(message))
    if invite is not None:
        recipient = _invite_recipient(invite)
        suppressed = loaded.suppressed.get((message.workspace_id, invite.email_normalized), "")
        sent = loaded.sent_to[(message.workspace_id, invite.email)]
    elif person is not None:
        attributes = _attributes(person)
        consent = attributes.get("marketing_consent")
        recipient = journeys.Recipient(
            email=person.email,
            language=_language(person),
            time_zone=_time_zone(person),
            is_test=person.test,
            consented=consent if isinstance(consent, bool) else None,
            nps_score=person.nps_score,
            ineligible=ineligibility(program, person, now)
            if program is not None and message.journey == Journey.REFERRAL_REQUEST
            else "",
            phone=loaded.phones.get(person.pk, "") if texting else "",
            sms_consented=_flag(attributes.get("sms_consent")),
        )
        key = (message.workspace_id, normalize_email(person.email))
        suppressed = loaded.suppressed.get(key, "") if person.email else ""
        sent = loaded.sent[person.pk]
        if texting:
            number = (message.workspace_id, recipient.phone)
            suppressed = loaded.texts_suppressed.get(number, "") if recipient.phone else ""
            sent = loaded.texts_sent[person.pk]
    reward = loaded.rewards.get(message.reward_public_id)
    still = _STILL.get(message.journey)  # type: ignore[call-overload]
    reminder = reminders.facts(
        message, loaded.reminded, program=program, reward=reward, setting=setting
    )
    return journeys.Facts(
        journey=message.journey,
        now=now,
        recipient=recipient,
        manners=manners,
        suppressed=suppressed,
        sent_this_week=sent,
        superseded=bool(still and reward is not None and reward.status not in still)
        or reminder.superseded,
        acted=reminder.acted,
        due_at=reminder.due_at,
        too_late_at=reminder.too_late_at,
        channel=message.channel,
    )


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _invite_recipient(invite: Invite) -> journeys.Recipient:
    """The invited friend, of whom we know only the address: the advocate's language (they
    wrote the note) and test flag; consented, by the consent the advocate recorded."""
    advocate = invite.advocate.participant
    return journeys.Recipient(
        email=invite.email,
        language=_language(advocate),
        time_zone="",
        is_test=advocate.test,
        consented=True,
        nps_score=None,
        ineligible="",
    )


def _attributes(person: Participant) -> dict[str, object]:
    return person.attributes if isinstance(person.attributes, dict) else {}


def _segment(person: Participant) -> str:
    segment = _attributes(person).get("segment")
    return segment if isinstance(segment, str) else ""


def _time_zone(person: Participant) -> str:
    attributes = _attributes(person)
    return str(attributes.get("time_zone") or attributes.get("timezone") or "")


def _language(person: Participant) -> str:
    attributes = _attributes(person)
    return str(attributes.get("language") or attributes.get("locale") or "")


def _deliver(
    message: Message,
    loaded: loading.Loaded,
    settings: MessagingSettings,
    person: Participant,
    program: Program | None,
    advocate: Advocate | None,
    language: str,
    conn: object,
    now: datetime,
) -> None:
    transactional = message.transactional
    unsubscribe_url = (
        "" if transactional else unsubscribe.url(message.workspace_id, "email", person.email)
    )
    ctx = _context(message, loaded, settings, person, program, advocate, language, unsubscribe_url)
    try:
        rendered = content.render_email(ctx)
    except render.TemplateFailed as exc:
        _write(message, status=Message.Status.FAILED, error=f"template: {exc.reason}"[:1000])
        return
    outgoing = email.Email(
        message_id=message.public_id,
        to=person.email,
        from_name=settings.from_name or ctx.workspace_name,
        reply_to=settings.reply_to,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        unsubscribe_url=unsubscribe_url,
    )
    kept = {
        "to": person.email,
        "language": language,
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "template": rendered.template,
    }
    try:
        provider_id = email.send(outgoing, conn=conn)
    except ChannelError as exc:
        _failed(message, exc, kept, now)
        return
    _write(message, status=Message.Status.SENT, sent_at=now, provider_id=provider_id, **kept)
    if not transactional:
        loaded.sent_to[(message.workspace_id, person.email)] += 1
        if person.pk:
            loaded.sent[person.pk] += 1


def _staff(
    message: Message, language: str, workspace_name: str, conn: object, now: datetime
) -> None:
    done = staff_send.deliver(message, language=language, workspace_name=workspace_name, conn=conn)
    if done.skip:
        _write(message, status=Message.Status.SKIPPED, skip_reason=done.skip)
    elif done.error is not None:
        _failed(message, done.error, done.kept, now)
    else:
        _write(
            message,
            status=Message.Status.SENT,
            sent_at=now,
            provider_id=done.provider_id,
            **done.kept,
        )


def _context(
    message: Message,
    loaded: loading.Loaded,
    settings: MessagingSettings,
    person: Participant,
    program: Program | None,
    advocate: Advocate | None,
    language: str,
    unsubscribe_url: str,
) -> content.Context:
    return content.Context(
        journey=message.journey,
        language=language,
        settings=settings,
        workspace_name=loaded.workspaces.get(message.workspace_id, ""),
        program=program,
        recipient=person,
        unsubscribe_url=unsubscribe_url,
        reward=loaded.rewards.get(message.reward_public_id),
        advocate=advocate,
        friend=loaded.friends.get(message.referral_public_id),
        data=_data(message, loaded),
        templates=loaded.templates,
        rules=loaded.rules.get(program.pk, []) if program is not None else None,
        time_zone=_time_zone(person),
        segment=_segment(person),
    )


def _deliver_sms(
    message: Message,
    loaded: loading.Loaded,
    ctx: content.Context,
    person: Participant,
    now: datetime,
) -> None:
    """Text the message to the person's number. The idempotency key is the message's id,
    the same at every try. A number that replied STOP at the carrier (Twilio 21610) is
    suppressed as a STOP reply is (`stops.py`), and the message fails."""
    number = loaded.phones.get(person.pk, "")
    try:
        rendered = texts.render_sms(ctx)
    except render.TemplateFailed as exc:
        error = f"template: {exc.reason}"[:1000]
        _write(message, status=Message.Status.FAILED, error=error, to=number, language=ctx.language)
        return
    kept = {
        "to": number,
        "language": ctx.language,
        "subject": "",
        "text": rendered.body,
        "html": "",
        "template": rendered.template,
    }
    try:
        sent = sms.send_sms(to=number, body=rendered.body, idempotency_key=message.public_id)
    except ChannelError as exc:
        if exc.unsubscribed:
            _write(message, status=Message.Status.FAILED, error=exc.reason, **kept)
            stops.stop_number(number=number, now=now, also=message.workspace_id)
            loaded.texts_suppressed[(message.workspace_id, number)] = "stopped"
            return
        _failed(message, exc, kept, now)
        return
    _write(message, status=Message.Status.SENT, sent_at=now, provider_id=sent.provider_id, **kept)
    if not message.transactional:
        loaded.texts_sent[person.pk] += 1


def _data(message: Message, loaded: loading.Loaded) -> dict[str, object]:
    """The template's event data; a friend invite's note is read from its invite at send time."""
    data = dict(message.data) if isinstance(message.data, dict) else {}
    invite = loaded.invites.get(loading.invite_id(message))
    if invite is not None:
        data["note"] = invite.note
    return data


def _failed(message: Message, exc: ChannelError, kept: dict[str, str], now: datetime) -> None:
    if exc.retry and message.attempts < MAX_ATTEMPTS:
        _write(message, next_attempt_at=now + backoff(message.attempts), error=exc.reason, **kept)
        return
    _write(message, status=Message.Status.FAILED, error=exc.reason, **kept)


def _write(message: Message, **fields: object) -> None:
    if fields.get("status") not in (None, Pending):
        fields.setdefault("next_attempt_at", None)
    Message.objects.filter(pk=message.pk).update(**fields)


def run(*, stopping: Callable[[], bool], every: float = 1.0) -> None:
    """The sender's loop, until `stopping()`: queue what happened, send what is due, and wait
    `every` seconds when nothing was. A message being sent when it stops is finished first."""
    while not stopping():
        busy = False
        try:
            close_old_connections()
            fanout.queue_messages()
            busy = send_due() > 0
        except Exception:
            # The database restarting must not end the loop; leased messages come due again.
            logger.exception("messaging: a pass failed; retrying")
        if not busy:
            time.sleep(every)
