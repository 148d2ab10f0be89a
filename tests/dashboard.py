"""Helpers for dashboard tests: staff users of a role, signed in."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client

from goodword.accounts.models import Membership, Workspace

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
