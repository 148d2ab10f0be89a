"""The wording of one journey of a program in one language: the program's own template or the
default, a live preview on sample data, saving (a template that fails shows the sandbox's
reason next to its part and saves nothing), going back to the default, and a test sent to the
signed-in staff member.

The preview is an htmx partial; without JavaScript the same button posts the form and the
whole page comes back with the preview. The email is shown in a sandboxed `<iframe srcdoc>`:
the merchant's HTML runs no script and reaches nothing of the dashboard's.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff
from goodword.dashboard.audit import audit
from goodword.dashboard.messaging import words
from goodword.dashboard.messaging.common import (
    actor,
    allow_images,
    audited,
    journey_and_language,
)
from goodword.dashboard.messaging.forms import TemplateForm
from goodword.dashboard.programs.common import get_program
from goodword.lib.errors import DomainError
from goodword.messaging import services
from goodword.messaging.defaults import SMS_JOURNEYS
from goodword.programs.models import Program


class Editing:
    """A program's journey in one language, as the editor shows it."""

    def __init__(self, request: HttpRequest, program_id: str, journey: str, language: str):
        self.program: Program = get_program(request, program_id)
        self.journey, self.language = journey_and_language(journey, language)
        # The wording for recipients of one `segment` (the form posts it; links carry it).
        wanted = request.POST.get("segment") or request.GET.get("segment") or ""
        try:
            self.segment = services.clean_segment(wanted)
        except DomainError:
            raise Http404("no such segment") from None
        self.view = services.template_of(
            program=self.program, journey=self.journey, language=self.language, segment=self.segment
        )
        self.has_sms = self.journey in SMS_JOURNEYS

    @property
    def own(self) -> bool:
        return self.view.own is not None

    def initial(self) -> dict[str, str]:
        """The form's parts: the program's own, else the default's to start from (the text
        part left empty, so that it follows their HTML)."""
        if self.view.own is not None:
            own = self.view.own
            return {"subject": own.subject, "html": own.html, "text": own.text, "sms": own.sms}
        return {**self.view.default, "text": ""}

    def url(self, name: str) -> str:
        args = [self.program.public_id, self.journey, self.language]
        url = reverse(f"dashboard:{name}", args=args)
        return f"{url}?{urlencode({'segment': self.segment})}" if self.segment else url

    @property
    def reset_url(self) -> str:
        return self.url("message_template_reset")

    @property
    def parts_shown(self) -> tuple[str, ...]:
        return TemplateForm.PARTS if self.has_sms else TemplateForm.PARTS[:3]

    def parts(self, form: TemplateForm) -> dict[str, str]:
        parts = form.parts
        if not self.has_sms:
            parts["sms"] = ""
        return parts


def _preview(editing: Editing, parts: dict[str, str] | None) -> dict[str, Any]:
    """The preview's context: the rendered message, or the part that failed and why."""
    try:
        shown = services.preview(
            program=editing.program,
            journey=editing.journey,
            language=editing.language,
            parts=parts,
            segment=editing.segment,
        )
    except DomainError as error:
        details = error.details if isinstance(error.details, dict) else {}
        return {
            "failed_part": str(details.get("part", "")),
            "failed": str(details.get("reason") or error.message),
        }
    return {"shown": shown}


