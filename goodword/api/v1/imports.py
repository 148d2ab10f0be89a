"""CSV uploads: participants and past orders, imported as the `goodword import` command does
(docs/import-export.md). The answer lists the first refused rows with their line and reason.
Uploads may be up to `API_MAX_UPLOAD_BYTES` (64 MiB by default); larger files are imported
with the command line."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, File, Form, Router, Schema, UploadedFile

from goodword.api.v1.auth import workspace_of
from goodword.api.v1.schemas import ERRORS
from goodword.imports import runs, uploads
from goodword.imports.models import Import

router = Router(tags=["imports"])


class RefusedRow(Schema):
    line: int = Field(description="the line of the file the row starts on (the header is 1)")
    reason: str
    row: list[str] = Field(description="the row's cells as sent")


class ImportOut(Schema):
    id: str
    kind: str
    status: str = Field(description="done")
    line: int = Field(description="the last line read")
    rows: int = Field(description="rows read, over every upload of this file")
    created: int
    updated: int = Field(description="participants changed (orders: always 0)")
    skipped: int = Field(description="participants unchanged; orders known already")
    failed: int = Field(description="rows refused")
    resumed_after: int = Field(description="the line an interrupted earlier upload reached")
    already_done: bool = Field(description="this file was imported before: nothing was done")
    errors: list[RefusedRow] = Field(description=f"the first {runs.SHOWN} rows refused now")


def _run(request: HttpRequest, kind: str, file: UploadedFile, with_rewards: bool) -> Any:
    done = uploads.import_upload(
        workspace=workspace_of(request), kind=kind, file=file, with_rewards=with_rewards
    )
    return {**done.summary.__dict__, "errors": done.refused}


@router.post("/imports/participants", response={200: ImportOut, **ERRORS})
def import_participants(request: HttpRequest, file: File[UploadedFile]) -> Any:
    """Upsert participants by `external_id` from a CSV file (multipart field `file`): columns
    `external_id` (required), `email`, `name` and `attr.<name>`."""
    return _run(request, Import.Kind.PARTICIPANTS, file, with_rewards=False)


@router.post("/imports/orders", response={200: ImportOut, **ERRORS})
def import_orders(
    request: HttpRequest, file: File[UploadedFile], with_rewards: Form[bool] = False
) -> Any:
    """Import past orders from a CSV file (multipart field `file`): `order_id`,
    `customer_external_id`, `amount` (major units: 42.50), `currency`, `occurred_at` (ISO 8601)
    and optionally `referral_code`. They feed analytics and earn nothing, unless `with_rewards`
    is true: then they are decided like live purchase events."""
    return _run(request, Import.Kind.ORDERS, file, with_rewards=with_rewards)
