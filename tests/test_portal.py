"""The advocate portal (`/p/`): the magic link and its cookie, share buttons, invitations,
rewards in plain words, the recipient's choice, and what an advocate never sees."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
import time_machine
from django.test import Client

from goodword.lib.signing import PORTAL_COOKIE, make_portal_token
from goodword.participants import portal
from goodword.participants.models import Advocate
from goodword.programs.models import Program
from goodword.referrals.models import Invite, Share
from goodword.referrals.services import INVITES_PER_DAY
from goodword.rewards.models import Reward
from tests.factories import enrol, make_story, purchase, refund

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rows_match_the_catalogue")]

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
SITE = "http://localhost:8000"


def at(when: datetime) -> Any:
    return time_machine.travel(when, tick=False)


def signed_in(advocate: Advocate, **headers: str) -> Client:
    """A browser that opened `advocate`'s magic link."""
    client = Client(**headers)
    answer = client.get(path_of(portal.make_link(advocate, datetime.now(tz=UTC)).url))
    assert answer.status_code == 303
    return client


def path_of(url: str) -> str:
    return url.removeprefix(SITE)


def text(answer: Any) -> str:
    body = answer.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).replace("&#x27;", "'").strip()


def alice_of(story: Any) -> Advocate:
    return Advocate.objects.select_related("program").get(code=story.alice["code"])


