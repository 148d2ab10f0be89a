"""Seed a demo workspace: a live two-sided program and two months of sample history, enough
for every chart of the dashboard to show something."""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from goodword.accounts.models import Workspace
from goodword.accounts.services import create_workspace
from goodword.ingest.schemas import EventIn
from goodword.ingest.services import record_event
from goodword.lib.signing import make_ref_token
from goodword.participants.models import Advocate
from goodword.participants.services import enrol_advocate, upsert_participant
from goodword.programs.rules import RewardSpec, TriggerSpec
from goodword.programs.services import create_program
from goodword.referrals import shares
from goodword.referrals.models import Click, Share
from goodword.rewards.services import approve_due_rewards

DEMO_NAME = "Acme Coffee (demo)"
ADVOCATES = ["Alice Archer", "Carmen Diaz", "Dev Patel", "Erin Walsh", "Farah Khan", "Gus Olsen"]
FRIEND_NAMES = ["Bob", "Hana", "Ivo", "June", "Kofi", "Lena", "Milo", "Nora", "Omar", "Pia"]
FRIENDS = 72  # over DAYS days: a dozen each for the busiest advocates
DAYS = 60


def seed(owner_email: str, password: str, *, site_url: str = "") -> tuple[Workspace, str]:
    rng = random.Random(7)  # noqa: S311 - sample data, not security
    now = timezone.now()
    workspace, api_key = create_workspace(
        name=DEMO_NAME, owner_email=owner_email, password=password
    )
    program = create_program(
        workspace=workspace,
        name="Give $10, get $10",
        description="Your friend gets $10 off their first order over $20, and you get $10 "
        "in store credit when they buy.",
        destination_url=f"{site_url or settings.SITE_URL}/demo/shop",
        rewards=[
            RewardSpec(beneficiary="advocate", kind="credit", amount=1000, currency="USD"),
            RewardSpec(beneficiary="friend", kind="coupon", amount=1000, currency="USD"),
        ],
        trigger=TriggerSpec(event="purchase", min_amount=2000),
        hold_days=14,
        attribution_days=30,
        landing_page=True,
    )
    advocates: list[Advocate] = []
    for i, name in enumerate(ADVOCATES):
        first = name.split()[0].lower()
        participant, _ = upsert_participant(
            workspace=workspace, external_id=f"cus_{first}", email=f"{first}@example.com", name=name
        )
        advocate, _ = enrol_advocate(
            program=program, participant=participant, code=first.upper() if i == 0 else None
        )
        advocates.append(advocate)
    for n in range(FRIENDS):
        # Alice and Carmen refer most; the others now and then (as in real programs).
        advocate = advocates[min(int(rng.expovariate(0.6)), len(advocates) - 1)]
        friend = f"{FRIEND_NAMES[n % len(FRIEND_NAMES)]}{n // len(FRIEND_NAMES) or ''}"
        start = now - timedelta(days=DAYS - 1 - n * (DAYS - 6) / FRIENDS, hours=rng.randint(0, 12))
        _history(workspace, advocate, friend, start, rng, n)
    _extra_clicks(advocates, now, rng)
    approve_due_rewards(now=now)
    return workspace, api_key


def _history(
    workspace: Workspace,
    advocate: Advocate,
    friend: str,
    start: datetime,
    rng: random.Random,
    n: int,
) -> None:
    click_id = secrets.token_urlsafe(12)
    click = Click.objects.create(
        click_id=click_id,
        workspace=workspace,
        program=advocate.program,
        advocate=advocate,
        created_at=start,
        channel=rng.choice(["email", "whatsapp", "sms", "x", "copy"]),
        ua_class=rng.choice(["mobile", "desktop"]),
    )
    # The advocate shared before the friend clicked: the funnel's first stage.
    shares.record(advocate, click.channel, Share.Source.PORTAL, at=start - timedelta(hours=1))
    token = make_ref_token(advocate.public_id, click_id, int(start.timestamp()))
    customer = {
        "external_id": f"cus_{friend.lower()}",
        "email": f"{friend.lower()}@example.net",
        "name": friend,
    }
    signup_at = start + timedelta(hours=2)
    record_event(
        workspace=workspace,
        data=EventIn.model_validate(
            {"id": f"signup-{friend}", "type": "signup", "customer": customer, "ref_token": token}
        ),
        now=signup_at,
    )
    if n % 4 == 3:
        return  # signed up, never bought
    order = {"id": f"order-{friend}", "amount": 2500 + 500 * (n % 5), "currency": "USD"}
    bought_at = signup_at + timedelta(days=1 + n % 3)
    record_event(
        workspace=workspace,
        data=EventIn.model_validate(
            {"id": f"purchase-{friend}", "type": "purchase", "customer": customer, "order": order}
        ),
        now=bought_at,
    )
    if n % 25 == 2:  # a refund during the hold now and then: its rewards are reversed
        record_event(
            workspace=workspace,
            data=EventIn.model_validate(
                {
                    "id": f"refund-{friend}",
                    "type": "refund",
                    "customer": customer,
                    "order": {"id": order["id"]},
                }
            ),
            now=bought_at + timedelta(days=2),
        )


def _extra_clicks(advocates: list[Advocate], now: datetime, rng: random.Random) -> None:
    Click.objects.bulk_create(
        Click(
            click_id=secrets.token_urlsafe(12),
            workspace_id=a.workspace_id,
            program_id=a.program_id,
            advocate=a,
            created_at=now - timedelta(minutes=rng.randint(10, 60 * 24 * DAYS)),
            channel=rng.choice(["email", "whatsapp", "sms", "x", "facebook", "copy"]),
            ua_class=rng.choice(["mobile", "desktop", "tablet"]),
        )
        for a in advocates
        for _ in range(rng.randint(10, 40))
    )
