"""A stdlib fast path for read-only image queries on a local engine socket.

`envctl build` of an unchanged spec only asks "is this image there, and what
does it say about itself?". Importing the Docker SDK (and requests) for that
costs more than the rest of the command, so these two GETs go straight to the
Engine API over the unix socket. Anything unexpected (another kind of host, an
error status, a socket that does not answer) returns None and the caller uses
the SDK, which also owns the error messages.
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


def image_json(ref: str) -> tuple[int, dict[str, Any] | None] | None:
    """(status, body) of GET /images/REF/json, or None when the fast path does not apply."""
    host = engine_host()
    if not host.startswith("unix://"):
        return None
    conn = _UnixConnection(host.removeprefix("unix://"))
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
