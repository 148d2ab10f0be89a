"""The programs pages of the dashboard: the plain-words summary, the list, a program's page and
its lifecycle buttons, export and import, and the builder generated from `ProgramIn`."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from goodword.accounts.models import AuditEntry
from goodword.events.models import DomainEvent
from goodword.programs import config
from goodword.programs.models import Program, ProgramVersion
from goodword.programs.summary import summarize
from tests.dashboard import member, owner
from tests.factories import PROGRAM, Story, enrol, make_program
from tests.test_program_config import FULL

pytestmark = pytest.mark.usefixtures("rows_match_the_catalogue")

# The plain-words summary: config -> sentences, exactly.

A = {"beneficiary": "advocate"}
F = {"beneficiary": "friend"}
CLICK = "A friend's conversion counts within 30 days of their first click."


def cfg(rewards: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "name": "P",
        "currency": "USD",
        "trigger": {"event": "purchase", "min_amount": 5000, "first_purchase_only": True},
        "rewards": rewards,
        "hold_days": 30,
        "attribution_days": 30,
        **extra,
    }


SUMMARIES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "two-sided credit",
        cfg([{**A, "kind": "credit", "amount": 1000}, {**F, "kind": "credit", "amount": 1000}]),
        ["Give $10, get $10 after a first purchase of at least $50; paid after 30 days.", CLICK],
    ),
    (
        "a percent coupon for the friend, cash for the advocate",
        cfg(
            [{**A, "kind": "cash", "amount": 1000}, {**F, "kind": "coupon", "percent_off": 15}],
            hold_days=14,
        ),
        [
            "Give a 15%-off coupon, get $10 cash after a first purchase of at least $50; "
            "paid after 14 days.",
            CLICK,
        ],
    ),
    (
        "an amount-off coupon with its options, and points",
        cfg(
            [
                {
                    **F,
                    "kind": "coupon",
                    "amount": 500,
                    "coupon": {"pattern": "REF-XXXX-XXXX", "min_order": 3000, "expires_days": 60},
                },
                {**A, "kind": "points", "amount": 250},
            ]
        ),  # fmt: skip
        [
            "Give a $5-off coupon (codes like REF-XXXX-XXXX; on orders of at least $30; valid "
            "for 60 days), get 250 points after a first purchase of at least $50; paid after "
            "30 days.",
            CLICK,
        ],
    ),
    (
        "coupons from a named pool and from a prefix",
        cfg(
            [
                {**F, "kind": "coupon", "percent_off": 20, "coupon": {"pool": "cpl_1"}},
                {
                    **A,
                    "kind": "coupon",
                    "amount": 1000,
                    "coupon": {"prefix": "THANKS-", "length": 8},
                },
            ]
        ),  # fmt: skip
        [
            "Give a 20%-off coupon (a code from the pool Spring 15%), get a $10-off coupon "
            "(codes starting THANKS- with 8 random characters) after a first purchase of at "
            "least $50; paid after 30 days.",
            CLICK,
        ],
    ),
    (
        "a recurring commission and a share of the order",
        cfg(
            [
                {
                    **A,
                    "kind": "cash",
                    "percent_of_order": 10,
                    "trigger": "subscription_payment",
                    "recurring_months": 12,
                    "max_total": 10000,
                },
                {**A, "kind": "credit", "percent_of_order": 5, "refund_policy": "proportional"},
            ]
        ),  # fmt: skip
        [
            "A referral converts after a first purchase of at least $50; rewards are paid "
            "after 30 days.",
            "The advocate gets a 10% cash commission on each of the friend's subscription "
            "payments for 12 months, at most $100 in all.",
            "The advocate gets store credit worth 5% of the order after a first purchase of at "
            "least $50; a partial refund shrinks it with the order.",
            CLICK,
        ],
    ),
    (
        "the kinds the business fulfils",
        cfg(
            [
                {**A, "kind": "product", "sku": "MUG-1"},
                {**A, "kind": "gift_card", "amount": 2000, "hold_days": 0},
                {
                    **F,
                    "kind": "charity",
                    "amount": 1000,
                    "cause": "Clean rivers",
                    "refund_policy": "full",
                },
                {**F, "kind": "custom", "description": "A handwritten card", "amount": 500},
                {**A, "kind": "product", "sku": "MUG-2", "amount": 1200, "name": "Mug"},
            ]
        ),  # fmt: skip
        [
            "A referral converts after a first purchase of at least $50; rewards are paid "
            "after 30 days.",
            "The advocate gets a free product (SKU MUG-1) after a first purchase of at least $50.",
            "The advocate gets a $20 gift card after a first purchase of at least $50; paid at "
            "once.",
            "The friend gets a $10 donation to Clean rivers after a first purchase of at least "
            "$50; any refund of the order reverses it.",
            "The friend gets “A handwritten card” (worth $5) after a first purchase of at least "
            "$50.",
            "Mug: the advocate gets a free product (SKU MUG-2, worth $12) after a first purchase "
            "of at least $50.",
            CLICK,
        ],
    ),
    (
        "recipient's choice, NPS and custom-event triggers, credit expiry",
        cfg(
            [
                {
                    **A,
                    "kind": "credit",
                    "amount": 1000,
                    "choice_days": 20,
                    "choices": [
                        {"kind": "gift_card", "amount": 2000},
                        {"kind": "points", "amount": 500},
                    ],
                },
                {**F, "kind": "points", "amount": 100, "trigger": "nps"},
                {
                    **F,
                    "kind": "credit",
                    "amount": 300,
                    "trigger": "event",
                    "event_name": "review_posted",
                    "expires_days": 90,
                    "expiry_notice_days": 7,
                },
            ]
        ),  # fmt: skip
        [
            "A referral converts after a first purchase of at least $50; rewards are paid "
            "after 30 days.",
            "The advocate gets $10 store credit after a first purchase of at least $50; or, if "
            "they pick it within 20 days, a $20 gift card or 500 points.",
            "The friend gets 100 points when they first answer an NPS survey after converting.",
            "The friend gets $3 store credit when they first send the event review_posted after "
            "converting; unspent credit expires 90 days after approval, with a notice 7 days "
            "before.",
            CLICK,
        ],
    ),
    (
        "every condition and cap",
        cfg(
            [
                {
                    **A,
                    "name": "Boots",
                    "kind": "credit",
                    "amount": 500,
                    "conditions": {
                        "min_amount": 5000,
                        "max_amount": 20000,
                        "currency": "USD",
                        "purchase_number": 2,
                        "product_ids": ["sku-7", "sku-8"],
                        "category_ids": ["boots"],
                        "advocate": {"segment": ["vip", "gold"]},
                        "friend": {"plan": ["pro"]},
                    },
                    "caps": [
                        {"per": "advocate", "period": "month", "count": 5},
                        {"per": "program", "period": "lifetime", "amount": 50000},
                        {"per": "friend", "period": "rolling", "days": 7, "count": 1},
                        {"per": "advocate", "period": "year", "amount": 10000},
                    ],
                }
            ]
        ),  # fmt: skip
        [
            "A referral converts after a first purchase of at least $50; rewards are paid "
            "after 30 days.",
            "Boots: the advocate gets $5 store credit after a first purchase of at least $50, if "
            "the order is between $50 and $200, the order is in USD, it is the friend's 2nd "
            "purchase, the order includes product sku-7 or sku-8, the order includes a product "
            "in boots, the advocate's segment is vip or gold and the friend's plan is pro; at "
            "most 5 rewards per advocate per month; at most $500 of rewards in the program; at "
            "most 1 reward per friend in any 7 days; at most $100 of rewards per advocate per "
            "year.",
            CLICK,
        ],
    ),
    (
        "tiers by revenue, milestones, an experiment with a holdout, listed advocates",
        cfg(
            [
                {
                    **A,
                    "kind": "credit",
                    "amount": 1000,
                    "conditions": {"tiers": ["Member", "Silver"], "variants": ["A"]},
                },
                {
                    **A,
                    "name": "Every fifth",
                    "kind": "points",
                    "amount": 1000,
                    "milestone": {"every": 5},
                },
                {
                    **A,
                    "name": "Big",
                    "kind": "credit",
                    "amount": 5000,
                    "milestone": {"at": [10, 25, 50]},
                },
            ],
            tiers={
                "basis": "revenue",
                "period": "month",
                "levels": [{"name": "Member", "min": 0}, {"name": "Silver", "min": 50000}],
            },
            experiment={
                "name": "Spring",
                "holdout_percent": 10,
                "variants": [
                    {"name": "A", "weight": 1},
                    {"name": "B", "weight": 1},
                    {"name": "C", "weight": 2},
                ],
            },
            eligibility={"who": "listed", "external_ids": ["a", "b", "c"]},
        ),  # fmt: skip
        [
            "A referral converts after a first purchase of at least $50; rewards are paid "
            "after 30 days.",
            "The advocate gets $10 store credit after a first purchase of at least $50, if the "
            "advocate's tier is Member or Silver and the advocate's variant is A.",
            "Every fifth: the advocate gets 1,000 points after a first purchase of at least $50; "
            "only at every 5th qualified referral.",
            "Big: the advocate gets $50 store credit after a first purchase of at least $50; "
            "only when the advocate reaches 10, 25 or 50 qualified referrals.",
            CLICK,
            "Advocates' tiers by the revenue their referrals brought, each calendar month: "
            "Member from $0, Silver from $500.",
            "Experiment “Spring”: advocates are split between A, B and C (1:1:2); 10% are held "
            "out and get no program.",
            "Only the 3 listed customers may become advocates.",
        ],
    ),
    (
        "a signup program in euros with dated rules, tiers by referrals, promoters",
        {
            "currency": "EUR",
            "trigger": {"event": "signup"},
            "hold_days": 0,
            "attribution_days": 7,
            "rewards": [
                {**A, "kind": "credit", "amount": 500, "currency": "EUR"},
                {
                    **F,
                    "kind": "credit",
                    "amount": 500,
                    "currency": "EUR",
                    "starts_at": "2026-04-01T00:00:00Z",
                    "ends_at": "2026-07-01T09:30:00Z",
                },
            ],
            "tiers": {"levels": [{"name": "Member", "min": 0}, {"name": "Gold", "min": 15}]},
            "eligibility": {"who": "promoters"},
        },  # fmt: skip
        [
            "A referral converts when the friend signs up; rewards are paid at once.",
            "The advocate gets €5 store credit when the friend signs up.",
            "The friend gets €5 store credit when they sign up; for conversions from 1 April "
            "2026 and before 1 July 2026 09:30 UTC.",
            "A friend's conversion counts within 7 days of their first click.",
            "Advocates' tiers by qualified referrals, all time: Member from 0, Gold from 15.",
            "Only promoters (latest NPS answer 9 or 10) may become advocates.",
        ],
    ),
    (
        "any purchase, customers only",
        {
            "currency": "USD",
            "trigger": {"event": "purchase", "first_purchase_only": False},
            "hold_days": 1,
            "attribution_days": 1,
            "rewards": [{**A, "kind": "credit", "amount": 1050}],
            "eligibility": {"who": "customers", "min_days_as_customer": 7},
        },
        [
            "A referral converts after a purchase; rewards are paid after 1 day.",
            "The advocate gets $10.50 store credit after a purchase.",
            "A friend's conversion counts within 1 day of their first click.",
            "Only customers may become advocates, 7 days after their first purchase.",
        ],
    ),
    (
        "a form half filled in",
        {"rewards": [{**A, "kind": "credit"}, {**F, "kind": "coupon"}], "trigger": {}},
        ["Give a coupon, get store credit after a first purchase; paid after 30 days.", CLICK],
    ),
]


@pytest.mark.parametrize(
    ("case", "document", "sentences"), SUMMARIES, ids=[c[0] for c in SUMMARIES]
)
def test_summary_in_plain_words(case: str, document: dict[str, Any], sentences: list[str]) -> None:
    assert summarize(document, pools={"cpl_1": "Spring 15%"}) == sentences


def test_summary_of_an_exported_program_reads_its_whole_document(db: None) -> None:
    """The summary takes the document `config.export` gives, as stored."""
    from tests.factories import make_api

    acme = make_api("Acme")
    program = make_program(acme, **FULL)
    stored = config.export(Program.objects.get(public_id=program["id"]))
    assert summarize(stored)[1] == (
        "Base: the advocate gets $10 store credit after a first purchase of at least $20, if "
        "the order is at least $25 and the advocate's tier is Member; at most 10 rewards per "
        "advocate per month; for conversions from 1 January 2026; unspent credit expires 90 "
        "days after approval, with a notice 7 days before."
    )


# Helpers: a form as a browser would post it.


class _Form(HTMLParser):
    """The values a browser would submit from the page's form with `id` (buttons aside)."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside = form_id, False
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "name" not in a and tag != "option":
            return
        if tag == "input" and a.get("type") not in ("submit", "file"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.values[a["name"]] = a.get("value", "on")
        elif tag == "select":
            self._select, self._first = a["name"], None
        elif tag == "option" and self._select is not None:
            if self._first is None:
                self._first = a.get("value", "")
                self.values.setdefault(self._select, self._first)
            if "selected" in a:
                self.values[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values[a["name"]] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.values[self._textarea] += data.removeprefix("\n")


def form_of(page: Any, form_id: str = "builder") -> dict[str, str]:
    parser = _Form(form_id)
    parser.feed(page.content.decode())
    return parser.values


def field_html(page: Any, name: str) -> str:
    """The markup of one input's block (its label, input, errors and help)."""
    html = page.content.decode()
    found = re.search(
        r'<div class="field[^"]*">(?:(?!<div class="field).)*?name="'
        + re.escape(name)
        + r'".*?<span class="note"[^>]*>.*?</span>\s*</div>',
        html,
        re.DOTALL,
    )
    assert found, f"no input named {name}"
    return found.group(0)


def post(client: Client, path: str, data: dict[str, str], op: str = "save") -> Any:
    return client.post(path, {**data, "_op": op})


def counts() -> tuple[int, int, int, int]:
    return (
        Program.objects.count(),
        ProgramVersion.objects.count(),
        DomainEvent.objects.filter(name__startswith="program.").count(),
        AuditEntry.objects.count(),
    )


@pytest.fixture
def manager(story: Story) -> Client:
    return owner(story.acme.workspace)


# The list


def test_list_shows_each_program_with_its_rewards_and_advocates(story: Story) -> None:
    acme = story.acme
    paused = make_program(acme, name="Coupons for friends", rewards=[
        {"beneficiary": "friend", "kind": "coupon", "percent_off": 15}])  # fmt: skip
    acme.patch(f"/programs/{paused['id']}", {"status": "paused"})
    enrol(acme, story.program["id"], "carol")
    make_program(story.globex, name="Globex secret", destination_url="https://globex.test/")
    page = member(acme.workspace, "analyst@acme.test", "analyst").get("/dashboard/programs/")
    assert page.status_code == 200
    html = page.content.decode()
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.DOTALL)[1:]
    cells = [
        [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.DOTALL)
        ]
        for r in rows
    ]
    today = Program.objects.get(public_id=paused["id"]).created_at.strftime("%-d %b %Y")
    assert cells == [
        ["Coupons for friends", "Paused", "friend: a 15%-off coupon", "0", today],
        ["Give $10, get $10", "Active", "advocate: $10 store credit · friend: $5 store credit",
         "2", today],
    ]  # fmt: skip
    assert f'href="/dashboard/programs/{paused["id"]}/"' in html
    assert "Globex secret" not in html
    # An analyst sees no button to build or import.
    assert "/dashboard/programs/new/" not in html


