"""Outbound webhook endpoints: where a workspace's domain events are sent, their secrets (shown
on creation and rotation only), test events, the delivery log and replays. Writes go through
`goodword.webhooks.services`, reads through `goodword.webhooks.queries`; signing, retries and
verification are in docs/webhooks-delivery.md."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Self

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from pydantic import model_validator

from goodword.api.v1.auth import workspace_of
from goodword.api.v1.pagination import paginate
from goodword.api.v1.schemas import ERRORS, PatchIn, Unset
from goodword.lib.schemas import Timestamp
from goodword.webhooks import queries, services
from goodword.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage

router = Router(tags=["webhooks"])

MAX_GRACE_HOURS = 168

# Lengths and names are the service's to check, with its codes (`invalid_url`,
# `unknown_event_type`), not a generic `validation_error`.
Url = Annotated[str, Field(description="the http(s) URL to POST to, at most 2,000 characters")]
EventTypes = Annotated[
    list[str],
    Field(
        max_length=200,
        description="names from the domain-event catalogue (docs/events.md); empty: every event",
    ),
]
Description = Annotated[str, Field(max_length=200)]
MessageStatus = Literal["pending", "delivered", "failed"]


class EndpointIn(Schema):
    model_config = {"extra": "forbid"}

    url: Url
    event_types: EventTypes = Field(default_factory=list)
    description: Description = ""


class EndpointPatch(PatchIn):
    url: Url | Unset = None
    event_types: EventTypes | Unset = None
    description: Description | Unset = None
    active: Annotated[bool, Field(strict=True)] | Unset = Field(
        default=None, description="false stops deliveries; true resumes them"
    )


class RotateIn(Schema):
    model_config = {"extra": "forbid"}

    grace_hours: int = Field(
        default=24,
        ge=0,
        le=MAX_GRACE_HOURS,
        strict=True,
        description="hours the old secret keeps signing too (0: stops at once)",
    )


class ReplayIn(Schema):
    model_config = {"extra": "forbid"}

    since: Timestamp = Field(description="first moment, included (UTC when no offset)")
    until: Timestamp = Field(description="last moment, excluded")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.since >= self.until:
            raise ValueError("`since` must be before `until`")
        return self


class EndpointOut(Schema):
    id: str
    url: str
    description: str
    event_types: list[str] = Field(description="empty: every event")
    active: bool
    disabled_reason: str | None = Field(
        description='why Goodword turned it off: "gone" (410), "failing"; null when active '
        "or turned off by hand"
    )
    failing_since: datetime | None = Field(description="the first failure since the last success")
    previous_secret_expires_at: datetime | None = Field(
        description="after a rotation: the old secret signs too until then"
    )
    created_at: datetime
    updated_at: datetime


class EndpointSecretOut(EndpointOut):
    secret: str = Field(description="whsec_…: shown in this answer only; keep it safe")


class EndpointList(Schema):
    data: list[EndpointOut]
    next_cursor: str | None


class MessageOut(Schema):
    id: str = Field(description="the `webhook-id` header: the same on every retry and replay")
    endpoint: str
    event_type: str
    event: str | None = Field(description="the domain event's id (`evt_…`); null for a test")
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    last_status_code: int | None = Field(description="the latest attempt's HTTP status")
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="when it is due next, while pending")
    created_at: datetime


class MessageList(Schema):
    data: list[MessageOut]
    next_cursor: str | None


class AttemptOut(Schema):
    at: datetime
    status_code: int | None = Field(description="null: no answer (timeout, refused, blocked)")
    success: bool
    duration_ms: int
    response_body: str = Field(description="the first 1,000 characters of the answer")
    error: str


class MessageDetail(MessageOut):
    payload: dict[str, Any] = Field(description="the body sent, as JSON")
    attempt_log: list[AttemptOut] = Field(description="every attempt, oldest first")


class ReplayOut(Schema):
    replayed: int = Field(description="messages due again now")


def render_endpoint(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.public_id,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "active": endpoint.active,
        "disabled_reason": endpoint.disabled_reason or None,
        "failing_since": endpoint.failing_since,
        "previous_secret_expires_at": endpoint.previous_secret_expires_at
        if endpoint.previous_secret
        else None,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }


def render_message(message: WebhookMessage) -> dict[str, Any]:
    return {
        "id": message.public_id,
        "endpoint": message.endpoint.public_id,
        "event_type": message.event_name,
        "event": message.event.public_id if message.event else None,
        "status": message.status,
        "attempts": message.attempts,
        "last_status_code": getattr(message, "last_status_code", None),
        "last_attempt_at": message.last_attempt_at,
        "next_attempt_at": message.next_attempt_at
        if message.status == WebhookMessage.Status.PENDING
        else None,
        "created_at": message.created_at,
    }


def render_attempt(attempt: WebhookAttempt) -> dict[str, Any]:
    return {
        "at": attempt.at,
        "status_code": attempt.status_code,
        "success": queries.is_success(attempt.status_code),
        "duration_ms": attempt.duration_ms,
        "response_body": attempt.response_body,
        "error": attempt.error,
    }


def get_endpoint(request: HttpRequest, endpoint_id: str) -> WebhookEndpoint:
    qs = WebhookEndpoint.objects.for_workspace(workspace_of(request))
    endpoint: WebhookEndpoint = get_object_or_404(qs, public_id=endpoint_id)
    return endpoint


def _messages(endpoint: WebhookEndpoint, status: str | None = None) -> Any:
    return queries.messages_of(endpoint, status=status).select_related("endpoint", "event")


def get_message(request: HttpRequest, endpoint_id: str, message_id: str) -> WebhookMessage:
    endpoint = get_endpoint(request, endpoint_id)
    message: WebhookMessage = get_object_or_404(_messages(endpoint), public_id=message_id)
    return message


@router.post("/webhook-endpoints", response={201: EndpointSecretOut, **ERRORS})
def create_endpoint(request: HttpRequest, body: EndpointIn) -> Status[dict[str, Any]]:
    endpoint = services.create_endpoint(
        workspace=workspace_of(request),
        url=body.url,
        event_types=body.event_types,
        description=body.description,
    )
    return Status(201, {**render_endpoint(endpoint), "secret": endpoint.secret})


@router.get("/webhook-endpoints", response={200: EndpointList, **ERRORS})
def list_endpoints(
    request: HttpRequest, cursor: str | None = None, limit: int = 20
) -> dict[str, Any]:
    qs = WebhookEndpoint.objects.for_workspace(workspace_of(request))
    return paginate(qs, cursor=cursor, limit=limit, render=render_endpoint)


@router.get("/webhook-endpoints/{endpoint_id}", response={200: EndpointOut, **ERRORS})
def read_endpoint(request: HttpRequest, endpoint_id: str) -> dict[str, Any]:
    return render_endpoint(get_endpoint(request, endpoint_id))


@router.patch("/webhook-endpoints/{endpoint_id}", response={200: EndpointOut, **ERRORS})
def change_endpoint(request: HttpRequest, endpoint_id: str, body: EndpointPatch) -> dict[str, Any]:
    endpoint = get_endpoint(request, endpoint_id)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    services.update_endpoint(endpoint=endpoint, **changes)
    return render_endpoint(get_endpoint(request, endpoint_id))


@router.delete("/webhook-endpoints/{endpoint_id}", response={204: None, **ERRORS})
def delete_endpoint(request: HttpRequest, endpoint_id: str) -> Status[None]:
    services.delete_endpoint(endpoint=get_endpoint(request, endpoint_id))
    return Status(204, None)


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    response={200: EndpointSecretOut, **ERRORS},
)
def rotate_secret(
    request: HttpRequest, endpoint_id: str, body: RotateIn | None = None
) -> dict[str, Any]:
    endpoint = get_endpoint(request, endpoint_id)
    grace = timedelta(hours=(body or RotateIn()).grace_hours)
    secret = services.rotate_secret(endpoint=endpoint, grace=grace)
    return {**render_endpoint(get_endpoint(request, endpoint_id)), "secret": secret}


@router.post("/webhook-endpoints/{endpoint_id}/test", response={201: MessageOut, **ERRORS})
def send_test(request: HttpRequest, endpoint_id: str) -> Status[dict[str, Any]]:
    endpoint = get_endpoint(request, endpoint_id)
    message = services.send_test(endpoint=endpoint)
    return Status(201, render_message(get_message(request, endpoint_id, message.public_id)))


@router.get("/webhook-endpoints/{endpoint_id}/messages", response={200: MessageList, **ERRORS})
def list_messages(
    request: HttpRequest,
    endpoint_id: str,
    cursor: str | None = None,
    limit: int = 20,
    status: MessageStatus | None = None,
) -> dict[str, Any]:
    qs = _messages(get_endpoint(request, endpoint_id), status)
    return paginate(qs, cursor=cursor, limit=limit, render=render_message)


@router.get(
    "/webhook-endpoints/{endpoint_id}/messages/{message_id}",
    response={200: MessageDetail, **ERRORS},
)
def read_message(request: HttpRequest, endpoint_id: str, message_id: str) -> dict[str, Any]:
    message = get_message(request, endpoint_id, message_id)
    return {
        **render_message(message),
        "payload": message.payload,
        "attempt_log": [render_attempt(a) for a in queries.attempts_of(message)],
    }


@router.post(
    "/webhook-endpoints/{endpoint_id}/messages/{message_id}/replay",
    response={200: MessageOut, **ERRORS},
)
def replay_message(request: HttpRequest, endpoint_id: str, message_id: str) -> dict[str, Any]:
    message = get_message(request, endpoint_id, message_id)
    services.replay_message(message=message)
    return render_message(get_message(request, endpoint_id, message_id))


@router.post("/webhook-endpoints/{endpoint_id}/replay", response={200: ReplayOut, **ERRORS})
def replay_range(request: HttpRequest, endpoint_id: str, body: ReplayIn) -> dict[str, Any]:
    endpoint = get_endpoint(request, endpoint_id)
    return {
        "replayed": services.replay_range(endpoint=endpoint, since=body.since, until=body.until)
    }
