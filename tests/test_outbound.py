"""SEC-8: the guarded outbound client refuses private destinations, also after DNS and on the
connection itself (no rebinding window), and otherwise POSTs exactly what it is given.

Nothing leaves the machine: `_loopback_only` refuses, in the test process, any connection to an
address that is not loopback, and made-up names resolve through a fake resolver.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from goodword.lib import outbound
from goodword.lib.outbound import Blocked, OutboundError, check_url
from goodword.settings import _env_networks
from tests.receiver import Receiver, Request

JSON = {"Content-Type": "application/json"}


@pytest.fixture(autouse=True)
def connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address the client connects to; a non-loopback one is refused, never reached."""
    seen: list[str] = []
    real = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        seen.append(address[0])
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise ConnectionRefusedError(111, "Connection refused (test: not loopback)")
        real(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


Resolver = Callable[[int], list[str]]


@pytest.fixture
def resolve_name(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, Resolver], list[str]]:
    """Make `name` resolve to `answer(n)` on its n-th look-up (0-based); returns the log of
    look-ups of that name. Other names go to the real resolver."""

    def install(name: str, answer: Resolver) -> list[str]:
        lookups: list[str] = []
        real = socket.getaddrinfo

        def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
            if host != name:
                return real(host, port, *args, **kwargs)
            addresses = answer(len(lookups))
            lookups.append(host)
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
                if ":" in a
                else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in addresses
            ]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return lookups

    return install


NOT_PUBLIC = [
    ("10.0.0.1", "a private address"),
    ("172.16.5.4", "a private address"),
    ("192.168.1.1", "a private address"),
    ("127.0.0.1", "a loopback address"),
    ("127.8.9.10", "a loopback address"),
    ("169.254.169.254", "the cloud metadata address"),
    ("169.254.10.1", "a link-local address"),
    ("224.0.0.1", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
    ("0.0.0.0", "an unspecified address"),  # noqa: S104 (the address under test)
    ("100.64.0.1", "a shared (carrier NAT) address"),
    ("::1", "a loopback address"),
    ("::", "an unspecified address"),
    ("fc00::1", "a private address"),
    ("fd12:3456::1", "a private address"),
    ("fe80::1", "a link-local address"),
    ("ff02::1", "a multicast address"),
    ("::ffff:127.0.0.1", "a loopback address"),  # IPv4-mapped
    ("::ffff:169.254.169.254", "the cloud metadata address"),
    ("64:ff9b::a00:1", "a private address"),  # NAT64 of 10.0.0.1
    ("2002:a9fe:a9fe::1", "the cloud metadata address"),  # 6to4 of 169.254.169.254
]


@pytest.mark.parametrize(("address", "kind"), NOT_PUBLIC)
def test_literal_address_is_blocked_before_any_connection(
    address: str, kind: str, connects: list[str]
) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(Blocked) as caught:
        outbound.post(f"http://{host}:8080/hook", body=b"{}", headers=JSON)
    compressed = str(ipaddress.ip_address(address))
    expected = f"the host is {kind}" if compressed == address else None
    assert caught.value.reason == (expected or f"the host {address} is {compressed}, {kind}")
    assert caught.value.code == "destination_blocked"
    assert connects == []


@pytest.mark.parametrize(("address", "kind"), NOT_PUBLIC)
def test_name_resolving_to_address_is_blocked(
    address: str, kind: str, connects: list[str], resolve_name: Any
) -> None:
    lookups = resolve_name("hooks.example.test", lambda n: [address])
    assert check_url("https://hooks.example.test/hook") is None  # no DNS in check_url
    with pytest.raises(Blocked) as caught:
        outbound.post("https://hooks.example.test/hook", body=b"{}", headers=JSON)
    assert caught.value.reason == f"hooks.example.test resolves to {kind}"  # not the address
    assert lookups == ["hooks.example.test"]
    assert connects == []


def test_one_private_address_among_public_ones_blocks_the_name(
    connects: list[str], resolve_name: Any
) -> None:
    resolve_name("hooks.example.test", lambda n: ["93.184.216.34", "2606:2800::1", "10.1.2.3"])
    with pytest.raises(Blocked) as caught:
        outbound.post("http://hooks.example.test/", body=b"", headers={})
    assert caught.value.reason == "hooks.example.test resolves to a private address"
    assert connects == []


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "017700000001", "127.1", "0x7f000001"])
def test_odd_ipv4_spellings_are_blocked(host: str, connects: list[str]) -> None:
    reason = f"the host {host} is 127.0.0.1, a loopback address"
    assert check_url(f"http://{host}/") == reason
    with pytest.raises(Blocked) as caught:
        outbound.post(f"http://{host}:8080/", body=b"", headers={})
    assert caught.value.reason == reason
    # The check after resolution sees the address the system resolver makes of it too.
    with pytest.raises(Blocked) as resolved:
        outbound.resolve(host, 8080)
    assert resolved.value.reason == f"{host} resolves to a loopback address"
    assert connects == []