def test_list_searches_and_filters_by_status(story: Story, manager: Client) -> None:
    make_program(story.acme, name="Spring coupons", status="draft")
    names = re.compile(r'<a href="/dashboard/programs/prg_\w+/">([^<]+)</a>')
    drafts = manager.get("/dashboard/programs/?status=draft").content.decode()
    assert names.findall(drafts) == ["Spring coupons"]
    found = manager.get("/dashboard/programs/?q=give").content.decode()
    assert names.findall(found) == ["Give $10, get $10"]


# A program's page and its lifecycle


def test_program_page_shows_summary_status_moves_and_versions(
    story: Story, manager: Client
) -> None:
    prg = story.program["id"]
    story.acme.patch(f"/programs/{prg}", {"hold_days": 7})
    page = manager.get(f"/dashboard/programs/{prg}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert (
        "<p>Give $5, get $10 after a first purchase of at least $20; paid after 7 days.</p>" in html
    )
    assert re.findall(r'name="status" value="(\w+)"', html) == ["paused", "ended"]
    assert f'href="/dashboard/referrals/?program={prg}"' in html
    assert f'href="/dashboard/rewards/?program={prg}"' in html
    assert f'href="/dashboard/programs/{prg}/config.json"' in html
    assert re.findall(rf"/dashboard/programs/{prg}/versions/(\d+)\.json", html) == ["2", "1"]


