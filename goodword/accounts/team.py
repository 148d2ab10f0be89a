"""The team: invitations, roles, removal.

The rules, wherever a change comes from: it takes TEAM; only an owner (OWN) makes, unmakes,
invites or removes owners; nobody changes their own role or removes themselves; a workspace
always keeps an owner. Changes lock the workspace's row first, so two of them (two owners
demoting each other) run one after the other and the second sees the first's result.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from goodword.accounts.models import Invitation, Membership, Workspace
from goodword.accounts.roles import Can, allows
from goodword.accounts.services import hash_key
from goodword.events import services as events
from goodword.lib.errors import Conflict, DomainError, Invalid, NotFound

INVITATION_DAYS = 7


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Gone(DomainError):
    """An invitation used, revoked or out of date."""

    status = 410
    code = "gone"


def _lock_workspace(workspace_id: int) -> Workspace:
    return Workspace.objects.select_for_update().get(pk=workspace_id)


def _acting(by: Membership, workspace_id: int) -> Membership:
    """The acting member as they are now (a role changed a moment ago counts), holding TEAM."""
    now = Membership.objects.for_workspace(workspace_id).filter(pk=by.pk).first()
    if now is None or not allows(now.role, Can.TEAM):
        raise Forbidden("Your role here may not change the team.")
    return now


def _check_change(by: Membership, member: Membership, role: str | None) -> None:
    """Refuse a change of `member`'s role to `role` (None: removal) that the rules forbid."""
    owner = Membership.Role.OWNER
    if member.role == owner and role != owner:
        owners = Membership.objects.for_workspace(member.workspace_id).filter(role=owner)
        if not owners.exclude(pk=member.pk).exists():
            raise Conflict(
                "A workspace keeps at least one owner: make someone else an owner first.",
                code="last_owner",
            )
    if member.pk == by.pk:
        raise Forbidden("Nobody can change their own role or remove themselves.")
    if owner in (member.role, role) and not allows(by.role, Can.OWN):
        raise Forbidden("Only an owner can make, unmake or remove owners.")


def _member(workspace_id: int, member: Membership) -> Membership:
    found = (
        Membership.objects.for_workspace(workspace_id)
        .filter(pk=member.pk)
        .select_related("user")
        .first()
    )
    if found is None:
        raise NotFound("no such member in this workspace")
    return found


def _actor(by: Membership) -> str:
    return f"user:{by.user_id}"


@transaction.atomic
def change_role(*, member: Membership, role: str, by: Membership) -> bool:
    """Give `member` another role; False when they have it already."""
    if role not in Membership.Role.values:
        raise Invalid(f"not a role: {role}")
    workspace = _lock_workspace(by.workspace_id)
    by = _acting(by, workspace.pk)
    member = _member(workspace.pk, member)
    if member.role == role:
        return False
    _check_change(by, member, role)
    Membership.objects.filter(pk=member.pk, role=member.role).update(role=role)
    events.record(
        "member.role_changed",
        workspace_id=workspace.pk,
        subject_id=workspace.public_id,
        data={
            "user": member.user.get_username(),
            "role": role,
            "was": member.role,
            "actor": _actor(by),
        },
    )
    return True


@transaction.atomic
def remove_member(*, member: Membership, by: Membership) -> None:
    """Take `member` out of the workspace: from their next request they see nothing of it."""
    workspace = _lock_workspace(by.workspace_id)
    by = _acting(by, workspace.pk)
    member = _member(workspace.pk, member)
    _check_change(by, member, None)
    Membership.objects.filter(pk=member.pk).delete()
    events.record(
        "member.removed",
        workspace_id=workspace.pk,
        subject_id=workspace.public_id,
        data={"user": member.user.get_username(), "role": member.role, "actor": _actor(by)},
    )


def user_with_email(email: str) -> Any:
    # Staff users sign in with their email address as their username.
    return get_user_model().objects.filter(username__iexact=email).first()


