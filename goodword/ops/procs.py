"""Run several `goodword` commands as child processes and stop them together."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from goodword.lib import stopping as stopping_on


def run_all(commands: list[list[str]]) -> int:
    """Start each command; when one exits or we are asked to stop, stop them all."""
    # Catch the signals before the first child starts: a SIGTERM while they start must stop
    # them too, not kill this process alone and leave them running (and holding the port).
    stopping = stopping_on.on_signals()
    children = [subprocess.Popen([sys.executable, "-m", "goodword", *cmd]) for cmd in commands]
    names = {child.pid: " ".join(cmd) for child, cmd in zip(children, commands, strict=True)}
    code = 0
    while not stopping.is_set():
        exited = [c for c in children if c.poll() is not None]
        if exited:
            code = exited[0].returncode or 1
            print(f"goodword: `{names[exited[0].pid]}` exited; stopping them all", file=sys.stderr)
            break
        time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return code
