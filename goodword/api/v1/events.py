"""`POST /api/v1/events`: business events in.

Every event a business sends comes through here. The Ninja operation below is the route of
record (it is in the OpenAPI schema), but requests are answered by `handle()`, which
`api.middleware.events_fast_path` calls before the rest of the middleware stack and Ninja's
per-request machinery, about a fifth of an event's CPU on this stack. It uses the same pieces:
the API's parser, key check, `EventIn`, `record_event` and exception handlers, and its answers
are byte-for-byte the operation's (`tests/test_events_fast_path.py` holds it to that).
"""

from __future__ import annotations

from typing import Any, TypeVar

import pydantic
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError

from goodword.api.v1 import validation
from goodword.api.v1.auth import ApiKeyAuth, workspace_of
from goodword.api.v1.parsing import ApiParser
from goodword.api.v1.schemas import ERRORS, ErrorBody
from goodword.ingest import services
from goodword.ingest.schemas import EventIn
from goodword.lib.errors import DomainError

router = Router(tags=["events"])

MAX_IDEMPOTENCY_KEY = 255


class EventReferralOut(Schema):
    id: str
    status: str
    reject_reason: str | None
    note: str | None


class EventRewardOut(Schema):
    id: str
    beneficiary: str
    kind: str
    amount: int | None
    percent_off: int | None
    currency: str
    status: str
    hold_until: str


class EventOut(Schema):
    id: str
    event_id: str
    type: str
    test: bool = False  # answers stored before the field existed lack it: those were live
    participant: str
    attribution: str
    referrals: list[EventReferralOut]
    rewards: list[EventRewardOut]


def _record(request: HttpRequest, body: EventIn) -> services.Outcome:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (1 <= len(key) <= MAX_IDEMPOTENCY_KEY and key.isprintable()):
        raise DomainError(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters",
            code="invalid_idempotency_key",
        )
    return services.record_event(
        workspace=workspace_of(request), data=body, now=timezone.now(), idempotency_key=key
    )


@router.post("/events", response={200: EventOut, 201: EventOut, **ERRORS})
def post_event(
    request: HttpRequest, response: HttpResponse, body: EventIn
) -> Status[dict[str, Any]]:
    """Record a business event. A duplicate `id` returns the first result with 200 and
    `Idempotent-Replayed: true`; reusing an `Idempotency-Key` with another body is a 422."""
    outcome = _record(request, body)
    if outcome.replayed:
        response["Idempotent-Replayed"] = "true"
        return Status(200, outcome.result)
    return Status(201, outcome.result)


class BatchIn(Schema):
    events: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=services.MAX_BATCH,
        description="Up to 1,000 events, each exactly what `POST /events` takes. Each is "
        "validated and recorded on its own: a bad event is refused alone.",
    )

    model_config = {"extra": "forbid"}


class BatchItemOut(Schema):
    status: int = Field(
        description="201 recorded now, 200 a duplicate answered with its first result, "
        "422 refused (see `error`)"
    )
    result: EventOut | None
    error: ErrorBody | None


class BatchOut(Schema):
    data: list[BatchItemOut]


@router.post("/events/batch", response={200: BatchOut, **ERRORS})
def post_events_batch(request: HttpRequest, body: BatchIn) -> dict[str, Any]:
    """Record up to 1,000 business events in one request: an answer per event, in input
    order. The events are applied in business-time order (`occurred_at`), whatever their
    order in the list; duplicates, within the batch or of earlier events, get the first
    result. Idempotency-Key is for single events only."""
    return _record_batch(request, body)


def _record_batch(request: HttpRequest, body: BatchIn) -> dict[str, Any]:
    answers: list[dict[str, Any] | None] = [None] * len(body.events)
    valid: list[tuple[int, EventIn]] = []
    for i, document in enumerate(body.events):
        try:
            valid.append((i, EventIn.model_validate(document)))
        except pydantic.ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            details = validation.details(
                [{**e, "loc": ("body", "body", "events", i, *e["loc"])} for e in errors]
            )
            answers[i] = _refused(422, "validation_error", validation.message(details), details)
    outcomes = services.ingest(
        workspace=workspace_of(request), events=[e for _, e in valid], now=timezone.now()
    )
    for (i, _), outcome in zip(valid, outcomes, strict=True):
        if isinstance(outcome, DomainError):
            answers[i] = _refused(outcome.status, outcome.code, outcome.message, outcome.details)
        else:
            status = 200 if outcome.replayed else 201
            answers[i] = {
                "status": status,
                "result": in_schema_order(outcome.result),
                "error": None,
            }
    return {"data": answers}


def _refused(status: int, code: str, message: str, details: Any) -> dict[str, Any]:
    error = {"code": code, "message": message, "details": details}
    return {"status": status, "result": None, "error": error}


# --- the fast path -------------------------------------------------------------------------

_AUTH = ApiKeyAuth()
_PARSER = ApiParser()
# Ninja reads the body into a parameter model with one field, `body`, and reports its errors
# under the parameter's source and name.
_LOC = ("body", "body")
S = TypeVar("S", bound=pydantic.BaseModel)


def _body(request: HttpRequest, schema: type[S]) -> S:
    if not request.body:
        raise ValidationError([{"loc": _LOC, "msg": "Field required", "type": "missing"}])
    try:
        document = _PARSER.parse_body(request)
    except Exception as exc:  # Ninja answers any parser error as a 400 (see `api._http_error`)
        raise HttpError(400, "Cannot parse request body") from exc
    try:
        return schema.model_validate(document)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        raise ValidationError([{**e, "loc": _LOC + tuple(e["loc"])} for e in errors]) from None


def in_schema_order(result: dict[str, Any]) -> dict[str, Any]:
    # A replay's result comes back from the database, where PostgreSQL's jsonb reorders keys.
    # An answer stored before `test` existed lacks it: that event was live.
    result = {"test": False, **result}
    out = {name: result[name] for name in EventOut.model_fields}
    out["referrals"] = [
        {name: r[name] for name in EventReferralOut.model_fields} for r in result["referrals"]
    ]
    out["rewards"] = [
        {name: r[name] for name in EventRewardOut.model_fields} for r in result["rewards"]
    ]
    return out


def handle(request: HttpRequest) -> services.Outcome:
    """What `post_event` does, in Ninja's order (the key, then the body), without Ninja.
    Raises what Ninja would raise; `api.middleware.events_fast_path` answers it."""
    if _AUTH(request) is None:
        raise AuthenticationError()
    return _record(request, _body(request, EventIn))


def handle_batch(request: HttpRequest) -> dict[str, Any]:
    """What `post_events_batch` does, without Ninja: its answer, already in schema order."""
    if _AUTH(request) is None:
        raise AuthenticationError()
    return _record_batch(request, _body(request, BatchIn))
