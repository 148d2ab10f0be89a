"""Staff actions in the audit log, with who, from where and when."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from goodword.accounts.services import record_audit
from goodword.dashboard.access import client_ip


def audit(request: HttpRequest, action: str, subject: str = "", **data: Any) -> None:
    """Note what the signed-in staff member just did. Call it inside the action's transaction."""
    record_audit(
        workspace_id=request.workspace.pk,  # type: ignore[attr-defined]
        user=request.user,
        action=action,
        subject=subject,
        data=data,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
