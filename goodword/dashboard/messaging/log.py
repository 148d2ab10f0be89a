"""Workspace → Messages: every message, newest first, with why it was not sent in plain
words; a message's page with the email as it went (in a sandboxed frame) and its text part;
and the few latest messages of a participant or a referral, for their pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _

from goodword.accounts.models import Workspace
from goodword.accounts.roles import Can
from goodword.dashboard import lists
from goodword.dashboard.access import staff
from goodword.dashboard.lists import Filter, listing
from goodword.dashboard.messaging import words
from goodword.dashboard.messaging.common import allow_images
from goodword.messaging.models import Journey, Message

# A participant's or a referral's page lists this many of their latest messages.
RECENT = 20
# Rows per page of the log: the lists' default, named here so that a test can make pages short.
PER_PAGE = lists.PER_PAGE


@dataclass(frozen=True)
class MessageRow:
    message: Message
    journey: str
    badge: str
    why: str

    @property
    def to(self) -> str:
        """The address it went to; before it is sent, the participant's address now."""
        person = self.message.participant
        return self.message.to or (person.email if person is not None else "")


def rows_of(messages: list[Message], now: datetime) -> list[MessageRow]:
    return [
        MessageRow(
            m, words.name_of(m.journey), words.BADGES.get(m.status, ""), words.status_of(m, now)
        )
        for m in messages
    ]


def _messages(workspace: Workspace) -> QuerySet[Message]:
    rows: QuerySet[Message] = Message.objects.for_workspace(workspace)
    return rows.select_related("participant", "program")


def recent(workspace: Workspace, **lookup: object) -> list[MessageRow]:
    """The latest messages of a participant (`participant=`) or a referral
    (`referral_public_id=`), newest first."""
    found = _messages(workspace).filter(**lookup).order_by("-created_at", "-pk")[:RECENT]
    return rows_of(list(found), timezone.now())


@staff(Can.VIEW)
def message_log(request: HttpRequest) -> HttpResponse:
    journeys = [(j.value, words.name_of(j.value)) for j in Journey]
    statuses = [(s.value, s.label) for s in Message.Status]
    found = listing(
        request,
        _messages(request.workspace),  # type: ignore[attr-defined]
        search=("to", "public_id", "participant__email", "participant__external_id"),
        filters={
            "journey": Filter(_("Journey"), "journey", journeys),
            "status": Filter(_("Status"), "status", statuses),
        },
        sorts=("created_at",),
        per_page=PER_PAGE,
    )
    context = {
        "title": _("Messages"),
        "listing": found,
        "rows": rows_of(found.rows, timezone.now()),
    }
    return render(request, "dashboard/messaging/log.html", context)


@staff(Can.VIEW)
def message(request: HttpRequest, outgoing_id: str) -> HttpResponse:
    """An outgoing message (`outgoing_id`: its public id, `mes_…`; `message_id` names a
    webhook message elsewhere in the dashboard)."""
    found = get_object_or_404(_messages(request.workspace), public_id=outgoing_id)  # type: ignore[attr-defined]
    [row] = rows_of([found], timezone.now())
    context = {"title": _("Message %(id)s") % {"id": found.public_id}, "row": row, "m": found}
    response = render(request, "dashboard/messaging/message.html", context)
    allow_images(response)
    return response
