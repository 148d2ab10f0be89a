"""The friend's landing page that `/r/<code>` answers when its program has `landing_page` on,
and the "this is your link" page an advocate sees when they open their own link.

The page is rendered once per (code, language) and kept in this process for
`LINK_CACHE_SECONDS`, split around the place where each click's `gw_ref` token goes: a click
costs a join of a few strings, not a template render (benches/pages.py measures it). Everything
on it is escaped by Django's templates; the workspace's words come from `messaging.pagecopy`
(Liquid in the messaging sandbox) as plain text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from goodword.messaging import branding, content, journeys, pagecopy, words
from goodword.messaging.layout import legible_on, readable_text
from goodword.messaging.models import MessagingSettings
from goodword.programs.models import Program, RewardRule
from goodword.public import pagelang

# Stands for the click's token while the page is rendered; letters only, so escaping leaves it
# as it is wherever it lands (a URL in an attribute, a hidden input's value).
TOKEN = "GWREFTOKENPLACEHOLDER"  # noqa: S105 - a placeholder, not a secret
# Pages kept per process (a few kB each, two kinds per link): past this the cache starts over,
# and a click on a link not kept costs a render (about a millisecond) and a few queries.
_CACHE_LIMIT = 4_000


@dataclass(frozen=True)
class Landing:
    """What the pages of one link say in one language (the click's token apart)."""

    language: str
    program_id: str
    code: str
    advocate_first_name: str
    brand_name: str
    color: str  # the button's background, readable with `on_color`
    on_color: str
    accent: str  # links and headings, 4.5:1 on white
    logo_url: str
    headline: str
    body: str
    terms: tuple[str, ...]
    offer_friend: str
    reveal_code: bool  # the friend's reward is a coupon: the claim shows the code to use
    host: str
    og_image: str
    og_title: str
    og_description: str
    csp: str


@dataclass(frozen=True)
class Parts:
    """A rendered page, cut where the token goes: `token.join(parts)` is the page."""

    parts: tuple[str, ...]
    csp: str

    def with_token(self, token: str) -> bytes:
        return token.join(self.parts).encode()


_landings: dict[tuple[int, str], tuple[float, Landing]] = {}
_pages: dict[tuple[int, str, str, bool, bool], tuple[float, Parts]] = {}


def forget() -> None:
    _landings.clear()
    _pages.clear()


def page_language(program_language: str, accept_language: str) -> str:
    """The program's language, else the first of en/it the browser asks for, else "" (the
    workspace's, which `landing_for` fills in)."""
    return pagelang.pick(program_language, accept_language)


def landing_for(target: Any, wanted: str, now: float) -> Landing:
    """The link's landing data in `wanted` ("" : the workspace's language), from this
    process's cache when fresh."""
    key = (target.advocate_pk, wanted)
    hit = _landings.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    landing = load(target.program_pk, target.code, target.advocate_name, wanted)
    if len(_landings) >= _CACHE_LIMIT:
        _landings.clear()
    _landings[key] = (now + settings.LINK_CACHE_SECONDS, landing)
    return landing


def page(target: Any, wanted: str, now: float, kind: str) -> Parts:
    """The rendered page `kind` ("landing" or "own") of the link, cached like its data."""
    key = (target.advocate_pk, wanted, kind, target.is_active, target.landing_page)
    hit = _pages.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    landing = landing_for(target, wanted, now)
    if target.is_active:
        continue_url = f"{target.base}{target.sep}gw_ref={TOKEN}{target.tail}"
    else:
        continue_url = target.destination  # an ended program: no token, no claim
    # The claim form only where the claim is open: a bot's preview of a program without the
    # landing page is this page too, without the form.
    claim = target.is_active and target.landing_page
    html = render(landing, kind, continue_url=continue_url, token=TOKEN, claim=claim)
    parts = Parts(tuple(html.split(TOKEN)), landing.csp)
    if len(_pages) >= _CACHE_LIMIT:
        _pages.clear()
    _pages[key] = (now + settings.LINK_CACHE_SECONDS, parts)
    return parts


def render(landing: Landing, kind: str, **extra: Any) -> str:
    """The page `kind` (landing, own, claimed) for `landing`, with `extra` template data."""
    with translation.override(landing.language):
        return render_to_string(
            f"public/landing_{kind}.html",
            {"l": landing, "site_url": settings.SITE_URL, **extra},
        )


def load(program_pk: int, code: str, advocate_name: str, wanted: str) -> Landing:
    program = Program.objects.select_related("workspace").get(pk=program_pk)
    brand = branding.for_program(program)
    workspace_language = (
        MessagingSettings.objects.filter(workspace_id=program.workspace_id)
        .values_list("language", flat=True)
        .first()
    )
    language = journeys.language(wanted, program.language, workspace_language or "")
    rules = list(RewardRule.objects.filter(program=program, is_active=True).order_by("pk"))
    offer = content.offers(program, language, rules)
    first = advocate_name.strip().split(" ")[0] if advocate_name.strip() else ""
    link = f"{settings.SITE_URL}/r/{code}"
    data = {
        "advocate": {"name": advocate_name, "first_name": first, "code": code, "link": link},
        "offer": offer,
        "program": {"name": program.name},
        "workspace": {"name": brand.name},
    }
    headline = pagecopy.text(program, "landing_headline", language, data)
    host = urlsplit(program.destination_url).hostname or ""
    image = og_image_url(program)
    with translation.override(language):
        terms = tuple(_terms(program, offer, first, language))
        description = program.description or _("An invitation to %(brand)s.") % {
            "brand": brand.name
        }
    return Landing(
        language=language,
        program_id=program.public_id,
        code=code,
        advocate_first_name=first,
        brand_name=brand.name,
        color=legible_on(brand.color, "#ffffff"),
        on_color=readable_text(legible_on(brand.color, "#ffffff")),
        accent=legible_on(brand.color, "#ffffff"),
        logo_url=brand.logo_url,
        headline=headline,
        body=pagecopy.text(program, "landing_body", language, data),
        terms=terms,
        offer_friend=offer["friend"],
        reveal_code=any(
            r.beneficiary == RewardRule.Beneficiary.FRIEND and r.kind == RewardRule.Kind.COUPON
            for r in rules
        ),
        host=host,
        og_image=image,
        og_title=headline,
        og_description=description,
        csp=_policy(program.destination_url, brand.logo_url),
    )


def _terms(program: Program, offer: dict[str, str], first: str, language: str) -> list[str]:
    """The offer's conditions in plain words: what the friend gets and on what condition, when
    it is final, and what the advocate gets (said, not hidden)."""
    days = program.attribution_days
    out = []
    if offer["friend"]:
        if program.trigger_event == Program.Trigger.SIGNUP:
            out.append(
                _("Your gift: %(offer)s, when you sign up within %(days)s days.")
                % {"offer": offer["friend"], "days": days}
            )
        else:
            which = _("your first purchase") if program.first_purchase_only else _("a purchase")
            if program.min_amount:
                amount = words.format_money(program.min_amount, program.currency, language)
                which = _("%(purchase)s of at least %(amount)s") % {
                    "purchase": which,
                    "amount": amount,
                }
            out.append(
                _("Your gift: %(offer)s, with %(purchase)s within %(days)s days.")
                % {"offer": offer["friend"], "purchase": which, "days": days}
            )
        if program.hold_days:
            out.append(
                _("It is confirmed %(days)s days later, once returns are no longer possible.")
                % {"days": program.hold_days}
            )
    else:
        out.append(_("This invitation is valid for %(days)s days.") % {"days": days})
    if offer["advocate"]:
        who = first or _("The friend who invited you")
        out.append(
            _("And %(who)s gets a thank-you: %(offer)s.") % {"who": who, "offer": offer["advocate"]}
        )
    return out


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _policy(destination: str, logo_url: str) -> str:
    """The pages' CSP: nothing from elsewhere but the brand's logo; the claim form may post
    here and be sent on to the destination (`form-action` covers the redirect)."""
    images = " ".join(filter(None, ["'self'", "data:", _origin(logo_url)]))
    forms = " ".join(filter(None, ["'self'", _origin(destination)]))
    return (
        f"default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; img-src {images}; "
        f"form-action {forms}; base-uri 'none'; frame-ancestors 'none'"
    )


# --- the preview image's address ------------------------------------------------------------


def og_content(program: Program) -> dict[str, str]:
    """What the program's preview image shows, in the program's language (else the
    workspace's): one image per program, whatever language a visitor reads the page in. Its
    hash names the image file."""
    brand = branding.for_program(program)
    workspace_language = (
        MessagingSettings.objects.filter(workspace_id=program.workspace_id)
        .values_list("language", flat=True)
        .first()
    )
    language = journeys.language(program.language, workspace_language or "")
    offer = content.offers(program, language)["friend"]
    with translation.override(language):
        kicker = _("A gift from a friend") if offer else _("An invitation")
        cta = _("Open the link to claim it") if offer else _("Open the link to see it")
    return {
        "brand": brand.name,
        "color": brand.color,
        "kicker": kicker,
        "title": offer or program.name,
        "program": program.name,
        "cta": cta,
    }


def content_hash(drawn: dict[str, str]) -> str:
    text = "\n".join(f"{k}={drawn[k]}" for k in sorted(drawn))
    return hashlib.sha256(f"og-v1\n{text}".encode()).hexdigest()[:20]


def og_image_url(program: Program) -> str:
    """The preview image's URL; `v` changes with what it shows, so that link previews that
    keep images by URL fetch the new one."""
    version = content_hash(og_content(program))
    return f"{settings.SITE_URL}/og/{program.public_id}.png?v={version}"
