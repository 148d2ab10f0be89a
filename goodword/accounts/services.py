from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.utils import timezone

from goodword.accounts.models import ApiKey, AuditEntry, Invitation, Membership, Workspace
from goodword.accounts.roles import Can, allows
from goodword.events import services as events
from goodword.lib.errors import Conflict, DomainError, Invalid, NotFound

KEY_PREFIX = "gw_sk_"


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_api_key(*, workspace: Workspace, name: str = "default") -> tuple[ApiKey, str]:
    """Create a key; return it with the secret, which is never available again."""
    raw = KEY_PREFIX + secrets.token_urlsafe(24)
    key = ApiKey.objects.create(
        workspace=workspace, name=name, prefix=raw[:12], key_hash=hash_key(raw)
    )
    _record_key("api_key.created", key, key.created_at)
    return key, raw


@transaction.atomic
def revoke_api_key(*, key: ApiKey, now: datetime | None = None) -> bool:
    """Revoke a live key; False when it was already revoked."""
    now = now or timezone.now()
    updated = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
    if updated:
        _record_key("api_key.revoked", key, now)
    return bool(updated)


def _record_key(name: str, key: ApiKey, now: datetime) -> None:
    events.record(
        name,
        workspace_id=key.workspace_id,
        subject_id=key.public_id,
        data={"name": key.name, "prefix": key.prefix},
        now=now,
    )


# Every API call runs this: a plain statement costs ~20 us where the ORM's query building
# costs ~300 us. The third column says whether `last_used_at` is over a minute old.
_LIVE_KEY = (
    "SELECT id, workspace_id, (last_used_at IS NULL OR last_used_at < %s) "
    "FROM accounts_apikey WHERE key_hash = %s AND revoked_at IS NULL"
)


def authenticate_key(raw: str, *, now: datetime | None = None) -> ApiKey | None:
    """Return the live key for a secret, or None. Revocation takes effect on the next call.

    The key and its `workspace` come back with only their ids loaded; other fields load on
    first use. Use is noted at minute resolution: a write per request would double its cost.
    """
    if not raw.startswith(KEY_PREFIX) or len(raw) > 100:
        return None
    now = now or timezone.now()
    with connection.cursor() as cursor:
        stale_before = connection.ops.adapt_datetimefield_value(now - timedelta(minutes=1))
        cursor.execute(_LIVE_KEY, [stale_before, hash_key(raw)])
        row = cursor.fetchone()
    if row is None:
        return None
    key = ApiKey.from_db(DEFAULT_DB_ALIAS, ["id", "workspace_id"], row[:2])
    key.workspace = Workspace.from_db(DEFAULT_DB_ALIAS, ["id"], row[1:2])
    if row[2]:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


@transaction.atomic
def update_workspace(*, workspace_id: int, **fields: Any) -> tuple[Workspace, list[str]]:
    """Change a workspace's fields under a row lock (so two edits of `allowed_domains` cannot
    lose each other's changes); return it with the names of the fields that changed.

    Records `workspace.updated` when any did.
    """
    workspace = Workspace.objects.select_for_update().get(pk=workspace_id)
    changed = [name for name, value in fields.items() if getattr(workspace, name) != value]
    for name in changed:
        setattr(workspace, name, fields[name])
    if changed:
        workspace.save(update_fields=changed)
        events.record(
            "workspace.updated",
            workspace_id=workspace.pk,
            subject_id=workspace.public_id,
            data={"fields": sorted(changed)},
        )
    return workspace, changed


@transaction.atomic
def allow_domain(*, workspace_id: int, host: str) -> None:
    """Add a host to the workspace's allowed link domains (under a row lock).

    Records no `workspace.updated`: the program.created or program.updated event of the
    destination that needs the host, in the same transaction, is the record of the change.
    """
    workspace = Workspace.objects.select_for_update().get(pk=workspace_id)
    if host not in workspace.allowed_domains:
        workspace.allowed_domains = [*workspace.allowed_domains, host]
        workspace.save(update_fields=["allowed_domains"])


@transaction.atomic
def create_workspace(
    *, name: str, owner_email: str, password: str | None = None
) -> tuple[Workspace, str]:
    """Create a workspace with its owner (a staff user) and a first API key."""
    User = get_user_model()
    workspace = Workspace.objects.create(name=name)
    events.record(
        "workspace.created",
        workspace_id=workspace.pk,
        subject_id=workspace.public_id,
        data={"name": name},
        now=workspace.created_at,
    )
    user = User.objects.filter(username=owner_email).first()
    if user is None:
        user = User.objects.create_user(
            username=owner_email, email=owner_email, password=password, is_staff=True
        )
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
    member = Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.OWNER)
    events.record(
        "member.added",
        workspace_id=workspace.pk,
        subject_id=workspace.public_id,
        data={"user": user.get_username(), "role": member.role},
        now=member.created_at,
    )
    _, raw = create_api_key(workspace=workspace)
    return workspace, raw


def record_audit(
    *,
    workspace_id: int,
    user: Any,
    action: str,
    subject: str = "",
    data: dict[str, Any] | None = None,
    ip: str | None = None,
    user_agent: str = "",
    now: datetime | None = None,
) -> AuditEntry:
    """Note a staff action in the audit log. Call it inside the action's transaction, so the
    entry exists exactly when the action happened."""
    return AuditEntry.objects.create(
        workspace_id=workspace_id,
        user=user,
        actor=user.get_username() if user is not None else "",
        action=action,
        subject=subject,
        data=data or {},
        ip=ip,
        user_agent=user_agent[:300],
        created_at=now or timezone.now(),
    )


# Workspace settings: the rules of `PATCH /workspace`, for every caller.

MAX_DOMAINS = 50
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def clean_domains(values: Iterable[str]) -> list[str]:
    """Allowed link domains as stored: lower case, without a trailing dot, sorted, once each.

    Raise Invalid naming every entry that is not a host name (`localhost` is one).
    """
    cleaned = [d.strip().lower().rstrip(".") for d in values]
    if len(cleaned) > MAX_DOMAINS:
        raise Invalid(f"at most {MAX_DOMAINS} domains")
    bad = [d for d in cleaned if not _DOMAIN.match(d) and d != "localhost"]
    if bad:
        raise Invalid(f"not a domain name: {', '.join(bad)}")
    return sorted(set(cleaned))


# The team: invitations, roles, removal. The rules, wherever a change comes from: it takes
# TEAM; only an owner (OWN) makes, unmakes, invites or removes owners; nobody changes their
# own role or removes themselves; a workspace always keeps an owner. Changes lock the
# workspace's row first, so two of them (two owners demoting each other) run one after the
# other and the second sees the first's result.

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
