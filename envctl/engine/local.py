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

import http.client
import json
import socket
from typing import Any
from urllib.parse import quote

from envctl.engine.connection import engine_host

_TIMEOUT = 10.0


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=_TIMEOUT)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(_TIMEOUT)
        sock.connect(self._path)
        self.sock = sock


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
    conn = _UnixConnection(path)
    try:
        conn.request("GET", f"/images/{quote(ref, safe='')}/json")
        response = conn.getresponse()
        body = response.read()
    except OSError:
        return None
    finally:
        conn.close()
    if response.status == 404:
        return 404, None
    if response.status != 200:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return (200, data) if isinstance(data, dict) else None
