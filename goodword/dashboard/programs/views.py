"""Programs: the list, a program's page, its lifecycle, and its configuration as a document
(export, and import as a new draft). The builder is in `builder.py`."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from pydantic import ValidationError

from goodword.accounts.roles import Can
from goodword.dashboard.access import can, staff
from goodword.dashboard.audit import audit
from goodword.dashboard.lists import Filter, listing
from goodword.dashboard.programs import problems
from goodword.dashboard.programs.common import action, get_program, pool_names
from goodword.lib.errors import DomainError
from goodword.participants.models import Advocate
from goodword.programs import config, services, summary
from goodword.programs.models import Program, ProgramVersion, RewardRule
from goodword.programs.schemas import ProgramIn
from goodword.rewards import coupons

STATUS_FILTER = Filter("Status", "status", [(s.value, s.label) for s in Program.Status])
# The badge of each status (app.css).
BADGES = {"draft": "", "active": "ok", "paused": "warn", "ended": "bad"}
# What the button that moves a program to a status says, and the audit action it records.
MOVES: dict[str, tuple[str, str]] = {
    Program.Status.ACTIVE: ("Activate", "activate"),
    Program.Status.PAUSED: ("Pause", "pause"),
    Program.Status.ENDED: ("End", "end"),
}
# An import is a JSON document of at most this many bytes, like the API's request bodies.
MAX_IMPORT = 256 * 1024


def _rules_of(program: Program) -> list[RewardRule]:
    return list(program.active_rules)  # type: ignore[attr-defined]


@staff(Can.VIEW)
def programs(request: HttpRequest) -> HttpResponse:
    """Every program of the workspace: name, status, rewards in a few words, advocates."""
    rows = Program.objects.for_workspace(request.workspace).prefetch_related(  # type: ignore[attr-defined]
        Prefetch(
            "rules",
            queryset=RewardRule.objects.filter(is_active=True).order_by("pk"),
            to_attr="active_rules",
        )
    )
    page = listing(
        request,
        rows,
        search=("name", "public_id"),
        filters={"status": STATUS_FILTER},
        sorts=("name", "created_at", "status"),
    )
    shown = page.rows
    # Counted for this page's programs only, on the (program, participant) index.
    advocates = dict(
        Advocate.objects.filter(program__in=[p.pk for p in shown])
        .values("program")
        .annotate(n=Count("pk"))
        .values_list("program", "n")
        .order_by()
    )
    table = [
        {
            "program": p,
            "badge": BADGES.get(p.status, ""),
            "rewards": summary.rewards_line(
                {"currency": p.currency, "rewards": [config.rule(r) for r in _rules_of(p)]}
            ),
            "advocates": advocates.get(p.pk, 0),
        }
        for p in shown
    ]
    context = {"title": "Programs", "listing": page, "table": table}
    return render(request, "dashboard/programs/list.html", context)


@staff(Can.VIEW)
def program(request: HttpRequest, program_id: str) -> HttpResponse:
    """A program: its configuration in plain words, its status and the moves it allows, its
    versions, and links to its referrals and rewards."""
    found = get_program(request, program_id)
    return _program_page(request, found, status=200)


def _program_page(
    request: HttpRequest, found: Program, *, status: int, error: str = ""
) -> HttpResponse:
    versions = (
        ProgramVersion.objects.for_workspace(request.workspace)  # type: ignore[attr-defined]
        .filter(program=found)
        .order_by("-number")
        .values("number", "created_at")
    )
    document = config.export(found)
    context = {
        "title": found.name,
        "program": found,
        "badge": BADGES.get(found.status, ""),
        "summary": summary.summarize(document, pools=pool_names(request)),
        "moves": [
            (to, MOVES[to][0]) for to in services.allowed_statuses(found.status) if to in MOVES
        ],
        "may_manage": can(request, Can.MANAGE),
        "versions": list(versions[:50]),
        "advocates": Advocate.objects.filter(program=found).count(),
        "error": error,
    }
    return render(request, "dashboard/programs/program.html", context, status=status)


@staff(Can.MANAGE)
def change_status(request: HttpRequest, program_id: str) -> HttpResponse:
    """Activate, pause or end a program, through the service the API's PATCH uses."""
    found = get_program(request, program_id)
    if request.method != "POST":
        return redirect("dashboard:program", program_id=found.public_id)
    wanted = request.POST.get("status", "")
    if wanted not in MOVES:
        return _program_page(request, found, status=400, error="Choose a status to move to.")
    was = found.status
    try:
        with transaction.atomic():
            moved = services.change_program_status(
                program=found, status=wanted, actor=f"user:{request.user.pk}"
            )
            if moved:
                audit(
                    request,
                    action(MOVES[wanted][1]),
                    found.public_id,
                    **{"from": was, "to": wanted},
                )
    except DomainError as exc:
        found.refresh_from_db()
        return _program_page(request, found, status=400, error=f"Not changed: {exc.message}.")
    if moved:
        messages.success(request, f"{found.name} is now {found.status}.")
    return redirect("dashboard:program", program_id=found.public_id)


