"""`POST /l/<code>/claim`: the landing page's email form. The friend's address is recorded as
the advocate's invite (`referrals.services.invite_friend`, attribution only: nobody is
emailed), so their later signup with it is credited to the advocate even without the link;
then on to the destination with the click's `gw_ref` token.

No CSRF token: the signed `gw_ref` token in the form is the whole authority, and all it can do
is say that this address was invited by this link's advocate (anyone may open the link and do
the same). Limited per client address, in each web process (429 with Retry-After).
"""

from __future__ import annotations

import math
import time

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from goodword.lib.codes import normalize_code
from goodword.lib.ratelimit import Limiter
from goodword.lib.signing import read_ref_token
from goodword.participants.models import Advocate
from goodword.public import landing, links
from goodword.referrals.services import invite_friend

CLAIMS_PER_WINDOW = 10  # claims one client address may post per window
WINDOW_SECONDS = 600.0
EMAIL_MAX = 320


limiter = Limiter.new(CLAIMS_PER_WINDOW, WINDOW_SECONDS)


@csrf_exempt
@require_POST
def claim(request: HttpRequest, code: str) -> HttpResponse:
    now = time.time()
    normalized = normalize_code(code)
    target = links.resolve(normalized, now) if links.CODE.fullmatch(normalized) else None
    if target is None or not target.is_active or not target.landing_page:
        browser = request.headers.get("Accept-Language", "")
        return HttpResponse(links.not_found_html(browser), status=404)
    wanted = landing.page_language(target.language, request.headers.get("Accept-Language", ""))
    page = landing.landing_for(target, wanted, now)
    token = str(request.POST.get("gw_ref", ""))
    email = str(request.POST.get("email", "")).strip()
    wait = limiter.hit(str(request.META.get("REMOTE_ADDR") or ""), now)
    if wait:
        minutes = max(1, math.ceil(wait / 60))
        with translation.override(page.language):
            error = _(
                "Too many tries from your connection. Try again in %(minutes)s minutes, or "
                "continue without saving your email."
            ) % {"minutes": minutes}
        answer = _form(target, page, token, email, error, status=429)
        answer["Retry-After"] = str(max(1, math.ceil(wait)))
        return answer
    ref = read_ref_token(token)
    if ref is None or ref.advocate_id != target.advocate_id:
        with translation.override(page.language):
            error = _("This form was out of date. Enter your email again.")
        return _form(target, page, links.preview_token(target, now), email, error, status=400)
    problem = _check(email, page.language)
    if problem:
        return _form(target, page, token, email, problem, status=400)
    advocate = Advocate.objects.get(pk=target.advocate_pk)
    invite_friend(advocate=advocate, email=email, now=timezone.now())
    destination = f"{target.base}{target.sep}gw_ref={token}{target.tail}"
    if page.reveal_code:
        body = landing.render(page, "claimed", continue_url=destination, email=email)
        return _answer(HttpResponse(body), page)
    answer = HttpResponse(status=303)
    answer["Location"] = destination
    return _answer(answer, page)


def _check(email: str, language: str) -> str:
    """What is wrong with `email`, in words for the friend; "" when nothing."""
    with translation.override(language):
        if not email:
            return _("Enter your email address, such as name@example.com.")
        if len(email) > EMAIL_MAX:
            return _("That email address is too long.")
        try:
            validate_email(email)
        except ValidationError:
            return _("That doesn't look like an email address. Check it, such as name@example.com.")
    return ""


def _form(
    target: links.Target,
    page: landing.Landing,
    token: str,
    email: str,
    error: str,
    *,
    status: int,
) -> HttpResponse:
    continue_url = f"{target.base}{target.sep}gw_ref={token}{target.tail}"
    body = landing.render(
        page,
        "landing",
        continue_url=continue_url,
        token=token,
        claim=True,
        email=email[:EMAIL_MAX],
        error=error,
    )
    return _answer(HttpResponse(body, status=status), page)


def _answer(response: HttpResponse, page: landing.Landing) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    # The landing page's policy, not the site's: its form is sent on to the destination.
    response["Content-Security-Policy"] = page.csp
    return response


def forget() -> None:
    """Forget the counted claims (tests)."""
    limiter.reset()
