"""The default wording of every journey, the branded layout around it, and the words in both
languages: every template renders with full data, with every value "" and with values missing;
the layout inlines its CSS, escapes the merchant's brand and keeps dark mode; the Italian
catalogue is complete and compiled."""

from __future__ import annotations

import gettext
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from goodword.messaging import defaults, layout, words
from goodword.messaging.render import render
from goodword.referrals.models import Referral

LOCALE = Path(layout.__file__).resolve().parent.parent / "locale" / "it" / "LC_MESSAGES"

COMMON_EN: dict[str, Any] = {
    "workspace": {"name": "Acme"},
    "program": {"name": "Friends of Acme"},
    "brand": {"name": "Acme Coffee", "color": "#1f6f5c", "logo_url": ""},
    "recipient": {"name": "Alice Smith", "first_name": "Alice", "email": "alice@example.com"},
    "language": "en",
    "unsubscribe_url": "https://goodword.test/u/abc",
}
JOURNEY_EN: dict[str, dict[str, Any]] = {
    "referral_request": {
        "advocate": {
            "code": "ALICE10",
            "link": "https://goodword.test/r/ALICE10",
            "share_url": "https://goodword.test/s/ALICE10",
        },
        "offer": {"friend": "10% off your first order", "advocate": "$10.00 store credit"},
    },
    "reward_earned": {
        "reward": {"description": "$10.00 store credit", "final_on": "8 January 2027"}
    },
    "reward_approved": {"reward": {"description": "$10.00 store credit"}},
    "reward_fulfilled": {"reward": {"description": "$5.00 off coupon", "code": "THANKS-7QX2"}},
    "reward_reversed": {
        "reward": {"description": "$10.00 store credit", "reason": "the order was refunded"}
    },
    "reward_expiring": {
        "reward": {"description": "$10.00 store credit", "expires_on": "31 March 2027"}
    },
    "thank_you": {"friend": {"first_name": "Bob"}},
    "friend_invite": {
        "advocate": {
            "name": "Alice Smith",
            "first_name": "Alice",
            "link": "https://goodword.test/r/ALICE10",
            "code": "ALICE10",
        },
        "offer": {"friend": "10% off your first order"},
        "note": "You'll love their coffee.\nTrust me!",
    },
    "remind_share": {
        "advocate": {
            "code": "ALICE10",
            "link": "https://goodword.test/r/ALICE10",
            "share_url": "https://goodword.test/s/ALICE10",
        },
        "offer": {"friend": "10% off your first order", "advocate": "$10.00 store credit"},
    },
    "remind_friend": {
        "advocate": {
            "name": "Alice Smith",
            "first_name": "Alice",
            "link": "https://goodword.test/r/ALICE10",
            "code": "ALICE10",
        },
        "offer": {"friend": "10% off your first order"},
    },
    "coupon_expiring": {
        "reward": {
            "description": "$5.00 off coupon",
            "code": "THANKS-7QX2",
            "expires_on": "31 March 2027",
        }
    },
}
COMMON_IT = {**COMMON_EN, "brand": {**COMMON_EN["brand"], "name": "Bottega Rossi"}}
COMMON_IT["language"] = "it"
JOURNEY_IT: dict[str, dict[str, Any]] = {
    **JOURNEY_EN,
    "referral_request": {
        "advocate": JOURNEY_EN["referral_request"]["advocate"],
        "offer": {"friend": "buono sconto del 10%", "advocate": "10,00 € di credito"},
    },
    "reward_earned": {
        "reward": {"description": "10,00 € di credito", "final_on": "8 gennaio 2027"}
    },
    "reward_approved": {"reward": {"description": "10,00 € di credito"}},
    "reward_fulfilled": {
        "reward": {"description": "buono sconto da 5,00 €", "code": "GRAZIE-7QX2"}
    },
    "reward_reversed": {
        "reward": {"description": "10,00 € di credito", "reason": "l'ordine è stato rimborsato"}
    },
    "reward_expiring": {
        "reward": {"description": "10,00 € di credito", "expires_on": "31 marzo 2027"}
    },
    "friend_invite": {
        **JOURNEY_EN["friend_invite"],
        "offer": {"friend": "buono sconto del 10%"},
        "note": "Il loro caffè ti piacerà.\nFidati!",
    },
    "remind_share": {
        "advocate": JOURNEY_EN["remind_share"]["advocate"],
        "offer": {"friend": "buono sconto del 10%", "advocate": "10,00 € di credito"},
    },
    "remind_friend": {
        **JOURNEY_EN["remind_friend"],
        "offer": {"friend": "buono sconto del 10%"},
    },
    "coupon_expiring": {
        "reward": {
            "description": "buono sconto da 5,00 €",
            "code": "GRAZIE-7QX2",
            "expires_on": "31 marzo 2027",
        }
    },
}

