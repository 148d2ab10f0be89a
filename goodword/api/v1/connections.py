"""Inbound connections (Shopify, Stripe, Segment) and their inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from pydantic import BaseModel, ConfigDict, StringConstraints

from goodword.api.v1.auth import workspace_of
from goodword.api.v1.pagination import paginate
from goodword.api.v1.schemas import ERRORS, PatchIn, Unset
from goodword.integrations import services
from goodword.integrations.models import Connection, InboxItem
from goodword.integrations.queries import inbound_url, inbox_counts, with_inbox_counts
from goodword.lib.errors import Invalid
from goodword.lib.schemas import Currency

router = Router(tags=["connections"])

Secret = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
EventName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
WHAT_TO_SEND = (
    "Shopify: the app's client secret (it signs X-Shopify-Hmac-Sha256); Stripe: the "
    "endpoint's signing secret, whsec_...; Segment: none (a write key is generated)"
)


class SegmentEvents(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signup: EventName | None = None
    purchase: EventName | None = None
    refund: EventName | None = None


class OptionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Annotated[str, StringConstraints(max_length=200)] | None = None
    shop_domain: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = Field(
        default=None,
        description="Shopify: accept webhooks of this shop only (X-Shopify-Shop-Domain)",
    )
    events: SegmentEvents | None = Field(
        default=None,
        description="Segment: the track names meaning signup, purchase, refund (defaults "
        "`Signed Up`, `Order Completed`, `Order Refunded`)",
    )
    default_currency: Currency | None = Field(
        default=None, description="Segment: for a track without `currency` (else USD)"
    )
    test: bool | None = Field(default=None, description="Segment: every event is a test event")


class ConnectionIn(Schema):
    model_config = {"extra": "forbid"}

    provider: Literal["shopify", "stripe", "segment"]
    secret: Secret | None = Field(default=None, description=WHAT_TO_SEND)
    options: OptionsIn | None = None


class ConnectionPatch(PatchIn):
    options: OptionsIn | Unset = None
    active: bool | Unset = None
    secret: Secret | Unset = Field(default=None, description="a new secret (rotation)")


class ConnectionOut(Schema):
    id: str
    provider: str
    inbound_url: str = Field(
        description="Shopify, Stripe: the webhook URL to register; Segment: the host to give "
        "the library (it posts to <host>/v1/batch)"
    )
    write_key: str | None = Field(
        default=None, description="Segment: the write key, in the answer to POST only"
    )
    write_key_prefix: str | None
    options: dict[str, Any]
    active: bool
    pending: int
    failed: int
    created_at: datetime
    last_received_at: datetime | None


class ConnectionList(Schema):
    data: list[ConnectionOut]
    next_cursor: str | None


class InboxItemOut(Schema):
    id: str
    connection: str
    provider: str
    topic: str
    delivery_id: str
    status: str
    error: str
    attempts: int
    result: dict[str, Any]
    received_at: datetime
    processed_at: datetime | None


class InboxList(Schema):
    data: list[InboxItemOut]
    next_cursor: str | None


def render_connection(connection: Connection, write_key: str | None = None) -> dict[str, Any]:
    # A list's rows come annotated (`with_inbox_counts`); one connection asks.
    pending, failed = getattr(connection, "pending", None), getattr(connection, "failed", None)
    if pending is None or failed is None:
        counts = inbox_counts([connection.pk]).get(connection.pk, {"pending": 0, "failed": 0})
    else:
        counts = {"pending": pending, "failed": failed}
    return {
        "id": connection.public_id,
        "provider": connection.provider,
        "inbound_url": inbound_url(connection),
        "write_key": write_key,
        "write_key_prefix": connection.key_prefix or None,
        "options": connection.options,
        "active": connection.active,
        **counts,
        "created_at": connection.created_at,
        "last_received_at": connection.last_received_at,
    }


def render_item(item: InboxItem) -> dict[str, Any]:
    return {
        "id": item.public_id,
        "connection": item.connection.public_id,
        "provider": item.provider,
        "topic": item.topic,
        "delivery_id": item.delivery_id,
        "status": item.status,
        "error": item.error,
        "attempts": item.attempts,
        "result": item.result,
        "received_at": item.received_at,
        "processed_at": item.processed_at,
    }


def get_connection(request: HttpRequest, connection_id: str) -> Connection:
    found: Connection = get_object_or_404(
        Connection.objects.for_workspace(workspace_of(request)), public_id=connection_id
    )
    return found


def _options(provider: str, body: OptionsIn | None) -> dict[str, Any]:
    if body is None:
        return {}
    if body.shop_domain is not None and provider != "shopify":
        raise Invalid("options.shop_domain is for Shopify connections", code="invalid_options")
    segment_only = (body.events, body.default_currency, body.test)
    if provider != "segment" and any(v is not None for v in segment_only):
        raise Invalid(
            "options.events, default_currency and test are for Segment connections",
            code="invalid_options",
        )
    return body.model_dump(exclude_none=True)


@router.post("/connections", response={201: ConnectionOut, **ERRORS})
def create_connection(request: HttpRequest, body: ConnectionIn) -> Status[dict[str, Any]]:
    """Connect a provider. The answer names the `inbound_url`; a Segment connection's
    `write_key` is shown in it once, and kept only as a hash."""
    connection, key = services.create_connection(
        workspace=workspace_of(request),
        provider=body.provider,
        secret=body.secret or "",
        options=_options(body.provider, body.options),
        now=timezone.now(),
    )
    return Status(201, render_connection(connection, key))


@router.get("/connections", response={200: ConnectionList, **ERRORS})
def list_connections(
    request: HttpRequest, cursor: str | None = None, limit: int = 20
) -> dict[str, Any]:
    qs = with_inbox_counts(Connection.objects.for_workspace(workspace_of(request)))
    return paginate(qs, cursor=cursor, limit=limit, render=render_connection)


@router.get("/connections/{connection_id}", response={200: ConnectionOut, **ERRORS})
def read_connection(request: HttpRequest, connection_id: str) -> dict[str, Any]:
    return render_connection(get_connection(request, connection_id))


@router.patch("/connections/{connection_id}", response={200: ConnectionOut, **ERRORS})
def change_connection(
    request: HttpRequest, connection_id: str, body: ConnectionPatch
) -> dict[str, Any]:
    connection = get_connection(request, connection_id)
    given = body.model_fields_set
    options = body.options if isinstance(body.options, OptionsIn) else None
    services.update_connection(
        connection=connection,
        options=_options(connection.provider, options) if options is not None else None,
        active=body.active if "active" in given and isinstance(body.active, bool) else None,
        secret=body.secret if "secret" in given and isinstance(body.secret, str) else None,
    )
    return render_connection(get_connection(request, connection_id))


@router.delete("/connections/{connection_id}", response={204: None, **ERRORS})
def delete_connection(request: HttpRequest, connection_id: str) -> Status[None]:
    services.delete_connection(connection=get_connection(request, connection_id))
    return Status(204, None)


@router.get("/connections/{connection_id}/inbox", response={200: InboxList, **ERRORS})
def list_inbox(
    request: HttpRequest,
    connection_id: str,
    status: Literal["pending", "processed", "failed", "ignored"] | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> dict[str, Any]:
    """The connection's deliveries, newest first; a failed one shows its error."""
    connection = get_connection(request, connection_id)
    qs = InboxItem.objects.for_workspace(workspace_of(request)).filter(connection=connection)
    if status:
        qs = qs.filter(status=status)
    return paginate(qs.select_related("connection"), cursor=cursor, limit=limit, render=render_item)


@router.post(
    "/connections/{connection_id}/inbox/{item_id}/retry", response={200: InboxItemOut, **ERRORS}
)
def retry_inbox_item(request: HttpRequest, connection_id: str, item_id: str) -> dict[str, Any]:
    """Process a failed (or ignored) item again; 409 for one that is not."""
    connection = get_connection(request, connection_id)
    item: InboxItem = get_object_or_404(
        InboxItem.objects.for_workspace(workspace_of(request)).select_related("connection"),
        connection=connection,
        public_id=item_id,
    )
    services.retry_item(item=item, now=timezone.now())
    item.refresh_from_db()
    return render_item(item)
