"""The referral link `GET /r/<code>`: the hot path, served beneath Django's request stack.

Django's middleware stack costs 5-10x a lean WSGI path, so `goodword.wsgi` hands `/r/` straight
to `handle()`. A hit needs no database: code -> destination comes from an in-process cache, the
click is appended to this process's click log (see `referrals.clicklog`), and the answer is a
302 carrying a signed `gw_ref` token that alone is enough to attribute the friend later, or,
with the program's landing page on, that page with the token in its button (`public.landing`,
rendered once per link and language). An advocate opening their own link (their portal
cookie) gets "this is your link" and counts no click.

A link never redirects to a URL taken from the request: the destination is the program's (or
the advocate's override), and it must lie within the workspace's allowed domains.
"""

from __future__ import annotations

import base64
import html
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from json.encoder import encode_basestring_ascii as _json_str
from typing import Any
from urllib.parse import parse_qsl

from crawlerdetect import CrawlerDetect
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import translation
from django.utils.translation import gettext as _

from goodword.lib.codes import normalize_code
from goodword.lib.signing import PORTAL_COOKIE, hash_ip, make_ref_token, read_portal_token
from goodword.lib.urls import host_allowed, url_host
from goodword.participants.models import Advocate
from goodword.programs.models import Program
from goodword.public import landing
from goodword.public.pagelang import from_browser
from goodword.public.portal import shared as portal_shared
from goodword.referrals.clicklog import ClickWriter

logger = logging.getLogger(__name__)

Response = tuple[str, list[tuple[str, str]], bytes]

_UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_CACHE_LIMIT = 100_000
CODE = re.compile(r"[A-Z0-9]{1,40}")
_HTML_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"),
]
_LANDING_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-store"),  # each answer carries its own click's token
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Vary", "Accept-Language, Cookie"),
]


@dataclass(frozen=True, slots=True)
class Target:
    advocate_pk: int
    advocate_id: str
    workspace_pk: int
    program_pk: int
    is_active: bool
    # The destination split around where `gw_ref` goes: base + sep + "gw_ref=" + token + tail.
    base: str
    sep: str
    tail: str
    destination: str
    code: str
    advocate_name: str
    landing_page: bool  # answer the friend's landing page instead of the 302
    language: str  # the program's page language; "": the browser's or the workspace's
    # The click-log fields fixed by the link: `,"ws":1,"prg":2,"adv":3`.
    log_ids: str


_cache: dict[str, tuple[float, Target | None]] = {}
_writer = ClickWriter()
_detector_local = threading.local()


def _split(url: str) -> tuple[str, str, str]:
    base, hash_, fragment = url.partition("#")
    return base, ("&" if "?" in base else "?"), (hash_ + fragment)


def _load(code: str) -> Target | None:
    row = (
        Advocate.objects.filter(code_normalized=code)
        .values(
            "pk",
            "public_id",
            "code",
            "workspace_id",
            "program_id",
            "destination_override",
            "program__destination_url",
            "program__status",
            "program__landing_page",
            "program__language",
            "participant__name",
            "workspace__allowed_domains",
        )
        .first()
    )
    if row is None:
        return None
    allowed = list(row["workspace__allowed_domains"] or [])
    destination = row["destination_override"] or row["program__destination_url"]
    host = url_host(destination)
    if host is None or not host_allowed(host, allowed):
        logger.warning("link %s points outside its workspace's allowed domains", row["code"])
        return None
    base, sep, tail = _split(destination)
    return Target(
        advocate_pk=row["pk"],
        advocate_id=row["public_id"],
        workspace_pk=row["workspace_id"],
        program_pk=row["program_id"],
        is_active=row["program__status"] == Program.Status.ACTIVE,
        base=base,
        sep=sep,
        tail=tail,
        destination=destination,
        code=row["code"],
        advocate_name=row["participant__name"] or "",
        landing_page=row["program__landing_page"],
        language=row["program__language"],
        log_ids=f',"ws":{row["workspace_id"]},"prg":{row["program_id"]},"adv":{row["pk"]}',
    )


def resolve(code: str, now: float) -> Target | None:
    """Return the link's target from the cache, or from the database every few seconds."""
    hit = _cache.get(code)
    if hit is not None and hit[0] > now:
        return hit[1]
    try:
        target = _load(code)
    except DatabaseError:
        # A dropped connection (database restart): start a new one and try once more.
        connection.close()
        target = _load(code)
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache[code] = (now + settings.LINK_CACHE_SECONDS, target)
    return target


def forget(code: str | None = None) -> None:
    """Drop cached targets (all, or one code), e.g. in tests after changing a program."""
    landing.forget()
    portal_shared.forget()
    if code is None:
        _cache.clear()
    else:
        _cache.pop(normalize_code(code), None)


@lru_cache(maxsize=8192)
def is_bot(user_agent: str) -> bool:
    """Link-preview bots and crawlers. The detector is built once per thread (building one
    costs ~0.5 ms; using one ~7 us) and answers are cached per user agent."""
    if not user_agent:
        return True
    detector = getattr(_detector_local, "detector", None)
    if detector is None:
        detector = _detector_local.detector = CrawlerDetect()
    return bool(detector.isCrawler(user_agent))


def ua_class(user_agent: str) -> str:
    if "iPad" in user_agent or "Tablet" in user_agent:
        return "tablet"
    if "Mobi" in user_agent or "Android" in user_agent:
        return "mobile"
    return "desktop"


