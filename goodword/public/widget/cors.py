"""CORS for the endpoints a business's pages call from the browser: the widget's (`/w/v1/…`)
and refer-by-name lookup. Everything else on Goodword answers no cross-origin reads.

A real request gets `Access-Control-Allow-Origin` only when its origin is on the allowed
domains of the workspace its key belongs to (the view sets `request.workspace`); the views
also refuse such a request outright (403 `origin_not_allowed`), so a disallowed page can
cause nothing either. A preflight carries no key: it is answered for origins some workspace
allows, and the real request is judged as above.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from goodword.accounts.origins import origin_allowed, origin_known

PATHS = ("/w/v1/", "/api/v1/referrers/lookup")
MAX_AGE = "600"


def widget_cors(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(PATHS):
            return get_response(request)
        origin = request.headers.get("Origin", "")
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response = HttpResponse(status=204)
            patch_vary_headers(response, ["Origin"])
            if origin_known(origin):
                response["Access-Control-Allow-Origin"] = origin
                response["Access-Control-Allow-Methods"] = "GET, POST"
                response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
                response["Access-Control-Max-Age"] = MAX_AGE
            return response
        response = get_response(request)
        patch_vary_headers(response, ["Origin"])
        workspace = getattr(request, "workspace", None)
        if origin and workspace is not None and origin_allowed(workspace, origin):
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Expose-Headers"] = "Retry-After"
        return response

    return middleware
