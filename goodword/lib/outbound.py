"""The one guarded HTTP client for every outbound call (webhooks now; Slack, SMS later).

A destination comes from a merchant, so it must never reach into the machine or the network
Goodword runs in (SSRF). The guard:

- refuses a URL that is not plain http(s) to a host (`check_url`, no DNS);
- resolves the host once and refuses it when ANY of its addresses is not public (private,
  loopback, link-local incl. the cloud metadata address, multicast, reserved, unspecified,
  shared 100.64/10, and IPv6 forms that embed one of those: mapped, compatible, NAT64, 6to4),
  unless the address is inside `settings.OUTBOUND_ALLOW_NETWORKS`;
- connects to the address it vetted, never resolving again, so a name that answers a public
  address to the check and a private one to the connection (DNS rebinding) gets nowhere; for
  https the certificate is still verified against the host name, which is also sent as SNI;
- bounds the whole call (connect, TLS, send, read) by one deadline, reads at most `max_body`
  bytes and never follows a redirect.

Why http.client and our own socket rather than urllib3: the guard must own the socket. Pinning
means connecting to an address we chose, and the deadline must be re-armed before every read and
write so that a receiver trickling one byte at a time cannot hold a worker past `timeout` (urllib3's
timeouts, like the socket's, bound each operation, not the call). http.client takes a connected
socket as it is, and ssl's `sslsocket_class` lets the TLS socket keep the same deadline.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2000
USER_AGENT = "Goodword"
# Set by the client from the URL and the body; a caller's own would contradict them.
_RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_METADATA = ipaddress.IPv4Address("169.254.169.254")


class Blocked(Exception):
    """The destination is not allowed. `reason` says why, in plain words."""

    code = "destination_blocked"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OutboundError(Exception):
    """No response: timed out, refused, TLS failed, not HTTP... `reason` is short and plain."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes  # at most max_body bytes (the rest is not read)
    elapsed_ms: int


def check_url(url: str) -> str | None:
    """Say why this URL cannot be an outbound destination, without DNS; None when it can.

    Literal IP hosts (also the old spellings resolvers accept: `2130706433`, `0x7f.1`) are
    checked here; a name is checked by `post` against every address it resolves to.
    """
    reason, parts = _parse(url)
    if parts is None:
        return reason
    host = parts.hostname or ""
    literal = _literal_ip(host)
    if literal is None:
        return None
    kind = _refusal(literal)
    if kind is None:
        return None
    if str(literal) == host:
        return f"the host is {kind}"
    return f"the host {host} is {literal}, {kind}"


def resolve(host: str, port: int) -> list[str]:
    """Resolve `host` once and return its addresses, every one allowed; raise Blocked if any
    is not (a name with one private address among public ones is refused: which one a
    connection gets is not ours to choose). Raise OutboundError if it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise OutboundError(f"could not resolve {host}") from None
    addresses: list[str] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        kind = _refusal(ip)
        if kind is not None:
            # Not the address itself: the reason is shown to the merchant, who must not learn
            # the addresses of names inside our network.
            raise Blocked(f"{host} resolves to {kind}")
        if str(ip) not in addresses:
            addresses.append(str(ip))
    if not addresses:
        raise OutboundError(f"could not resolve {host}")
    return addresses


def post(
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float = 10.0,
    max_body: int = 4096,
) -> Response:
    """POST `body` to `url`; raise Blocked or OutboundError. Never follow a redirect (a 3xx is
    returned as a Response). `timeout` bounds the whole call, DNS aside (the system resolver's
    own timeout applies there). Raise ValueError for a header the client sets itself (Host,
    Content-Length, Transfer-Encoding, Connection) or one http.client finds malformed."""
    reason = check_url(url)
    if reason is not None:
        raise Blocked(reason)
    parts = urlsplit(url)
    for name in headers:
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"the {name} header is set by the client")
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    started = time.monotonic()
    deadline = started + timeout
    addresses = resolve(host, port)
    try:
        sock = _connect(addresses, port, deadline)
        if parts.scheme == "https":
            sock = _start_tls(sock, host, deadline)
    except (OSError, ssl.SSLError) as exc:
        raise OutboundError(_explain(exc, timeout)) from None
    conn = http.client.HTTPConnection(host, port)
    conn.default_port = 443 if parts.scheme == "https" else 80  # Host: without a default port
    conn.sock = sock  # connected and vetted: http.client will not connect (or resolve) again
    try:
        status, response_headers, data = _exchange(conn, parts, body, headers, max_body)
    except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
        raise OutboundError(_explain(exc, timeout)) from None
    finally:
        conn.close()
    elapsed_ms = int((time.monotonic() - started) * 1000)
    return Response(status=status, headers=response_headers, body=data, elapsed_ms=elapsed_ms)


def _parse(url: str) -> tuple[str, SplitResult | None]:
    """The URL's parts, or why it is refused."""
    if len(url) > MAX_URL_LENGTH:
        return f"the URL is longer than {MAX_URL_LENGTH} characters", None
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "no spaces or control characters in the URL", None
    if not url.isascii():
        return "only ASCII characters in the URL (write an international domain in punycode)", None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "the URL is not valid (check the host and the port)", None
    if parts.scheme not in ("http", "https"):
        return "use http or https", None
    if "@" in parts.netloc:
        return "no user:password in the URL", None
    if not parts.hostname:
        return "the URL has no host", None
    if port == 0:
        return "the port must be between 1 and 65535", None
    return "", parts


