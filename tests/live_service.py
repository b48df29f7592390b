"""A real HTTP service on 127.0.0.1 for live-check tests: it answers what the
test sets (`answers`: path -> (status, body); `headers`: path -> extra headers)
and remembers what it was sent. It can lie: `trickle` paths send their headers
and then the body one byte every `TRICKLE_GAP` seconds (each read well within
any socket timeout, the whole far past it)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GOOD_PREDICTION = {"predictions": [1], "model_version": "v1.1.0"}
GOOD_METRICS = {"error_rate": 0.01, "latency_p95_ms": 120}
TRICKLE_GAP = 0.2
TRICKLE_BYTES = 100


@dataclass
class Service:
    url: str
    answers: dict[str, tuple[int, str]] = field(default_factory=dict)
    received: list[tuple[str, str, bytes]] = field(default_factory=list)  # method, path, body
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    trickle: set[str] = field(default_factory=set)

    def answer(
        self, path: str, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        self.answers[path] = (status, body if isinstance(body, str) else json.dumps(body))
        self.headers[path] = headers or {}


@contextmanager
def running_service() -> Iterator[Service]:
    """A healthy service (good predictions and metrics) until the block ends."""
    service = Service(url="")

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            service.received.append((self.command, self.path, self.rfile.read(length)))
            status, body = service.answers.get(self.path, (404, '{"detail": "Not Found"}'))
            data = body.encode()
            if self.path in service.trickle:
                self._trickle()
                return
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in service.headers.get(self.path, {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _trickle(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(TRICKLE_BYTES))
            self.end_headers()
            try:
                for _ in range(TRICKLE_BYTES):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(TRICKLE_GAP)
            except OSError:
                pass  # the client gave up: what a deadline is for

        do_GET = do_POST = _reply  # http.server names handlers so

        def log_message(self, format: str, *args: Any) -> None:  # the base class names it so
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    service.answer("/predict", 200, GOOD_PREDICTION)
    service.answer("/metrics.json", 200, GOOD_METRICS)
    # shutdown() waits for serve_forever's next poll: 0.5 s by default, in every test.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