def test_analyst_sees_the_page_without_the_buttons(story: Story) -> None:
    client = member(story.acme.workspace, "analyst@acme.test", "analyst")
    html = client.get(f"/dashboard/programs/{story.program['id']}/").content.decode()
    assert 'name="status"' not in html
    assert "/edit/" not in html


@pytest.mark.parametrize(
    ("start", "wanted", "action"),
    [
        ("active", "paused", "pause"),
        ("paused", "active", "activate"),
        ("draft", "active", "activate"),
        ("active", "ended", "end"),
        ("draft", "ended", "end"),
    ],
)
def test_lifecycle_buttons_move_the_program_and_audit(
    story: Story, manager: Client, start: str, wanted: str, action: str
) -> None:
    prg = story.program["id"]
    Program.objects.filter(public_id=prg).update(status=start)
    answer = manager.post(f"/dashboard/programs/{prg}/status/", {"status": wanted})
    assert answer.status_code == 302
    assert answer["Location"] == f"/dashboard/programs/{prg}/"
    assert Program.objects.get(public_id=prg).status == wanted
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.subject, entry.data) == (
        "owner@acme.test", f"program.{action}", prg, {"from": start, "to": wanted}
    )  # fmt: skip
    user_pk = entry.user_id
    event = DomainEvent.objects.get(name="program.status_changed")
    assert event.data == {"from": start, "to": wanted, "version": 2, "actor": f"user:{user_pk}"}
    assert f"is now {wanted}".encode() in manager.get(answer["Location"]).content


