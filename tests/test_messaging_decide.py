"""The send decision (`journeys.decide`): table-driven, pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from goodword.messaging.journeys import Facts, Manners, Recipient, decide, language, quiet_until

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
BOB = Recipient(
    email="bob@example.net",
    language="",
    time_zone="",
    is_test=False,
    consented=None,
    nps_score=None,
    ineligible="",
)
MANNERS = Manners(
    is_active=True,
    journey_active=True,
    min_nps=None,
    require_consent=False,
    weekly_cap=3,
    quiet_start=21,
    quiet_end=8,
    time_zone="UTC",
    language="en",
)


def facts(journey: str = "thank_you", **changes: object) -> Facts:
    base = Facts(
        journey=journey,
        now=NOW,
        recipient=BOB,
        manners=MANNERS,
        suppressed="",
        sent_this_week=0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "journey", "changes", "skip"),
    [
        (
            "messaging off",
            "reward_earned",
            {"manners": replace(MANNERS, is_active=False)},
            "messaging_off",
        ),
        (
            "journey off",
            "thank_you",
            {"manners": replace(MANNERS, journey_active=False)},
            "journey_off",
        ),
        (
            "program paused: no asking",
            "referral_request",
            {"manners": replace(MANNERS, program_active=False)},
            "program_paused",
        ),
        (
            "program paused: no invites",
            "friend_invite",
            {"manners": replace(MANNERS, program_active=False)},
            "program_paused",
        ),
        ("participant gone", "thank_you", {"recipient": None}, "no_recipient"),
        ("a later notice", "reward_earned", {"superseded": True}, "superseded"),
        (
            "test customer",
            "reward_earned",
            {"recipient": replace(BOB, is_test=True)},
            "test_customer",
        ),
        ("no email", "reward_earned", {"recipient": replace(BOB, email="")}, "no_address"),
        ("bounced: even a notice", "reward_earned", {"suppressed": "bounced"}, "bounced"),
        ("unsubscribed: marketing", "thank_you", {"suppressed": "unsubscribed"}, "unsubscribed"),
        (
            "ineligible",
            "referral_request",
            {"recipient": replace(BOB, ineligible="only customers")},
            "not_eligible",
        ),
        ("no NPS", "referral_request", {"manners": replace(MANNERS, min_nps=9)}, "not_promoter"),
        (
            "a passive",
            "referral_request",
            {"manners": replace(MANNERS, min_nps=9), "recipient": replace(BOB, nps_score=8)},
            "not_promoter",
        ),
        (
            "consent needed",
            "thank_you",
            {"manners": replace(MANNERS, require_consent=True)},
            "no_consent",
        ),
        (
            "consent refused",
            "thank_you",
            {"recipient": replace(BOB, consented=False)},
            "no_consent",
        ),
        ("weekly cap", "thank_you", {"sent_this_week": 3}, "frequency_cap"),
    ],
)
def test_reasons_not_to_send(
    case: str, journey: str, changes: dict[str, object], skip: str
) -> None:
    verdict = decide(facts(journey, **changes))
    assert (verdict.send, verdict.skip, verdict.later) == (False, skip, None), case


@pytest.mark.parametrize(
    ("case", "journey", "changes"),
    [
        ("a notice to an unsubscribed address", "reward_earned", {"suppressed": "unsubscribed"}),
        ("a notice over the cap", "reward_approved", {"sent_this_week": 9}),
        (
            "a notice of a paused program",
            "reward_earned",
            {"manners": replace(MANNERS, program_active=False)},
        ),
        ("a notice at night", "reward_reversed", {"now": datetime(2026, 12, 1, 23, 0, tzinfo=UTC)}),
        (
            "a notice without consent",
            "reward_fulfilled",
            {"manners": replace(MANNERS, require_consent=True)},
        ),
        (
            "a promoter",
            "referral_request",
            {"manners": replace(MANNERS, min_nps=9), "recipient": replace(BOB, nps_score=9)},
        ),
        (
            "consented",
            "thank_you",
            {
                "manners": replace(MANNERS, require_consent=True),
                "recipient": replace(BOB, consented=True),
            },
        ),
    ],
)
def test_sent(case: str, journey: str, changes: dict[str, object]) -> None:
    verdict = decide(facts(journey, **changes))
    assert (verdict.send, verdict.skip, verdict.language) == (True, "", "en"), case


def test_marketing_at_night_waits_for_the_morning() -> None:
    verdict = decide(facts("thank_you", now=datetime(2026, 12, 1, 23, 0, tzinfo=UTC)))
    assert (verdict.send, verdict.skip) == (False, "")
    assert verdict.later == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "zone", "start", "end", "until"),
    [
        (datetime(2026, 12, 1, 20, 59, tzinfo=UTC), "UTC", 21, 8, None),
        (
            datetime(2026, 12, 1, 21, 0, tzinfo=UTC),
            "UTC",
            21,
            8,
            datetime(2026, 12, 2, 8, 0, tzinfo=UTC),
        ),
        (
            datetime(2026, 12, 2, 7, 59, tzinfo=UTC),
            "UTC",
            21,
            8,
            datetime(2026, 12, 2, 8, 0, tzinfo=UTC),
        ),
        (datetime(2026, 12, 2, 8, 0, tzinfo=UTC), "UTC", 21, 8, None),
        # 15:00 UTC is 00:00 in Tokyo: quiet until 08:00 there, 23:00 UTC
        (
            datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
            "Asia/Tokyo",
            21,
            8,
            datetime(2026, 12, 1, 23, 0, tzinfo=UTC),
        ),
        # a window within one day
        (
            datetime(2026, 12, 1, 13, 30, tzinfo=UTC),
            "UTC",
            12,
            14,
            datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
        ),
        (datetime(2026, 12, 1, 14, 0, tzinfo=UTC), "UTC", 12, 14, None),
        # no quiet hours; an unknown zone is UTC
        (datetime(2026, 12, 1, 23, 0, tzinfo=UTC), "UTC", 0, 0, None),
        (
            datetime(2026, 12, 1, 23, 0, tzinfo=UTC),
            "Mars/Olympus",
            21,
            8,
            datetime(2026, 12, 2, 8, 0, tzinfo=UTC),
        ),
    ],
)
def test_quiet_until(
    now: datetime, zone: str, start: int, end: int, until: datetime | None
) -> None:
    assert quiet_until(now, zone, start, end) == until


@pytest.mark.parametrize(
    ("wanted", "default", "chosen"),
    [
        ("it", "en", "it"),
        ("it-IT", "en", "it"),
        ("IT_it", "en", "it"),
        ("de", "it", "it"),
        ("", "", "en"),
        ("fr", "de", "en"),
    ],
)
def test_language(wanted: str, default: str, chosen: str) -> None:
    assert language(wanted, default) == chosen


def test_the_programs_language_comes_between_the_persons_and_the_workspaces() -> None:
    assert language("", "it", "en") == "it"
    assert language("en-GB", "it", "en") == "en"
    assert language("de", "", "it") == "it"
    program_it = facts("reward_earned", manners=replace(MANNERS, program_language="it"))
    assert decide(program_it).language == "it"


# Text messages: the same decision, with the number, its suppression and consent to texts.

TEXTABLE = replace(BOB, phone="+393471234567", sms_consented=True)
TEXTING = replace(MANNERS, sms_active=True)


def text(journey: str = "referral_request", **changes: object) -> Facts:
    base = facts(journey, channel="sms", recipient=TEXTABLE, manners=TEXTING)
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "journey", "changes", "skip"),
    [
        ("texts off", "reward_earned", {"manners": MANNERS}, "sms_off"),
        ("messaging off first", "reward_earned", {"manners": replace(TEXTING, is_active=False)},
         "messaging_off"),
        ("no number", "reward_earned", {"recipient": replace(TEXTABLE, phone="")}, "no_phone"),
        ("no number, email or not", "reward_earned",
         {"recipient": replace(TEXTABLE, phone="", email="")}, "no_phone"),
        ("STOP: even a notice", "reward_earned", {"suppressed": "stopped"}, "stopped"),
        ("STOP: marketing", "referral_request", {"suppressed": "stopped"}, "stopped"),
        ("no consent to texts", "referral_request",
         {"recipient": replace(TEXTABLE, sms_consented=None)}, "no_sms_consent"),
        ("consent refused", "referral_request",
         {"recipient": replace(TEXTABLE, sms_consented=False)}, "no_sms_consent"),
        ("email consent is not text consent", "referral_request",
         {"recipient": replace(TEXTABLE, sms_consented=None, consented=True)}, "no_sms_consent"),
        ("texts consent but email refused", "referral_request",
         {"recipient": replace(TEXTABLE, consented=False)}, "no_consent"),
        ("weekly cap of texts", "referral_request", {"sent_this_week": 3}, "frequency_cap"),
    ],
)  # fmt: skip
def test_reasons_not_to_text(
    case: str, journey: str, changes: dict[str, object], skip: str
) -> None:
    verdict = decide(text(journey, **changes))
    assert (verdict.send, verdict.skip, verdict.later) == (False, skip, None), case


@pytest.mark.parametrize(
    ("case", "journey", "changes"),
    [
        ("a consenting customer", "referral_request", {}),
        ("a notice without consent to texts", "reward_earned",
         {"recipient": replace(TEXTABLE, sms_consented=None)}),
        ("a notice to an unsubscribed number", "reward_approved", {"suppressed": "unsubscribed"}),
        ("a text has no email to need", "referral_request",
         {"recipient": replace(TEXTABLE, email="")}),
    ],
)  # fmt: skip
def test_texts_that_go(case: str, journey: str, changes: dict[str, object]) -> None:
    assert decide(text(journey, **changes)).send, case


def test_an_email_ignores_the_text_switches() -> None:
    assert decide(facts("reward_earned", recipient=replace(BOB, phone=""))).send
    assert decide(facts("reward_earned", manners=MANNERS)).send  # sms_active False


def test_texts_wait_for_quiet_hours_too() -> None:
    night = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    verdict = decide(text("referral_request", now=night))
    assert (verdict.send, verdict.later) == (False, datetime(2026, 12, 2, 8, 0, tzinfo=UTC))