def _client_ip(environ: dict[str, Any]) -> str:
    return str(environ.get("REMOTE_ADDR") or "")


_today: tuple[int, str] = (-1, "")


def _day(now: float) -> str:
    """`YYYY-MM-DD` (UTC) of `now`, formatted once a day rather than on every click."""
    global _today
    number = int(now // 86400)
    if _today[0] != number:
        _today = (number, time.strftime("%Y-%m-%d", time.gmtime(now)))
    return _today[1]


def handle(environ: dict[str, Any]) -> Response:
    code = normalize_code(environ.get("PATH_INFO", "")[3:].strip("/"))
    now = time.time()
    # Only something that can be a code reaches the cache or the database (PostgreSQL would
    # refuse a NUL byte with an error, and junk codes would fill the cache).
    target = resolve(code, now) if CODE.fullmatch(code) else None
    if target is None:
        browser = str(environ.get("HTTP_ACCEPT_LANGUAGE") or "")
        return _page("404 Not Found", not_found_html(browser))
    # The self-click guard reads cookies only when there are some: most clicks carry none.
    cookie = environ.get("HTTP_COOKIE")
    if cookie and PORTAL_COOKIE in cookie and _is_own(cookie, target):
        return _landing(target, environ, now, "own", "")
    user_agent = str(environ.get("HTTP_USER_AGENT") or "")
    if environ.get("REQUEST_METHOD") != "GET" or is_bot(user_agent):
        return _landing(target, environ, now, "landing", preview_token(target, now))
    if not target.is_active:
        return "302 Found", [("Location", target.destination), ("Cache-Control", "no-store")], b""
    query = str(environ.get("QUERY_STRING") or "")
    params = dict(parse_qsl(query, max_num_fields=20)) if query else {}
    # 12 random bytes, URL-safe base64 (what secrets.token_urlsafe(12) gives).
    click_id = base64.urlsafe_b64encode(os.urandom(12)).decode()
    # The click-log line, one JSON object, written out directly (json.dumps of a dict costs
    # more than the rest of the redirect). Strings from the request go through json's own
    # escaping; the other values are ints, a float, and strings made here of [A-Za-z0-9_-].
    utm = "".join(f',"{k}":{_json_str(params[k][:100])}' for k in _UTM if k in params)
    line = (
        f'{{"id":"{click_id}","ts":{round(now, 3)!r}{target.log_ids}'
        f',"channel":{_json_str(params.get("via", "")[:32])}'
        f',"referrer":{_json_str(str(environ.get("HTTP_REFERER") or "")[:500])}'
        f',"ua_class":"{ua_class(user_agent)}"'
        f',"ip_hash":"{hash_ip(_client_ip(environ), _day(now))}"{utm}}}\n'
    )
    # The click is on disk (page cache) before the visitor is answered: acknowledged = kept.
    _writer.write_line(line.encode())
    token = make_ref_token(target.advocate_id, click_id, int(now))
    if target.landing_page:
        return _landing(target, environ, now, "landing", token)
    location = f"{target.base}{target.sep}gw_ref={token}{target.tail}"
    return "302 Found", [("Location", location), ("Cache-Control", "no-store")], b""


def _is_own(cookie: str, target: Target) -> bool:
    """Whether the portal cookie among `cookie` names the link's advocate."""
    for pair in cookie.split(";"):
        name, _, value = pair.strip().partition("=")
        if name == PORTAL_COOKIE:
            found = read_portal_token(value.strip().strip('"'))
            return found is not None and found.advocate_id == target.advocate_id
    return False


def _landing(
    target: Target, environ: dict[str, Any], now: float, kind: str, token: str
) -> Response:
    """The landing page (or the advocate's own-link page) from this process's cache, with the
    click's token spliced in."""
    wanted = landing.page_language(target.language, str(environ.get("HTTP_ACCEPT_LANGUAGE") or ""))
    try:
        parts = landing.page(target, wanted, now, kind)
    except DatabaseError:
        # A dropped connection (database restart): start a new one and try once more.
        connection.close()
        parts = landing.page(target, wanted, now, kind)
    return (
        "200 OK",
        [*_LANDING_HEADERS, ("Content-Security-Policy", parts.csp)],
        parts.with_token(token),
    )


def preview_token(target: Target, now: float) -> str:
    """A token for a page that counts no click (a preview, a bot): a person taken for a bot
    who continues is still credited to their friend."""
    if not target.is_active:
        return ""
    click_id = base64.urlsafe_b64encode(os.urandom(12)).decode()
    return make_ref_token(target.advocate_id, click_id, int(now))


def _page(status: str, body: str) -> Response:
    return status, list(_HTML_HEADERS), body.encode()


def not_found_html(accept_language: str = "") -> str:
    """The friendly 404, in the browser's language (English when it prefers none of ours)."""
    with translation.override(from_browser(accept_language) or "en"):
        language = translation.get_language() or "en"
        title = html.escape(_("Link not found"), quote=False)
        heading = html.escape(_("This referral link doesn't work"), quote=False)
        words = html.escape(
            _(
                "The code may be mistyped, or the program may have ended. Check the link you "
                "were sent, or ask the friend who shared it for a new one."
            ),
            quote=False,
        )
    return (
        f"<!doctype html><html lang={language}><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<meta name=robots content=noindex><title>{title}</title>"
        "<body style='font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;"
        f"padding:0 1rem;color:#222'><h1>{heading}</h1>"
        f"<p>{words}</p></body></html>"
    )
