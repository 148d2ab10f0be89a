"""Imports: the workspace's CSV imports, newest first, and the upload page (a file of
participants or of past orders, imported while the request waits exactly as
`POST /api/v1/imports/…` imports it: `goodword.imports.uploads`). The answer to an upload shows
its counts and the first rows it refused, with their line and reason: they are kept nowhere
else, so the answer is never cached.

An upload is refused unread when its body is over the API's limit (`API_MAX_UPLOAD_BYTES`).
The CSRF middleware would read the whole body (to a temporary file) looking for the token, so
the upload view is exempt from it and checks the token itself once the size is known to be
fine, as Django's documentation advises for views that change how uploads are read.

Every upload that reaches the importer is in the audit log, refused or not: an import commits
batch by batch, so one stopped by an error deep in the file may have written rows before it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff
from goodword.dashboard.audit import audit
from goodword.dashboard.imports.forms import KINDS, UploadForm
from goodword.dashboard.lists import Filter, listing
from goodword.imports import runs, uploads
from goodword.imports.models import Import
from goodword.lib.errors import DomainError

KIND_LABELS = dict(KINDS)
STATUSES = [(Import.Status.DONE.value, "Done"), (Import.Status.RUNNING.value, "Not finished")]
MIB = 1024 * 1024
# Refusals that may come after batches of the file were committed: a broken line deep in the
# file, or another upload of the same file that moved on meanwhile.
PART_WRITTEN = {"bad_encoding", "bad_csv", "import_in_progress"}
ROW_SHOWN = 300  # characters of a refused row shown


@dataclass(frozen=True)
class Row:
    """An import as the list shows it."""

    imp: Import

    @property
    def kind(self) -> str:
        return KIND_LABELS.get(self.imp.kind, self.imp.kind)

    @property
    def is_done(self) -> bool:
        return self.imp.status == Import.Status.DONE


@dataclass(frozen=True)
class Result:
    """One upload's answer: the import's counts (over every upload of the file) and the rows
    this upload refused, the first `runs.SHOWN` of them."""

    row: Row
    summary: runs.Summary
    refused: list[dict[str, Any]]

    @property
    def is_orders(self) -> bool:
        return self.summary.kind == Import.Kind.ORDERS

    @property
    def lines(self) -> list[tuple[int, str, str]]:
        """(line, reason, the row as a CSV line, cut short when long)."""
        out = []
        for refused in self.refused:
            text = io.StringIO()
            csv.writer(text, lineterminator="").writerow(refused["row"])
            row = text.getvalue()
            if len(row) > ROW_SHOWN:
                row = row[: ROW_SHOWN - 1] + "…"
            out.append((int(refused["line"]), str(refused["reason"]), row))
        return out

    @property
    def capped(self) -> bool:
        """This upload refused more rows than are listed."""
        return len(self.refused) >= runs.SHOWN

    @property
    def unlisted(self) -> int:
        """Refused rows of this file that are not listed (of earlier uploads, or past the
        first `runs.SHOWN`)."""
        return max(self.summary.failed - len(self.refused), 0)


def refusal(name: str, error: DomainError) -> str:
    """Why a file was refused, and whether some of it may be in already."""
    message = error.message[:1].upper() + error.message[1:]
    text = f"{name or 'The file'}: {message.rstrip('.')}."
    if error.code in PART_WRITTEN:
        return text + (
            " The rows before it may be in already: fix the file and upload it again "
            "(rows already in are matched, never added twice)."
        )
    return text + " Nothing was imported."


def size(limit: int) -> str:
    """A byte count as people read it: "64 MiB", "1,000 bytes"."""
    if limit >= MIB and limit % MIB == 0:
        return f"{limit // MIB} MiB"
    return f"{limit:,} bytes"


@staff(Can.VIEW)
def imports(request: HttpRequest) -> HttpResponse:
    found = listing(
        request,
        Import.objects.for_workspace(request.workspace),  # type: ignore[attr-defined]
        search=("file_name", "public_id"),
        filters={
            "kind": Filter("Kind", "kind", KINDS),
            "status": Filter("Status", "status", STATUSES),
        },
        sorts=("created_at",),
    )
    context = {"title": "Imports", "listing": found, "rows": [Row(i) for i in found.rows]}
    return render(request, "dashboard/imports/list.html", context)


def _upload_page(
    request: HttpRequest,
    form: UploadForm,
    *,
    result: Result | None = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "title": "Import a CSV file",
        "form": form,
        "result": result,
        "problem": problem,
        "limit": size(settings.API_MAX_UPLOAD_BYTES),
        "workspace_id": request.workspace.public_id,  # type: ignore[attr-defined]
    }
    response = render(request, "dashboard/imports/upload.html", context, status=status)
    add_never_cache_headers(response)
    return response


def _too_large(request: HttpRequest) -> bool:
    """Whether the request's body is over the upload limit (or its length is unreadable)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length < 0 or length > settings.API_MAX_UPLOAD_BYTES


@csrf_exempt  # the token is checked by `_upload`, after the size
@staff(Can.MANAGE)
def upload(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and _too_large(request):
        limit = size(settings.API_MAX_UPLOAD_BYTES)
        problem = (
            f"The file is too large: an upload may be up to {limit}. Nothing was imported. "
            "Import larger files with the command line (see below)."
        )
        return _upload_page(request, UploadForm(), problem=problem, status=413)
    return _upload(request)


@csrf_protect
def _upload(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _upload_page(request, UploadForm())
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _upload_page(request, form, status=400)
    kind, file = str(form.cleaned_data["kind"]), form.cleaned_data["file"]
    with_rewards = bool(form.cleaned_data["with_rewards"])
    name = (file.name or "")[:255]
    try:
        done = uploads.import_upload(
            workspace=request.workspace,  # type: ignore[attr-defined]
            kind=kind,
            file=file,
            with_rewards=with_rewards,
        )
    except DomainError as error:
        audit(
            request,
            "import.fail",
            kind=kind,
            file_name=name,
            with_rewards=with_rewards,
            code=error.code,
            message=error.message,
        )
        return _upload_page(request, form, problem=refusal(name, error), status=error.status)
    summary = done.summary
    audit(
        request,
        "import.run",
        summary.id,
        kind=kind,
        file_name=name,
        with_rewards=with_rewards,
        rows=summary.rows,
        created=summary.created,
        updated=summary.updated,
        skipped=summary.skipped,
        failed=summary.failed,
        already_done=summary.already_done,
        resumed_after=summary.resumed_after,
    )
    imp = Import.objects.for_workspace(request.workspace).get(public_id=summary.id)  # type: ignore[attr-defined]
    result = Result(Row(imp), summary, done.refused)
    return _upload_page(request, UploadForm(initial={"kind": kind}), result=result)
