"""The messaging pages: the workspace's settings and suppressions, a program's journeys, the
template editor (default wording, live preview, saving, reset, a test to oneself), the
message log and a message's page, and the messages on a participant's and a referral's page.

Owners and admins change, analysts read; every change goes through `messaging.services` and
into the audit log; another workspace's ids are 404.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.urls import URLPattern

from goodword.accounts.models import AuditEntry
from goodword.accounts.roles import Can
from goodword.dashboard.messaging import log
from goodword.dashboard.messaging import urls as messaging_urls
from goodword.messaging.models import (
    JourneySetting,
    Message,
    MessageTemplate,
    MessagingSettings,
    Suppression,
)
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import Program
from tests.dashboard import counts_but_signing_in, markup, readable, staff
from tests.factories import Api, enrol, make_api, make_program, signup

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
PERMISSIONS = {
    "messaging": Can.VIEW,
    "messaging_save": Can.MANAGE,
    "messaging_suppress": Can.MANAGE,
    "messaging_unsuppress": Can.MANAGE,
    "messages": Can.VIEW,
    "message": Can.VIEW,
    "program_messages": Can.VIEW,
    "program_journey": Can.MANAGE,
    "message_template": Can.VIEW,
    "message_segment": Can.VIEW,
    "message_template_save": Can.MANAGE,
    "message_template_preview": Can.VIEW,
    "message_template_reset": Can.MANAGE,
    "message_template_test": Can.MANAGE,
    "staff_notifications": Can.VIEW,
    "staff_notification_add": Can.MANAGE,
    "staff_notification_save": Can.MANAGE,
    "staff_notification_test": Can.MANAGE,
    "staff_notification_remove": Can.MANAGE,
}
SETTINGS = {
    "is_active": "on",
    "from_name": "Acme Shop",
    "reply_to": "help@acme.test",
    "language": "it",
    "time_zone": "Europe/Rome",
    "brand_color": "#AA3300",
    "logo_url": "https://acme.test/logo.png",
    "weekly_cap": "2",
    "quiet_start": "22",
    "quiet_end": "7",
    "require_consent": "on",
    # As a textarea sends it: \r\n, and a blank line kept by mistake.
    "postal_address": "Acme Shop Srl\r\n\r\nVia Roma 1\r\n00100 Roma ",
    "phone_region": "it",
}
TEMPLATE = {
    "subject": "Hi {{ recipient.first_name }}, share {{ advocate.code }}",
    "html": "<p>Dear {{ recipient.first_name }}, your link: {{ advocate.link }}</p>",
    "text": "",
    "sms": "",
}
HTMX = {"HTTP_HX_REQUEST": "true"}


@dataclass
class World:
    acme: Api
    globex: Api
    program: Program
    alice: Participant


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _no_test_sends_counted() -> Iterator[None]:
    cache.clear()  # the test-send limit lives in the cache, which outlives a test
    yield
    cache.clear()


@pytest.fixture
def world(db: None) -> World:
    acme, globex = make_api("Acme"), make_api("Globex")
    made = make_program(acme)
    enrol(acme, made["id"], "alice", name="Alice Liddell")
    return World(
        acme,
        globex,
        Program.objects.get(public_id=made["id"]),
        Participant.objects.get(external_id="alice"),
    )


def base(world: World) -> str:
    return f"/dashboard/programs/{world.program.public_id}/messages/"


def editor(world: World, journey: str = "referral_request", language: str = "en") -> str:
    return f"{base(world)}{journey}/{language}/"


def audits(prefix: str = "") -> list[tuple[str, str, str, dict[str, Any]]]:
    rows = AuditEntry.objects.filter(action__startswith=prefix).order_by("pk")
    return [(e.actor, e.action, e.subject, e.data) for e in rows]


def message(world: World, minutes: int, **fields: Any) -> Message:
    values: dict[str, Any] = {
        "workspace": world.acme.workspace,
        "program": world.program,
        "participant": world.alice,
        "journey": "referral_request",
        "cause": f"test:{minutes}:{fields.get('journey', '')}",
        "status": "sent",
        "to": "alice@example.com",
        "created_at": NOW - timedelta(minutes=minutes),
        **fields,
    }
    return Message.objects.create(**values)


# Permissions.


def test_every_page_and_action_names_its_permission() -> None:
    patterns = [p for p in messaging_urls.urlpatterns if isinstance(p, URLPattern)]
    assert {p.name: getattr(p.callback, "permission", None) for p in patterns} == PERMISSIONS


def _actions(world: World) -> list[tuple[str, dict[str, Any]]]:
    """Every POST of the pages that changes something, with a valid form."""
    return [
        ("/dashboard/messaging/save/", SETTINGS),
        ("/dashboard/messaging/suppress/", {"address": "bob@example.net"}),
        ("/dashboard/messaging/unsuppress/", {"channel": "email", "address": "x@example.net"}),
        (f"{base(world)}referral_request/", {"referral_request-delay_days": "30"}),
        (editor(world) + "save/", TEMPLATE),
        (editor(world) + "reset/", {}),
        (editor(world) + "test/", TEMPLATE),
    ]


def test_analysts_read_every_page_but_change_nothing(world: World) -> None:
    Suppression.objects.create(
        workspace=world.acme.workspace,
        channel="email",
        address="x@example.net",
        reason="unsubscribed",
        created_at=NOW,
    )
    sent = message(world, 1)
    client = staff(world.acme.workspace, "analyst")
    for path in (
        "/dashboard/messaging/",
        "/dashboard/messages/",
        f"/dashboard/messages/{sent.public_id}/",
        base(world),
        editor(world),
    ):
        answer = client.get(path)
        assert answer.status_code == 200, path
        body = markup(answer)
        assert "Save" not in body, path
        assert "Send a test to me" not in body, path
        assert "Suppress" not in body, path
    assert '<fieldset class="ms-plain" disabled>' in markup(client.get("/dashboard/messaging/"))
    before = counts_but_signing_in()
    forbidden = [client.post(path, form).status_code for path, form in _actions(world)]
    assert forbidden == [403] * 7
    assert client.get(editor(world) + "reset/").status_code == 403
    assert counts_but_signing_in() == before
    assert audits() == []
    assert mail.outbox == []


def test_another_workspaces_ids_are_404(world: World) -> None:
    sent = message(world, 1)
    globex = staff(world.globex.workspace, "owner")
    before = counts_but_signing_in()
    got = [
        globex.get(path).status_code
        for path in (
            base(world),
            editor(world),
            editor(world) + "reset/",
            f"/dashboard/messages/{sent.public_id}/",
        )
    ]
    posted = [
        globex.post(path, form).status_code
        for path, form in _actions(world)[3:] + [(editor(world) + "preview/", TEMPLATE)]
    ]
    assert got == [404] * 4
    assert posted == [404] * 5
    assert counts_but_signing_in() == before
    assert mail.outbox == []
    # Its own log does not list acme's messages.
    assert "alice@example.com" not in markup(globex.get("/dashboard/messages/"))


def test_unknown_journey_or_language_is_404(world: World) -> None:
    owner = staff(world.acme.workspace, "owner")
    assert owner.get(editor(world, "newsletter")).status_code == 404
    assert owner.get(editor(world, language="fr")).status_code == 404
    assert owner.post(f"{base(world)}newsletter/", {}).status_code == 404


def test_the_navigation_links_both_pages(world: World) -> None:
    body = markup(staff(world.acme.workspace, "analyst").get("/dashboard/"))
    assert '<a href="/dashboard/messaging/">Messaging</a>' in body
    assert '<a href="/dashboard/messages/">Messages</a>' in body
    program = markup(
        staff(world.acme.workspace, "owner").get(f"/dashboard/programs/{world.program.public_id}/")
    )
    assert f'<a href="{base(world)}">Messages</a>' in program


# Settings.


def test_settings_page_explains_off_and_transactional(world: World) -> None:
    answer = staff(world.acme.workspace, "owner").get("/dashboard/messaging/")
    assert answer.status_code == 200
    text = readable(answer)
    assert "Messaging is off: nothing is sent until you turn it on." in text
    assert (
        "Reward notices (earned, approved, fulfilled, reversed, credit expiring) are "
        "transactional" in text
    )
    body = markup(answer)
    assert (
        '<input type="color" class="ms-color" id="id_brand_color" name="brand_color" '
        'value="#1f6f5c"' in body
    )
    assert (
        '<option value="en" selected>English</option><option value="it">Italiano</option>' in body
    )
    assert '<option value="Europe/Rome"></option>' in body
    assert 'name="time_zone" value="UTC"' in body
    assert '<option value="21" selected>21:00</option>' in body
    assert "None: every address may get messages." in text
    assert MessagingSettings.objects.count() == 0  # reading writes nothing


def test_owner_saves_settings_through_the_service(world: World) -> None:
    owner = staff(world.acme.workspace, "owner")
    answer = owner.post("/dashboard/messaging/save/", SETTINGS)
    assert answer.status_code == 302
    found = MessagingSettings.objects.get(workspace=world.acme.workspace)
    assert (
        found.is_active,
        found.from_name,
        found.reply_to,
        found.language,
        found.time_zone,
        found.brand_color,
        found.logo_url,
        found.weekly_cap,
        found.quiet_start,
        found.quiet_end,
        found.require_consent,
        found.postal_address,
        found.phone_region,
    ) == (
        True,
        "Acme Shop",
        "help@acme.test",
        "it",
        "Europe/Rome",
        "#aa3300",
        "https://acme.test/logo.png",
        2,
        22,
        7,
        True,
        "Acme Shop Srl\nVia Roma 1\n00100 Roma",
        "IT",
    )
    [(actor, action, subject, data)] = audits()
    assert (actor, action, subject) == (
        "owner@acme.test",
        "messaging.change",
        world.acme.workspace.public_id,
    )
    assert data["changes"]["is_active"] == [False, True]
    assert data["changes"]["weekly_cap"] == [3, 2]
    page = owner.get("/dashboard/messaging/")
    assert "Messaging is on: messages go out from now on." in readable(page)
    assert ">Acme Shop Srl\nVia Roma 1\n00100 Roma</textarea>" in page.content.decode()
    # The same again changes nothing and notes nothing.
    owner.post("/dashboard/messaging/save/", SETTINGS)
    assert len(audits()) == 1


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"time_zone": "Mars/Olympus"}, "Enter a time zone such as Europe/Rome"),
        ({"brand_color": "red"}, "Enter a colour such as #1f6f5c."),
        ({"logo_url": "http://acme.test/logo.png"}, "Use an https:// address"),
        ({"weekly_cap": "51"}, "less than or equal to 50"),
        ({"reply_to": "help"}, "Enter a valid email address."),
        ({"from_name": "x" * 101}, "at most 100 characters"),
        ({"postal_address": "x" * 301}, "at most 300 characters"),
        ({"phone_region": "XX"}, "Enter a country code such as IT, US or GB."),
    ],
)
def test_bad_settings_are_refused_next_to_their_field(
    world: World, change: dict[str, str], error: str
) -> None:
    answer = staff(world.acme.workspace, "admin").post(
        "/dashboard/messaging/save/", {**SETTINGS, **change}
    )
    assert answer.status_code == 400
    assert error in readable(answer)
    assert 'aria-invalid="true"' in markup(answer)
    assert MessagingSettings.objects.count() == 0
    assert audits() == []


# Suppressions.


def test_owner_suppresses_and_frees_an_address(world: World) -> None:
    owner = staff(world.acme.workspace, "owner")
    answer = owner.post("/dashboard/messaging/suppress/", {"address": "Bob@Example.NET"})
    assert answer.status_code == 302
    row = Suppression.objects.get()
    assert (row.workspace_id, row.channel, row.address, row.reason) == (
        world.acme.workspace.pk,
        "email",
        "bob@example.net",
        "unsubscribed",
    )
    page = readable(owner.get("/dashboard/messaging/"))
    assert "bob@example.net Email Unsubscribed" in page
    owner.post("/dashboard/messaging/suppress/", {"address": "bob@example.net"})
    assert Suppression.objects.count() == 1
    answer = owner.post(
        "/dashboard/messaging/unsuppress/", {"channel": "email", "address": "bob@example.net"}
    )
    assert answer.status_code == 302
    assert Suppression.objects.count() == 0
    assert [(a, s) for _, a, s, _ in audits("messaging.")] == [
        ("messaging.suppress", "bob@example.net"),
        ("messaging.unsuppress", "bob@example.net"),
    ]


def test_settings_page_names_the_email_transport_and_its_webhook(
    world: World, settings: Any
) -> None:
    analyst = staff(world.acme.workspace, "analyst")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "mail.acme.test", 587
    settings.EMAIL_HOST_PASSWORD = "smtp-password-never-shown"
    answer = analyst.get("/dashboard/messaging/")
    text = readable(answer)
    assert "Email goes out through <strong>SMTP mail.acme.test:587</strong>, as" in markup(answer)
    assert "Bounces and complaints are not reported back over SMTP" in text
    assert "/hooks/email/" not in text

    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.EMAIL_PROVIDER = "postmark"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "pm-token-never-shown"}
    settings.ANYMAIL_WEBHOOK_SECRET = []
    answer = analyst.get("/dashboard/messaging/")
    text = readable(answer)
    assert "Email goes out through Postmark , as whoever runs Goodword set it (EMAIL_URL)." in text
    url = f"{settings.SITE_URL}/hooks/email/postmark/tracking/"
    assert f'<code class="wrap-any" id="tracking-url">{url}</code>' in markup(answer)
    assert "EMAIL_WEBHOOK_SECRET is not set: this address takes no events yet." in text
    assert "adds the address to the list below, with its reason" in text
    settings.ANYMAIL_WEBHOOK_SECRET = ["goodword:webhook-secret-never-shown"]
    body = markup(analyst.get("/dashboard/messaging/"))
    assert "EMAIL_WEBHOOK_SECRET is not set" not in body
    for secret in ("never-shown", "pm-token", "smtp-password"):
        assert secret not in body


def test_a_bad_address_is_not_suppressed(world: World) -> None:
    answer = staff(world.acme.workspace, "owner").post(
        "/dashboard/messaging/suppress/", {"address": "not an address"}
    )
    assert answer.status_code == 400
    assert "Enter a valid email address." in readable(answer)
    assert Suppression.objects.count() == 0


# A program's journeys.


def test_journeys_page_says_what_each_journey_is(world: World) -> None:
    answer = staff(world.acme.workspace, "owner").get(base(world))
    assert answer.status_code == 200
    text = readable(answer)
    assert "Messaging is off for the workspace: nothing below is sent until it is on." in text
    body = markup(answer)
    headings = re.findall(r'<h2 id="j-([a-z_]+)">([^<]+)</h2>', body)
    assert headings == [
        ("referral_request", "Referral request"),
        ("reward_earned", "Reward earned"),
        ("reward_approved", "Reward approved"),
        ("reward_fulfilled", "Reward fulfilled"),
        ("reward_reversed", "Reward reversed"),
        ("reward_expiring", "Credit expiring"),
        ("thank_you", "Thank-you note"),
        ("friend_invite", "Friend invite"),
        ("remind_share", "Share reminder"),
        ("remind_friend", "Friend reminder"),
        ("coupon_expiring", "Coupon expiring"),
    ]
    assert body.count('<span class="badge">Transactional</span>') == 6
    assert (
        "0: right after the purchase, as consumer programs do; 30: once the relationship is "
        "established, as business programs do." in text
    )
    assert "Promoters only: ask only people whose last NPS answer is at least this" in text
    assert body.count('name="referral_request-delay_days"') == 1
    assert 'name="thank_you-delay_days"' not in body
    assert f'href="{editor(world, "thank_you", "it")}"' in body
    assert text.count("the default wording") == 22
    # The reminders' delays, with their defaults.
    for journey, label, days in (
        ("remind_share", "Days after joining", 3),
        ("remind_friend", "Days after the friend was referred", 5),
        ("coupon_expiring", "Days before the coupon expires", 3),
    ):
        assert f'name="{journey}-delay_days" value="{days}"' in body
        assert label in text
    assert 'name="remind_share-min_nps"' not in body


def test_owner_sets_the_referral_requests_delay_and_threshold(world: World) -> None:
    owner = staff(world.acme.workspace, "owner")
    form = {
        "referral_request-is_active": "on",
        "referral_request-delay_days": "30",
        "referral_request-min_nps": "9",
    }
    answer = owner.post(f"{base(world)}referral_request/", form)
    assert answer.status_code == 302
    row = JourneySetting.objects.get()
    assert (row.program_id, row.journey, row.is_active, row.delay_days, row.min_nps) == (
        world.program.pk,
        "referral_request",
        True,
        30,
        9,
    )
    owner.post(f"{base(world)}thank_you/", {})  # unticked: off
    assert JourneySetting.objects.get(journey="thank_you").is_active is False
    assert [(a, d["journey"]) for _, a, _, d in audits()] == [
        ("program.messaging_change", "referral_request"),
        ("program.messaging_change", "thank_you"),
    ]
    page = markup(owner.get(base(world)))
    assert 'name="referral_request-delay_days" value="30"' in page
    # Saving what is already there notes nothing.
    owner.post(f"{base(world)}referral_request/", form)
    assert len(audits()) == 2


def test_a_delay_out_of_range_is_refused(world: World) -> None:
    answer = staff(world.acme.workspace, "owner").post(
        f"{base(world)}referral_request/",
        {"referral_request-is_active": "on", "referral_request-delay_days": "400"},
    )
    assert answer.status_code == 400
    assert "Ensure this value is less than or equal to 365." in readable(answer)
    assert JourneySetting.objects.count() == 0
    assert audits() == []


# The template editor.


def test_editor_shows_the_default_wording_until_customised(world: World) -> None:
    owner = staff(world.acme.workspace, "owner")
    answer = owner.get(editor(world))
    assert answer.status_code == 200
    text = readable(answer)
    assert "Using the default wording" in text
    assert "Customise" in text
    assert 'name="html"' not in markup(answer)
    # The preview is there without JavaScript: the default wording on the sample data.
    assert "ALICE10" in text
    assert '<iframe class="ms-frame" sandbox srcdoc="' in markup(answer)
    customising = markup(owner.get(editor(world) + "?customise=1"))
    assert '<textarea id="id_html" name="html"' in customising
    assert '<textarea id="id_sms" name="sms"' in customising  # a referral request may go by text
    assert "Optional: made from the HTML when empty." in customising
    thank_you = markup(owner.get(editor(world, "thank_you") + "?customise=1"))
    assert 'name="sms"' not in thank_you


def test_saving_a_template_bumps_its_version(world: World) -> None:
    owner = staff(world.acme.workspace, "owner")
    answer = owner.post(editor(world) + "save/", TEMPLATE)
    assert answer.status_code == 302
    saved = MessageTemplate.objects.get()
    assert (saved.journey, saved.language, saved.subject, saved.version) == (
        "referral_request",
        "en",
        TEMPLATE["subject"],
        1,
    )
    owner.post(editor(world) + "save/", {**TEMPLATE, "subject": "Share {{ advocate.code }}"})
    saved.refresh_from_db()
    assert (saved.subject, saved.version) == ("Share {{ advocate.code }}", 2)
    owner.post(editor(world) + "save/", {**TEMPLATE, "subject": "Share {{ advocate.code }}"})
    saved.refresh_from_db()
    assert saved.version == 2
    assert [(a, d["version"]) for _, a, _, d in audits("message_template")] == [
        ("message_template.save", 1),
        ("message_template.save", 2),
    ]
    page = owner.get(editor(world))
    assert "The program's own wording, version 2." in readable(page)
    assert "Share ALICE10" in readable(page)
    assert "the program's own, version 2" in readable(owner.get(base(world)))


def test_a_segment_gets_its_own_wording_from_the_messages_page(world: World) -> None:
    owner = staff(world.acme.workspace, "owner")
    pid = world.program.public_id
    opened = owner.get(
        f"/dashboard/programs/{pid}/messages/referral_request/segment/",
        {"segment": " vip ", "language": "it"},
    )
    assert opened.status_code == 302
    it = f"/dashboard/programs/{pid}/messages/referral_request/it/"
    assert opened["Location"] == f"{it}?segment=vip&customise=1"
    page = owner.get(opened["Location"])
    assert "Referral request in Italiano, for the segment “vip”" in readable(page)
    assert '<input type="hidden" name="segment" value="vip">' in markup(page)

    saved = owner.post(it + "save/", {**TEMPLATE, "segment": "vip"})
    assert (saved.status_code, saved["Location"]) == (302, f"{it}?segment=vip")
    [row] = MessageTemplate.objects.all()
    assert (row.language, row.segment, row.version) == ("it", "vip", 1)
    [(_, action, _, data)] = audits("message_template")
    assert (action, data["segment"], data["language"]) == ("message_template.save", "vip", "it")
    listing = readable(owner.get(base(world)))
    assert "Italiano · segment “vip”" in listing
    assert listing.count("the program's own, version 1") == 1  # everyone's is still the default

    asked = readable(owner.get(it + "reset/?segment=vip"))
    assert "for the segment “vip”?" in asked
    owner.post(it + "reset/?segment=vip")
    assert not MessageTemplate.objects.exists()

    blank = owner.get(
        f"/dashboard/programs/{pid}/messages/referral_request/segment/",
        {"segment": "  ", "language": "it"},
    )
    assert blank["Location"] == f"/dashboard/programs/{pid}/messages/"
    assert owner.get(it + "?segment=" + "x" * 65).status_code == 404
    other = staff(world.globex.workspace, "owner")
    assert other.get(opened["Location"]).status_code == 404


def test_analysts_read_the_programs_own_wording_without_changing_it(world: World) -> None:
    staff(world.acme.workspace, "owner").post(editor(world) + "save/", TEMPLATE)
    body = markup(staff(world.acme.workspace, "analyst").get(editor(world)))
    assert '<fieldset class="ms-plain" disabled>' in body
    assert "Hi {{ recipient.first_name }}, share {{ advocate.code }}</textarea>" in body
    assert "Reset to default" not in body
    assert "Send a test to me" not in body
    assert 'hx-post="' not in body  # no live preview of a form it cannot change


def test_a_bad_template_shows_the_reason_and_saves_nothing(world: World) -> None:
    answer = staff(world.acme.workspace, "owner").post(
        editor(world) + "save/",
        {**TEMPLATE, "html": "<p>Hello</p>\n{% endfor %}"},
    )
    assert answer.status_code == 400
    body = markup(answer)
    error = re.search(r'<span class="error" id="error-html">([^<]*)</span>', body)
    assert error is not None
    assert error.group(1).startswith("line 2: ")
    assert (
        '<textarea id="id_html" name="html" rows="14" class="mono ms-code" spellcheck="false" '
        'aria-invalid="true"' in body
    )
    assert MessageTemplate.objects.count() == 0
    assert audits() == []


def test_reset_goes_back_to_the_default(world: World) -> None:
    owner = staff(world.acme.workspace, "owner")
    owner.post(editor(world) + "save/", TEMPLATE)
    confirm = owner.get(editor(world) + "reset/")
    assert "Go back to the default wording of Referral request in English?" in readable(confirm)
    assert MessageTemplate.objects.count() == 1
    answer = owner.post(editor(world) + "reset/")
    assert answer.status_code == 302
    assert MessageTemplate.objects.count() == 0
    assert [a for _, a, _, _ in audits("message_template")] == [
        "message_template.save",
        "message_template.reset",
    ]
    assert "Using the default wording" in readable(owner.get(editor(world)))


def test_preview_renders_the_posted_words_on_sample_data(world: World) -> None:
    owner = staff(world.acme.workspace, "owner")
    answer = owner.post(editor(world) + "preview/", TEMPLATE, **HTMX)
    assert answer.status_code == 200
    body = markup(answer)
    assert '<dd class="ms-subject">Hi Alice, share ALICE10</dd>' in body
    assert '<iframe class="ms-frame" sandbox srcdoc="' in body
    assert "Dear Alice, your link: http" in body
    assert '<span class="error" id="error-html" hx-swap-oob="true"></span>' in body
    assert "<html" not in body[:200]  # the partial, not a page
    assert MessageTemplate.objects.count() == 0
    # Without JavaScript, the same button answers with the whole editor.
    page = owner.post(editor(world) + "preview/", TEMPLATE)
    assert page.status_code == 200
    assert '<dd class="ms-subject">Hi Alice, share ALICE10</dd>' in markup(page)
    assert "<!doctype html>" in markup(page)


def test_preview_of_a_bad_template_fills_its_fields_error(world: World) -> None:
    answer = staff(world.acme.workspace, "analyst").post(
        editor(world) + "preview/", {**TEMPLATE, "subject": "{{ x | nope }}"}, **HTMX
    )
    assert answer.status_code == 200  # htmx swaps only a 2xx answer
    body = markup(answer)
    assert "The subject part cannot be used: line 1: unknown filter &#x27;nope&#x27;" in body
    assert (
        '<span class="error" id="error-subject" hx-swap-oob="true">line 1: unknown filter' in body
    )
    assert MessageTemplate.objects.count() == 0


def test_a_test_goes_to_me_and_is_rate_limited(world: World) -> None:
    owner = staff(world.acme.workspace, "owner")
    answer = owner.post(editor(world) + "test/", TEMPLATE, **HTMX)
    assert answer.status_code == 200
    assert "A test is on its way to owner@acme.test." in markup(answer)
    [sent] = mail.outbox
    assert sent.to == ["owner@acme.test"]
    assert sent.subject == "[Test] Hi Alice, share ALICE10"
    assert "Dear Alice, your link: http" in sent.body
    html, kind = sent.alternatives[0]  # type: ignore[attr-defined]
    assert kind == "text/html"
    assert "Dear Alice" in str(html)
    assert "<!doctype html>" in str(html).lower()
    for _ in range(4):
        owner.post(editor(world) + "test/", TEMPLATE, **HTMX)
    assert len(mail.outbox) == 5
    refused = owner.post(editor(world) + "test/", TEMPLATE, **HTMX)
    assert "At most 5 tests every 10 minutes" in markup(refused)
    assert len(mail.outbox) == 5
    assert len(audits("message_template.send_test")) == 5
    assert MessageTemplate.objects.count() == 0  # a test saves nothing


def test_a_bad_template_sends_no_test(world: World) -> None:
    answer = staff(world.acme.workspace, "owner").post(
        editor(world) + "test/", {**TEMPLATE, "html": "{% if %}"}
    )
    assert answer.status_code == 200
    assert "The html part cannot be used" in readable(answer)
    assert mail.outbox == []


# The message log.


def test_the_log_lists_newest_first_with_reasons_in_words(world: World) -> None:
    message(world, 30, status="skipped", skip_reason="frequency_cap", to="")
    message(world, 20, journey="reward_earned", status="skipped", skip_reason="superseded",
            transactional=True)  # fmt: skip
    message(world, 10, journey="thank_you", status="failed", error="mail server answered 550 no")
    message(world, 5, status="skipped", skip_reason="not_promoter")
    answer = staff(world.acme.workspace, "owner").get("/dashboard/messages/")
    assert answer.status_code == 200
    rows = re.findall(
        r'<span class="badge[^"]*">(\w+)</span><br><span class="muted">([^<]+)', markup(answer)
    )
    assert rows == [
        ("Skipped", "not a promoter: their NPS answer is below the program&#x27;s threshold"),
        ("Failed", "mail server answered 550 no"),
        ("Skipped", "a later notice said it"),
        ("Skipped", "weekly limit reached"),
    ]


def test_the_log_filters_by_journey_and_status(world: World) -> None:
    message(world, 30, status="skipped", skip_reason="frequency_cap")
    message(world, 20, journey="thank_you", status="sent")
    message(world, 10, journey="thank_you", status="skipped", skip_reason="unsubscribed")
    owner = staff(world.acme.workspace, "owner")

    def shown(**params: str) -> list[str]:
        body = markup(owner.get("/dashboard/messages/", params))
        return re.findall(r'<span class="badge[^"]*">(\w+)</span>', body.split("<tbody>")[1])

    assert shown() == ["Skipped", "Sent", "Skipped"]
    assert shown(journey="thank_you") == ["Skipped", "Sent"]
    assert shown(status="skipped") == ["Skipped", "Skipped"]
    assert shown(journey="thank_you", status="sent") == ["Sent"]
    assert shown(journey="nonsense") == ["Skipped", "Sent", "Skipped"]  # not a choice: no filter


def test_the_log_pages_like_other_lists(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log, "PER_PAGE", 2)
    for n in range(5):
        message(world, n)
    owner = staff(world.acme.workspace, "owner")
    page = readable(owner.get("/dashboard/messages/", {"page": "3"}))
    assert "Page 3 of 3 · 5 in all" in page


def test_a_messages_page_shows_the_email_in_a_sandboxed_frame(world: World) -> None:
    sent = message(
        world,
        1,
        subject="Share ALICE10",
        html='<!doctype html><html><body><p class="x">Dear "Alice"</p></body></html>',
        text="Dear Alice",
        sent_at=NOW,
        template="default",
    )
    answer = staff(world.acme.workspace, "analyst").get(f"/dashboard/messages/{sent.public_id}/")
    assert answer.status_code == 200
    body = markup(answer)
    assert (
        '<iframe class="ms-frame" sandbox srcdoc="&lt;!doctype html&gt;&lt;html&gt;&lt;body&gt;'
        "&lt;p class=&quot;x&quot;&gt;Dear &quot;Alice&quot;&lt;/p&gt;" in body
    )
    assert '<pre class="ms-pre ms-text" tabindex="0">Dear Alice</pre>' in body
    assert "img-src 'self' data: https:" in answer["Content-Security-Policy"]
    assert "script-src 'self'" in answer["Content-Security-Policy"]
    skipped = message(world, 2, status="skipped", skip_reason="no_consent", to="")
    text = readable(
        staff(world.acme.workspace, "owner").get(f"/dashboard/messages/{skipped.public_id}/")
    )
    assert "Skipped: no marketing consent" in text
    assert "Nothing was written: a message is written when it is sent." in text


def test_participant_and_referral_pages_list_their_messages(world: World) -> None:
    alice_code = Advocate.objects.get(participant=world.alice).code
    world.acme.event(signup("s-bob", "bob", referral_code=alice_code))
    referral = world.acme.get("/referrals").json()["data"][0]["id"]
    mine = message(world, 3, journey="thank_you", referral_public_id=referral)
    other = message(world, 2, participant=None, to="carol@example.net", journey="friend_invite")
    owner = staff(world.acme.workspace, "owner")
    person = markup(owner.get(f"/dashboard/participants/{world.alice.public_id}/"))
    assert f'href="/dashboard/messages/{mine.public_id}/"' in person
    assert other.public_id not in person
    shown = markup(owner.get(f"/dashboard/referrals/{referral}/"))
    assert f'href="/dashboard/messages/{mine.public_id}/"' in shown
    assert other.public_id not in shown
