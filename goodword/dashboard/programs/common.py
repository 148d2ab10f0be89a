"""What the programs pages share: finding a program of this workspace, naming audit actions."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from goodword.programs.models import Program
from goodword.rewards.models import CouponPool


def get_program(request: HttpRequest, program_id: str) -> Program:
    """The workspace's program by public id; another workspace's (or none) is a 404."""
    program = (
        Program.objects.for_workspace(request.workspace)  # type: ignore[attr-defined]
        .filter(public_id=program_id)
        .first()
    )
    if program is None:
        raise Http404("no such program in this workspace")
    return program


def pool_names(request: HttpRequest) -> dict[str, str]:
    """The workspace's coupon pools by id, to name them in words."""
    rows = CouponPool.objects.for_workspace(request.workspace)  # type: ignore[attr-defined]
    return dict(rows.values_list("public_id", "name"))


def action(verb: str) -> str:
    """An audit log action on a program: `program.create`, `program.pause`, … (staff actions,
    not domain events: those are `program.created`, `program.status_changed`)."""
    return f"program.{verb}"
