"""The widget's endpoints, `/w/v1/…`, called by `widget.js` from the business's pages.

Each takes a publishable key (`Authorization: Bearer gw_pk_…`), answers only pages on the
workspace's allowed domains (CORS in `cors`), is rate limited per key and client address, and
answers errors as `{"error": {"code", "message", "details"}}`. A customer id counts only with
its HMAC from the business's server (`accounts.widget.verify`); without one the widget shows
the program's offer and nothing personal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from goodword.accounts import widget as widget_secret
from goodword.accounts.models import ApiKey, Workspace
from goodword.accounts.origins import origin_allowed
from goodword.accounts.services import authenticate_key
from goodword.lib.errors import DomainError
from goodword.lib.ratelimit import Limiter
from goodword.lib.signing import make_portal_token
from goodword.messaging import branding, content, pagecopy
from goodword.participants.models import Advocate, Participant
from goodword.participants.services import enrol_advocate, ineligibility, upsert_participant
from goodword.programs.models import Program
from goodword.referrals import shares

MAX_BODY = 4096
MAX_CUSTOMER = 255
LANGUAGES = ("en", "it")
limiter = Limiter.new(settings.WIDGET_RATE_PER_MINUTE)


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


@dataclass(frozen=True)
class Call:
    workspace: Workspace
    program: Program
    customer: str  # "" when the page names nobody
    language: str
    body: dict[str, Any]
    now: datetime


def _error(status: int, code: str, message: str, **headers: str) -> JsonResponse:
    answer = JsonResponse(
        {"error": {"code": code, "message": message, "details": None}}, status=status
    )
    for name, value in headers.items():
        answer[name.replace("_", "-")] = value
    return answer


def _key(request: HttpRequest) -> ApiKey:
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    key = authenticate_key(raw.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        raise Refused(401, "unauthorized", "send a live publishable key: Bearer gw_pk_…")
    if not key.is_publishable:
        raise Refused(
            403,
            "secret_key_not_allowed",
            "a secret key must never be in a web page: revoke it, and give the widget a "
            "publishable key (gw_pk_…)",
        )
    return key


def _body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY:
        raise Refused(413, "payload_too_large", f"bodies are limited to {MAX_BODY} bytes")
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "malformed_body", "the body is not valid UTF-8 JSON") from None
    if not isinstance(body, dict):
        raise Refused(400, "malformed_body", "the body must be a JSON object")
    return body


def _text(body: dict[str, Any], name: str, limit: int) -> str:
    value = body.get(name) or ""
    if not isinstance(value, str) or len(value) > limit:
        raise Refused(422, "validation_error", f"{name} must be a string of at most {limit}")
    return value


def _program(workspace: Workspace, wanted: str) -> Program:
    live = Program.objects.for_workspace(workspace).filter(status=Program.Status.ACTIVE)
    program = (live.filter(public_id=wanted) if wanted else live.order_by("pk")).first()
    if program is None:
        raise Refused(404, "no_active_program", "no active program by that id in this workspace")
    program.workspace = workspace
    return program


def _call(request: HttpRequest) -> Call:
    """Check the key, the origin, the rate, the body and the customer's signature."""
    key = _key(request)
    workspace = Workspace.objects.get(pk=key.workspace_id)
    request.workspace = workspace  # type: ignore[attr-defined]  # for the CORS middleware
    origin = request.headers.get("Origin", "")
    if origin and not origin_allowed(workspace, origin):
        raise Refused(
            403,
            "origin_not_allowed",
            f"{origin} is not on this workspace's allowed domains (dashboard: Settings)",
        )
    wait = limiter.hit(f"{key.pk}:{request.META.get('REMOTE_ADDR', '')}")
    if wait:
        raise Refused(
            429, "rate_limited", f"too many requests; retry in {wait} s", Retry_After=str(wait)
        )
    body = _body(request)
    now = timezone.now()
    customer = _text(body, "customer", MAX_CUSTOMER)
    signature = _text(body, "signature", 128)
    if customer and not widget_secret.verify(workspace, customer, signature, now):
        raise Refused(
            401,
            "bad_signature",
            "data-signature must be the hex HMAC-SHA256 of data-customer under the "
            "workspace's widget signing secret (docs/sharing-widget.md)",
        )
    language = _text(body, "lang", 8)[:2].lower()
    return Call(
        workspace=workspace,
        program=_program(workspace, _text(body, "program", 32)),
        customer=customer,
        language=language if language in LANGUAGES else "en",
        body=body,
        now=now,
    )


