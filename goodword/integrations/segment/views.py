"""`POST /hooks/segment/v1/{batch,track,identify,page}`: a Segment-compatible source, so a
Segment library whose host is `<SITE_URL>/hooks/segment` sends here.

The body is stored as JSON without `writeKey` (Segment's libraries repeat the key in it; we
keep only its hash). A gzipped body (the libraries' `gzip` option) is inflated first, to no
more than the body limit. Malformed JSON is a 400 here: Segment's answer for it too.

A call stored is answered 200, whatever its messages hold (the inbox reports each bad message):
a library drops a batch answered 400. Every other answer stores nothing.
"""

from __future__ import annotations

import json
import zlib

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from goodword.integrations import receive, services
from goodword.integrations.segment import verify

KINDS = {"batch", "track", "identify", "page", "screen", "group", "alias"}


def _inflate(body: bytes) -> bytes | None:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, receive.MAX_BODY_BYTES + 1)
    except zlib.error:
        return None
    return None if len(out) > receive.MAX_BODY_BYTES or inflater.unconsumed_tail else out


@csrf_exempt
@require_POST
def receive_call(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in KINDS:
        return receive.error(404, "not_found", "no such Segment endpoint")
    body = receive.read_body(request)
    if isinstance(body, HttpResponse):
        return body
    connection = verify.connection(request.headers.get("Authorization"))
    if connection is None:
        return receive.error(401, "invalid_write_key", "send the write key as the Basic auth user")
    if request.headers.get("Content-Encoding", "").lower() == "gzip":
        inflated = _inflate(body)
        if inflated is None:
            return receive.error(400, "malformed_body", "the body is not valid gzip, or too large")
        body = inflated
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json reads
        return receive.error(400, "malformed_body", "the body is not valid UTF-8 JSON")
    if not isinstance(document, dict):
        return receive.error(400, "malformed_body", "the body is not a JSON object")
    document.pop("writeKey", None)
    stored = services.store_delivery(
        connection=connection,
        topic=kind,
        delivery_id="",
        body=json.dumps(document, separators=(",", ":")),
        headers={},
        now=timezone.now(),
    )
    if not stored:  # deleted meanwhile (by another process)
        return receive.error(401, "invalid_write_key", "send the write key as the Basic auth user")
    return JsonResponse({"success": True})
