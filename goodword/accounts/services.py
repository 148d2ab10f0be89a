from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.utils import timezone

from goodword.accounts.models import ApiKey, AuditEntry, Membership, Workspace
from goodword.events import services as events
from goodword.lib.errors import Invalid

KEY_PREFIX = "gw_sk_"
PUBLISHABLE_PREFIX = "gw_pk_"
_PREFIXES = {ApiKey.Kind.SECRET: KEY_PREFIX, ApiKey.Kind.PUBLISHABLE: PUBLISHABLE_PREFIX}


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_api_key(
    *, workspace: Workspace, name: str = "default", kind: str = ApiKey.Kind.SECRET
) -> tuple[ApiKey, str]:
    """Create a key; return it with its value. A secret key's value is never available again;
    a publishable key's is kept, as it is public anyway."""
    raw = _PREFIXES[ApiKey.Kind(kind)] + secrets.token_urlsafe(24)
    key = ApiKey.objects.create(
        workspace=workspace,
        name=name,
        kind=kind,
        prefix=raw[:12],
        key_hash=hash_key(raw),
        publishable_value=raw if kind == ApiKey.Kind.PUBLISHABLE else "",
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
    "SELECT id, workspace_id, kind, (last_used_at IS NULL OR last_used_at < %s) "
    "FROM accounts_apikey WHERE key_hash = %s AND revoked_at IS NULL"
)


def authenticate_key(raw: str, *, now: datetime | None = None) -> ApiKey | None:
    """Return the live key for a secret, or None. Revocation takes effect on the next call.

    The key (with its `kind`) and its `workspace` come back with only their ids loaded; other
    fields load on first use. Use is noted at minute resolution: a write per request would
    double its cost.
    """
    if not raw.startswith((KEY_PREFIX, PUBLISHABLE_PREFIX)) or len(raw) > 100:
        return None
    now = now or timezone.now()
    with connection.cursor() as cursor:
        stale_before = connection.ops.adapt_datetimefield_value(now - timedelta(minutes=1))
        cursor.execute(_LIVE_KEY, [stale_before, hash_key(raw)])
        row = cursor.fetchone()
    if row is None:
        return None
    key = ApiKey.from_db(DEFAULT_DB_ALIAS, ["id", "workspace_id", "kind"], row[:3])
    key.workspace = Workspace.from_db(DEFAULT_DB_ALIAS, ["id"], row[1:2])
    if row[3]:
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
