"""An uploaded CSV file, imported while the request waits: the API's `POST /imports/…` and the
dashboard's Imports page both call `import_upload`, so they answer alike. Uploads are limited
to `API_MAX_UPLOAD_BYTES` (checked by each caller before the body is read); bigger files go by
the command line, which writes every refused row to a file instead of listing the first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import UploadedFile

from goodword.accounts.models import Workspace
from goodword.imports import runs
from goodword.lib.errors import Invalid


@dataclass(frozen=True)
class Uploaded:
    summary: runs.Summary
    # The first `runs.SHOWN` rows this upload refused: {"line", "reason", "row"}.
    refused: list[dict[str, Any]]


def import_upload(
    *, workspace: Workspace, kind: str, file: UploadedFile[bytes], with_rewards: bool
) -> Uploaded:
    """Import `file` as `kind` into `workspace` (`runs.run`): its counts and first refused rows."""
    stream = file.file
    if stream is None:
        raise Invalid("send the CSV file as the multipart field `file`", code="no_file")
    shown = runs.ErrorList()
    summary = runs.run(
        workspace=workspace,
        kind=kind,
        stream=stream,
        file_name=file.name or "",
        with_rewards=with_rewards,
        errors=shown,
    )
    return Uploaded(summary, shown.shown)