def _download(data: Any, filename: str) -> HttpResponse:
    # The same encoder as the API's answers, so the file is byte for byte what it returns.
    body = json.dumps(data, cls=DjangoJSONEncoder, indent=2) + "\n"
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@staff(Can.VIEW)
def export_config(request: HttpRequest, program_id: str) -> HttpResponse:
    """The configuration as `GET /api/v1/programs/{id}/config` answers it: import it here, or
    `POST /programs` its `config`, to make a copy."""
    found = get_program(request, program_id)
    data = {
        "program": found.public_id,
        "version": found.version,
        "config": config.export(found),
        "created_at": found.updated_at,
    }
    return _download(data, f"{found.public_id}-v{found.version}.json")


@staff(Can.VIEW)
def export_version(request: HttpRequest, program_id: str, number: int) -> HttpResponse:
    """One past version of the configuration, as `GET /programs/{id}/versions` lists it."""
    found = get_program(request, program_id)
    version = (
        ProgramVersion.objects.for_workspace(request.workspace)  # type: ignore[attr-defined]
        .filter(program=found, number=number)
        .first()
    )
    if version is None:
        raise Http404("no such version")
    data = {
        "program": found.public_id,
        "version": version.number,
        "config": version.config,
        "created_at": version.created_at,
    }
    return _download(data, f"{found.public_id}-v{version.number}.json")


def _document(request: HttpRequest) -> tuple[Any, str]:
    """The posted JSON: the uploaded file, else the pasted text."""
    upload = request.FILES.get("file")
    if upload is not None:
        if upload.size is not None and upload.size > MAX_IMPORT:
            return None, f"the file is larger than {MAX_IMPORT // 1024} KB"
        try:
            text = upload.read().decode("utf-8")
        except UnicodeDecodeError:
            return None, "the file is not UTF-8 text"
    else:
        text = request.POST.get("document", "")
        if len(text.encode()) > MAX_IMPORT:
            return None, f"the document is larger than {MAX_IMPORT // 1024} KB"
    if not text.strip():
        return None, "paste a program's JSON, or choose a file"
    return problems.parse_json(text)


def _unwrapped(value: Any) -> Any:
    """An export (`{"program", "version", "config", "created_at"}`) stands for its config."""
    wrapper = {"program", "version", "config", "created_at"}
    if isinstance(value, dict) and isinstance(value.get("config"), dict) and set(value) <= wrapper:
        return value["config"]
    return value


@staff(Can.MANAGE)
def import_program(request: HttpRequest) -> HttpResponse:
    """A new program, as a draft, from a JSON document: validated exactly as `POST /programs`
    validates it; any problem is listed with its field and nothing is created."""
    listed: list[tuple[str, str]] = []
    text = ""
    if request.method == "POST":
        text = request.POST.get("document", "")
        document, error = _document(request)
        if error:
            listed = [("", error)]
        elif not isinstance(_unwrapped(document), dict):
            listed = [("", "the document must be a JSON object")]
        else:
            created, listed = _import(request, _unwrapped(document))
            if created is not None:
                messages.success(request, f"Imported {created.name} as a draft.")
                return redirect("dashboard:program", program_id=created.public_id)
    context = {"title": "Import a program", "problems": listed, "document": text}
    return render(
        request,
        "dashboard/programs/import.html",
        context,
        status=400 if listed else 200,
    )


def _import(
    request: HttpRequest, document: dict[str, Any]
) -> tuple[Program | None, list[tuple[str, str]]]:
    # Whatever status the document says, an import starts as a draft.
    try:
        spec = ProgramIn.model_validate({**document, "status": Program.Status.DRAFT})
    except ValidationError as exc:
        return None, problems.listed(problems.from_validation(exc))
    workspace = request.workspace  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            coupons.check_pools(workspace_id=workspace.pk, rewards=spec.rewards)
            created = services.create_program(
                workspace=workspace, status=Program.Status.DRAFT, **spec.arguments()
            )
            audit(request, action("import"), created.public_id, version=created.version)
    except DomainError as exc:
        return None, problems.listed(problems.from_domain(exc))
    return created, []
