"""What the messaging pages share: who acts, a service call with its audit entry, and the
journey and language named in a URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse

from goodword.dashboard.audit import audit
from goodword.lib.csp import POLICY
from goodword.messaging.defaults import LANGUAGES
from goodword.messaging.models import PROGRAM_JOURNEYS

T = TypeVar("T")


def actor(request: HttpRequest) -> str:
    """The services' `actor` for the signed-in staff member."""
    return f"user:{request.user.pk}"


def audited(
    request: HttpRequest, work: Callable[[], T], action: str, subject: str, **data: Any
) -> T:
    """Run one service call and its audit entry in one transaction: a refusal writes neither."""
    with transaction.atomic():
        result = work()
        audit(request, action, subject, **data)
    return result


def journey_and_language(journey: str, language: str) -> tuple[str, str]:
    """The URL's journey and language, or 404."""
    if journey not in PROGRAM_JOURNEYS or language not in LANGUAGES:
        raise Http404("no such journey or language")
    return journey, language


def allow_images(response: HttpResponse) -> None:
    """Let a page that shows an email load its https images: the merchant's logo and their
    template's pictures (the frame that holds it inherits the page's policy). Scripts stay
    the dashboard's own."""
    response.headers["Content-Security-Policy"] = POLICY.replace(
        "img-src 'self' data:", "img-src 'self' data: https:"
    )
