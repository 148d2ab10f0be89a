"""The advocate portal's magic link and cookie (docs/sharing-portal.md).

A link is `SITE_URL/p/<token>`, the token from `lib.signing.make_portal_token`: it names the
advocate and when it was made, and works for PORTAL_LINK_DAYS. Opening it sets the `gw_portal`
cookie (a fresh token) that keeps the advocate signed in for PORTAL_COOKIE_DAYS. Nothing is
stored: a link cannot be revoked one by one (a new SECRET_KEY ends them all), which is why it
only ever shows what an advocate may see of their own referrals and shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from goodword.lib.signing import make_portal_token, read_portal_token
from goodword.participants.models import Advocate


@dataclass(frozen=True)
class PortalLink:
    url: str
    expires_at: datetime


def link_days() -> timedelta:
    return timedelta(days=settings.PORTAL_LINK_DAYS)


def cookie_days() -> timedelta:
    return timedelta(days=settings.PORTAL_COOKIE_DAYS)


def make_token(advocate: Advocate, now: datetime) -> str:
    return make_portal_token(advocate.public_id, int(now.timestamp()))


def make_link(advocate: Advocate, now: datetime) -> PortalLink:
    """A fresh magic link to `advocate`'s portal, and when it stops working."""
    issued = int(now.timestamp())
    token = make_portal_token(advocate.public_id, issued)
    expires_at = datetime.fromtimestamp(issued, tz=now.tzinfo) + link_days()
    return PortalLink(url=f"{settings.SITE_URL}/p/{token}", expires_at=expires_at)


def advocate_id_of(token: str, *, now: datetime, max_age: timedelta) -> str | None:
    """The advocate's public id in `token` when it is genuine and younger than `max_age`;
    None otherwise (forged, malformed, expired, or issued in the future)."""
    read = read_portal_token(token)
    if read is None:
        return None
    age = now - read.issued_at
    # A minute of clock skew between web processes is not a forgery.
    if age > max_age or age < -timedelta(minutes=1):
        return None
    return read.advocate_id