def _literal_ip(host: str) -> IPAddress | None:
    """The address a literal host stands for, also in the spellings inet_aton accepts."""
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pass
    try:
        # No DNS: inet_aton only parses (`127.1`, `2130706433`, `0x7f.1`, `017700000001`).
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _allowed_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(getattr(settings, "OUTBOUND_ALLOW_NETWORKS", ()))


def _refusal(ip: IPAddress) -> str | None:
    """Why this address may not be reached ("a private address"); None when it may."""
    if any(ip.version == net.version and ip in net for net in _allowed_networks()):
        return None
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        # What the IPv6 form reaches is the IPv4 address inside it: judge that one.
        return _refusal(embedded)
    return _kind(ip)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if int(ip) >> 32 == 0 and int(ip) > 1:  # IPv4-compatible ::a.b.c.d (deprecated)
        return ipaddress.IPv4Address(int(ip))
    return None


def _kind(ip: IPAddress) -> str | None:
    """Name the kind of a non-public address; None for a public one."""
    if ip == _METADATA:
        return "the cloud metadata address"
    checks = [
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED, "a shared (carrier NAT) address"),
        (ip.is_reserved, "a reserved address"),  # before private: 240/4 is both
        (ip.is_private, "a private address"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "a private address"),
        (not ip.is_global, "not a public address"),
    ]
    return next((kind for hit, kind in checks if hit), None)


class _Deadline:
    """Every send and receive of a socket gets only the time left until `deadline` (mixed into
    the plain and the TLS socket: http.client reads through recv_into, writes through sendall)."""

    deadline = 0.0

    def _arm(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        self.settimeout(left)  # type: ignore[attr-defined]

    # Arguments passed on as given: the two bases' defaults differ (ssl's nbytes is None).
    def recv_into(self, buffer: WriteableBuffer, *args: Any) -> int:
        self._arm()
        return int(super().recv_into(buffer, *args))  # type: ignore[misc]

    def sendall(self, data: ReadableBuffer, *args: Any) -> None:
        self._arm()
        super().sendall(data, *args)  # type: ignore[misc]


class _DeadlineSocket(_Deadline, socket.socket):
    pass


class _DeadlineSSLSocket(_Deadline, ssl.SSLSocket):
    pass


def _connect(addresses: list[str], port: int, deadline: float) -> socket.socket:
    """Connect to the first vetted address that answers; nothing else is tried."""
    error: OSError = OSError("no address")
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = _DeadlineSocket(family, socket.SOCK_STREAM)
        sock.deadline = deadline
        try:
            sock._arm()
            sock.connect((address, port))
        except OSError as exc:
            sock.close()
            error = exc
            if isinstance(exc, TimeoutError):
                break
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise error


@cache
def _tls_context() -> ssl.SSLContext:
    """Verify certificates against the system's CAs and the host name (tests trust their own)."""
    return ssl.create_default_context()


def _start_tls(sock: socket.socket, host: str, deadline: float) -> socket.socket:
    context = _tls_context()
    context.sslsocket_class = _DeadlineSSLSocket
    try:
        tls = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    except BaseException:
        sock.close()
        raise
    tls = cast(_DeadlineSSLSocket, tls)  # the sslsocket_class set above
    tls.deadline = deadline
    try:
        tls._arm()
        tls.do_handshake()  # one deadline for the whole handshake (CPython's ssl module)
    except BaseException:
        tls.close()
        raise
    return tls


def _exchange(
    conn: http.client.HTTPConnection,
    parts: SplitResult,
    body: bytes,
    headers: Mapping[str, str],
    max_body: int,
) -> tuple[int, dict[str, str], bytes]:
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    sent = {"User-Agent": USER_AGENT, **headers, "Connection": "close"}
    conn.request("POST", path, body=body, headers=sent)
    response = conn.getresponse()
    received: dict[str, str] = {}
    for name, value in response.getheaders():
        key = name.lower()
        received[key] = f"{received[key]}, {value}" if key in received else value
    data = b""
    while len(data) < max_body:
        chunk = response.read(max_body - len(data))
        if not chunk:
            break
        data += chunk
    return response.status, received, data


def _explain(exc: BaseException, timeout: float) -> str:
    """A short reason in plain words for a failed call."""
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, http.client.RemoteDisconnected):  # before its base, ConnectionResetError
        return "the receiver closed the connection without answering"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "connection reset by the receiver"
    if isinstance(exc, http.client.HTTPException):
        if "got more than" in str(exc):
            return "the response headers are too long"
        return "the answer is not valid HTTP"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
