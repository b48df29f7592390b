"""A stdlib fast path for read-only image queries on a local engine socket.

`envctl build` of an unchanged spec only asks "is this image there, and what
does it say about itself?". Importing the Docker SDK (and requests) for that
costs more than the rest of the command, so these two GETs go straight to the
Engine API over the unix socket. Anything unexpected (another kind of host, an
error status, a socket that does not answer) returns None and the caller uses
the SDK, which also owns the error messages.

The socket is the one DOCKER_HOST names, never /var/run/docker.sock when
DOCKER_HOST is set: a tcp://, ssh:// or npipe:// engine is the SDK's alone
(TLS, ssh, its own errors), so a remote engine is never confused with a local one.
"""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import quote

from envctl.engine.connection import engine_host

_TIMEOUT = 10.0
_MOST = 64 * 2**20  # an image's inspect document is kilobytes; more is not an answer


def _get(path: str, target: str) -> tuple[int, bytes] | None:
    """(status, body) of an HTTP/1.0 GET over the unix socket `path`. HTTP/1.0: the
    engine answers without chunked encoding and closes the connection, so the body
    is all that follows the headers (http.client would import ssl and email for this)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(_TIMEOUT)
        sock.connect(path)
        sock.sendall(f"GET {target} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode("ascii"))
        chunks: list[bytes] = []
        size = 0
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            size += len(chunk)
            if size > _MOST:
                return None
    head, sep, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split(b" ")
    if (
        not sep
        or len(status) < 2
        or not status[0].startswith(b"HTTP/1.")
        or not status[1].isdigit()
    ):
        return None
    return int(status[1]), body


def socket_path(host: str | None = None) -> str | None:
    """The unix socket the fast path would use for `host` (default: DOCKER_HOST, else
    the local engine), or None when only the SDK may talk to that engine."""
    host = engine_host() if host is None else host
    for scheme in ("unix://", "http+unix://"):
        path = host.removeprefix(scheme)
        # Only an absolute path: the SDK reads `unix://` and `unix://relative` its own way.
        if path != host and path.startswith("/"):
            return path
    return None


def image_json(ref: str) -> tuple[int, dict[str, Any] | None] | None:
    """(status, body) of GET /images/REF/json, or None when the fast path does not apply."""
    path = socket_path()
    if path is None:
        return None
    try:
        answer = _get(path, f"/images/{quote(ref, safe='')}/json")
    except OSError:
        return None
    if answer is None:
        return None
    status, body = answer
    if status == 404:
        return 404, None
    if status != 200:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return (200, data) if isinstance(data, dict) else None