def test_allowed_network_lets_the_receiver_get_the_exact_post(outbound_loopback: None) -> None:
    body = b'{"type":"referral.created","data":{"id":"ref_1"}}'
    with Receiver() as r:
        r.respond(status=202, body=b"thanks", headers={"X-Receipt": "r1"})
        response = outbound.post(
            f"{r.url}hooks/acme?v=1", body=body, headers={**JSON, "Webhook-Id": "msg_1"}
        )
        assert r.requests == [
            Request(
                method="POST",
                path="/hooks/acme?v=1",
                headers={
                    "host": f"127.0.0.1:{r.port}",
                    "accept-encoding": "identity",
                    "user-agent": "Goodword",
                    "content-type": "application/json",
                    "webhook-id": "msg_1",
                    "connection": "close",
                    "content-length": str(len(body)),
                },
                body=body,
            )
        ]
    assert response.status == 202
    assert response.body == b"thanks"
    assert response.headers["x-receipt"] == "r1"
    assert response.headers["content-length"] == "6"
    assert response.elapsed_ms >= 0


def test_without_the_setting_the_receiver_is_refused_and_gets_nothing(connects: list[str]) -> None:
    with Receiver() as r:
        assert check_url(r.url) == "the host is a loopback address"
        with pytest.raises(Blocked) as caught:
            outbound.post(r.url, body=b"{}", headers=JSON)
        assert caught.value.reason == "the host is a loopback address"
        assert r.requests == []
    assert connects == []


def test_rebinding_to_loopback_after_a_public_answer_reaches_nothing(
    connects: list[str], resolve_name: Any
) -> None:
    with Receiver() as r:
        lookups = resolve_name(
            "rebind.example.test", lambda n: ["93.184.216.34", "127.0.0.1"][n:][:1]
        )
        with pytest.raises(OutboundError) as caught:
            outbound.post(f"http://rebind.example.test:{r.port}/", body=b"{}", headers=JSON)
        assert caught.value.reason == "connection refused"  # the public address, refused here
        assert lookups == ["rebind.example.test"]  # resolved once: the connection used that
        assert connects == ["93.184.216.34"]
        assert r.requests == []


def test_rebinding_even_to_an_allowed_receiver_connects_only_to_the_vetted_address(
    outbound_loopback: None, connects: list[str], resolve_name: Any
) -> None:
    with Receiver() as r:
        lookups = resolve_name(
            "rebind.example.test", lambda n: ["93.184.216.34", "127.0.0.1"][n:][:1]
        )
        with pytest.raises(OutboundError):
            outbound.post(f"http://rebind.example.test:{r.port}/", body=b"{}", headers=JSON)
        assert lookups == ["rebind.example.test"]
        assert connects == ["93.184.216.34"]
        assert r.requests == []


def test_the_connection_goes_to_the_address_that_was_checked(
    outbound_loopback: None, connects: list[str], resolve_name: Any
) -> None:
    with Receiver() as first, Receiver(host="127.0.0.2", port=first.port) as second:
        lookups = resolve_name("hooks.example.test", lambda n: ["127.0.0.1", "127.0.0.2"][n:][:1])
        response = outbound.post(f"http://hooks.example.test:{first.port}/a", body=b"1", headers={})
        assert response.status == 200
        assert lookups == ["hooks.example.test"]
        assert connects == ["127.0.0.1"]
        assert [(q.path, q.headers["host"], q.body) for q in first.requests] == [
            ("/a", f"hooks.example.test:{first.port}", b"1")
        ]
        assert second.requests == []


def test_redirect_is_returned_not_followed(outbound_loopback: None) -> None:
    with Receiver() as first, Receiver() as second:
        first.respond(status=302, headers={"Location": f"{second.url}stolen"}, body=b"")
        response = outbound.post(first.url, body=b"{}", headers=JSON)
        assert response.status == 302
        assert response.headers["location"] == f"{second.url}stolen"
        assert response.body == b""
        assert len(first.requests) == 1
        assert second.requests == []


