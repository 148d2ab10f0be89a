"""The program builder: a form generated from `ProgramIn` (the schema of `POST /programs`),
saved through the same services as the API's create and `PUT /programs/{id}/config`.

The form works without JavaScript: "Add a reward", "Remove this cap" and "Update summary" are
named submit buttons that re-render the page. With htmx, those buttons swap only their group,
and the plain-words summary follows each change.
"""

from __future__ import annotations

import copy
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from pydantic import ValidationError

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff
from goodword.dashboard.audit import audit
from goodword.dashboard.programs import posted, problems
from goodword.dashboard.programs.common import action, get_program, pool_names
from goodword.dashboard.programs.layout import FORM, STARTER
from goodword.dashboard.programs.problems import Problems
from goodword.lib.errors import Conflict, DomainError
from goodword.programs import config, services, summary
from goodword.programs.models import Program
from goodword.programs.schemas import ProgramIn
from goodword.rewards import coupons


def _validate(doc: dict[str, Any], found: Problems) -> ProgramIn | None:
    """The document as the API would take it, or None with its problems added to `found`."""
    try:
        spec = ProgramIn.model_validate({**doc, "status": Program.Status.DRAFT})
    except ValidationError as exc:
        unparsed = list(found)
        for path, messages in problems.from_validation(exc).items():
            # An input that did not parse already says why; "required" (or "a credit reward
            # needs `amount`" on its rule) would only repeat it.
            if not any(u == path or u.startswith(f"{path}.") for u in unparsed):
                found[path] = messages
        return None
    return None if found else spec


def _page(
    request: HttpRequest,
    *,
    doc: dict[str, Any],
    found: Problems,
    raw: dict[str, str],
    program: Program | None,
    version: int | None,
    status: int,
) -> HttpResponse:
    pools = pool_names(request)
    form = FORM.with_choices(
        {"CouponSpec.pool": [("", "none: generate codes"), *sorted(pools.items())]}
    )
    context = {
        "form": form.render(doc, found, raw),
        "summary": summary.summarize(doc, pools=pools),
        "program": program,
        "version": version,
        "problems": problems.listed(found),
        "title": f"Edit {program.name}" if program else "New program",
    }
    return render(request, "dashboard/programs/builder.html", context, status=status)


def _saved_config(program: Program) -> dict[str, Any]:
    doc = config.export(program)
    doc.pop("status", None)
    return doc


def _build(request: HttpRequest, program: Program | None) -> HttpResponse:
    # The version the form was filled in from: kept through every re-render of a posted form,
    # so a form opened before another change cannot be saved over it.
    seen = request.POST.get("_version", "")
    version = int(seen) if seen.isdigit() else program.version if program else None
    if request.method != "POST":
        doc = _saved_config(program) if program else copy.deepcopy(STARTER)
        return _page(
            request, doc=doc, found={}, raw={}, program=program, version=version, status=200
        )
    doc, found, raw = posted.parse(FORM, request.POST)
    op = request.POST.get("_op", "save")
    if op != "save":
        # The form's own buttons: change the form, save nothing. Not an error (htmx swaps
        # only a 2xx answer).
        if op == "preview":
            _validate(doc, found)
        else:
            posted.apply(FORM, doc, op)
            found, raw = {}, {}
        return _page(
            request, doc=doc, found=found, raw=raw, program=program, version=version, status=200
        )
    spec = _validate(doc, found)
    if spec is not None:
        try:
            saved = _save(request, spec, program, str(version))
        except DomainError as exc:
            found = problems.from_domain(exc)
        else:
            verb = "Saved" if program else "Created as a draft"
            messages.success(request, f"{verb}: {saved.name} (version {saved.version}).")
            return redirect("dashboard:program", program_id=saved.public_id)
    return _page(
        request, doc=doc, found=found, raw=raw, program=program, version=version, status=400
    )


def _save(request: HttpRequest, spec: ProgramIn, program: Program | None, seen: str) -> Program:
    """Create the program as a draft, or make the document its next version, as the API's
    `POST /programs` and `PUT /programs/{id}/config` do; audited in the same transaction."""
    workspace = request.workspace  # type: ignore[attr-defined]
    with transaction.atomic():
        coupons.check_pools(workspace_id=workspace.pk, rewards=spec.rewards)
        if program is None:
            program = services.create_program(
                workspace=workspace, status=Program.Status.DRAFT, **spec.arguments()
            )
            audit(request, action("create"), program.public_id, version=program.version)
            return program
        # The form was filled in from one version: refuse to silently undo a change saved
        # since (another tab, a teammate, the API).
        locked = Program.objects.select_for_update().get(pk=program.pk)
        if str(locked.version) != seen:
            raise Conflict(
                f"this program was changed since you opened the form (now version "
                f"{locked.version}); reload the page to edit the new version",
                code="stale_version",
            )
        services.replace_configuration(
            program=locked, actor=f"user:{request.user.pk}", **spec.arguments()
        )
        audit(request, action("edit"), locked.public_id, version=locked.version)
        return locked


@staff(Can.MANAGE)
def new_program(request: HttpRequest) -> HttpResponse:
    """The builder for a new program, saved as a draft."""
    return _build(request, None)


@staff(Can.MANAGE)
def edit_program(request: HttpRequest, program_id: str) -> HttpResponse:
    """The builder for a program's configuration: saving makes its next version."""
    return _build(request, get_program(request, program_id))


@staff(Can.MANAGE)
def program_summary(request: HttpRequest) -> HttpResponse:
    """The builder's live summary: the posted form in plain words (an htmx partial)."""
    if request.method != "POST":
        return redirect(reverse("dashboard:program_new"))
    doc, _, _ = posted.parse(FORM, request.POST)
    context = {"summary": summary.summarize(doc, pools=pool_names(request))}
    return render(request, "dashboard/programs/_summary.html", context)
