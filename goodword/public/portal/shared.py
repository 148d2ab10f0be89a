"""What every advocate of a program sees alike on the portal (its brand, the workspace's time
zone and language, the offer in words, its own page texts, its milestone rules), kept in this
process for `PORTAL_CACHE_SECONDS` as `links.py` keeps link targets: without it each page read
these with seven queries of its sixteen.

An entry is keyed by the program's `updated_at` too, so a change of the program itself (its
tiers, rules' version, status) is seen at once by the process that reads the program row; a
change of the workspace's brand or messaging settings, or of a page text, is seen within the
few seconds. Nothing of one advocate (referrals, rewards, balance) is kept here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings

from goodword.messaging import branding, content, journeys
from goodword.messaging.models import MessagingSettings, PageText
from goodword.participants.models import Advocate
from goodword.programs.models import RewardRule

# The page texts the portal shows.
KEYS = ("share_message", "disclosure", "portal_intro")
# Past this many entries the cache starts over (an entry is a few hundred bytes).
_LIMIT = 10_000


@dataclass(frozen=True)
class Workspace:
    language: str  # its messaging language ("" when it has no settings)
    zone: ZoneInfo


@dataclass(frozen=True)
class Program:
    brand: branding.Brand
    offers: dict[str, str]  # friend, advocate: plain words in the entry's language
    sources: dict[str, str]  # key -> the program's own page text ("" when it has none)
    milestones: tuple[RewardRule, ...]  # active rules with a milestone, oldest first


_workspaces: dict[int, tuple[float, Workspace]] = {}
_programs: dict[tuple[int, datetime, str], tuple[float, Program]] = {}
_lock = threading.Lock()


def workspace(workspace_id: int) -> Workspace:
    """The workspace's messaging language and time zone (one query every few seconds)."""
    now = time.monotonic()
    hit = _workspaces.get(workspace_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    found = (
        MessagingSettings.objects.filter(workspace_id=workspace_id)
        .values_list("language", "time_zone")
        .first()
    )
    language, zone = found or ("", "UTC")
    entry = Workspace(language=language or "", zone=journeys.zone(zone or "UTC"))
    _keep(_workspaces, workspace_id, (now + settings.PORTAL_CACHE_SECONDS, entry))
    return entry


def program(advocate: Advocate, language: str) -> Program:
    """The shared part of `advocate`'s program's portal in `language` (the program row is the
    advocate's own, read with it)."""
    found = advocate.program
    key = (found.pk, found.updated_at, language)
    now = time.monotonic()
    hit = _programs.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    rules = list(RewardRule.objects.filter(program_id=found.pk, is_active=True).order_by("pk"))
    sources = dict(
        PageText.objects.filter(program_id=found.pk, language=language, key__in=KEYS)
        .values_list("key", "source")
    )  # fmt: skip
    entry = Program(
        brand=branding.for_program(found),
        offers=content.offers(found, language, rules),
        sources={k: sources.get(k) or "" for k in KEYS},
        milestones=tuple(r for r in rules if r.milestone is not None),
    )
    _keep(_programs, key, (now + settings.PORTAL_CACHE_SECONDS, entry))
    return entry


def _keep(cache: dict, key: object, value: object) -> None:  # type: ignore[type-arg]
    with _lock:
        if len(cache) >= _LIMIT:
            cache.clear()
        cache[key] = value


def forget() -> None:
    """Drop every entry (tests, after changing a brand or a page text)."""
    _workspaces.clear()
    _programs.clear()