def test_the_magic_link_sets_a_private_cookie_and_leaves_the_address_bar() -> None:
    story = make_story()
    alice = alice_of(story)
    with at(T0):
        link = portal.make_link(alice, T0)
        assert link.expires_at == T0 + timedelta(days=30)
        answer = Client().get(path_of(link.url))
    assert answer.status_code == 303
    assert answer["Location"] == "/p/"
    assert answer["Cache-Control"] == "no-store"
    assert answer["Referrer-Policy"] == "same-origin"
    cookie = answer.cookies[PORTAL_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["secure"] == ""  # SITE_URL is http here
    assert cookie["max-age"] == 90 * 24 * 3600
    assert portal.advocate_id_of(cookie.value, now=T0, max_age=timedelta(days=1)) == (
        alice.public_id
    )


def test_the_portal_shows_the_link_code_and_offer_and_is_not_cached() -> None:
    story = make_story()
    alice = alice_of(story)
    client = signed_in(alice)
    answer = client.get("/p/")
    assert answer.status_code == 200
    assert answer["Cache-Control"] == "no-store"
    assert "form-action 'self' mailto: sms:" in answer["Content-Security-Policy"]
    assert "script-src 'self';" in answer["Content-Security-Policy"]
    assert answer["X-Frame-Options"] == "DENY"
    shown = text(answer)
    assert f"{SITE}/r/{alice.code}" in answer.content.decode()
    assert f"Friends can also enter your code at checkout: {alice.code}" in shown
    assert (
        "Share your link with friends. Their gift: $5.00 store credit. Yours, for each friend "
        "who buys: $10.00 store credit."
    ) in shown
    assert "<script>" not in answer.content.decode()  # the CSP forbids inline scripts


def test_an_expired_link_says_so_and_sets_nothing() -> None:
    story = make_story()
    alice = alice_of(story)
    link = portal.make_link(alice, T0)
    with at(T0 + timedelta(days=30, minutes=1)):
        answer = Client().get(path_of(link.url))
    assert answer.status_code == 410
    assert PORTAL_COOKIE not in answer.cookies
    assert "This link has expired" in text(answer)
    assert "To get a new link" in text(answer)
    assert alice.code not in answer.content.decode()


def test_a_forged_link_is_a_404_and_sets_nothing() -> None:
    story = make_story()
    alice = alice_of(story)
    good = make_portal_token(alice.public_id, int(datetime.now(tz=UTC).timestamp()))
    for token in (good[:-2] + "xx", good.replace(alice.public_id, "adv_zzzzzzzz"), "nope"):
        answer = Client().get(f"/p/{token}")
        assert answer.status_code == 404, token
        assert PORTAL_COOKIE not in answer.cookies
        assert "This link does not work" in text(answer)


def test_without_a_cookie_or_with_a_forged_one_the_portal_shows_no_data() -> None:
    story = make_story()
    alice = alice_of(story)
    for cookie in ("", "adv_x.1.abc", make_portal_token(alice.public_id, 1)):
        client = Client()
        if cookie:
            client.cookies[PORTAL_COOKIE] = cookie
        answer = client.get("/p/")
        assert answer.status_code == 200
        assert "Open your referral page from your link" in text(answer)
        assert alice.code not in answer.content.decode()


def test_an_ended_program_shows_a_friendly_page_without_data() -> None:
    story = make_story()
    alice = alice_of(story)
    client = signed_in(alice)
    Program.objects.filter(pk=alice.program_id).update(status=Program.Status.ENDED)
    answer = client.get("/p/")
    assert answer.status_code == 200
    assert alice.code not in answer.content.decode()
    assert "This referral program has ended" in text(answer)
    assert client.post("/p/share", {"channel": "sms", "message": "x"}).status_code == 403
    assert Share.objects.count() == 0
    again = Client().get(path_of(portal.make_link(alice, datetime.now(tz=UTC)).url))
    assert again.status_code == 410
    assert "This referral program has ended" in text(again)
    assert PORTAL_COOKIE not in again.cookies


CHANNELS = {
    "email": "mailto:?subject=Give%20%2410%2C%20get%20%2410&body=Hi%21%20{link}%3Fvia%3Demail",
    "sms": "sms:?&body=Hi%21%20{link}%3Fvia%3Dsms",
    "whatsapp": "https://wa.me/?text=Hi%21%20{link}%3Fvia%3Dwhatsapp",
    "telegram": "https://t.me/share/url?url={link}%3Fvia%3Dtelegram&text=Hi%21",
    "messenger": "fb-messenger://share/?link={link}%3Fvia%3Dmessenger",
    "facebook": "https://www.facebook.com/sharer/sharer.php?u={link}%3Fvia%3Dfacebook",
    "x": "https://x.com/intent/tweet?text=Hi%21%20{link}%3Fvia%3Dx",
    "linkedin": "https://www.linkedin.com/sharing/share-offsite/?url={link}%3Fvia%3Dlinkedin",
}


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_each_channel_records_one_share_and_goes_there_with_the_message(channel: str) -> None:
    story = make_story()
    alice = alice_of(story)
    client = signed_in(alice)
    link = f"{SITE}/r/{alice.code}"
    answer = client.post("/p/share", {"channel": channel, "message": f"Hi! {link}"})
    assert answer.status_code == 303
    assert answer["Location"] == CHANNELS[channel].format(link=quote(link, safe=""))
    assert answer["Cache-Control"] == "no-store"
    rows = list(Share.objects.values_list("advocate_id", "channel", "source"))
    assert rows == [(alice.pk, channel, "portal")]


def test_an_edited_message_without_the_link_gets_it_back() -> None:
    story = make_story()
    alice = alice_of(story)
    client = signed_in(alice)
    answer = client.post("/p/share", {"channel": "whatsapp", "message": "Try this shop"})
    link = quote(f"{SITE}/r/{alice.code}?via=whatsapp", safe="")
    assert answer["Location"] == f"https://wa.me/?text=Try%20this%20shop%20{link}"


def test_a_bad_share_writes_nothing() -> None:
    story = make_story()
    alice = alice_of(story)
    client = signed_in(alice)
    assert client.post("/p/share", {"channel": "fax", "message": "x"}).status_code == 400
    assert client.post("/p/share", {"channel": "sms", "message": "x" * 1001}).status_code == 400
    assert Client().post("/p/share", {"channel": "sms", "message": "x"}).status_code == 403
    assert client.post("/p/shared", {"channel": "whatsapp"}).status_code == 400
    assert Share.objects.count() == 0


def test_copy_and_native_share_are_counted_by_the_script() -> None:
    story = make_story()
    alice = alice_of(story)
    client = signed_in(alice)
    assert client.post("/p/shared", {"channel": "copy"}).status_code == 204
    assert client.post("/p/shared", {"channel": "native"}).status_code == 204
    assert list(Share.objects.order_by("pk").values_list("channel", flat=True)) == [
        "copy",
        "native",
    ]


def test_actions_need_the_csrf_token() -> None:
    story = make_story()
    alice = alice_of(story)
    client = signed_in(alice, enforce_csrf_checks=True)
    answer = client.post("/p/share", {"channel": "sms", "message": "x"})
    assert answer.status_code == 403
    assert Share.objects.count() == 0


def test_invite_by_email_sends_with_consent() -> None:
    story = make_story()
    alice = alice_of(story)
    client = signed_in(alice)
    refused = client.post("/p/invite", {"email": "bob@example.net", "note": "Hi"})
    assert refused.status_code == 400
    assert "Tick the box" in text(refused)
    bad = client.post("/p/invite", {"email": "bob", "consent": "yes"})
    assert bad.status_code == 400
    assert "Enter your friend's email address" in text(bad)
    assert Invite.objects.count() == 0
    answer = client.post(
        "/p/invite", {"email": "bob@example.net", "note": "You'll love it", "consent": "yes"}
    )
    assert answer.status_code == 303
    assert answer["Location"] == "/p/?invited=1#invite"
    invite = Invite.objects.get()
    assert (invite.email, invite.note, invite.send_email, invite.advocate_id) == (
        "bob@example.net",
        "You'll love it",
        True,
        alice.pk,
    )
    assert invite.consent == "I know my friend and they are happy to hear from Acme."
    assert list(Share.objects.values_list("channel", flat=True)) == ["invite"]
    assert "Invitation sent." in text(client.get("/p/?invited=1"))


def test_invites_past_the_daily_limit_get_429_with_retry_after() -> None:
    story = make_story()
    alice = alice_of(story)
    client = signed_in(alice)
    for n in range(INVITES_PER_DAY):
        answer = client.post("/p/invite", {"email": f"f{n}@example.net", "consent": "yes"})
        assert answer.status_code == 303
    answer = client.post("/p/invite", {"email": "one-more@example.net", "consent": "yes"})
    assert answer.status_code == 429
    assert 0 < int(answer["Retry-After"]) <= 24 * 3600
    assert "You have sent a lot of invitations today." in text(answer)
    assert Invite.objects.count() == INVITES_PER_DAY


def test_statuses_in_plain_words_and_friends_masked() -> None:
    story = make_story()
    alice = alice_of(story)
    code = story.alice["code"]
    with at(T0):
        story.acme.post("/participants", {"external_id": "bob", "name": "Bob Marley"})
        story.acme.event(purchase("p1", "bob", "o1", 2500, referral_code=code))
        story.acme.event(purchase("p2", "carol", "o2", 2500, referral_code=code))
    with at(T0 + timedelta(days=1)):
        story.acme.event(refund("r2", "carol", "o2"))
    with at(T0 + timedelta(days=2)):
        client = signed_in(alice)
        shown = text(client.get("/p/"))
    assert "Bob M. 1 December 2026 ordered" in shown
    assert "bob@example.net" not in shown
    assert "Marley" not in shown
    assert "A friend 1 December 2026 reversed: the order was refunded" in shown
    assert "$10.00 store credit pending until 15 December 2026" in shown
    assert "$10.00 store credit reversed: the order was refunded" in shown
    assert "Available $0.00 Pending $10.00" in shown
    bob_reward = Reward.objects.get(status=Reward.Status.PENDING, beneficiary="advocate")
    Reward.objects.filter(pk=bob_reward.pk).update(status=Reward.Status.APPROVED)
    assert "$10.00 store credit earned" in text(client.get("/p/"))
    Reward.objects.filter(pk=bob_reward.pk).update(status=Reward.Status.FULFILLED)
    assert "$10.00 store credit paid" in text(client.get("/p/"))


def test_the_portal_speaks_the_programs_language_else_the_browsers() -> None:
    story = make_story()
    alice = alice_of(story)
    client = signed_in(alice)
    italian = client.get("/p/", HTTP_ACCEPT_LANGUAGE="it-IT,it;q=0.9,en;q=0.5")
    assert '<html lang="it">' in italian.content.decode()
    assert "Il tuo link" in text(italian)
    Program.objects.filter(pk=alice.program_id).update(language="en")
    english = client.get("/p/", HTTP_ACCEPT_LANGUAGE="it-IT")
    assert '<html lang="en">' in english.content.decode()


def test_tiers_and_the_next_milestone_show_progress() -> None:
    tiers = {
        "basis": "referrals",
        "period": "lifetime",
        "levels": [{"name": "Member", "min": 0}, {"name": "Gold", "min": 3}],
    }
    rules = [
        {"beneficiary": "advocate", "kind": "credit", "amount": 1000, "currency": "USD"},
        {"beneficiary": "advocate", "kind": "credit", "amount": 5000, "currency": "USD",
         "milestone": {"at": [5]}},
    ]  # fmt: skip
    story = make_story(rewards=rules, tiers=tiers)
    alice = alice_of(story)
    story.acme.event(purchase("p1", "bob", "o1", 2500, referral_code=story.alice["code"]))
    shown = text(signed_in(alice).get("/p/"))
    assert "Your level: Member" in shown
    assert "2 more friends who order to reach Gold" in shown
    assert "4 more friends who order, and you get a bonus: $50.00 store credit" in shown


CHOICE_RULE = {
    "beneficiary": "advocate",
    "kind": "credit",
    "amount": 1000,
    "currency": "USD",
    "choices": [{"kind": "gift_card", "amount": 2000}, {"kind": "points", "amount": 500}],
    "choice_days": 20,
}


def test_a_reward_is_chosen_in_the_portal_once() -> None:
    story = make_story(rewards=[CHOICE_RULE])
    alice = alice_of(story)
    story.acme.event(purchase("p1", "bob", "o1", 2500, referral_code=story.alice["code"]))
    client = signed_in(alice)
    shown = text(client.get("/p/"))
    assert "Choose your reward (you can choose once)" in shown
    assert "$10.00 store credit" in shown
    assert "$20.00 gift card" in shown
    assert "500 points" in shown
    reward = Reward.objects.get(beneficiary="advocate")
    answer = client.post("/p/choose", {"reward": reward.public_id, "kind": "gift_card"})
    assert answer.status_code == 303
    reward.refresh_from_db()
    assert (reward.kind, reward.amount, reward.choices) == ("gift_card", 2000, None)
    again = client.post("/p/choose", {"reward": reward.public_id, "kind": "points"})
    assert again.status_code == 409
    assert "already made or has closed" in text(again)
    reward.refresh_from_db()
    assert reward.kind == "gift_card"
    shown = text(client.get("/p/"))
    assert "(your choice)" in shown
    assert "Choose your reward" not in shown


def test_another_advocates_data_is_never_shown_or_touched() -> None:
    story = make_story(rewards=[CHOICE_RULE])
    alice = alice_of(story)
    dave = enrol(story.acme, story.program["id"], "dave", name="Dave Grohl")
    story.acme.post("/participants", {"external_id": "erin", "name": "Erin Brockovich"})
    story.acme.event(purchase("p1", "erin", "o1", 2500, referral_code=dave["code"]))
    dave_reward = Reward.objects.get(beneficiary="advocate")
    client = signed_in(alice)
    page = client.get("/p/").content.decode()
    assert "Erin" not in page
    assert dave["code"] not in page
    assert dave_reward.public_id not in page
    answer = client.post("/p/choose", {"reward": dave_reward.public_id, "kind": "points"})
    assert answer.status_code == 404
    dave_reward.refresh_from_db()
    assert dave_reward.kind == "credit"
    # globex's advocate with the same external id sees only their own.
    gprogram = story.globex.post(
        "/programs",
        {"name": "Globex friends", "destination_url": "https://globex.test/",
         "rewards": [{"beneficiary": "advocate", "kind": "credit", "amount": 100}]},
    ).json()  # fmt: skip
    galice = enrol(story.globex, gprogram["id"], "alice", name="Alice G")
    gpage = signed_in(Advocate.objects.get(code=galice["code"])).get("/p/").content.decode()
    assert alice.code not in gpage
    assert "Give $10" not in gpage


def test_the_api_makes_a_portal_link_for_its_own_advocates_only() -> None:
    story = make_story()
    program = story.program["id"]
    with at(T0):
        answer = story.acme.post(f"/programs/{program}/advocates/alice/portal-link", {})
    assert answer.status_code == 200
    body = answer.json()
    assert body["expires_at"] == "2026-12-31T10:00:00Z"
    assert body["url"].startswith(f"{SITE}/p/")
    token = body["url"].rsplit("/", 1)[1]
    alice = alice_of(story)
    assert portal.advocate_id_of(token, now=T0, max_age=timedelta(days=30)) == alice.public_id
    other = story.globex.post(f"/programs/{program}/advocates/alice/portal-link", {})
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"
    assert "/p/" not in other.content.decode()
    missing = story.acme.post(f"/programs/{program}/advocates/nobody/portal-link", {})
    assert missing.status_code == 404


def test_messages_to_the_advocate_carry_their_portal_link_and_a_friends_never_do() -> None:
    from goodword.messaging import content
    from goodword.messaging.models import Journey, MessagingSettings
    from goodword.participants.models import Participant

    story = make_story()
    alice = Advocate.objects.select_related("participant", "program").get(code=story.alice["code"])
    bob = Participant.objects.create(workspace=story.acme.workspace, external_id="bob")

    def data(journey: str, recipient: Participant) -> dict[str, Any]:
        ctx = content.Context(
            journey=journey,
            language="en",
            settings=MessagingSettings(workspace_id=alice.workspace_id),
            workspace_name="Acme",
            program=alice.program,
            recipient=recipient,
            unsubscribe_url="",
            advocate=alice,
        )
        return content.template_data(ctx)

    with at(T0):
        mine = data(Journey.REFERRAL_REQUEST, alice.participant)["advocate"]["portal_url"]
    token = mine.removeprefix(f"{SITE}/p/")
    assert portal.advocate_id_of(token, now=T0, max_age=timedelta(days=30)) == alice.public_id
    for journey in (Journey.FRIEND_INVITE, Journey.REMIND_FRIEND):
        assert "portal_url" not in data(journey, bob)["advocate"]


def test_staff_who_manage_people_copy_a_portal_link_and_it_is_audited() -> None:
    from tests.dashboard import audits, staff

    story = make_story()
    alice = Advocate.objects.select_related("participant").get(code=story.alice["code"])
    person = f"/dashboard/participants/{alice.participant.public_id}/"
    url = f"{person}portal-link/{alice.public_id}"
    page = staff(story.acme.workspace, "admin").get(person).content.decode()
    assert "Copy portal link" in page
    assert (
        "Copy portal link"
        not in staff(story.acme.workspace, "analyst").get(person).content.decode()
    )
    assert staff(story.acme.workspace, "analyst").post(url).status_code == 403
    assert staff(story.globex.workspace, "admin").post(url).status_code == 404
    assert audits() == []
    answer = staff(story.acme.workspace, "admin").post(url)
    assert answer.status_code == 200
    found = re.search(r'value="http://localhost:8000/p/([^"]+)"', answer.content.decode())
    assert found is not None
    now = datetime.now(tz=UTC)
    assert portal.advocate_id_of(found.group(1), now=now, max_age=timedelta(days=30)) == (
        alice.public_id
    )
    assert [(a[0], a[1], a[2]) for a in audits()] == [
        ("admin@acme.test", "advocate.portal_link", alice.public_id)
    ]


def test_portal_pages_carry_the_security_headers() -> None:
    story = make_story()
    alice = alice_of(story)
    for client, path in (
        (Client(), "/p/"),
        (Client(), "/p/a.b.c"),
        (signed_in(alice), "/p/"),
    ):
        answer = client.get(path)
        assert answer["Content-Type"].startswith("text/html"), path
        assert answer["X-Content-Type-Options"] == "nosniff"
        assert answer["X-Frame-Options"] == "DENY"
        assert answer["Referrer-Policy"] == "same-origin"
        assert answer["Cache-Control"] == "no-store"
        policy = answer["Content-Security-Policy"]
        assert "script-src 'self';" in policy
        assert "frame-ancestors 'none'" in policy
