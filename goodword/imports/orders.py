"""Past orders from a CSV file, a batch at a time.

By default each order is written as a purchase event of source `history`: analytics counts it
(revenue, customer value, cohorts read purchase events), the customer's purchase count and first
purchase move, and nothing else happens: the decision layer never reads these events
(`ingest.load.history` leaves them out), so they convert no referral and earn no reward; only
their earliest, per customer, is read (`ingest.load.bought_before`): a friend who bought before
a referral's first touch is an existing customer. With
`with_rewards` the orders go through the ingestion entry point as purchase events of source
`import`, decided like any other (attributed, converted, rewarded).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection

from goodword.accounts.models import Workspace
from goodword.imports import people
from goodword.ingest import services as ingest
from goodword.ingest.models import Event
from goodword.ingest.schemas import CustomerIn, EventIn, OrderIn
from goodword.lib import bulk, money
from goodword.lib.errors import DomainError
from goodword.lib.ids import new_ev_id, new_par_id
from goodword.participants.models import Participant

REQUIRED = ("order_id", "customer_external_id", "amount", "currency", "occurred_at")
HISTORY = "history"  # the source of inert past orders (see `ingest.load.history`)
DECIDED = "import"  # the source of orders imported `with_rewards`
_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?")


@dataclass
class Order:
    line: int
    order_id: str
    customer: str
    amount: int  # minor units of `currency`
    currency: str
    occurred_at: datetime
    referral_code: str


@dataclass
class Counts:
    created: int = 0  # purchase events written
    skipped: int = 0  # orders known already (earlier in the file or before)
    participants: int = 0  # customers first known from this batch
    errors: list[tuple[int, str]] = field(default_factory=list)


def _when(text: str, now: datetime) -> datetime | str:
    try:
        at = datetime.fromisoformat(text.strip())
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except (ValueError, OverflowError):
        return "occurred_at is not an ISO 8601 time such as 2024-05-01T12:30:00Z"
    if at > now + ingest.MAX_FUTURE_SKEW:
        return "occurred_at is in the future"
    return at


def parse(line: int, values: dict[str, str], now: datetime) -> Order | str:
    """The row as an Order, or why it is refused. `amount` is in major units (42.50 USD)."""
    order_id = values["order_id"].strip()
    customer = values["customer_external_id"].strip()
    for name, text in (("order_id", order_id), ("customer_external_id", customer)):
        if not text:
            return f"{name} is empty"
        if len(text) > 255:
            return f"{name} is longer than 255 characters"
    currency = values["currency"].strip().upper()
    if not money.is_currency(currency):
        return f"currency {currency[:10]!r} is not an ISO 4217 code such as USD"
    text = values["amount"].strip()
    places = money.decimals(currency)
    if not _AMOUNT.fullmatch(text):
        return f"amount {text[:20]!r} is not an amount in major units such as 42.50"
    whole, _, part = text.partition(".")
    if len(part) > places:
        return f"amount has more than {places} decimal places for {currency}"
    amount = int(whole) * 10**places + int(part.ljust(places, "0") or 0)
    if amount > money.MAX_AMOUNT:
        return "amount is too large"
    at = _when(values["occurred_at"], now)
    if isinstance(at, str):
        return at
    code = values.get("referral_code", "").strip()
    if len(code) > 40:
        return "referral_code is longer than 40 characters"
    return Order(line, order_id, customer, amount, currency, at, code)


def _known(workspace_id: int, order_ids: list[str]) -> set[str]:
    """The orders of these ids that have a purchase event already, from any source: an order
    sent live is not counted twice by importing it."""
    table = Event._meta.db_table
    statement = (
        f"SELECT order_id FROM {table} WHERE workspace_id = %s AND type = 'purchase' "  # noqa: S608
        f"AND order_id {people.keys_in()}"
    )
    return {r[0] for r in people.lookup(statement, [workspace_id, people.keys_param(order_ids)])}


def _fresh(workspace_id: int, orders: list[Order], counts: Counts) -> list[Order]:
    """The orders not known before, the first of each id; the rest are counted as skipped."""
    known = _known(workspace_id, sorted({o.order_id for o in orders}))
    out: list[Order] = []
    for order in orders:
        if order.order_id in known:
            counts.skipped += 1
        else:
            known.add(order.order_id)
            out.append(order)
    return out


EVENT = (
    "public_id", "external_id", "body_hash", "customer_external_id", "order_id", "amount",
    "currency", "payload", "occurred_at",
)  # fmt: skip


def _event(order: Order) -> tuple[Any, ...]:
    body = f"{order.order_id}\x1f{order.customer}\x1f{order.amount}\x1f{order.currency}"
    payload = {"referral_code": order.referral_code} if order.referral_code else {}
    return (
        new_ev_id(),
        order.order_id,
        hashlib.sha256(f"{body}\x1f{order.occurred_at.isoformat()}".encode()).hexdigest(),
        order.customer,
        order.order_id,
        order.amount,
        order.currency,
        payload,
        order.occurred_at,
    )


def write_history(workspace_id: int, orders: list[Order], now: datetime) -> Counts:
    """Write a batch as inert purchase events. Call inside the batch's transaction."""
    counts = Counts()
    fresh = _fresh(workspace_id, orders, counts)
    fixed = {
        "workspace_id": workspace_id, "source": HISTORY, "type": Event.Type.PURCHASE,
        "result": {"imported": True}, "created_at": now, "test": False,
    }  # fmt: skip
    bulk.write_rows(Event, EVENT, [_event(o) for o in fresh], fixed=fixed)
    counts.created = len(fresh)
    counts.participants = _count_purchases(workspace_id, fresh, now)
    return counts