CASES = [
    (journey, language, part)
    for journey in defaults.JOURNEYS
    for language in defaults.LANGUAGES
    for part in defaults.PARTS
    if part != "sms" or journey in defaults.SMS_JOURNEYS
]


def full(journey: str, language: str) -> dict[str, Any]:
    common, own = (COMMON_IT, JOURNEY_IT) if language == "it" else (COMMON_EN, JOURNEY_EN)
    return {**common, **own[journey]}


def emptied(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: emptied(item) for key, item in value.items()}
    return ""


def rendered(journey: str, language: str, part: str, data: dict[str, Any]) -> str:
    source = defaults.default_template(journey, language, part)
    return render(source, data, html=part == "html")


def no_liquid_left(out: str) -> None:
    for leftover in ("{{", "}}", "{%", "%}"):
        assert leftover not in out


@pytest.mark.parametrize(("journey", "language", "part"), CASES)
def test_default_renders_with_full_data(journey: str, language: str, part: str) -> None:
    out = rendered(journey, language, part, full(journey, language))
    no_liquid_left(out)
    if part in ("subject", "sms"):
        assert out == out.strip()
    if part == "subject":
        assert "\n" not in out
        assert 10 <= len(out) <= 120
    if part == "sms":
        assert len(out) <= 160  # one SMS with realistic values; the limit is 320


@pytest.mark.parametrize(("journey", "language", "part"), CASES)
def test_default_reads_well_when_every_value_is_empty(
    journey: str, language: str, part: str
) -> None:
    out = rendered(journey, language, part, emptied(full(journey, language)))
    no_liquid_left(out)
    # Nothing dangles where a value was: no empty brackets, no space before punctuation,
    # no link without an address.
    for dangling in ("()", " .", " ,", " :", ": .", 'href=""', "  "):
        assert dangling not in out
    if part == "subject":
        assert "\n" not in out
        assert 10 <= len(out) <= 120
    if part == "sms":
        assert 10 <= len(out) <= 320


@pytest.mark.parametrize(("journey", "language", "part"), CASES)
def test_default_reads_well_when_values_are_missing(journey: str, language: str, part: str) -> None:
    out = rendered(journey, language, part, {"language": language})
    no_liquid_left(out)
    assert 'href=""' not in out
    assert out == rendered(journey, language, part, emptied(full(journey, language)))


def test_full_email_of_a_reward_earned() -> None:
    data = full("reward_earned", "en")
    assert rendered("reward_earned", "en", "subject", data) == (
        "You've earned a reward: $10.00 store credit"
    )
    assert rendered("reward_earned", "en", "text", data) == (
        "Hi Alice,\n\n"
        "Good news: you've earned a reward from Acme Coffee.\n\n"
        "Your reward: $10.00 store credit\n\n"
        "Confirmed on: 8 January 2027\n\n"
        "We hold rewards for a short while in case the order is returned. There's nothing you "
        "need to do in the meantime.\n\n"
        "Thanks,\nAcme Coffee"
    )
    assert rendered("reward_earned", "en", "sms", data) == (
        "Acme Coffee: good news, you've earned a reward ($10.00 store credit). It will be "
        "confirmed on 8 January 2027."
    )


def test_italian_subject_of_a_referral_request() -> None:
    data = full("referral_request", "it")
    assert rendered("referral_request", "it", "subject", data) == (
        "Invita un amico: per te 10,00 € di credito"
    )
    assert rendered("referral_request", "it", "subject", emptied(data)) == (
        "Conosci qualcuno a cui potrebbe piacere?"
    )


_ENGLISH = {"you", "your", "you've", "reward", "thanks", "thank", "the", "and", "with", "hi"}