@pytest.mark.parametrize(
    ("start", "wanted"),
    [
        ("ended", "active"),
        ("ended", "paused"),
        ("paused", "paused"),
        ("active", "draft"),
        ("active", "bogus"),
    ],
)
def test_a_forbidden_move_is_refused_and_changes_nothing(
    story: Story, manager: Client, start: str, wanted: str
) -> None:
    prg = story.program["id"]
    Program.objects.filter(public_id=prg).update(status=start)
    before = counts()
    answer = manager.post(f"/dashboard/programs/{prg}/status/", {"status": wanted})
    if (start, wanted) == ("paused", "paused"):
        assert answer.status_code == 302  # already there: nothing to do
    else:
        assert answer.status_code == 400
    assert Program.objects.get(public_id=prg).status == start
    assert counts() == before


def test_ending_says_why_another_move_is_refused(story: Story, manager: Client) -> None:
    prg = story.program["id"]
    assert (
        manager.post(f"/dashboard/programs/{prg}/status/", {"status": "ended"}).status_code == 302
    )
    refused = manager.post(f"/dashboard/programs/{prg}/status/", {"status": "active"})
    assert refused.status_code == 400
    assert (
        b"Not changed: a program that is ended cannot become active: ended is final."
        in refused.content
    )


# Export and import


def test_export_is_what_the_api_answers(story: Story, manager: Client) -> None:
    prg = make_program(story.acme, **FULL)["id"]
    story.acme.patch(f"/programs/{prg}", {"hold_days": 5})
    exported = manager.get(f"/dashboard/programs/{prg}/config.json")
    assert exported.status_code == 200
    assert exported["Content-Type"] == "application/json"
    assert exported["Content-Disposition"] == f'attachment; filename="{prg}-v2.json"'
    assert json.loads(exported.content) == story.acme.get(f"/programs/{prg}/config").json()
    first = manager.get(f"/dashboard/programs/{prg}/versions/1.json")
    assert (
        json.loads(first.content) == story.acme.get(f"/programs/{prg}/versions").json()["data"][1]
    )
    assert manager.get(f"/dashboard/programs/{prg}/versions/3.json").status_code == 404


def test_export_then_import_gives_the_same_program_as_a_draft(
    story: Story, manager: Client
) -> None:
    pool = story.acme.post("/coupon-pools", {"name": "Spring"}).json()["id"]
    rewards = [*FULL["rewards"], {"name": "Pool", "beneficiary": "friend", "kind": "coupon",
                                  "amount": 500, "coupon": {"pool": pool}}]  # fmt: skip
    prg = make_program(story.acme, **{**FULL, "rewards": rewards})["id"]
    exported = manager.get(f"/dashboard/programs/{prg}/config.json").content
    upload = SimpleUploadedFile("program.json", exported, content_type="application/json")
    answer = manager.post("/dashboard/programs/import/", {"file": upload, "document": ""})
    assert answer.status_code == 302
    copy = Program.objects.exclude(public_id__in=[prg, story.program["id"]]).get()
    assert answer["Location"] == f"/dashboard/programs/{copy.public_id}/"
    original = json.loads(exported)["config"]
    assert config.export(copy) == {**original, "status": "draft"}
    assert AuditEntry.objects.get().action == "program.import"
    # Pasting the bare document works the same.
    pasted = manager.post("/dashboard/programs/import/", {"document": json.dumps(original)})
    assert pasted.status_code == 302
    assert Program.objects.filter(name="Everything", status="draft").count() == 2


def test_import_lists_each_problem_with_its_field_and_creates_nothing(
    story: Story, manager: Client
) -> None:
    before = counts()
    bad = {**PROGRAM, "name": "", "rewards": [
        {"beneficiary": "advocate", "kind": "credit", "percent_off": 10},
        {"beneficiary": "someone", "kind": "credit", "amount": -5}]}  # fmt: skip
    answer = manager.post("/dashboard/programs/import/", {"document": json.dumps(bad)})
    assert answer.status_code == 400
    html = answer.content.decode()
    problems = re.findall(r"<li><code>([^<]+)</code>: ([^<]+)</li>", html)
    assert problems == [
        ("name", "must not be empty"),
        ("rewards[0]", "a credit reward takes `amount` or `percent_of_order`, not `percent_off`"),
        ("rewards[1].amount", "must be more than 0"),
        ("rewards[1].beneficiary", "must be &#x27;advocate&#x27; or &#x27;friend&#x27;"),
    ]
    assert "Nothing was imported." in html
    assert counts() == before


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("{not json", "not valid JSON: Expecting property name enclosed in double quotes "
                      "(line 1, column 2)"),
        ("[1, 2]", "the document must be a JSON object"),
        ('{"amount": NaN}', "not valid JSON: NaN is not allowed"),
        ("", "paste a program&#x27;s JSON, or choose a file"),
    ],
)  # fmt: skip
def test_import_of_something_else_than_a_program(
    story: Story, manager: Client, document: str, problem: str
) -> None:
    before = counts()
    answer = manager.post("/dashboard/programs/import/", {"document": document})
    assert answer.status_code == 400
    assert f"<li>{problem}</li>" in answer.content.decode()
    assert counts() == before


