"""Program → Pages and brand: the program's own colour and logo over the workspace's, and its
page texts (the words of its portal, landing page and share messages), each edited with a live
preview on sample data and reset to the default.

The preview is an htmx partial rendered on the server; without JavaScript the Preview button
posts the form and the whole page comes back with it. A text that fails in the sandbox shows
the line and the reason, and is not saved.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff
from goodword.dashboard.branding.forms import PageTextForm, ProgramBrandForm, logo_bytes
from goodword.dashboard.messaging.common import audited
from goodword.dashboard.messaging.words import LANGUAGES as LANGUAGE_NAMES
from goodword.dashboard.programs.common import get_program
from goodword.lib.errors import DomainError
from goodword.messaging import brand_services, branding, logos, pagecopy
from goodword.messaging import render as sandbox
from goodword.messaging.journeys import LANGUAGES
from goodword.messaging.models import PageText, ProgramBrand
from goodword.programs.models import Program


def _own_brand(program: Program) -> ProgramBrand | None:
    return ProgramBrand.objects.for_workspace(program.workspace).filter(program=program).first()


def _page(
    request: HttpRequest, program: Program, form: ProgramBrandForm | None = None, status: int = 200
) -> HttpResponse:
    own = _own_brand(program)
    if form is None:
        form = ProgramBrandForm(
            initial={
                "own_color": bool(own and own.color),
                "color": (own.color if own and own.color else "")
                or branding.for_workspace(program.workspace).color,
            }
        )
    texts = {
        (r.key, r.language): r
        for r in PageText.objects.for_workspace(program.workspace).filter(program=program)
    }
    rows = [
        {
            "key": key,
            "name": pagecopy.NAMES[key],
            "purpose": pagecopy.PURPOSES[key],
            "languages": [
                {"code": lang, "name": LANGUAGE_NAMES[lang], "own": texts.get((key, lang))}
                for lang in LANGUAGES
            ],
        }
        for key in pagecopy.DEFAULTS
    ]
    brand = branding.for_program(program)
    context = {
        "title": _("Pages and brand of %(program)s") % {"program": program.name},
        "program": program,
        "form": form,
        "own": own,
        "rows": rows,
        "brand": brand,
        "brand_logo": logos.page_src(brand.logo_url),
        "workspace_brand": branding.for_workspace(program.workspace),
        "max_bytes": logos.max_bytes(),
    }
    return render(request, "dashboard/branding/program.html", context, status=status)


@staff(Can.VIEW)
def pages(request: HttpRequest, program_id: str) -> HttpResponse:
    return _page(request, get_program(request, program_id))


@require_POST
@staff(Can.MANAGE)
def save_brand(request: HttpRequest, program_id: str) -> HttpResponse:
    program = get_program(request, program_id)
    form = ProgramBrandForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, program, form, status=400)
    own = _own_brand(program)
    before = {"color": own.color if own else "", "logo_url": own.logo_url if own else ""}
    data = logo_bytes(form.cleaned_data.get("logo"))
    color = form.cleaned_data["color"].lower() if form.cleaned_data["own_color"] else ""
    try:
        if data is not None:
            logo_url = logos.store(data)
        elif form.cleaned_data["workspace_logo"]:
            logo_url = ""
        else:
            logo_url = before["logo_url"]
        after = {"color": color, "logo_url": logo_url}
        if after != before:
            audited(
                request,
                lambda: brand_services.set_program_brand(program=program, **after),
                "program.brand",
                program.public_id,
                before=before,
                after=after,
            )
    except DomainError as error:
        form.place(error)
        return _page(request, program, form, status=400)
    if after != before:
        messages.success(request, _("The program's brand is saved."))
    else:
        messages.info(request, _("Nothing changed."))
    return redirect("dashboard:program_pages", program.public_id)


class Editing:
    """One page text of a program in one language."""

    def __init__(self, request: HttpRequest, program_id: str, key: str, language: str):
        if key not in pagecopy.DEFAULTS or language not in LANGUAGES:
            raise Http404("no such page text or language")
        self.program = get_program(request, program_id)
        self.key, self.language = key, language
        self.own = (
            PageText.objects.for_workspace(self.program.workspace)
            .filter(program=self.program, key=key, language=language)
            .first()
        )
        self.default = pagecopy.default_source(key, language)

    def preview(self, source: str) -> dict[str, Any]:
        """The text on sample data, or why the source cannot be used."""
        try:
            sandbox.check(source, html=False)
        except sandbox.TemplateFailed as exc:
            return {"failed": exc.reason}
        data = pagecopy.sample_data(self.program, self.language)
        shown = pagecopy.shown(self.program, self.key, self.language, data, source=source)
        if shown.error:
            return {"failed": shown.error, "fallback": shown.text}
        return {"shown": shown.text}


def _editor(
    request: HttpRequest, editing: Editing, form: PageTextForm | None = None, status: int = 200
) -> HttpResponse:
    form = form or PageTextForm(
        initial={"source": editing.own.source if editing.own else editing.default}
    )
    source = str(form.data.get("source", "")) if form.is_bound else str(form.initial["source"])
    context = {
        "title": _("%(key)s in %(language)s")
        % {"key": pagecopy.NAMES[editing.key], "language": LANGUAGE_NAMES[editing.language]},
        "editing": editing,
        "purpose": pagecopy.PURPOSES[editing.key],
        "form": form,
        **editing.preview(source),
    }
    return render(request, "dashboard/branding/editor.html", context, status=status)


@staff(Can.VIEW)
def editor(request: HttpRequest, program_id: str, key: str, language: str) -> HttpResponse:
    return _editor(request, Editing(request, program_id, key, language))


@require_POST
@staff(Can.MANAGE)
def save_text(request: HttpRequest, program_id: str, key: str, language: str) -> HttpResponse:
    editing = Editing(request, program_id, key, language)
    form = PageTextForm(request.POST)
    if not form.is_valid():
        return _editor(request, editing, form, status=400)
    before = editing.own.version if editing.own else 0
    try:
        saved = audited(
            request,
            lambda: brand_services.save_page_text(
                program=editing.program,
                key=key,
                language=language,
                source=form.cleaned_data["source"],
            ),
            "page_text.save",
            editing.program.public_id,
            key=key,
            language=language,
        )
    except DomainError as error:
        details = error.details if isinstance(error.details, dict) else {}
        form.add_error("source", str(details.get("reason") or error.message))
        return _editor(request, editing, form, status=400)
    if saved.version == before:
        messages.info(request, _("Nothing changed."))
    else:
        messages.success(request, _("Saved: version %(version)s.") % {"version": saved.version})
    return redirect("dashboard:page_text", editing.program.public_id, key, language)


@require_POST
@staff(Can.VIEW)
def preview(request: HttpRequest, program_id: str, key: str, language: str) -> HttpResponse:
    """The posted text on sample data, unsaved. htmx gets the partial, always 200 (htmx swaps
    nothing on an error status): a failure is the preview's content."""
    editing = Editing(request, program_id, key, language)
    form = PageTextForm(request.POST)
    if not getattr(request, "htmx", False):
        return _editor(request, editing, form)
    shown = editing.preview(str(request.POST.get("source", "")))
    return render(request, "dashboard/branding/_preview.html", shown)


@require_POST
@staff(Can.MANAGE)
def reset(request: HttpRequest, program_id: str, key: str, language: str) -> HttpResponse:
    editing = Editing(request, program_id, key, language)
    if editing.own is not None:
        audited(
            request,
            lambda: brand_services.delete_page_text(
                program=editing.program, key=key, language=language
            ),
            "page_text.reset",
            editing.program.public_id,
            key=key,
            language=language,
        )
        messages.success(request, _("Back to the default text."))
    return redirect("dashboard:page_text", editing.program.public_id, key, language)
