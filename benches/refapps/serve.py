"""Serve a WSGI app under granian with the settings `goodword web` uses.

`goodword web` builds `granian.server.Server(..., interface=WSGI, workers=W,
blocking_threads=T, log_access=False)`; the references are served by the same call so that
only the application differs. Runs under whichever interpreter starts it (the pinax reference
has its own virtualenv).

    python serve.py TARGET --port P --workers W --threads T
"""

from __future__ import annotations

import argparse

from granian.constants import Interfaces
from granian.server import Server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("target")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    Server(
        args.target,
        address="127.0.0.1",
        port=args.port,
        interface=Interfaces.WSGI,
        workers=args.workers,
        blocking_threads=args.threads,
        log_access=False,
    ).serve()


if __name__ == "__main__":
    main()