@pytest.mark.parametrize(("journey", "language", "part"), [c for c in CASES if c[1] == "it"])
def test_italian_defaults_are_in_italian(journey: str, language: str, part: str) -> None:
    data = full(journey, "it")
    out = rendered(journey, "it", part, data)
    english = rendered(journey, "en", part, full(journey, "en"))
    assert out != english
    found = set(re.findall(r"[a-z']+", re.sub(r"<[^>]+>|https?://\S+", " ", out.lower())))
    assert found & _ENGLISH == set()


@pytest.mark.parametrize("language", defaults.LANGUAGES)
@pytest.mark.parametrize("part", ["html", "text"])
def test_thank_you_carries_nothing_promotional(language: str, part: str) -> None:
    # Whatever data the sender adds, the note only thanks: no link, no offer, no code.
    data = {**full("thank_you", language), **full("referral_request", language)}
    out = rendered("thank_you", language, part, data)
    for promotional in ("http", "<a", "button", "ALICE10", "10%", "€", "$"):
        assert promotional not in out


@pytest.mark.parametrize("language", defaults.LANGUAGES)
@pytest.mark.parametrize(
    "journey",
    [
        "reward_earned",
        "reward_approved",
        "reward_fulfilled",
        "reward_reversed",
        "reward_expiring",
        "coupon_expiring",
    ],
)
def test_reward_notices_carry_no_marketing(journey: str, language: str) -> None:
    data = {**full("referral_request", language), **full(journey, language)}
    for part in ("html", "text"):
        out = rendered(journey, language, part, data)
        for marketing in ("http", "<a", "button", "ALICE10", "10%"):
            assert marketing not in out


@pytest.mark.parametrize("language", defaults.LANGUAGES)
@pytest.mark.parametrize("journey", ["referral_request", "friend_invite", "remind_share"])
def test_button_of_the_defaults_is_the_default_label(journey: str, language: str) -> None:
    out = rendered(journey, language, "html", full(journey, language))
    label = words.button_label(journey, language)
    assert out.count('class="button"') == 1
    assert f">{label}</a>" in out


def test_journeys_without_a_button_have_no_label() -> None:
    assert words.button_label("thank_you", "it") == ""


def test_default_template_falls_back_to_english_and_refuses_unknown_names() -> None:
    english = defaults.default_template("thank_you", "en", "subject")
    assert defaults.default_template("thank_you", "de", "subject") == english
    assert defaults.default_template("thank_you", "", "subject") == english
    assert not english.endswith("\n")
    with pytest.raises(KeyError):
        defaults.default_template("birthday", "en", "html")
    with pytest.raises(KeyError):
        defaults.default_template("thank_you", "en", "push")
    with pytest.raises(KeyError):
        defaults.default_template("thank_you", "en", "sms")


# The layout ---------------------------------------------------------------------------------

CONTENT = '<p>Hi Alice,</p><p class="actions"><a class="button" href="https://x.test/s">Go</a></p>'


def wrap(**changes: Any) -> str:
    arguments: dict[str, Any] = {
        "brand": {"name": "Acme Coffee", "color": "#1f6f5c", "logo_url": ""},
        "language": "en",
        "preheader": "Your reward is here",
        "unsubscribe_url": "https://goodword.test/u/abc",
        "footer": "Acme Coffee, 1 Main St",
    }
    return layout.wrap(CONTENT, **{**arguments, **changes})


def button_style(html: str) -> str:
    found = re.search(r'<a class="button" href="https://x.test/s" style="([^"]*)"', html)
    assert found is not None
    return found.group(1)


def test_wrap_makes_a_responsive_document_with_inlined_styles() -> None:
    html = wrap()
    assert html.lower().startswith("<!doctype html>")
    assert '<html lang="en"' in html
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "max-width: 600px" in html
    style = button_style(html)
    assert "background-color: #1f6f5c" in style
    assert "color: #ffffff" in style  # white reads best on the dark green
    assert "@media (prefers-color-scheme: dark)" in html
    assert "@media only screen and (max-width: 620px)" in html
    assert "Your reward is here" in html
    assert "Acme Coffee, 1 Main St" in html


def test_wrap_picks_dark_text_on_a_light_brand_colour() -> None:
    style = button_style(wrap(brand={"name": "Sunny", "color": "#FFD500", "logo_url": ""}))
    assert "background-color: #ffd500" in style
    assert "color: #18181b" in style


