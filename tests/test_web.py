"""envctl.web: where a live check's request may go, and its one deadline.

The attacker writes the URL (a spec's policy.live.url in a checkout) and wants
the CI host to call a link-local or metadata address, or itself. Addresses are
checked before any connection, so these properties never touch the network.
"""

from __future__ import annotations

import contextlib
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envctl import web
from envctl.errors import InputError
from tests.live_service import Service, running_service

LINK_LOCAL_V4 = ipaddress.ip_network("169.254.0.0/16")
LINK_LOCAL_V6 = ipaddress.ip_network("fe80::/10")


def v4_in(net: ipaddress.IPv4Network) -> st.SearchStrategy[ipaddress.IPv4Address]:
    first, last = int(net.network_address), int(net.broadcast_address)
    return st.integers(first, last).map(ipaddress.IPv4Address)


def v6_in(net: ipaddress.IPv6Network) -> st.SearchStrategy[ipaddress.IPv6Address]:
    first, last = int(net.network_address), int(net.broadcast_address)
    return st.integers(first, last).map(ipaddress.IPv6Address)


def url_of(address: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> str:
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{host}:{port}/health"


forbidden = st.one_of(
    v4_in(LINK_LOCAL_V4),  # type: ignore[arg-type]
    v6_in(LINK_LOCAL_V6),  # type: ignore[arg-type]
    v4_in(LINK_LOCAL_V4).map(lambda a: ipaddress.IPv6Address(f"::ffff:{a}")),  # type: ignore[arg-type]
    st.just(ipaddress.IPv4Address("100.100.100.200")),
    st.just(ipaddress.IPv6Address("fd00:ec2::254")),
)


@given(address=forbidden, port=st.integers(1, 65535), loopback=st.booleans())
def test_link_local_and_metadata_addresses_are_never_contacted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int, loopback: bool
) -> None:
    with pytest.raises(InputError, match=r"envctl never contacts it$"):
        web.request(url_of(address, port), timeout=1, allow_loopback=loopback)


@given(address=v4_in(ipaddress.ip_network("127.0.0.0/8")), port=st.integers(1, 65535))  # type: ignore[arg-type]
def test_loopback_from_a_spec_is_never_contacted(address: ipaddress.IPv4Address, port: int) -> None:
    with pytest.raises(InputError, match=r"only with --url on the command line$"):
        web.request(url_of(address, port), timeout=1)


@pytest.fixture
def service() -> Iterator[Service]:
    with running_service() as svc:
        yield svc


def test_a_reply_carries_status_headers_and_body(service: Service) -> None:
    service.answer("/health", 200, {"status": "ok"}, headers={"X-Model-Version": "v1.0.0"})
    reply = web.request(f"{service.url}/health", timeout=5, allow_loopback=True)
    assert (reply.status, reply.body, reply.error) == (200, b'{"status": "ok"}', "")
    assert reply.headers["x-model-version"] == "v1.0.0"


def test_a_silent_server_ends_at_the_deadline() -> None:
    """Accepts the connection and never answers a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/health"
        reply = web.request(url, timeout=1, allow_loopback=True)
    finally:
        thread.join(5)
        for sock in (*accepted, listener):
            sock.close()
    assert reply.status is None
    assert reply.error == (
        f"GET {url}: no answer (no complete answer within 1 s (connect, headers and body together))"
    )


def test_an_unknown_host_is_no_answer() -> None:
    reply = web.request("http://no-such-host.invalid/health", timeout=5)
    assert reply.status is None
    assert reply.error.startswith("GET http://no-such-host.invalid/health: no answer (")


def test_an_answer_that_is_not_http_is_not_repeated() -> None:
    """A server that answers garbage: the reason names the failure, not the bytes
    (a rollback's cause is pushed to the shared remote)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def garbage() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"canary-7d2e secret line\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=garbage, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/health"
        reply = web.request(url, timeout=5, allow_loopback=True)
    finally:
        thread.join(5)
        listener.close()
    assert reply.status is None
    assert reply.error == f"GET {url}: no answer (not HTTP: BadStatusLine)"


@pytest.fixture
def tls_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 with a certificate for localhost that this
    process trusts (SSL_CERT_FILE); /slow trickles its body after the headers."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl not found: it makes the test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server names handlers so
            self.send_response(200)
            self.send_header("Content-Length", "20")
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gave up: the deadline
                for _ in range(20):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    if self.path == "/slow":
                        time.sleep(0.2)

        def log_message(self, format: str, *args: Any) -> None:  # the base class names it so
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_https_is_verified_and_bounded_by_the_same_deadline(tls_service: str) -> None:
    assert web.request(f"{tls_service}/", timeout=5, allow_loopback=True).body == b"x" * 20
    slow = web.request(f"{tls_service}/slow", timeout=1, allow_loopback=True)
    assert slow.status is None
    assert "no complete answer within 1 s" in slow.error
    by_address = tls_service.replace("localhost", "127.0.0.1")  # the certificate names localhost
    refused = web.request(f"{by_address}/", timeout=5, allow_loopback=True)
    assert refused.status is None
    assert "CERTIFICATE_VERIFY_FAILED" in refused.error