def test_import_naming_another_workspaces_pool_creates_nothing(
    story: Story, manager: Client
) -> None:
    theirs = story.globex.post("/coupon-pools", {"name": "Theirs"}).json()["id"]
    before = counts()
    document = {**PROGRAM, "rewards": [{"beneficiary": "friend", "kind": "coupon", "amount": 500,
                                        "coupon": {"pool": theirs}}]}  # fmt: skip
    answer = manager.post("/dashboard/programs/import/", {"document": json.dumps(document)})
    assert answer.status_code == 400
    assert (
        f"<li><code>rewards[0].coupon.pool</code>: no coupon pool &#x27;{theirs}&#x27; in this "
        "workspace</li>"
    ) in answer.content.decode()
    assert counts() == before


# The builder


def test_builder_marks_the_fields_each_reward_kind_takes(story: Story, manager: Client) -> None:
    """builder.js hides, and stops sending, the fields the chosen kind does not take; the
    marks come from the rules the API validates with (rules.KIND_FIELDS)."""
    html = manager.get("/dashboard/programs/new/").content.decode()
    assert '<script src="/static/dashboard/builder.js" defer></script>' in html
    for field, kinds in (
        ("f-rewards-0-percent_off", "coupon"),
        ("f-rewards-0-percent_of_order", "credit cash"),
        ("f-rewards-0-sku", "product"),
        ("f-rewards-0-cause", "charity"),
        ("f-rewards-0-description", "custom"),
        ("g-rewards-0-coupon", "coupon"),
    ):
        tag = re.search(rf'<[^>]*id="{field}"[^>]*>', html)
        wrapper = tag[0] if tag else ""
        if field.startswith("f-"):  # the input's wrapper carries the mark
            at = html.index(f'id="{field}"')
            wrapper = html[html.rindex('<div class="field', 0, at) : at]
        assert f'data-kinds="{kinds}"' in wrapper, field
    at = html.index('id="f-rewards-0-amount"')
    assert "data-kinds" not in html[html.rindex('<div class="field', 0, at) : at]  # every kind


def test_builder_form_is_generated_from_the_api_schema(story: Story, manager: Client) -> None:
    page = manager.get("/dashboard/programs/new/")
    assert page.status_code == 200
    fields = form_of(page)
    assert fields == {
        "csrfmiddlewaretoken": fields["csrfmiddlewaretoken"],
        "name": "",
        "destination_url": "",
        "description": "",
        "language": "",
        "landing_page": "on",  # new programs show friends the landing page
        "currency": "USD",
        "trigger.event": "purchase",
        "trigger.min_amount": "",
        "trigger.first_purchase_only": "on",
        "hold_days": "30",
        "attribution_days": "30",
        **{
            f"rewards.{i}.{name}": value
            for i, side in enumerate(["advocate", "friend"])
            for name, value in {
                "_": "1", "name": "", "beneficiary": side, "kind": "credit", "amount": "",
                "percent_off": "", "percent_of_order": "", "currency": "", "sku": "",
                "cause": "", "description": "", "trigger": "conversion", "event_name": "",
                "recurring_months": "", "max_total": "", "choice_days": "",
                "refund_policy": "threshold", "conditions.min_amount": "",
                "conditions.max_amount": "", "conditions.currency": "",
                "conditions.purchase_number": "", "conditions.product_ids": "",
                "conditions.category_ids": "", "conditions.variants": "",
                "conditions.tiers": "", "conditions.advocate": "", "conditions.friend": "",
                "hold_days": "", "expires_days": "", "expiry_notice_days": "",
                "starts_at": "", "ends_at": "",
            }.items()
        },
    }  # fmt: skip
    html = page.content.decode()
    # Money in major units with the currency; every option of a reward, the rest as buttons.
    amount = field_html(page, "rewards.0.amount")
    assert '<span class="prefix" aria-hidden="true">$</span>' in amount
    assert 'inputmode="decimal"' in amount
    assert re.findall(r'name="_op" value="add:([\w.]+)"', html) == [
        "rewards.0.coupon", "rewards.0.choices", "rewards.0.caps", "rewards.0.milestone",
        "rewards.1.coupon", "rewards.1.choices", "rewards.1.caps", "rewards.1.milestone",
        "rewards", "tiers", "experiment", "eligibility",
    ]  # fmt: skip
    assert (
        '<option value="subscription_payment">each subscription payment after it</option>' in html
    )
    assert 'type="datetime-local"' in field_html(page, "rewards.0.starts_at")