def test_unsubscribe_link_only_when_given() -> None:
    with_link = wrap()
    assert '<a href="https://goodword.test/u/abc"' in with_link
    assert ">Unsubscribe</a>" in with_link
    without = wrap(unsubscribe_url="")
    assert "goodword.test/u/" not in without
    assert "Unsubscribe" not in without


def test_italian_layout() -> None:
    html = wrap(language="it")
    assert '<html lang="it"' in html
    assert ">Annulla l'iscrizione</a>" in html
    assert "Non vuoi più ricevere email come questa?" in html


def test_hostile_brand_is_escaped_and_a_bad_colour_falls_back() -> None:
    html = wrap(
        brand={
            "name": '<script>alert("x")</script>',
            "color": "red;}</style><script>alert(1)</script>",
            "logo_url": "javascript:alert(1)",
        }
    )
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "javascript:" not in html
    assert "<img" not in html
    assert f"background-color: {layout.DEFAULT_COLOR}" in button_style(html)


def test_logo_shows_with_the_brand_name_as_alt() -> None:
    html = wrap(brand={"name": "Acme & Co", "color": "", "logo_url": "https://cdn.test/l.png"})
    images = re.findall(r"<img [^>]*>", html)
    assert len(images) == 1
    assert 'src="https://cdn.test/l.png"' in images[0]
    assert 'alt="Acme &amp; Co"' in images[0]
    assert f"background-color: {layout.DEFAULT_COLOR}" in button_style(html)


def test_empty_brand_shows_no_header() -> None:
    html = wrap(brand={})
    assert 'class="header"' not in html
    assert 'class="brand"' not in html


@pytest.mark.parametrize(
    ("color", "expected"),
    [("#1F6F5C", "#1f6f5c"), (" #abcdef ", "#abcdef"), ("#abc", "#1f6f5c"), ("blue", "#1f6f5c")],
)
def test_brand_color_is_checked(color: str, expected: str) -> None:
    assert layout.brand_color(color) == expected


def test_pale_colours_are_darkened_for_links() -> None:
    assert layout.legible_on("#1f6f5c", "#ffffff") == "#1f6f5c"
    darker = layout.legible_on("#ffd500", "#ffffff")
    assert darker != "#ffd500"
    assert layout.contrast(darker, "#ffffff") >= 4.5


def test_to_text() -> None:
    html = (
        "<style>p { color: red }</style>"
        '<div style="display:none">preview</div>'
        "<p>Hi <b>Alice</b>,</p>\n"
        "<p>Your reward: <strong>$10.00</strong>&nbsp;credit &amp; more.<br>Thanks!</p>"
        '<p><a class="button" href="https://x.test/s?a=1&amp;b=2">Share your link</a></p>'
        '<p>Or <a href="https://x.test/r">https://x.test/r</a></p>'
        "<ul><li>one</li><li>two</li></ul>"
    )
    assert layout.to_text(html) == (
        "Hi Alice,\n\n"
        "Your reward: $10.00 credit & more.\nThanks!\n\n"
        "Share your link (https://x.test/s?a=1&b=2)\n\n"
        "Or https://x.test/r\n\n"
        "- one\n- two"
    )


def test_to_text_of_a_wrapped_email_skips_the_head_and_the_preheader() -> None:
    text = layout.to_text(wrap())
    assert text == (
        "Acme Coffee\n\n"
        "Hi Alice,\n\n"
        "Go (https://x.test/s)\n\n"
        "Acme Coffee, 1 Main St\n\n"
        "Prefer not to get emails like this? Unsubscribe (https://goodword.test/u/abc)"
    )


# Words --------------------------------------------------------------------------------------