def _count_purchases(workspace_id: int, orders: list[Order], now: datetime) -> int:
    """Add the orders to their customers' purchase counts and first purchases, creating the
    customers not known yet; return how many were created."""
    bought: dict[str, tuple[int, datetime]] = {}
    for o in orders:
        n, first = bought.get(o.customer, (0, o.occurred_at))
        bought[o.customer] = (n + 1, min(first, o.occurred_at))
    found = people.existing(workspace_id, ("id",), list(bought))
    new = [(new_par_id(), key, n, first) for key, (n, first) in bought.items() if key not in found]
    bulk.write_rows(
        Participant,
        ("public_id", "external_id", "purchase_count", "first_purchase_at"),
        new,
        fixed={"workspace_id": workspace_id, "created_at": now, "updated_at": now},
    )
    table = Participant._meta.db_table
    # Added in the statement, not read and written back: a live event may count a purchase of
    # the same customer meanwhile.
    statement = (
        f"UPDATE {table} SET purchase_count = purchase_count + %s, updated_at = %s,"  # noqa: S608
        " first_purchase_at = CASE WHEN first_purchase_at IS NULL OR first_purchase_at > %s"
        " THEN %s ELSE first_purchase_at END WHERE id = %s"
    )
    adapt = connection.ops.adapt_datetimefield_value
    params = [
        (n, adapt(now), adapt(first), adapt(first), found[key][0])
        for key, (n, first) in bought.items()
        if key in found
    ]
    if params:
        with connection.cursor() as cursor:
            cursor.executemany(statement, params)
    return len(new)


def _event_in(order: Order) -> EventIn:
    return EventIn(
        id=order.order_id,
        type="purchase",
        customer=CustomerIn(external_id=order.customer),
        order=OrderIn(id=order.order_id, amount=order.amount, currency=order.currency),
        referral_code=order.referral_code or None,
        occurred_at=order.occurred_at,
    )


def write_decided(workspace: Workspace, orders: list[Order], now: datetime) -> Counts:
    """Send a batch through the ingestion entry point (attribution, rewards), in chunks of its
    largest batch. Call inside the batch's transaction."""
    counts = Counts()
    fresh = _fresh(workspace.pk, orders, counts)
    for start in range(0, len(fresh), ingest.MAX_BATCH):
        chunk = fresh[start : start + ingest.MAX_BATCH]
        answers = ingest.ingest(
            workspace=workspace, events=[_event_in(o) for o in chunk], now=now, source=DECIDED
        )
        for order, answer in zip(chunk, answers, strict=True):
            if isinstance(answer, DomainError):
                counts.errors.append((order.line, answer.message))
            elif answer.replayed:
                counts.skipped += 1
            else:
                counts.created += 1
    return counts