@transaction.atomic
def invite_member(
    *, email: str, role: str, by: Membership, now: datetime | None = None
) -> tuple[Invitation, str]:
    """Invite `email` to `by`'s workspace with `role`, valid for INVITATION_DAYS; return the
    invitation and its token, which only the emailed link carries (the row keeps its SHA-256).

    A new invitation replaces the address's pending one, so only the latest link works.
    """
    now = now or timezone.now()
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise Invalid(f"not an email address: {email}") from None
    if role not in Membership.Role.values:
        raise Invalid(f"not a role: {role}")
    workspace = _lock_workspace(by.workspace_id)
    by = _acting(by, workspace.pk)
    if role == Membership.Role.OWNER and not allows(by.role, Can.OWN):
        raise Forbidden("Only an owner can invite an owner.")
    members = Membership.objects.for_workspace(workspace.pk)
    if members.filter(user__username__iexact=email).exists():
        raise Conflict(f"{email} is a member already.", code="already_member")
    pending = Invitation.objects.for_workspace(workspace.pk).filter(
        email=email, accepted_at__isnull=True, revoked_at__isnull=True
    )
    for old in pending:
        _revoke(old, by, now)
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        token_hash=hash_key(token),
        invited_by_id=by.user_id,
        created_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS),
    )
    events.record(
        "invitation.created",
        workspace_id=workspace.pk,
        subject_id=invitation.public_id,
        data={"email": email, "role": role, "actor": _actor(by)},
        now=now,
    )
    return invitation, token


def _revoke(invitation: Invitation, by: Membership, now: datetime) -> bool:
    pending = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    )
    if not pending.update(revoked_at=now):
        return False
    events.record(
        "invitation.revoked",
        workspace_id=invitation.workspace_id,
        subject_id=invitation.public_id,
        data={"email": invitation.email, "actor": _actor(by)},
        now=now,
    )
    return True


@transaction.atomic
def revoke_invitation(
    *, invitation: Invitation, by: Membership, now: datetime | None = None
) -> bool:
    """Make an invitation's link stop working; False when it was used or revoked already."""
    by = _acting(by, invitation.workspace_id)
    if invitation.role == Membership.Role.OWNER and not allows(by.role, Can.OWN):
        raise Forbidden("Only an owner can revoke an invitation to be an owner.")
    return _revoke(invitation, by, now or timezone.now())


def find_invitation(token: str) -> Invitation | None:
    """The invitation a link's token names, in whatever state, with its workspace."""
    return (
        Invitation.objects.filter(token_hash=hash_key(token))
        .select_related("workspace", "invited_by")
        .first()
    )


def invitation_state(invitation: Invitation, now: datetime) -> str:
    """`pending`, or why the link no longer works: `accepted`, `revoked` or `expired`."""
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= now:
        return "expired"
    return "pending"


@transaction.atomic
def accept_invitation(
    *,
    token: str,
    user: Any = None,
    password: str | None = None,
    now: datetime | None = None,
) -> tuple[Membership, Any, bool]:
    """Join the invitation's workspace with its role, as `user` (who must be the invited
    address) or, when nobody has that address yet, as a new user with `password`.

    Return the membership, the user and whether they joined now: someone who is a member
    already keeps their membership as it is. The invitation is used up either way, claimed by
    a conditional update: of two acceptances at once, one joins and the other gets Gone.
    """
    now = now or timezone.now()
    invitation = find_invitation(token)
    if invitation is None:
        raise NotFound("This invitation link is not valid.")
    if invitation_state(invitation, now) != "pending":
        raise Gone("This invitation can no longer be used.")
    email = invitation.email.lower()
    if user is not None and user.get_username().lower() != email:
        raise Forbidden(f"This invitation is for {email}.")
    if user is None and (not password or user_with_email(email) is not None):
        raise Conflict(f"Sign in as {email} to accept.", code="sign_in")
    claimed = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).update(accepted_at=now)
    if not claimed:
        raise Gone("This invitation can no longer be used.")
    if user is None:
        try:
            with transaction.atomic():
                user = get_user_model().objects.create_user(
                    username=email, email=email, password=password
                )
        except IntegrityError:  # the address signed up elsewhere at this very moment
            raise Conflict(f"Sign in as {email} to accept.", code="sign_in") from None
    member, joined = _join(invitation, user)
    events.record(
        "invitation.accepted",
        workspace_id=invitation.workspace_id,
        subject_id=invitation.public_id,
        data={"user": user.get_username(), "role": invitation.role, "joined": joined},
        now=now,
    )
    return member, user, joined


def _join(invitation: Invitation, user: Any) -> tuple[Membership, bool]:
    members = Membership.objects.for_workspace(invitation.workspace_id)
    existing = members.filter(user=user).first()
    if existing is not None:
        return existing, False
    try:
        # The unique (workspace, user) constraint settles a race with another invitation.
        with transaction.atomic():
            member = members.create(
                workspace_id=invitation.workspace_id, user=user, role=invitation.role
            )
    except IntegrityError:
        return members.get(user=user), False
    events.record(
        "member.added",
        workspace_id=invitation.workspace_id,
        subject_id=invitation.workspace.public_id,
        data={"user": user.get_username(), "role": member.role},
        now=member.created_at,
    )
    return member, True