def build_two_sided(client: Client, pool: str) -> Any:
    """Through the form's own buttons, as a person without JavaScript would: tiers with two
    levels, coupon options on the friend's reward, a third reward; then fill it in and save."""
    path = "/dashboard/programs/new/"
    fields = form_of(client.get(path))
    for op in ("add:tiers", "add:tiers.levels", "add:tiers.levels", "add:rewards.1.coupon",
               "add:rewards"):  # fmt: skip
        page = post(client, path, fields, op)
        assert page.status_code == 200, op
        fields = form_of(page)
    fields.update({
        "name": "Boots for friends",
        "destination_url": "https://shop.acme.test/boots",
        "trigger.min_amount": "50",
        "hold_days": "14",
        "rewards.0.name": "Member rate",
        "rewards.0.amount": "10",
        "rewards.0.conditions.tiers": "Member",
        "rewards.0.caps.0._": "1",
        "rewards.0.caps.0.per": "advocate",
        "rewards.0.caps.0.period": "month",
        "rewards.0.caps.0.count": "5",
        "rewards.1.name": "Friend coupon",
        "rewards.1.kind": "coupon",
        "rewards.1.percent_off": "15",
        "rewards.1.coupon.pool": pool,
        "rewards.1.coupon.min_order": "30.00",
        "rewards.2.name": "Gold rate",
        "rewards.2.beneficiary": "advocate",
        "rewards.2.kind": "credit",
        "rewards.2.amount": "15.50",
        "rewards.2.conditions.tiers": "Gold",
        "tiers.basis": "referrals",
        "tiers.levels.0.name": "Member",
        "tiers.levels.0.min": "0",
        "tiers.levels.1.name": "Gold",
        "tiers.levels.1.min": "5",
    })  # fmt: skip
    return post(client, path, fields)


API_TWIN = {
    "name": "Boots for friends",
    "destination_url": "https://shop.acme.test/boots",
    "landing_page": True,  # the builder's default for new programs
    "status": "draft",
    "trigger": {"event": "purchase", "min_amount": 5000},
    "hold_days": 14,
    "rewards": [
        {"name": "Member rate", "beneficiary": "advocate", "kind": "credit", "amount": 1000,
         "conditions": {"tiers": ["Member"]},
         "caps": [{"per": "advocate", "period": "month", "count": 5}]},
        {"name": "Friend coupon", "beneficiary": "friend", "kind": "coupon", "percent_off": 15,
         "coupon": {"pool": "POOL", "min_order": 3000}},
        {"name": "Gold rate", "beneficiary": "advocate", "kind": "credit", "amount": 1550,
         "conditions": {"tiers": ["Gold"]}},
    ],
    "tiers": {"levels": [{"name": "Member", "min": 0}, {"name": "Gold", "min": 5}]},
}  # fmt: skip


def test_builder_makes_the_same_program_as_the_api(story: Story, manager: Client) -> None:
    pool = story.acme.post("/coupon-pools", {"name": "Boots 15%"}).json()["id"]
    answer = build_two_sided(manager, pool)
    assert answer.status_code == 302, answer.content.decode()[:3000]
    built = Program.objects.get(name="Boots for friends")
    assert answer["Location"] == f"/dashboard/programs/{built.public_id}/"
    assert built.status == "draft"
    twin = json.loads(json.dumps(API_TWIN).replace("POOL", pool))
    made = make_program(story.acme, **twin)
    assert config.export(built) == config.export(Program.objects.get(public_id=made["id"]))
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.subject, entry.data) == (
        "program.create",
        built.public_id,
        {"version": 1},
    )
    page = manager.get(answer["Location"]).content.decode()
    assert "Created as a draft: Boots for friends (version 1)." in page
    assert (
        "<p>A referral converts after a first purchase of at least $50; rewards are paid after "
        "14 days.</p>"
    ) in page
    assert "a 15%-off coupon (a code from the pool Boots 15%; on orders of at least $30)" in page


def test_edit_shows_money_in_major_units_and_saves_a_new_version(
    story: Story, manager: Client
) -> None:
    prg = make_program(story.acme, name="Euros", currency="EUR", rewards=[
        {"beneficiary": "advocate", "kind": "credit", "amount": 1050},
        {"beneficiary": "friend", "kind": "points", "amount": 250}])["id"]  # fmt: skip
    story.acme.patch(f"/programs/{prg}", {"status": "paused"})
    path = f"/dashboard/programs/{prg}/edit/"
    page = manager.get(path)
    fields = form_of(page)
    shown = [fields["trigger.min_amount"], fields["rewards.0.amount"], fields["rewards.1.amount"]]
    assert shown == ["20.00", "10.50", "250"]
    assert '<span class="prefix" aria-hidden="true">€</span>' in field_html(
        page, "rewards.0.amount"
    )
    assert '<span class="suffix">points</span>' in field_html(page, "rewards.1.amount")
    assert fields["_version"] == "2"
    fields["rewards.0.amount"] = "1,000.5"
    fields["rewards.1.amount"] = "300"
    answer = post(manager, path, fields)
    assert answer.status_code == 302
    program = Program.objects.get(public_id=prg)
    assert (program.status, program.version) == ("paused", 3)
    assert [r["amount"] for r in config.export(program)["rewards"]] == [100050, 300]
    assert AuditEntry.objects.get().action == "program.edit"
    # A second save from the same (now old) form is refused: it would undo version 3.
    stale = post(manager, path, {**fields, "rewards.0.amount": "1"})
    assert stale.status_code == 400
    assert (
        "this program was changed since you opened the form (now version 3)"
        in stale.content.decode()
    )
    assert Program.objects.get(public_id=prg).version == 3
    # The form shown again still names the version it was filled in from: saving it again is
    # refused again, until the page is reloaded.
    assert form_of(stale)["_version"] == "2"
    assert post(manager, path, form_of(stale)).status_code == 400
    assert Program.objects.get(public_id=prg).version == 3