def _endpoint(view: Any) -> Any:
    """Plumbing for every endpoint: POST only, no CSRF (no cookies are used), JSON errors."""

    @csrf_exempt
    @require_POST
    def wrapped(request: HttpRequest) -> HttpResponse:
        try:
            return view(_call(request))  # type: ignore[no-any-return]
        except Refused as exc:
            return _error(exc.status, exc.code, exc.message, **exc.headers)
        except DomainError as exc:
            return _error(exc.status, exc.code, exc.message)

    return wrapped


def _advocate(call: Call) -> Advocate | None:
    return (
        Advocate.objects.for_workspace(call.workspace)
        .select_related("participant")
        .filter(program=call.program, participant__external_id=call.customer)
        .first()
    )


def _program_out(call: Call, offer: dict[str, str]) -> dict[str, Any]:
    brand = branding.for_program(call.program)
    data = _copy_data(call, offer, None)
    return {
        "id": call.program.public_id,
        "name": call.program.name,
        "brand": brand.name,
        "color": brand.color,
        "offer": offer,
        "intro": pagecopy.text(call.program, "portal_intro", call.language, data),
    }


def _copy_data(call: Call, offer: dict[str, str], advocate: Advocate | None) -> dict[str, Any]:
    name = advocate.participant.name if advocate else ""
    return {
        "advocate": {
            "name": name,
            "first_name": name.split(" ")[0] if name else "",
            "code": advocate.code if advocate else "",
            "link": _link(advocate) if advocate else "",
        },
        "offer": offer,
        "program": {"name": call.program.name},
        "workspace": {"name": call.workspace.name},
    }


def _link(advocate: Advocate) -> str:
    return f"{settings.SITE_URL}/r/{advocate.code}"


def _customer_out(call: Call, offer: dict[str, str]) -> dict[str, Any] | None:
    if not call.customer:
        return None
    advocate = _advocate(call)
    if advocate is None:
        stranger = Participant.objects.filter(
            workspace=call.workspace, external_id=call.customer
        ).first() or Participant(workspace=call.workspace, external_id=call.customer)
        why = ineligibility(call.program, stranger, call.now)
        return {"enrolled": False, "can_enrol": not why}
    data = _copy_data(call, offer, advocate)
    message = pagecopy.text(call.program, "share_message", call.language, data)
    disclosure = pagecopy.text(call.program, "disclosure", call.language, data)
    token = make_portal_token(advocate.public_id, int(call.now.timestamp()))
    return {
        "enrolled": True,
        "can_enrol": False,
        "code": advocate.code,
        "link": _link(advocate),
        "message": f"{message} {disclosure}".strip(),
        "portal_url": f"{settings.SITE_URL}/p/{token}",
    }


def _state(call: Call, status: int = 200) -> JsonResponse:
    offer = content.offers(call.program, call.language)
    body = {"program": _program_out(call, offer), "customer": _customer_out(call, offer)}
    return JsonResponse(body, status=status)


@_endpoint
def session(call: Call) -> HttpResponse:
    """The program's offer, and the signed-in customer's code, link and portal link."""
    return _state(call)


@_endpoint
def enrol(call: Call) -> HttpResponse:
    """Make the signed-in customer an advocate, when the program's eligibility lets them."""
    if not call.customer:
        raise Refused(422, "customer_required", "enrolment needs data-customer and its signature")
    with transaction.atomic():
        participant, _ = upsert_participant(workspace=call.workspace, external_id=call.customer)
        _, created = enrol_advocate(program=call.program, participant=participant)
    return _state(call, status=201 if created else 200)


@_endpoint
def share(call: Call) -> HttpResponse:
    """Count one tap on a share button (copy, email, whatsapp…) as a share from the widget."""
    channel = call.body.get("channel")
    if channel not in shares.CHANNELS:
        choices = ", ".join(sorted(shares.CHANNELS))
        raise Refused(422, "unknown_channel", f"channel must be one of: {choices}")
    advocate = _advocate(call) if call.customer else None
    if advocate is None:
        raise Refused(404, "not_an_advocate", "this customer is no advocate of the program yet")
    shares.record(advocate, str(channel), "widget", at=call.now)
    return JsonResponse({"channel": channel, "recorded": True}, status=201)


def not_found(request: HttpRequest) -> HttpResponse:
    return _error(404, "not_found", "no such widget endpoint; see docs/sharing-widget.md")
