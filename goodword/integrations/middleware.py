"""Answer the providers' deliveries (`POST /hooks/...`) without the rest of the stack, as
`api.middleware.events_fast_path` answers events.

Placed after the body limit, SecurityMiddleware and the CSP, whose checks and headers still
apply; sessions, CSRF (the views are exempt), authentication and messages have nothing to do
for a provider signing its deliveries, and were a tenth of a delivery's CPU. Any other method
or path goes on through the stack (and Django's routing answers it as before).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from goodword.integrations.segment import views as segment
from goodword.integrations.shopify import views as shopify
from goodword.integrations.stripe import views as stripe

PREFIX = "/hooks/"


def _answer(request: HttpRequest) -> HttpResponse | None:
    # The routes of `integrations.urls` (`<str:...>` is one non-empty path segment).
    parts = request.path_info[len(PREFIX) :].split("/")
    if len(parts) == 2 and parts[1]:
        if parts[0] == "shopify":
            return shopify.receive_webhook(request, parts[1])
        if parts[0] == "stripe":
            return stripe.receive_webhook(request, parts[1])
    if len(parts) == 3 and parts[:2] == ["segment", "v1"] and parts[2]:
        return segment.receive_call(request, parts[2])
    return None


def hooks_fast_path(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path_info.startswith(PREFIX):
            response = _answer(request)
            if response is not None:
                return response
        return get_response(request)

    return middleware