def test_errors_are_shown_next_to_their_field_and_nothing_is_saved(
    story: Story, manager: Client
) -> None:
    path = "/dashboard/programs/new/"
    fields = form_of(manager.get(path))
    fields.update({
        "name": "Broken", "destination_url": "https://shop.acme.test/", "rewards.0.amount": "ten",
        "trigger.min_amount": "5.005", "rewards.1.percent_off": "10", "hold_days": "-1",
        "rewards.0.conditions.advocate": "segment vip",
    })  # fmt: skip
    before = counts()
    answer = post(manager, path, fields)
    assert answer.status_code == 400
    assert counts() == before
    expected = {
        "rewards.0.amount": "enter an amount such as 10.50",
        "trigger.min_amount": "USD amounts have at most 2 decimal places",
        "hold_days": "must be at least 0",
        "rewards.0.conditions.advocate": "write one per line, as  name: value, value",
    }
    for name, message in expected.items():
        block = field_html(answer, name)
        assert f'<span class="error">{message}</span>' in block, name
        assert 'aria-invalid="true"' in block
        assert form_of(answer)[name] == fields[name]  # shown back as typed
    # A rule's own problem goes on the rule's fieldset; the rule whose amount did not parse is
    # not also told it needs one.
    html = answer.content.decode()
    assert "a credit reward needs" not in html
    assert re.search(
        r'<fieldset class="group item" id="g-rewards-1">.*?<p class="error">a credit reward takes '
        r"`amount` or `percent_of_order`, not `percent_off`</p>",
        html,
        re.DOTALL,
    )


def test_a_services_refusal_lands_on_its_field(story: Story, manager: Client) -> None:
    path = "/dashboard/programs/new/"
    fields = form_of(manager.get(path))
    fields.update({"name": "X", "destination_url": "ftp://nowhere", "rewards.0.amount": "1",
                   "rewards.1.amount": "1"})  # fmt: skip
    answer = post(manager, path, fields)
    assert answer.status_code == 400
    block = field_html(answer, "destination_url")
    assert "must be an absolute http(s) address without credentials" in block
    fields.update(
        {"destination_url": "https://shop.acme.test/", "rewards.0.conditions.tiers": "Gold"}
    )
    answer = post(manager, path, fields)
    assert "&#x27;Gold&#x27; is not one of the program&#x27;s tiers (it has none)" in field_html(
        answer, "rewards.0.conditions.tiers"
    )
    assert Program.objects.count() == 1


def test_add_and_remove_buttons_work_without_javascript(story: Story, manager: Client) -> None:
    path = "/dashboard/programs/new/"
    fields = form_of(manager.get(path))
    fields["rewards.1.amount"] = "7"
    added = post(manager, path, fields, "add:rewards")
    assert added.status_code == 200
    names = form_of(added)
    assert (names["rewards.2.beneficiary"], names["rewards.1.amount"]) == ("advocate", "7.00")
    removed = post(manager, path, names, "remove:rewards.0")
    assert removed.status_code == 200
    left = form_of(removed)
    assert ("rewards.2._" in left, left["rewards.0.beneficiary"], left["rewards.0.amount"]) == (
        False, "friend", "7.00"
    )  # fmt: skip
    # An optional object comes and goes the same way.
    tiers = form_of(post(manager, path, left, "add:tiers"))
    assert tiers["tiers._"] == "1"
    assert "tiers._" not in form_of(post(manager, path, tiers, "remove:tiers"))
    # A button naming nothing the schema has changes nothing.
    same = form_of(post(manager, path, left, "add:status"))
    assert same == {**left, "csrfmiddlewaretoken": same["csrfmiddlewaretoken"]}
    assert Program.objects.count() == 1


def test_htmx_swaps_a_group_and_follows_with_the_summary(story: Story, manager: Client) -> None:
    path = "/dashboard/programs/new/"
    fields = form_of(manager.get(path))
    html = manager.get(path).content.decode()
    assert (
        'hx-post="/dashboard/programs/new/" hx-target="#g-rewards" hx-select="#g-rewards"' in html
    )
    assert 'hx-post="/dashboard/programs/summary/"' in html
    swapped = manager.post(path, {**fields, "_op": "add:rewards.0.caps"}, HTTP_HX_REQUEST="true")
    assert swapped.status_code == 200
    assert 'id="g-rewards-0-caps"' in swapped.content.decode()
    fields.update(
        {
            "rewards.0.amount": "10",
            "rewards.1.kind": "coupon",
            "rewards.1.percent_off": "20",
            "trigger.min_amount": "50",
            "hold_days": "0",
        }
    )
    summary = manager.post("/dashboard/programs/summary/", fields, HTTP_HX_REQUEST="true")
    assert summary.status_code == 200
    assert summary.content.decode().strip() == (
        '<div id="summary" class="summary" aria-live="polite">\n  <p>Give a 20%-off coupon, get '
        "$10 after a first purchase of at least $50; paid at once.</p><p>A friend&#x27;s "
        "conversion counts within 30 days of their first click.</p>\n</div>"
    )
    # Without JavaScript, the same summary comes with the page.
    preview = post(manager, path, fields, "preview")
    assert (
        "Give a 20%-off coupon, get $10 after a first purchase of at least $50"
        in preview.content.decode()
    )
    assert Program.objects.count() == 1


# Roles and workspaces


@pytest.mark.parametrize("role", ["analyst", "reviewer"])
def test_roles_without_manage_may_not_change_programs(story: Story, role: str) -> None:
    client = member(story.acme.workspace, f"{role}@acme.test", role)
    prg = story.program["id"]
    pool = story.acme.post("/coupon-pools", {"name": "P"}).json()["id"]
    fields = form_of(owner(story.acme.workspace).get("/dashboard/programs/new/"))
    before = counts()
    document = json.dumps({**PROGRAM, "name": "Sneaky"})
    for method, path, data in [
        ("get", "/dashboard/programs/new/", {}),
        ("post", "/dashboard/programs/new/", {**fields, "name": "Sneaky", "_op": "save"}),
        ("get", f"/dashboard/programs/{prg}/edit/", {}),
        ("post", f"/dashboard/programs/{prg}/edit/", {**fields, "name": "Sneaky", "_version": "1"}),
        ("post", f"/dashboard/programs/{prg}/status/", {"status": "paused"}),
        ("get", "/dashboard/programs/import/", {}),
        ("post", "/dashboard/programs/import/", {"document": document}),
        ("post", "/dashboard/programs/summary/", fields),
    ]:
        answer = getattr(client, method)(path, data)
        assert answer.status_code == 403, (method, path)
    assert counts() == before
    assert Program.objects.get(public_id=prg).status == "active"
    assert not Program.objects.filter(name="Sneaky").exists()
    # They still see everything.
    for path in (
        "/dashboard/programs/",
        f"/dashboard/programs/{prg}/",
        f"/dashboard/programs/{prg}/config.json",
    ):
        assert client.get(path).status_code == 200
    assert pool


