"""The one way our long-running commands learn that they should stop."""

from __future__ import annotations

import signal
import threading
from types import FrameType


def on_signals() -> threading.Event:
    """An event set by the first SIGTERM or SIGINT: the loops finish what they hold and stop
    (a default handler would kill the process mid-write). Call from the main thread."""
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return stopping
