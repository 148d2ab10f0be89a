"""Program → Messages: every journey of a program with what it is, whether it is on, the
referral request's delay and "promoters only" threshold, the reminders' delays, and its
wording in each language.

The same services as `/programs/{id}/messaging` in the API; every change in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
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
from goodword.messaging.journeys import DEFAULT_DELAY, default_delay
from goodword.messaging.models import PROGRAM_JOURNEYS, Journey
from goodword.programs.models import Program


@dataclass(frozen=True)
class Wording:
    language: str
    label: str
    own_version: int | None  # None: the default wording
    segment: str = ""  # the wording for recipients of this `segment`; "": for everyone


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
    def waits(self) -> bool:
        """A reminder: a delay of its own, in days."""
        return self.setting.journey in DEFAULT_DELAY

    @property
    def delay_label(self) -> str:
        return str(words.DELAY_LABELS.get(self.setting.journey, ""))

    @property
    def delay_hint(self) -> str:
        return str(words.DELAY_HINTS.get(self.setting.journey, ""))

    def texts(self) -> bool:
        """A journey that may also go by text."""
        return self.setting.journey in SMS_SENT


def _rows(program: Program, bound: dict[str, JourneyForm]) -> list[JourneyRow]:
    versions = [
        (t.journey, t.language, t.segment, t.own.version)
        for t in services.templates_of(program)
        if t.own is not None
    ]
    own = {(journey, language): v for journey, language, segment, v in versions if not segment}
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
        ] + [
            Wording(language, str(words.LANGUAGES[language]), version, segment)
            for journey, language, segment, version in versions
            if segment and journey == setting.journey
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


def _delay(journey: str, given: int | None) -> int:
    """Only the referral request and the reminders wait; a reminder's empty delay is its
    default, the referral request's 0 (at once)."""
    if journey == Journey.REFERRAL_REQUEST:
        return int(given or 0)
    if journey in DEFAULT_DELAY:
        return default_delay(journey) if given is None else int(given)
    return 0


@staff(Can.VIEW)
def program_messages(request: HttpRequest, program_id: str) -> HttpResponse:
    return _page(request, get_program(request, program_id), {})


@require_POST
@staff(Can.MANAGE)
def set_journey(request: HttpRequest, program_id: str, journey: str) -> HttpResponse:
    program = get_program(request, program_id)
    if journey not in PROGRAM_JOURNEYS:
        raise Http404("no such journey")
    form = JourneyForm(request.POST, prefix=journey)
    if not form.is_valid():
        return _page(request, program, {journey: form}, status=400)
    asks = journey == Journey.REFERRAL_REQUEST
    values: dict[str, Any] = {
        "is_active": bool(form.cleaned_data["is_active"]),
        "delay_days": _delay(journey, form.cleaned_data["delay_days"]),
        # Only the referral request asks promoters only.
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


@staff(Can.VIEW)
def segment_wording(request: HttpRequest, program_id: str, journey: str) -> HttpResponse:
    """ "Wording for a segment": to the editor of that segment's wording in that language."""
    program = get_program(request, program_id)
    language = request.GET.get("language", "")
    segment = request.GET.get("segment", "").strip()
    if journey not in Journey.values:
        raise Http404("no such journey")
    if not segment or language not in words.LANGUAGES:
        messages.error(request, _("Write the segment: the value of the segment attribute."))
        return redirect("dashboard:program_messages", program.public_id)
    url = reverse("dashboard:message_template", args=[program.public_id, journey, language])
    return redirect(f"{url}?{urlencode({'segment': segment, 'customise': '1'})}")
