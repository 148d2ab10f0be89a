"""The pieces the sharing surfaces stand on: the portal's signed token and share events."""

from __future__ import annotations

import pytest

from goodword.lib.signing import make_portal_token, read_portal_token
from goodword.participants.models import Advocate
from goodword.referrals import shares
from goodword.referrals.models import Share
from tests.factories import make_story

pytestmark = pytest.mark.django_db


def test_a_portal_token_reads_back_and_a_changed_one_does_not() -> None:
    token = make_portal_token("adv_abc", 1_780_000_000)
    read = read_portal_token(token)
    assert read is not None
    assert read.advocate_id == "adv_abc"
    assert int(read.issued_at.timestamp()) == 1_780_000_000
    assert read_portal_token(token.replace("adv_abc", "adv_abd")) is None
    assert read_portal_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert read_portal_token("adv_abc.zz") is None
    assert read_portal_token("x" * 121) is None


def test_a_share_is_recorded_by_channel_and_an_unknown_channel_counts_as_other() -> None:
    story = make_story()
    advocate = Advocate.objects.get(code=story.alice["code"])
    shares.record(advocate, "whatsapp", "portal")
    shares.record(advocate, "carrier-pigeon", "widget")
    rows = list(Share.objects.order_by("pk").values_list("channel", "source", "program_id"))
    assert rows == [
        ("whatsapp", "portal", advocate.program_id),
        ("other", "widget", advocate.program_id),
    ]
    with pytest.raises(ValueError, match="unknown share source"):
        shares.record(advocate, "copy", "fax")
    assert Share.objects.count() == 2


def test_page_texts_default_to_plain_words_about_the_offer() -> None:
    from goodword.messaging import pagecopy
    from goodword.programs.models import Program

    story = make_story()
    program = Program.objects.get(public_id=story.program["id"])
    data = {
        "advocate": {"first_name": "Alice", "name": "Alice", "code": "X", "link": "L"},
        "offer": {"friend": "$10 off", "advocate": "$10 credit"},
        "program": {"name": program.name},
        "workspace": {"name": "Acme"},
    }
    assert pagecopy.text(program, "landing_headline", "en", data) == "A gift from Alice: $10 off"
    assert pagecopy.text(program, "disclosure", "en", data) == "(I get $10 credit if you join.)"
    nothing = {**data, "offer": {"friend": "", "advocate": ""}, "advocate": {"first_name": ""}}
    assert pagecopy.text(program, "landing_headline", "en", nothing) == "You've been invited"
    named = {**nothing, "advocate": {"first_name": "Alice"}}
    assert pagecopy.text(program, "landing_headline", "en", named) == "Alice invited you"
    anonymous = {**data, "advocate": {"first_name": ""}}
    assert pagecopy.text(program, "landing_headline", "en", anonymous) == (
        "A gift for you: $10 off"
    )
    assert pagecopy.text(program, "landing_headline", "it", named) == "Alice ti ha invitato"
    assert pagecopy.text(program, "disclosure", "en", nothing) == ""
