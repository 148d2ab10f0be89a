from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from goodword.api.v1 import events
from goodword.api.v1.api import api

EVENTS_PATH = "/api/v1/events"
BATCH_PATH = "/api/v1/events/batch"
UPLOAD_PATHS = "/api/v1/imports/"


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "details": None}}, status=status
    )


def api_body_limit(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[..., HttpResponse]:
    """Refuse oversized API bodies with a JSON 413 before anything reads them and paths with a
    NUL character with a JSON 404; answer unknown API URLs and methods in JSON too."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            if "\x00" in request.path:
                # No id holds a NUL, and PostgreSQL cannot even compare one (it would be a 500).
                return _error(404, "not_found", "no such object in this workspace")
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            # CSV uploads stream to a temporary file, so they may be larger (docs/import-export.md).
            limit = (
                settings.API_MAX_UPLOAD_BYTES
                if request.path.startswith(UPLOAD_PATHS)
                else settings.API_MAX_BODY_BYTES
            )
            if length < 0 or length > limit:
                return _error(
                    413, "payload_too_large", f"request bodies are limited to {limit} bytes"
                )
        response = get_response(request)
        if request.path.startswith("/api/") and response.status_code in (404, 405):
            return _as_json(request, response)
        return response

    return middleware


def _as_json(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Answer an unknown API URL or method with the error envelope, not Django's HTML page."""
    if response.get("Content-Type", "").startswith("application/json"):
        return response
    if response.status_code == 405:
        out = _error(405, "method_not_allowed", f"{request.method} is not allowed on this path")
        if response.has_header("Allow"):
            out["Allow"] = response["Allow"]
        return out
    return _error(
        404, "not_found", "no such API endpoint; the endpoints are listed at /api/v1/docs"
    )


def events_fast_path(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[..., HttpResponse]:
    """Answer `POST /api/v1/events` and `/events/batch` without the rest of the stack (see
    `api.v1.events`).

    Placed after the body limit and SecurityMiddleware, whose checks and headers still apply;
    the session, CSRF and auth middleware have nothing to do for a request with an API key."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or request.path_info not in (EVENTS_PATH, BATCH_PATH):
            return get_response(request)
        if request.path_info == BATCH_PATH:
            try:
                answers = events.handle_batch(request)
            except Exception as exc:
                return api.on_exception(request, exc)
            return api.create_response(request, answers, status=200)
        try:
            outcome = events.handle(request)
        except Exception as exc:
            return api.on_exception(request, exc)
        response = api.create_response(
            request,
            events.in_schema_order(outcome.result),
            status=200 if outcome.replayed else 201,
        )
        if outcome.replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    return middleware