def _page(
    request: HttpRequest,
    editing: Editing,
    *,
    form: TemplateForm | None = None,
    preview: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    customising = form is not None or editing.own or "customise" in request.GET
    form = form or TemplateForm(initial=editing.initial())
    if preview is None:
        preview = _preview(editing, editing.parts(_valid(form)) if form.is_bound else None)
    context = {
        "title": _title(editing),
        "editing": editing,
        "journey_name": words.name_of(editing.journey),
        "language_name": words.LANGUAGES[editing.language],
        "what": words.WHAT.get(editing.journey, ""),
        "form": form,
        "customising": customising,
        "default": editing.view.default,
        "common_data": words.COMMON_DATA,
        "journey_data": words.DATA.get(editing.journey, ()),
        **preview,
    }
    response = render(request, "dashboard/messaging/editor.html", context, status=status)
    allow_images(response)
    return response


def _title(editing: Editing) -> str:
    names = {
        "journey": words.name_of(editing.journey),
        "language": words.LANGUAGES[editing.language],
        "segment": editing.segment,
    }
    if editing.segment:
        return _("%(journey)s in %(language)s, for the segment “%(segment)s”") % names
    return _("%(journey)s in %(language)s") % names


def _valid(form: TemplateForm) -> TemplateForm:
    form.is_valid()  # fills cleaned_data with what is valid; parts read "" for the rest
    return form


@staff(Can.VIEW)
def editor(request: HttpRequest, program_id: str, journey: str, language: str) -> HttpResponse:
    return _page(request, Editing(request, program_id, journey, language))


@require_POST
@staff(Can.MANAGE)
def save(request: HttpRequest, program_id: str, journey: str, language: str) -> HttpResponse:
    editing = Editing(request, program_id, journey, language)
    form = TemplateForm(request.POST)
    if not form.is_valid():
        return _page(request, editing, form=form, status=400)
    before = editing.view.own.version if editing.view.own is not None else 0
    parts = editing.parts(form)
    try:
        with transaction.atomic():
            saved = services.save_template(
                program=editing.program,
                journey=editing.journey,
                language=editing.language,
                segment=editing.segment,
                actor=actor(request),
                **parts,
            )
            if saved.version != before:
                audit(
                    request,
                    "message_template.save",
                    saved.public_id,
                    program=editing.program.public_id,
                    journey=editing.journey,
                    language=editing.language,
                    segment=editing.segment,
                    version=saved.version,
                )
    except DomainError as error:
        _place(form, error)
        return _page(request, editing, form=form, status=400)
    if saved.version == before:
        messages.info(request, _("Nothing changed."))
    else:
        messages.success(request, _("Saved: version %(version)s.") % {"version": saved.version})
    return redirect(editing.url("message_template"))


def _place(form: TemplateForm, error: DomainError) -> None:
    details = error.details if isinstance(error.details, dict) else {}
    part = str(details.get("part", ""))
    if part in TemplateForm.PARTS:
        form.add_error(part, str(details.get("reason") or error.message))
    else:
        form.add_error(None, error.message[:1].upper() + error.message[1:])


@require_POST
@staff(Can.VIEW)
def preview(request: HttpRequest, program_id: str, journey: str, language: str) -> HttpResponse:
    """The preview of the posted parts, unsaved. An htmx request gets the partial, always
    200 (htmx swaps nothing on an error status): a template's failure is its content."""
    editing = Editing(request, program_id, journey, language)
    form = _valid(TemplateForm(request.POST))
    shown = _preview(editing, editing.parts(form))
    if not getattr(request, "htmx", False):
        return _page(request, editing, form=form, preview=shown)
    failed_part = shown.get("failed_part", "")
    oob = [(p, shown["failed"] if p == failed_part else "") for p in editing.parts_shown]
    context = {"editing": editing, "oob": oob, **shown}
    response = render(request, "dashboard/messaging/_preview.html", context)
    allow_images(response)
    return response


def _segment_reset(editing: Editing, names: dict[str, Any]) -> dict[str, str]:
    """What the reset asks for a segment's wording: its recipients go back to everyone's."""
    if not editing.segment:
        return {}
    names = {**names, "segment": editing.segment}
    return {
        "title": _("Delete the segment's wording"),
        "question": _(
            "Delete the wording of %(journey)s in %(language)s for the segment “%(segment)s”?"
        )
        % names,
        "detail": _(
            "Its recipients get the program's wording for everyone; this cannot be undone."
        ),
        "button": _("Delete"),
    }


@staff(Can.MANAGE)
def reset(request: HttpRequest, program_id: str, journey: str, language: str) -> HttpResponse:
    editing = Editing(request, program_id, journey, language)
    names = {
        "journey": words.name_of(editing.journey),
        "language": words.LANGUAGES[editing.language],
    }
    if request.method != "POST":
        context = {
            "title": _("Reset to the default wording"),
            "question": _("Go back to the default wording of %(journey)s in %(language)s?") % names,
            "detail": _("The program's own wording is deleted; this cannot be undone."),
            "action": editing.url("message_template_reset"),
            "button": _("Reset to default"),
            "back": editing.url("message_template"),
            **_segment_reset(editing, names),
        }
        return render(request, "dashboard/team/confirm.html", context)
    deleted = audited(
        request,
        lambda: services.delete_template(
            program=editing.program,
            journey=editing.journey,
            language=editing.language,
            segment=editing.segment,
            actor=actor(request),
        ),
        "message_template.reset",
        editing.program.public_id,
        journey=editing.journey,
        language=editing.language,
        segment=editing.segment,
    )
    if deleted:
        messages.success(request, _("Back to the default wording."))
    else:
        messages.info(request, _("The program already used the default wording."))
    return redirect(editing.url("message_template"))


@require_POST
@staff(Can.MANAGE)
def send_test(request: HttpRequest, program_id: str, journey: str, language: str) -> HttpResponse:
    """The preview of the posted parts, by email to the signed-in staff member."""
    editing = Editing(request, program_id, journey, language)
    form = _valid(TemplateForm(request.POST))
    to = str(getattr(request.user, "email", "") or "")
    try:
        services.send_test(
            program=editing.program,
            journey=editing.journey,
            language=editing.language,
            parts=editing.parts(form),
            to=to,
            requested_by=actor(request),
        )
    except DomainError as error:
        ok, text = False, error.message[:1].upper() + error.message[1:]
    else:
        with transaction.atomic():
            audit(
                request,
                "message_template.send_test",
                editing.program.public_id,
                journey=editing.journey,
                language=editing.language,
                to=to,
            )
        ok, text = True, _("A test is on its way to %(to)s.") % {"to": to}
    if getattr(request, "htmx", False):
        return render(request, "dashboard/messaging/_sent.html", {"ok": ok, "text": text})
    (messages.success if ok else messages.error)(request, text)
    return _page(request, editing, form=form)
