"""The v1 REST API: routers, authentication, and the one place errors become JSON."""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from goodword.api.v1 import (
    analytics,
    attribution,
    connections,
    coupons,
    events,
    experiments,
    fulfilments,
    goals,
    imports,
    messaging,
    pages,
    participants,
    payouts,
    programs,
    referrals,
    referrers,
    rewards,
    shares,
    staff_notifications,
    validation,
    webhooks,
    workspace,
)
from goodword.api.v1.auth import ApiKeyAuth
from goodword.api.v1.parsing import ApiParser
from goodword.lib.errors import DomainError

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="Goodword API",
    version="1",
    description="Referral programs: programs, participants, advocates, events, referrals, "
    "rewards and balances. Authenticate with `Authorization: Bearer <secret key>`.",
    auth=ApiKeyAuth(),
    parser=ApiParser(),
    urls_namespace="api-v1",
    docs_url="/docs",
)

for module in (programs, participants, events, referrals, rewards, payouts, fulfilments, workspace):
    api.add_router("", module.router)
api.add_router("", coupons.router)
api.add_router("", analytics.router)
api.add_router("", goals.router)
api.add_router("", imports.router)
api.add_router("", attribution.router)
api.add_router("", experiments.router)
api.add_router("", connections.router)
api.add_router("", webhooks.router)
api.add_router("", messaging.router)
api.add_router("", staff_notifications.router)
api.add_router("", referrers.router)
api.add_router("", shares.router)
api.add_router("", pages.router)


def error(
    request: HttpRequest, status: int, code: str, message: str, details: Any = None
) -> HttpResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return api.create_response(request, body, status=status)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error(request, exc.status, exc.code, exc.message, exc.details)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details = validation.details(exc.errors)
    return error(request, 422, "validation_error", validation.message(details), details)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error(
        request,
        401,
        "unauthorized",
        "send a live API key as `Authorization: Bearer <secret key>`",
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, DomainError):
        # The parser refused the body for a reason a client can fix (see `parsing`).
        return _domain_error(request, exc.__cause__)
    if exc.status_code == 400:
        return error(request, 400, "malformed_body", "the request body is not valid UTF-8 JSON")
    return error(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error(request, 404, "not_found", "no such object in this workspace")


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("unexpected error in %s %s", request.method, request.path)
    return error(request, 500, "internal_error", "something went wrong on our side")
