from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from goodword.accounts.models import ApiKey, Membership, Workspace

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
    return key, raw


def revoke_api_key(*, key: ApiKey, now: datetime | None = None) -> bool:
    updated = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )
    return bool(updated)


def authenticate_key(raw: str) -> ApiKey | None:
    """Return the live key for a secret, or None. Revocation takes effect on the next call."""
    if not raw.startswith(KEY_PREFIX) or len(raw) > 100:
        return None
    try:
        return ApiKey.objects.select_related("workspace").get(
            key_hash=hash_key(raw), revoked_at__isnull=True
        )
    except ApiKey.DoesNotExist:
        return None


@transaction.atomic
def create_workspace(
    *, name: str, owner_email: str, password: str | None = None
) -> tuple[Workspace, str]:
    """Create a workspace with its owner (a staff user) and a first API key."""
    User = get_user_model()
    workspace = Workspace.objects.create(name=name)
    user = User.objects.filter(username=owner_email).first()
    if user is None:
        user = User.objects.create_user(
            username=owner_email, email=owner_email, password=password, is_staff=True
        )
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
    Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.OWNER)
    _, raw = create_api_key(workspace=workspace)
    return workspace, raw
