"""A real HTTP receiver on loopback that records what it is sent and answers as told.

    with Receiver() as r:                      # listens on 127.0.0.1, a free port
        r.respond(status=500, delay=0.5, headers={"Retry-After": "3"}, body=b"busy")
        outbound.post(r.url + "hook", ...)     # r.url is "http://127.0.0.1:<port>/"
        r.requests                             # [Request(method, path, headers, body), ...]
        r.cut_short                            # requests whose sender went away mid-body

A redirect is `r.respond(status=302, headers={"Location": other.url})`. `trickle` sends the body
one byte at a time, that many seconds apart. `tls` takes a server `ssl.SSLContext` (the URL
then starts with https) and `r.server_names` records the SNI names the clients sent. Requests
are recorded when they arrive, before the delay; the answer applies to every later request.
Leaving the `with` block stops the server and cuts short any delay still running.

A request is recorded in `requests` only when it arrived whole: a POST whose body ends before
its Content-Length (or with no Content-Length: http.client always sends one, so its head was
cut) is a sender that went away mid-request, killed or timed out. No receiver takes that for a
delivery, and no answer can reach the sender: it goes to `cut_short`, unanswered.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    trickle: float = 0.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (a timeout test) is expected, not news


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self._record()

    def do_GET(self) -> None:
        self._record()

    def _record(self) -> None:
        receiver = self.server.receiver
        declared = self.headers.get("Content-Length")
        length = int(declared or 0)
        body = self.rfile.read(length)  # fewer bytes only when the sender closed first
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request(self.command, self.path, headers, body)
        if len(body) < length or (self.command == "POST" and declared is None):
            with receiver.lock:
                receiver.cut_short.append(request)
            self.close_connection = True
            return
        with receiver.lock:
            receiver.requests.append(request)
            answer = receiver.answer if receiver.reply is None else receiver.reply(request)
        if answer.delay and receiver.stopping.wait(answer.delay):
            return
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if not answer.trickle:
            self.wfile.write(answer.body)
            return
        for i in range(len(answer.body)):
            if receiver.stopping.wait(answer.trickle):
                return
            self.wfile.write(answer.body[i : i + 1])
            self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Receiver:
    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.requests: list[Request] = []
        self.cut_short: list[Request] = []
        self.server_names: list[str | None] = []
        self.answer = Answer()
        # Answers that depend on the request (a provider's API echoing its recipient): set
        # `reply` to a function of the Request that returns an Answer.
        self.reply: Callable[[Request], Answer] | None = None
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._server = _Server((host, port), _Handler)
        self._server.receiver = self
        if tls is not None:
            tls.sni_callback = self._note_server_name
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.host = host
        self.port = int(self._server.server_address[1])
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}/"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def respond(
        self,
        *,
        status: int = 200,
        body: bytes = b"ok",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        trickle: float = 0.0,
    ) -> None:
        """Answer every later request so (after `delay` seconds)."""
        with self.lock:
            self.answer = Answer(status, body, dict(headers or {}), delay, trickle)

    def _note_server_name(self, sock: Any, name: str | None, context: Any) -> None:
        with self.lock:
            self.server_names.append(name)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
