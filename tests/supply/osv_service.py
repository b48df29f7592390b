"""A small OSV-compatible service on 127.0.0.1 for tests: `POST /v1/query`
(pip-audit), `POST /v1/querybatch` and `GET /v1/vulns/ID` (uv audit), serving OSV
records for PyPI.

The service decides which records affect a package version, as api.osv.dev does
(neither pip-audit nor uv audit re-checks a version against the ranges it gets
back). It decides independently of envctl: names by `packaging`'s PEP 503
normalisation, versions ordered by univers' PypiVersion, events read as the OSV
schema states them (`introduced` opens an interval, `fixed` closes it before
that version, `last_affected` at it, `limit` bounds what came before) plus the
explicit `versions` list. What it returns is the record as stored, withdrawn
ones included: skipping them is the client's business."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from packaging.utils import canonicalize_name
from univers.versions import PypiVersion

Record = Mapping[str, Any]


def _v(text: str) -> PypiVersion:
    return PypiVersion(text)


def in_ranges(version: str, events: Sequence[Mapping[str, str]]) -> bool:
    """Within some [introduced, fixed) / [introduced, last_affected] interval."""
    v = _v(version)
    limits = [_v(e["limit"]) for e in events if "limit" in e]
    if limits and not any(v < limit for limit in limits):
        return False
    start = None
    for event in sorted(
        (e for e in events if "limit" not in e),
        key=lambda e: _v("0") if next(iter(e.values())) == "0" else _v(next(iter(e.values()))),
    ):
        if "introduced" in event:
            start = _v("0") if event["introduced"] == "0" else _v(event["introduced"])
        elif start is not None and "fixed" in event:
            if start <= v < _v(event["fixed"]):
                return True
            start = None
        elif start is not None and "last_affected" in event:
            if start <= v <= _v(event["last_affected"]):
                return True
            start = None
    return start is not None and start <= v


def affects(record: Record, name: str, version: str) -> bool:
    for affected in record.get("affected", []):
        package = affected.get("package", {})
        if package.get("ecosystem") != "PyPI":
            continue
        if canonicalize_name(package.get("name", "")) != canonicalize_name(name):
            continue
        if version in affected.get("versions", []):
            return True
        for r in affected.get("ranges", []):
            if r.get("type") == "ECOSYSTEM" and in_ranges(version, r.get("events", [])):
                return True
    return False


@contextmanager
def serve_osv(records: Sequence[Record]) -> Iterator[str]:
    """Serve `records`; yields the base URL (http://127.0.0.1:PORT)."""
    by_id = {r["id"]: r for r in records}

    def matching(query: Mapping[str, Any]) -> list[Record]:
        name, version = query["package"]["name"], query["version"]
        return [r for r in records if affects(r, name, version)]

    class Handler(http.server.BaseHTTPRequestHandler):
        def _send(self, body: object, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/v1/query":
                found = matching(query)
                self._send({"vulns": found} if found else {})
            elif self.path == "/v1/querybatch":
                results = [
                    {"vulns": [{"id": r["id"], "modified": r["modified"]} for r in matching(q)]}
                    for q in query["queries"]
                ]
                self._send({"results": results})
            else:
                self._send({"message": "not found"}, 404)

        def do_GET(self) -> None:
            found = by_id.get(self.path.removeprefix("/v1/vulns/"))
            self._send(found if found else {"message": "not found"}, 200 if found else 404)

        def log_message(self, *args: object) -> None:
            pass  # quiet

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