def test_a_receiver_that_sleeps_times_out(outbound_loopback: None) -> None:
    with Receiver() as r:
        r.respond(delay=30)
        started = time.monotonic()
        with pytest.raises(OutboundError) as caught:
            outbound.post(r.url, body=b"{}", headers=JSON, timeout=0.5)
        took = time.monotonic() - started
        assert caught.value.reason == "timed out after 0.5 s"
        assert len(r.requests) == 1
    assert took < 5  # bounded by the timeout, not by the receiver's 30 s


def test_a_receiver_that_trickles_cannot_hold_the_call_past_the_timeout(
    outbound_loopback: None,
) -> None:
    with Receiver() as r:
        r.respond(body=b"x" * 100, trickle=0.1)  # 10 s in all, every byte well within 1 s
        started = time.monotonic()
        with pytest.raises(OutboundError) as caught:
            outbound.post(r.url, body=b"{}", headers=JSON, timeout=1.0)
        took = time.monotonic() - started
        assert caught.value.reason == "timed out after 1 s"
    assert took < 5


def test_a_status_line_trickled_byte_by_byte_cannot_hold_the_call_either(
    outbound_loopback: None,
) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 100:
                if stop.wait(0.1):
                    return
                conn.sendall(bytes([byte]))

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    started = time.monotonic()
    with listener, pytest.raises(OutboundError) as caught:
        outbound.post(url, body=b"", headers={}, timeout=1.0)
    took = time.monotonic() - started
    stop.set()
    thread.join()
    assert caught.value.reason == "timed out after 1 s"
    assert took < 5  # 11 s of trickling, every byte within 0.1 s of the last


def test_the_body_is_read_up_to_max_body(outbound_loopback: None) -> None:
    with Receiver() as r:
        r.respond(status=500, body=b"a" * 5000 + b"b" * 5000)
        response = outbound.post(r.url, body=b"{}", headers=JSON, max_body=4100)
        assert response.status == 500
        assert response.body == b"a" * 4100
        assert response.headers["content-length"] == "10000"


def test_a_closed_port_is_connection_refused(outbound_loopback: None) -> None:
    with Receiver() as r:
        url = r.url
    with pytest.raises(OutboundError) as caught:
        outbound.post(url, body=b"{}", headers=JSON)
    assert caught.value.reason == "connection refused"


def test_headers_the_client_sets_cannot_be_given(outbound_loopback: None) -> None:
    with Receiver() as r:
        for name in ["Host", "content-length", "Transfer-Encoding", "Connection"]:
            with pytest.raises(ValueError, match=f"the {name} header is set by the client"):
                outbound.post(r.url, body=b"{}", headers={name: "x"})
        assert r.requests == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://hooks.example.com:8443/x?y=1", None),
        ("HTTP://Hooks.Example.COM/", None),
        ("http://93.184.216.34:1/", None),
        ("http://[2606:2800:220:1::1]/", None),
        ("ftp://hooks.example.com/", "use http or https"),
        ("javascript:alert(1)", "use http or https"),
        ("hooks.example.com/path", "use http or https"),
        ("https://user:secret@hooks.example.com/", "no user:password in the URL"),
        ("https://user@hooks.example.com/", "no user:password in the URL"),
        ("https://hooks.example.com/a b", "no spaces or control characters in the URL"),
        ("https://hooks.example.com/\r\nX: 1", "no spaces or control characters in the URL"),
        ("https://hooks.example.com/\x00", "no spaces or control characters in the URL"),
        (
            "https://hooks.exämple.com/",
            "only ASCII characters in the URL (write an international domain in punycode)",
        ),
        ("https:///path", "the URL has no host"),
        ("https://hooks.example.com:99999/", "the URL is not valid (check the host and the port)"),
        ("https://hooks.example.com:0/", "the port must be between 1 and 65535"),
        ("http://[::1/", "the URL is not valid (check the host and the port)"),
        ("https://hooks.example.com/" + "a" * 1975, "the URL is longer than 2000 characters"),
        ("http://10.0.0.1/", "the host is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "the host is the cloud metadata address"),
        ("http://[::1]:8080/", "the host is a loopback address"),
        ("http://[fe80::1%25eth0]/", "the host fe80::1%25eth0 is fe80::1, a link-local address"),
    ],
)
def test_check_url(url: str, reason: str | None) -> None:
    assert check_url(url) == reason


