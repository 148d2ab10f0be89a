"""Program → Messages: every journey of a program with what it is, whether it is on, the
referral request's delay and "promoters only" threshold, and its wording in each language.

The same services as `/programs/{id}/messaging` in the API; every change in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff
from goodword.dashboard.messaging import words
from goodword.dashboard.messaging.common import actor, audited
from goodword.dashboard.messaging.forms import JourneyForm
from goodword.dashboard.programs.common import get_program
from goodword.lib.errors import DomainError
from goodword.messaging import services
from goodword.messaging.channels.sms import is_enabled as sms_configured
from goodword.messaging.defaults import SMS_SENT
from goodword.messaging.models import Journey
from goodword.programs.models import Program


@dataclass(frozen=True)
class Wording:
    language: str
    label: str
    own_version: int | None  # None: the default wording


@dataclass(frozen=True)
class JourneyRow:
    setting: services.JourneyView
    name: str
    what: str
    wordings: list[Wording]
    form: JourneyForm

    @property
    def asks(self) -> bool:
        """The referral request: the one journey with a delay and an NPS threshold."""
        return self.setting.journey == Journey.REFERRAL_REQUEST

    @property
    def texts(self) -> bool:
        """A journey that may also go by text."""
        return self.setting.journey in SMS_SENT


def _rows(program: Program, bound: dict[str, JourneyForm]) -> list[JourneyRow]:
    own = {
        (t.journey, t.language): t.own.version
        for t in services.templates_of(program)
        if t.own is not None
    }
    rows = []
    for setting in services.journeys_of(program):
        form = bound.get(setting.journey) or JourneyForm(
            initial={
                "is_active": setting.is_active,
                "delay_days": setting.delay_days,
                "min_nps": setting.min_nps,
                "sms": setting.sms,
            },
            prefix=setting.journey,
        )
        wordings = [
            Wording(code, str(label), own.get((setting.journey, code)))
            for code, label in words.LANGUAGES.items()
        ]
        name, what = words.name_of(setting.journey), str(words.WHAT.get(setting.journey, ""))
        rows.append(JourneyRow(setting, name, what, wordings, form))
    return rows


def _page(
    request: HttpRequest, program: Program, bound: dict[str, JourneyForm], status: int = 200
) -> HttpResponse:
    context = {
        "title": _("Messages of %(program)s") % {"program": program.name},
        "program": program,
        "rows": _rows(program, bound),
        "settings": services.settings_of(request.workspace),  # type: ignore[attr-defined]
        "sms_configured": sms_configured(),
    }
    return render(request, "dashboard/messaging/journeys.html", context, status=status)


@staff(Can.VIEW)
def program_messages(request: HttpRequest, program_id: str) -> HttpResponse:
    return _page(request, get_program(request, program_id), {})


@require_POST
@staff(Can.MANAGE)
def set_journey(request: HttpRequest, program_id: str, journey: str) -> HttpResponse:
    program = get_program(request, program_id)
    if journey not in Journey.values:
        raise Http404("no such journey")
    form = JourneyForm(request.POST, prefix=journey)
    if not form.is_valid():
        return _page(request, program, {journey: form}, status=400)
    asks = journey == Journey.REFERRAL_REQUEST
    values: dict[str, Any] = {
        "is_active": bool(form.cleaned_data["is_active"]),
        # Only the referral request waits and asks promoters only; the others take neither.
        "delay_days": int(form.cleaned_data["delay_days"] or 0) if asks else 0,
        "min_nps": form.cleaned_data["min_nps"] if asks else None,
        "sms": bool(form.cleaned_data["sms"]) and journey in SMS_SENT,
    }
    now = services.journey_of(program=program, journey=journey)
    if all(getattr(now, name) == value for name, value in values.items()):
        messages.info(request, _("Nothing changed."))
        return redirect("dashboard:program_messages", program.public_id)
    try:
        audited(
            request,
            lambda: services.set_journey(
                program=program, journey=journey, actor=actor(request), **values
            ),
            "program.messaging_change",
            program.public_id,
            journey=journey,
            **values,
        )
    except DomainError as error:
        form.place(error)
        return _page(request, program, {journey: form}, status=400)
    messages.success(request, _("%(journey)s: saved.") % {"journey": words.name_of(journey)})
    return redirect("dashboard:program_messages", program.public_id)
