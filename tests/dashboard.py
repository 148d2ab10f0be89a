"""Helpers for dashboard tests: staff users of a role, signed in; the audit log; row counts;
pages as markup and as people read them."""

from __future__ import annotations

import html
import re
from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client

from goodword.accounts.models import AuditEntry, Membership, Workspace
from tests.shared import row_counts

PASSWORD = "correct horse battery staple"


def member(workspace: Workspace, email: str, role: str) -> Client:
    """A user with `role` in `workspace` (created if new), signed in; their client."""
    User = get_user_model()
    user = User.objects.filter(username=email).first() or User.objects.create_user(
        username=email, email=email, password=PASSWORD
    )
    Membership.objects.update_or_create(workspace=workspace, user=user, defaults={"role": role})
    client = Client()
    client.force_login(user)
    return client


def owner(workspace: Workspace) -> Client:
    """The workspace's owner (made by `create_workspace`), signed in."""
    user = get_user_model().objects.get(username=f"owner@{workspace.name.lower()}.test")
    client = Client()
    client.force_login(user)
    return client


ROLES = ("owner", "admin", "reviewer", "analyst")
REVIEWERS = ("owner", "admin", "reviewer")  # Can.REVIEW
MANAGERS = ("owner", "admin")  # Can.MANAGE


def staff(workspace: Workspace, role: str) -> Client:
    """The workspace's owner, or `<role>@<workspace>.test` with `role`, signed in."""
    if role == "owner":
        return owner(workspace)
    return member(workspace, f"{role}@{workspace.name.lower()}.test", role)


def audits() -> list[tuple[str, str, str, dict[str, Any], str | None]]:
    """The audit log, oldest first: (actor, action, subject, data, ip)."""
    return [(a.actor, a.action, a.subject, a.data, a.ip) for a in AuditEntry.objects.order_by("pk")]


# What signing a member in writes: sessions, the sign-in log, users and memberships.
SIGNING_IN = ("sessions.Session", "axes.AccessLog", "auth.User", "accounts.Membership")


def counts_but_signing_in() -> dict[str, int]:
    """Every table's row count but those that signing in writes to."""
    return {k: v for k, v in row_counts().items() if k not in SIGNING_IN}


def markup(answer: Any) -> str:
    """A response's body, decoded."""
    return str(answer.content.decode())


def readable(answer: Any) -> str:
    """A page's main part as people read it: tags gone, entities decoded, white space
    squeezed."""
    body = answer.content.decode()
    body = body[body.index("<main") :]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()