REWARDS = [
    # kind, amount, currency, percent_off, English, Italian
    ("credit", 1000, "USD", None, "$10.00 store credit", "10,00 $ di credito"),
    ("credit", 123456, "EUR", None, "€1,234.56 store credit", "1.234,56 € di credito"),
    ("credit", 1050, "CHF", None, "10.50 CHF store credit", "10,50 CHF di credito"),
    ("credit", 1000, "JPY", None, "¥1,000 store credit", "1.000 ¥ di credito"),
    ("coupon", None, "", 10, "10% off coupon", "buono sconto del 10%"),
    ("coupon", 500, "EUR", None, "€5.00 off coupon", "buono sconto da 5,00 €"),
    ("coupon", None, "", None, "discount coupon", "buono sconto"),
    ("cash", 2500, "GBP", None, "£25.00 cash reward", "premio in denaro di 25,00 £"),
    ("points", 1000, "PTS", None, "1,000 points", "1.000 punti"),
    ("points", 1, "PTS", None, "1 point", "1 punto"),
    ("gift_card", 2500, "USD", None, "$25.00 gift card", "carta regalo da 25,00 $"),
    ("gift_card", None, "", None, "gift card", "carta regalo"),
    ("product", None, "", None, "free product", "prodotto in omaggio"),
    (
        "charity",
        500,
        "EUR",
        None,
        "€5.00 donation to charity",
        "donazione di 5,00 € in beneficenza",
    ),
    ("custom", None, "", None, "reward", "premio"),
]


@pytest.mark.parametrize(("kind", "amount", "currency", "percent", "english", "italian"), REWARDS)
def test_describe_reward(
    kind: str, amount: int | None, currency: str, percent: int | None, english: str, italian: str
) -> None:
    assert words.describe_reward(kind, amount, currency, percent, "en") == english
    assert words.describe_reward(kind, amount, currency, percent, "it") == italian


def test_describe_reward_uses_the_cause_and_the_custom_description() -> None:
    cause = {"cause": "Save the Bees"}
    assert words.describe_reward("charity", 500, "EUR", None, "it", details=cause) == (
        "donazione di 5,00 € a Save the Bees"
    )
    own = {"description": "a tote bag"}
    assert words.describe_reward("custom", None, "", None, "en", details=own) == "a tote bag"


def test_format_date() -> None:
    assert words.format_date(date(2027, 1, 8), "en") == "8 January 2027"
    assert words.format_date(date(2027, 1, 8), "it") == "8 gennaio 2027"


REASONS = [
    ("refund", "the order was refunded", "l'ordine è stato rimborsato"),
    (
        "partial_refund",
        "part of the order was refunded",
        "una parte dell'ordine è stata rimborsata",
    ),
    (
        "late_event",
        "new information about the order means it no longer qualifies",
        "nuove informazioni sull'ordine indicano che non dà più diritto al premio",
    ),
    (
        "manual",
        "the store reviewed the referral and it did not qualify",
        "dopo una verifica, l'invito non è risultato valido",
    ),
    (
        "rejected",
        "the store reviewed the referral and it did not qualify",
        "dopo una verifica, l'invito non è risultato valido",
    ),
    (
        "fraud",
        "the referral did not meet the program's terms",
        "l'invito non rispetta le condizioni del programma",
    ),
    ("self_referral", "you can't refer yourself", "non è possibile invitare sé stessi"),
    (
        "existing_customer",
        "your friend was already a customer",
        "la persona che hai invitato era già cliente",
    ),
    (
        "expired",
        "the invitation had expired before the order was placed",
        "l'invito era scaduto prima dell'ordine",
    ),
    (
        "something_new",
        "the referral no longer meets the program's terms",
        "l'invito non rispetta più le condizioni del programma",
    ),
]


@pytest.mark.parametrize(("code", "english", "italian"), REASONS)
def test_reversal_reason(code: str, english: str, italian: str) -> None:
    assert words.reversal_reason(code, "en") == english
    assert words.reversal_reason(code, "it") == italian


def test_every_rejection_reason_of_a_referral_has_its_own_words() -> None:
    general = words.reversal_reason("something_new", "en")
    for code in Referral.RejectReason.values:
        if code != "holdout":  # a holdout referral never has a reward to reverse
            assert words.reversal_reason(code, "en") != general


# The Italian catalogue ----------------------------------------------------------------------