def test_check_url_allows_a_literal_address_inside_the_allowed_networks(
    outbound_loopback: None,
) -> None:
    assert check_url("http://127.0.0.1:9000/") is None
    assert check_url("http://[::1]:9000/") is None
    assert check_url("http://10.0.0.1/") == "the host is a private address"


def test_bad_allowed_network_is_a_clear_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OUTBOUND_ALLOW_NETWORKS", " 10.0.0.0/8 , fd00::/8,,")
    assert _env_networks("OUTBOUND_ALLOW_NETWORKS") == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("fd00::/8"),
    )
    monkeypatch.setenv("OUTBOUND_ALLOW_NETWORKS", "10.0.0.0/8,10.0.0.1/8")
    with pytest.raises(ImproperlyConfigured) as caught:
        _env_networks("OUTBOUND_ALLOW_NETWORKS")
    assert str(caught.value) == (
        "OUTBOUND_ALLOW_NETWORKS must be comma-separated networks such as 10.0.0.0/8 or "
        "fd00::/8; '10.0.0.1/8' is not one (10.0.0.1/8 has host bits set)"
    )


# --- https: SNI and the certificate checked against the host name, on the pinned address ---


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA and a certificate for hooks.example.test it signed (openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    d = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    (d / "leaf.ext").write_text(
        "subjectAltName=DNS:hooks.example.test\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    for args in [
        ["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2"]
        + ["-subj", "/CN=Goodword test CA", "-addext", "basicConstraints=critical,CA:TRUE"]
        + ["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req", "-new", *ec, "-keyout", "leaf.key", "-out", "leaf.csr"]
        + ["-subj", "/CN=hooks.example.test"],
        ["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key"]
        + ["-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext"],
    ]:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    return d


@pytest.fixture
def tls_receiver(certificates: Path) -> Iterator[Receiver]:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certificates / "leaf.pem", certificates / "leaf.key")
    with Receiver(tls=server) as r:
        yield r


@pytest.fixture
def trust_test_ca(certificates: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    context = ssl.create_default_context(cafile=str(certificates / "ca.pem"))
    monkeypatch.setattr(outbound, "_tls_context", lambda: context)


def test_https_sends_sni_and_verifies_the_host_name_on_the_pinned_address(
    outbound_loopback: None,
    trust_test_ca: None,
    tls_receiver: Receiver,
    connects: list[str],
    resolve_name: Any,
) -> None:
    r = tls_receiver
    lookups = resolve_name("hooks.example.test", lambda n: ["127.0.0.1"])
    response = outbound.post(f"https://hooks.example.test:{r.port}/tls", body=b"{}", headers=JSON)
    assert response.status == 200
    assert response.body == b"ok"
    assert lookups == ["hooks.example.test"]
    assert connects == ["127.0.0.1"]
    assert r.server_names == ["hooks.example.test"]
    assert [(q.path, q.headers["host"]) for q in r.requests] == [
        ("/tls", f"hooks.example.test:{r.port}")
    ]


def test_https_refuses_a_certificate_for_another_name(
    outbound_loopback: None, trust_test_ca: None, tls_receiver: Receiver, resolve_name: Any
) -> None:
    r = tls_receiver
    resolve_name("other.example.test", lambda n: ["127.0.0.1"])
    with pytest.raises(OutboundError) as caught:
        outbound.post(f"https://other.example.test:{r.port}/", body=b"{}", headers=JSON)
    assert caught.value.reason == (
        "TLS certificate not accepted: Hostname mismatch, certificate is not valid for "
        "'other.example.test'."
    )
    assert r.server_names == ["other.example.test"]
    assert r.requests == []


def test_https_refuses_a_certificate_the_system_does_not_trust(
    outbound_loopback: None, tls_receiver: Receiver, resolve_name: Any
) -> None:
    r = tls_receiver
    resolve_name("hooks.example.test", lambda n: ["127.0.0.1"])
    with pytest.raises(OutboundError) as caught:
        outbound.post(f"https://hooks.example.test:{r.port}/", body=b"{}", headers=JSON)
    assert (
        caught.value.reason
        == "TLS certificate not accepted: unable to get local issuer certificate"
    )
    assert r.requests == []
