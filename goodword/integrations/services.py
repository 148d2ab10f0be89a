"""Connections: create, change, delete; deliveries in (one insert); retry a failed item."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db import connection as db

from goodword.accounts.models import Workspace
from goodword.integrations import receive
from goodword.integrations.models import Connection, InboxItem, Provider, new_inbox_item_id
from goodword.integrations.tasks import process_inbox_task
from goodword.lib import sql
from goodword.lib.errors import Conflict, Invalid

WRITE_KEY_PREFIX = "gwsk_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _check_secret(provider: str, secret: str) -> None:
    if provider == Provider.SEGMENT:
        if secret:
            raise Invalid(
                "a Segment connection takes no secret: it gets a write key", code="invalid_secret"
            )
        return
    if not secret:
        raise Invalid(
            f"a {provider} connection needs the provider's `secret`", code="invalid_secret"
        )
    if provider == Provider.STRIPE and not secret.startswith("whsec_"):
        raise Invalid(
            "a Stripe signing secret starts with whsec_ (Developers > Webhooks > your endpoint)",
            code="invalid_secret",
        )


def _forget() -> None:
    # This process's web threads see the change at once, other processes within the cache's
    # TTL (`receive`). Again after the commit: a delivery between the two may have cached the
    # row as it was.
    receive.forget()
    transaction.on_commit(receive.forget)


@transaction.atomic
def create_connection(
    *,
    workspace: Workspace,
    provider: str,
    secret: str = "",
    options: dict[str, Any] | None = None,
    now: datetime,
) -> tuple[Connection, str | None]:
    """Create a connection. A Segment connection gets a write key, returned here once and
    kept only as its hash (the second value; None for the other providers)."""
    _check_secret(provider, secret)
    key = None
    fields: dict[str, Any] = {}
    if provider == Provider.SEGMENT:
        key = WRITE_KEY_PREFIX + secrets.token_urlsafe(24)
        fields = {"key_hash": hash_key(key), "key_prefix": key[:12]}
    connection = Connection.objects.create(
        workspace=workspace,
        provider=provider,
        secret=secret,
        options=options or {},
        created_at=now,
        **fields,
    )
    return connection, key


@transaction.atomic
def update_connection(
    *,
    connection: Connection,
    options: dict[str, Any] | None = None,
    active: bool | None = None,
    secret: str | None = None,
) -> Connection:
    """Change a connection; a new `secret` replaces the old at once (rotate at the provider
    first: deliveries signed with the old one are refused from now on)."""
    changed: list[str] = []
    if options is not None:
        connection.options, changed = options, [*changed, "options"]
    if active is not None:
        connection.active, changed = active, [*changed, "active"]
    if secret is not None:
        _check_secret(connection.provider, secret)
        connection.secret, changed = secret, [*changed, "secret"]
    if changed:
        connection.save(update_fields=changed)
        _forget()
    return connection


@transaction.atomic
def delete_connection(*, connection: Connection) -> None:
    """Delete a connection and its inbox. The events it recorded stay."""
    connection.delete()
    _forget()


def store_delivery(
    *,
    connection: Connection,
    topic: str,
    delivery_id: str,
    body: str,
    headers: dict[str, str],
    now: datetime,
) -> bool:
    """Keep a verified delivery for the worker: one INSERT, written out (`lib.sql`: the
    ORM's insert and its transaction were half a delivery's CPU). A redelivery of one stored
    before (the same provider id) is dropped by the unique index, not looked up first.

    False when the connection is gone: deleted by another process while this one had it
    cached (`receive`). The caller answers as for an unknown connection."""
    values = {
        "public_id": new_inbox_item_id(),
        "workspace_id": connection.workspace_id,
        "connection_id": connection.pk,
        "provider": connection.provider,
        "topic": topic[:100],
        "delivery_id": delivery_id[:255],
        "body": body,
        "headers": headers,
        "status": InboxItem.Status.PENDING,
        "error": "",
        "attempts": 0,
        "next_attempt_at": now,
        "received_at": now,
        "result": {},
    }
    try:
        _insert_item(values)
    except IntegrityError:
        # Its foreign keys: the connection (or its workspace) no longer exists. Run outside a
        # transaction (a request's autocommit), so nothing is left to roll back.
        receive.forget()
        return False
    return True


def _insert_item(values: dict[str, Any]) -> None:
    if db.in_atomic_block:
        sql.insert(InboxItem, values, on_conflict_skip=True)
        return
    # Django's health check before a request's first statement (`CONN_HEALTH_CHECKS`, a
    # `SELECT 1`: a round trip) was a fifth of a delivery's CPU. Skipped here: a dropped
    # connection fails the INSERT itself, which is tried once more on a new connection, as the
    # redirect does (`public.links.resolve`). Only outside a transaction, where the failed
    # statement has committed nothing (a connection lost after the commit, before the answer,
    # could store a Segment call twice: it has no delivery id to dedupe on).
    db.health_check_done = True  # type: ignore[attr-defined]  # not in the stubs
    try:
        sql.insert(InboxItem, values, on_conflict_skip=True)
    except (OperationalError, InterfaceError):
        db.close()
        sql.insert(InboxItem, values, on_conflict_skip=True)


@transaction.atomic
def retry_item(*, item: InboxItem, now: datetime) -> InboxItem:
    """Put a failed (or ignored) item back in the queue; the next sweep processes it again.
    Recording its events again is safe: they are idempotent on their ids."""
    claimed = InboxItem.objects.filter(
        pk=item.pk, status__in=[InboxItem.Status.FAILED, InboxItem.Status.IGNORED]
    ).update(status=InboxItem.Status.PENDING, next_attempt_at=now, attempts=0)
    if not claimed:
        raise Conflict(
            f"only a failed or ignored item can be retried; this one is {item.status}",
            code="not_retryable",
        )
    item.refresh_from_db()
    # The worker's task, after the commit; the scheduler's sweep would find it anyway.
    transaction.on_commit(process_inbox_task.enqueue)
    return item