def test_admin_may_manage_programs(story: Story) -> None:
    client = member(story.acme.workspace, "admin@acme.test", "admin")
    answer = client.post(f"/dashboard/programs/{story.program['id']}/status/", {"status": "paused"})
    assert answer.status_code == 302
    assert Program.objects.get(public_id=story.program["id"]).status == "paused"


def test_another_workspaces_program_is_404_on_every_page_and_action(story: Story) -> None:
    stranger = owner(story.globex.workspace)
    prg = story.program["id"]
    fields = form_of(stranger.get("/dashboard/programs/new/"))
    before = counts()
    for method, path, data in [
        ("get", f"/dashboard/programs/{prg}/", {}),
        ("get", f"/dashboard/programs/{prg}/edit/", {}),
        ("post", f"/dashboard/programs/{prg}/edit/", {**fields, "name": "Pwned", "_version": "1"}),
        ("post", f"/dashboard/programs/{prg}/status/", {"status": "ended"}),
        ("get", f"/dashboard/programs/{prg}/config.json", {}),
        ("get", f"/dashboard/programs/{prg}/versions/1.json", {}),
    ]:
        answer = getattr(stranger, method)(path, data)
        assert answer.status_code == 404, (method, path)
        assert b"Give $10, get $10" not in answer.content
    assert counts() == before
    program = Program.objects.get(public_id=prg)
    assert (program.name, program.status) == ("Give $10, get $10", "active")
    assert "Give $10" not in stranger.get("/dashboard/programs/").content.decode()
    searched = stranger.get(f"/dashboard/programs/?q={prg}").content.decode()
    assert f'href="/dashboard/programs/{prg}/"' not in searched
    assert "No programs match." in searched


def test_globex_import_of_acmes_export_is_its_own_program(story: Story) -> None:
    exported = owner(story.acme.workspace).get(
        f"/dashboard/programs/{story.program['id']}/config.json"
    )
    stranger = owner(story.globex.workspace)
    answer = stranger.post("/dashboard/programs/import/", {"document": exported.content.decode()})
    assert answer.status_code == 302
    copy = Program.objects.for_workspace(story.globex.workspace).get(name="Give $10, get $10")
    assert copy.status == "draft"
    assert Program.objects.for_workspace(story.acme.workspace).count() == 1


def test_every_option_survives_the_builder_unchanged(story: Story, manager: Client) -> None:
    """Opening a program with every option in the builder and saving it as it is keeps its
    document exactly: each option has an input that shows it and reads it back."""
    pool = story.acme.post("/coupon-pools", {"name": "Welcome"}).json()["id"]
    rewards = [
        *FULL["rewards"],
        {"name": "Pool", "beneficiary": "friend", "kind": "coupon", "amount": 500,
         "coupon": {"pool": pool, "min_order": 3000}},
        {"name": "Pattern", "beneficiary": "friend", "kind": "coupon", "percent_off": 10,
         "coupon": {"pattern": "REF-XXXX-XXXX", "expires_days": 30}},
        {"name": "Prefix", "beneficiary": "friend", "kind": "coupon", "percent_off": 5,
         "coupon": {"prefix": "HI-", "length": 8}},
        {"name": "Commission", "beneficiary": "advocate", "kind": "cash", "percent_of_order": 10,
         "trigger": "subscription_payment", "recurring_months": 12, "max_total": 10000,
         "caps": [{"per": "program", "period": "rolling", "days": 7, "amount": 90000}]},
        {"name": "Socks", "beneficiary": "advocate", "kind": "product", "sku": "SOCK-1",
         "amount": 1200,
         "choices": [{"kind": "coupon", "amount": 800, "coupon": {"pool": pool}},
                     {"kind": "points", "amount": 200}], "choice_days": 10},
        {"name": "Review", "beneficiary": "friend", "kind": "charity", "amount": 300,
         "cause": "Trees", "trigger": "event", "event_name": "review_posted",
         "refund_policy": "full"},
        {"name": "Feedback", "beneficiary": "friend", "kind": "gift_card", "amount": 1000,
         "trigger": "nps", "currency": "EUR", "ends_at": "2027-01-01T09:30:00Z"},
        {"name": "Thanks", "beneficiary": "advocate", "kind": "custom",
         "description": "A handwritten card", "milestone": {"every": 5}},
        {"name": "VIP", "beneficiary": "advocate", "kind": "points", "amount": 100,
         "expires_days": 365,
         "conditions": {"purchase_number": 1, "max_amount": 90000, "currency": "USD",
                        "product_ids": ["sku-7", "sku-8"], "category_ids": ["boots"],
                        "advocate": {"segment": ["vip", "gold"], "plan": ["pro"]},
                        "friend": {"country": ["FR"]}}},
    ]  # fmt: skip
    document = {
        **FULL,
        "rewards": rewards,
        "description": "Every option\nover two lines",
        "attribution_days": 45,
        "trigger": {"event": "purchase", "min_amount": 2000, "first_purchase_only": False},
        "eligibility": {"who": "listed", "external_ids": ["alice", "bob", "carol"]},
    }
    prg = make_program(story.acme, **document)["id"]
    before = config.export(Program.objects.get(public_id=prg))
    path = f"/dashboard/programs/{prg}/edit/"
    fields = form_of(manager.get(path))
    answer = post(manager, path, fields)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    program = Program.objects.get(public_id=prg)
    assert program.version == 2
    assert config.export(program) == before
