"""One HTTP request to a running service, made the way an unattended check must
make it (`envctl check-live`).

- One deadline for the whole exchange: name resolution, connect, TLS, sending,
  the status line and headers, and the body. A watchdog shuts the socket down
  when it passes, so a service that sends its headers and then one byte a second
  cannot hold the check past its `timeout` (a socket timeout alone applies to
  each read, not to the request).
- Redirects are never followed: a 3xx is the answer, and the URL requested is
  the only one ever contacted.
- Where it may go: the URL may come from a checkout nobody reviewed (a spec's
  `policy.live.url`), and the request is sent from the CI host. Link-local
  addresses (169.254.0.0/16, fe80::/10) and the cloud metadata services (by name
  and by address) are refused always; loopback and the unspecified address only
  when the caller says the URL came from the person running envctl (`--url`).
  The name is resolved once, checked, and that address is the one connected to,
  so a name cannot resolve to an allowed address for the check and another one
  for the connection.

Everything about the answer is returned; whether it is good is the caller's
business. "No answer" (refused, unknown host, timed out) is a `Reply` with
`status=None` and the reason; a refused address is an `InputError`.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from envctl.errors import InputError

MAX_BODY = 1 << 20  # an answer is evidence, not data: read at most 1 MiB of it

# Cloud metadata services: GCP's names, AWS/Azure/GCP/OpenStack 169.254.169.254
# (link-local, refused as such), Alibaba 100.100.100.200, AWS over IPv6 fd00:ec2::254.
METADATA_NAMES = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data",
     "instance-data.ec2.internal"}
)  # fmt: skip
METADATA_NETWORKS = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("100.100.100.200/32"),
    ipaddress.ip_network("fd00:ec2::254/128"),
)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolved = list[tuple[Address, tuple[object, ...]]]  # each address, with its sockaddr


@dataclass(frozen=True)
class Reply:
    url: str
    status: int | None  # None: no answer at all (see `error`)
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)  # names lower-cased
    error: str = ""


def request(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float,
    allow_loopback: bool = False,
) -> Reply:
    """`method url`, answered within `timeout` seconds in all, or a Reply with
    status None saying why not. InputError when the address is one envctl never
    contacts (see the module's doc)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    _refuse_name(host, url)
    deadline = time.monotonic() + timeout
    within = f"no complete answer within {timeout:g} s (connect, headers and body together)"
    resolved = _resolve(host, port, deadline)
    if isinstance(resolved, str):
        return Reply(url, None, error=f"{method} {url}: no answer ({resolved or within})")
    for address, _ in resolved:
        _refuse_address(address, host, url, allow_loopback=allow_loopback)
    watchdog = _Watchdog(deadline)
    try:
        return _exchange(url, method, body, dict(headers or {}), resolved, watchdog)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # The socket's own timeout (set to what is left) may fire a moment before
        # the watchdog: either way, the deadline passed.
        reason = within if watchdog.fired or watchdog.left() <= 0 else _reason(exc)
        return Reply(url, None, error=f"{method} {url}: no answer ({reason})")
    finally:
        watchdog.stop()


def _exchange(
    url: str,
    method: str,
    body: bytes | None,
    headers: dict[str, str],
    resolved: Resolved,
    watchdog: _Watchdog,
) -> Reply:
    parts = urlsplit(url)
    host = parts.hostname or ""
    sock = _connect(resolved, watchdog)
    if parts.scheme == "https":
        sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        watchdog.watch(sock)
    conn = http.client.HTTPConnection(host, parts.port)
    conn.sock = sock  # the checked address, connected; http.client speaks HTTP over it
    try:
        path = parts.path or "/"
        conn.request(method, path, body=body, headers=headers)
        reply = conn.getresponse()
        data = reply.read(MAX_BODY)
        answer = {name.lower(): value for name, value in reply.getheaders()}
    finally:
        conn.close()
    if watchdog.fired:
        raise TimeoutError("the deadline passed")
    return Reply(url, reply.status, data, answer)


def _reason(exc: Exception) -> str:
    """Why there was no answer, in words that hold nothing the service sent: an
    HTTP parsing error's text quotes the service's bytes (BadStatusLine), so only
    its name is given; the system's words for a socket error are kept."""
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the service closed the connection without an answer"
    if isinstance(exc, OSError) and not isinstance(exc, http.client.HTTPException):
        return str(exc) or type(exc).__name__
    return f"not HTTP: {type(exc).__name__}"


def _connect(
    resolved: list[tuple[Address, tuple[object, ...]]], watchdog: _Watchdog
) -> socket.socket:
    error: OSError | None = None
    for address, sockaddr in resolved:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        watchdog.watch(sock)
        try:
            sock.settimeout(max(watchdog.left(), 0.001))
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError("no address to connect to")


def _resolve(host: str, port: int, deadline: float) -> Resolved | str:
    """The addresses `host` resolves to, within the deadline (getaddrinfo itself has
    none: it runs in a daemon thread that is left behind if it hangs); a reason
    text when it does not resolve ("" when the deadline passed)."""
    found: list[list[tuple[object, ...]]] = []
    failed: list[str] = []

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            found.append([info[4] for info in infos])
        except (OSError, UnicodeError) as exc:
            failed.append(str(exc) or type(exc).__name__)

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(max(deadline - time.monotonic(), 0))
    if failed:
        return failed[0]
    if not found:
        return ""
    return [(_address(str(sockaddr[0])), sockaddr) for sockaddr in found[0]]


def _address(text: str) -> Address:
    address = ipaddress.ip_address(text.split("%", 1)[0])  # fe80::1%eth0: the scope is no part
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
    return address


def _refuse_name(host: str, url: str) -> None:
    if host.lower().rstrip(".") in METADATA_NAMES:
        raise InputError(f"{url}: {host} is a cloud metadata service; envctl never contacts it")


def _refuse_address(address: Address, host: str, url: str, *, allow_loopback: bool) -> None:
    named = host if host == str(address) else f"{host} ({address})"
    if address.is_link_local or any(address in net for net in METADATA_NETWORKS):
        raise InputError(
            f"{url}: {named} is a link-local or cloud metadata address; envctl never contacts it"
        )
    if (address.is_loopback or address.is_unspecified) and not allow_loopback:
        raise InputError(
            f"{url}: {named} is this machine (loopback), and the URL comes from the spec; "
            "a live check reaches this machine only with --url on the command line"
        )


class _Watchdog:
    """Shuts the exchange's sockets down when the deadline passes: a blocked read
    then returns at once, whatever the service is doing."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(self.left(), 0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.fired:
                _shut(sock)

    def stop(self) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for a TLS socket: it wakes a blocked read
    # from another thread without touching the TLS state. OSError: not connected
    # yet, or closed already.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
