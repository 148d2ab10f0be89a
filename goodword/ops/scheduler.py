"""The scheduler: a loop of sweepers that re-find due or stuck work.

State lives in rows, so a lost task or a killed worker is a delay, never a loss: every few
seconds the loop approves rewards whose hold has ended, announces and expires credit whose
dates have passed, moves buffered clicks into the database, processes the inbound webhooks'
inbox, and rolls up what changed for the dashboard's numbers. Each sweeper is idempotent and
safe to run in several processes at once. Outbound webhooks are sent by a thread beside the
loop (`goodword.webhooks.dispatch.run`), and messages by another
(`goodword.messaging.sending.run`). On SQLite it also refreshes the planner's statistics when
the tables have grown tenfold (`goodword.ops.analyze`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from goodword.analytics import rollups
from goodword.integrations import inbox
from goodword.lib import stopping as stopping_on
from goodword.messaging import sending
from goodword.ops import analyze
from goodword.referrals import clicklog
from goodword.rewards import expiry
from goodword.rewards import services as rewards
from goodword.webhooks import dispatch

logger = logging.getLogger(__name__)


def sweep_once() -> dict[str, int]:
    close_old_connections()
    approved = rewards.approve_due_rewards(now=timezone.now())
    announced = expiry.announce_expiring_credit(now=timezone.now())
    expired = expiry.expire_due_credit(now=timezone.now())
    clicks = clicklog.ingest_clicks()
    received = inbox.process_due(now=timezone.now())  # before the rollups: counted this sweep
    rolled = rollups.refresh()  # after the clicks: they are in the numbers within a sweep
    return {
        "approved": approved,
        "expiry_notices": announced,
        "expired": expired,
        "clicks": clicks,
        "inbox_processed": received,
        "rolled_up": rolled["referrals"] + rolled["rewards"],
    }


def _send_webhooks(stopping: Callable[[], bool]) -> None:
    try:
        dispatch.run(stopping=stopping)
    finally:
        connections.close_all()  # this thread's own (Django's connections are per thread)


def _send_messages(stopping: Callable[[], bool]) -> None:
    try:
        sending.run(stopping=stopping)
    finally:
        connections.close_all()


def run_forever() -> None:
    stopping = stopping_on.on_signals()
    logger.info("scheduler sweeping every %ss", settings.SWEEP_SECONDS)
    # Webhooks are fanned out and sent beside the sweeps, in their own thread: a receiver that
    # hangs holds one of its sending threads, never the clicks, the rewards or the numbers.
    webhooks = threading.Thread(
        target=_send_webhooks, args=(stopping.is_set,), name="webhooks", daemon=True
    )
    webhooks.start()
    # Messages too: a mail server that hangs holds its own thread only.
    messages = threading.Thread(
        target=_send_messages, args=(stopping.is_set,), name="messages", daemon=True
    )
    messages.start()
    while not stopping.is_set():
        started = time.monotonic()
        try:
            done = sweep_once()
            if any(done.values()):
                logger.info("swept: %s", done)
            # Upkeep, not due work: not among the sweep's counts.
            analyze.analyze_if_grown()
        except Exception:
            # A sweep that fails (database restarting, a bad row) must not stop the loop.
            logger.exception("sweep failed; retrying at the next tick")
        stopping.wait(max(0.0, settings.SWEEP_SECONDS - (time.monotonic() - started)))
    webhooks.join(timeout=dispatch.TIMEOUT + 1)  # the sends under way finish and are recorded
    messages.join(timeout=30)
