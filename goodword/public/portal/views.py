"""The portal's pages and actions. Every answer is private (`access.private`); every action is a
POST with a CSRF token and the advocate's cookie, and answers 303 back to the page (or to the
share channel) so a reload repeats nothing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from pydantic import TypeAdapter, ValidationError

from goodword.lib.errors import DomainError
from goodword.lib.schemas import Email
from goodword.lib.signing import read_portal_token
from goodword.messaging import branding, layout
from goodword.participants import portal
from goodword.participants.models import Advocate
from goodword.public.portal import access, channels, page
from goodword.referrals import services as referrals
from goodword.referrals import shares
from goodword.rewards import choice
from goodword.rewards.models import Reward

_EMAIL = TypeAdapter(Email)


class _SeeOther(HttpResponseRedirect):
    status_code = 303
    # The share channels are apps (mailto:, sms:, fb-messenger:) as well as web pages.
    allowed_schemes = ["http", "https", "mailto", "sms", "fb-messenger"]


@require_GET
def magic_link(request: HttpRequest, token: str) -> HttpResponse:
    """`/p/<token>`: sign the advocate in on this browser and take the token out of the
    address bar. Anything wrong sets nothing."""
    now = timezone.now()
    found = portal.advocate_id_of(token, now=now, max_age=portal.link_days())
    advocate = (
        Advocate.objects.select_related("program").filter(public_id=found).first()
        if found
        else None
    )
    if advocate is None:
        # Genuine but too old: say so, and how to get a new one. Anything else is a link
        # that does not exist.
        expired = found is None and read_portal_token(token) is not None
        return _signed_out(
            request, None, status=410 if expired else 404, reason="expired" if expired else "bad"
        )
    if not advocate.program.is_active:
        return _signed_out(request, advocate, status=410, reason="inactive")
    response = _SeeOther("/p/")
    access.sign_in(response, advocate)
    return access.private(response)


@require_GET
def portal_page(request: HttpRequest) -> HttpResponse:
    advocate = access.cookie_holder(request)
    if advocate is None:
        return _signed_out(request, None, status=200, reason="none")
    if not advocate.program.is_active:
        return _signed_out(request, advocate, status=200, reason="inactive")
    return _page(request, advocate)


def _page(
    request: HttpRequest, advocate: Advocate, *, status: int = 200, **extra: Any
) -> HttpResponse:
    language = access.language(request, advocate)
    now = timezone.now()
    with translation.override(language):
        shown = page.read(advocate, language, now)
        context = {
            "p": shown,
            "program": advocate.program,
            "channels": channels.CHANNELS,
            "language": language,
            "invited": request.GET.get("invited") == "1",
            "message_max": channels.MESSAGE_MAX,
            "code": advocate.code,
            "colors": _colors(shown.brand.color),
            **extra,
        }
        response = render(request, "public/portal.html", context, status=status)
    return access.private(response)


def _colors(brand: str) -> dict[str, str]:
    """The brand colour, the text that reads on it, and the colour as text on white."""
    return {
        "brand": brand,
        "on_brand": layout.readable_text(brand),
        "ink": layout.legible_on(brand, "#ffffff"),
    }


def _signed_out(
    request: HttpRequest, advocate: Advocate | None, *, status: int, reason: str
) -> HttpResponse:
    language = access.language(request, advocate)
    with translation.override(language):
        response = render(
            request,
            "public/portal_signed_out.html",
            {"reason": reason, "language": language},
            status=status,
        )
    return access.private(response)


def _acting(request: HttpRequest) -> Advocate | HttpResponse:
    """The signed-in advocate, or the signed-out page (403) for an action without one."""
    advocate = access.signed_in(request)
    if advocate is None:
        return _signed_out(request, None, status=403, reason="none")
    return advocate


@require_POST
def share(request: HttpRequest) -> HttpResponse:
    """One tap on a channel: record the share, then on to the channel with the message."""
    advocate = _acting(request)
    if isinstance(advocate, HttpResponse):
        return advocate
    channel = request.POST.get("channel", "")
    text = request.POST.get("message", "")
    if channel not in channels.KEYS or len(text) > channels.MESSAGE_MAX:
        with translation.override(access.language(request, advocate)):
            problem = (
                _("Choose one of the share buttons.")
                if channel not in channels.KEYS
                else _("The message is too long: keep it under %(max)s characters.")
                % {"max": channels.MESSAGE_MAX}
            )
        return _page(request, advocate, status=400, share_error=problem, message=text)
    link = f"{settings.SITE_URL}/r/{advocate.code}"
    if not text.strip():
        text = page.read(advocate, access.language(request, advocate), timezone.now()).message
    message = channels.message_for(text, link, channel)
    shares.record(advocate, channel, "portal")
    target = channels.share_url(channel, text=message, link=link, subject=advocate.program.name)
    return access.private(_SeeOther(target))


@require_POST
def shared(request: HttpRequest) -> HttpResponse:
    """The page's script says the advocate copied the link or used the device's share sheet."""
    advocate = _acting(request)
    if isinstance(advocate, HttpResponse):
        return advocate
    channel = request.POST.get("channel", "")
    if channel not in ("copy", "native"):
        return access.private(HttpResponse("channel must be copy or native", status=400))
    shares.record(advocate, channel, "portal")
    return access.private(HttpResponse(status=204))


@require_POST
def invite(request: HttpRequest) -> HttpResponse:
    """Invite a friend by email, sent on the advocate's behalf (the `friend_invite` journey)."""
    advocate = _acting(request)
    if isinstance(advocate, HttpResponse):
        return advocate
    language = access.language(request, advocate)
    form: dict[str, Any] = {
        "email": request.POST.get("email", "").strip(),
        "note": request.POST.get("note", ""),
        "consented": request.POST.get("consent") == "yes",
    }
    with translation.override(language):
        consent = page.consent_text(branding.for_program(advocate.program).name)
        problem, email = "", ""
        try:
            email = _EMAIL.validate_python(form["email"])
        except ValidationError:
            problem = _("Enter your friend's email address, like name@example.com.")
        if not problem and not form["consented"]:
            problem = _("Tick the box to say your friend is happy to hear from us.")
        if not problem and len(form["note"]) > referrals.INVITE_TEXT_MAX:
            problem = _("Keep your note under %(max)s characters.") % {
                "max": referrals.INVITE_TEXT_MAX
            }
    if problem:
        return _page(request, advocate, status=400, invite_error=problem, form=form)
    try:
        _invite, created = referrals.invite_friend(
            advocate=advocate,
            email=email,
            note=form["note"],
            consent=consent,
            send_email=True,
            now=timezone.now(),
        )
    except referrals.RateLimited as exc:
        with translation.override(language):
            problem = _("You have sent a lot of invitations today. You can send more tomorrow.")
        answer = _page(request, advocate, status=429, invite_error=problem, form=form)
        answer["Retry-After"] = str(exc.details["retry_after"])
        return answer
    if created:
        shares.record(advocate, "invite", "portal")
    return access.private(_SeeOther("/p/?invited=1#invite"))


@require_POST
def choose(request: HttpRequest) -> HttpResponse:
    """Take one of a reward's offers: final once made."""
    advocate = _acting(request)
    if isinstance(advocate, HttpResponse):
        return advocate
    reward = (
        Reward.objects.for_workspace(advocate.workspace_id)
        .filter(
            public_id=request.POST.get("reward", ""),
            participant_id=advocate.participant_id,
            program_id=advocate.program_id,
        )
        .first()
    )
    if reward is None:
        with translation.override(access.language(request, advocate)):
            problem = _("That reward is not one of yours.")
        return _page(request, advocate, status=404, choice_error=problem)
    try:
        choice.choose(
            reward=reward,
            kind=request.POST.get("kind", ""),
            actor=f"advocate:{advocate.public_id}",
            now=timezone.now(),
        )
    except DomainError as exc:
        with translation.override(access.language(request, advocate)):
            problem = (
                _("Choose one of the rewards offered.")
                if exc.code == "kind_not_offered"
                else _("This reward's choice is already made or has closed.")
            )
        return _page(request, advocate, status=exc.status, choice_error=problem)
    return access.private(_SeeOther("/p/#rewards"))