def po_entries(path: Path) -> list[dict[str, Any]]:
    """The entries of a .po file: msgctxt, msgid, msgid_plural, msgstr (a list), references,
    flags. Enough of the format for the files makemessages writes."""
    entries: list[dict[str, Any]] = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: dict[str, Any] = {"refs": [], "flags": [], "msgstr": {}}
        field = ""
        for line in block.splitlines():
            if line.startswith("#:"):
                entry["refs"] += line[2:].split()
            elif line.startswith("#,"):
                entry["flags"] += [f.strip() for f in line[2:].split(",")]
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                _append(entry, field, line)
            else:
                field, _, rest = line.partition(" ")
                _append(entry, field, rest)
        if "msgid" in entry:
            entries.append(entry)
    return entries


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _append(entry: dict[str, Any], field: str, quoted: str) -> None:
    text = re.sub(r"\\(.)", lambda m: _ESCAPES[m.group(1)], quoted[1:-1])
    if field.startswith("msgstr"):
        index = int(field[7:-1]) if "[" in field else 0
        entry["msgstr"][index] = entry["msgstr"].get(index, "") + text
    else:
        entry[field] = entry.get(field, "") + text


def messaging_entries() -> list[dict[str, Any]]:
    """The words people who get messages read: messaging's own and the public pages'. The
    dashboard is in English only."""
    return [
        e
        for e in po_entries(LOCALE / "django.po")
        if e["msgid"] and any(ref.startswith(("messaging/", "public/")) for ref in e["refs"])
    ]


def test_every_message_word_has_an_italian_translation() -> None:
    entries = messaging_entries()
    assert len(entries) >= 30
    for entry in entries:
        assert "fuzzy" not in entry["flags"], entry["msgid"]
        forms = 2 if "msgid_plural" in entry else 1
        assert [entry["msgstr"].get(i, "") != "" for i in range(forms)] == [True] * forms, entry[
            "msgid"
        ]
        placeholders = set(re.findall(r"%\(\w+\)s", entry["msgid"]))
        for translated in entry["msgstr"].values():
            assert set(re.findall(r"%\(\w+\)s", translated)) == placeholders


def test_compiled_catalogue_matches_the_po_file() -> None:
    with (LOCALE / "django.mo").open("rb") as mo:
        catalog: dict[Any, str] = gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]
    expected: dict[Any, str] = {}
    for entry in po_entries(LOCALE / "django.po"):
        if not entry["msgid"] or "fuzzy" in entry["flags"] or not entry["msgstr"].get(0):
            continue
        key = entry["msgid"]
        if "msgctxt" in entry:
            key = f"{entry['msgctxt']}\x04{key}"
        if "msgid_plural" in entry:
            for index, text in entry["msgstr"].items():
                expected[(key, index)] = text
        else:
            expected[key] = entry["msgstr"][0]
    compiled = {key: value for key, value in catalog.items() if key != ""}
    assert compiled == expected, "run compilemessages (docs/messaging.md)"


@pytest.mark.parametrize(
    ("brand", "language", "unsubscribe_url"),
    [
        ({"name": "Acme Coffee", "color": "#1f6f5c", "logo_url": ""}, "en", "https://x.test/u/a"),
        ({"name": "Sunny", "color": "#FFD500", "logo_url": "https://x.test/l.png"}, "it", ""),
        (
            {"name": '<b>"Evil" & Co</b>', "color": "red", "logo_url": "javascript:alert(1)"},
            "en",
            'https://x.test/u/a?b=1&c="2"<x>',
        ),
    ],
)
def test_kept_layout_gives_what_rendering_it_per_message_gives(
    brand: dict[str, str], language: str, unsubscribe_url: str
) -> None:
    """The layout is rendered once per brand and language and kept; each message's content
    and link go in its slots, exactly as rendering the whole layout for the message would."""
    contents = ['<p>Hi <a href="https://x.test/s?a=1&amp;b=2">there</a></p>', "<p>€ 10 &lt;</p>"]
    for content in contents * 2:  # the second time from the kept layout
        kept = layout.wrap(
            content,
            brand=brand,
            language=language,
            preheader="",
            unsubscribe_url=unsubscribe_url,
            footer="Acme, 1 Main St\nRome",
        )
        context = layout.layout_context(
            brand["color"], brand["name"], brand["logo_url"], language, "", "Acme, 1 Main St\nRome"
        )
        context.update(content=content, unsubscribe_url=unsubscribe_url)
        fresh = str(layout._inliner().inline(layout.render_layout(context, language)))
        assert kept == fresh
        assert "gw-content-" not in kept
        assert "gw-unsubscribe-" not in kept
