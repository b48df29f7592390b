"""The generator's schedule and HTTP handling, and a real run against the
trivial server on 127.0.0.1 (both are standard-library scripts run as processes)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envctl.gates import loadgen

HERE = Path(loadgen.__file__).parent


@given(
    rate=st.floats(min_value=0.5, max_value=5000, allow_nan=False),
    duration=st.floats(min_value=0.1, max_value=60, allow_nan=False),
)
def test_the_schedule_is_a_constant_arrival_rate(rate: float, duration: float) -> None:
    times = loadgen.schedule(rate, duration)

    assert len(times) == round(rate * duration)
    assert all(t == pytest.approx(i / rate) for i, t in enumerate(times))
    assert all(t < duration + 1 / rate for t in times)


def test_a_request_keeps_the_connection_and_says_its_body_s_length() -> None:
    raw = loadgen.request_bytes("POST", "/predict", b'{"x": 1}')

    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"POST /predict HTTP/1.1"
    assert b"Connection: keep-alive" in head
    assert b"Content-Length: 8" in head
    assert body == b'{"x": 1}'


@pytest.mark.parametrize(
    ("head", "status", "keep"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2", 200, True),
        (b"HTTP/1.1 503 Busy\r\nConnection: close", 503, False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2", 200, False),
        (b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive", 200, True),
    ],
)
def test_a_response_head_says_its_status_and_whether_the_connection_stays(
    head: bytes, status: int, keep: bool
) -> None:
    got_status, _, got_keep = loadgen.parse_head(head)

    assert (got_status, got_keep) == (status, keep)


@pytest.mark.parametrize(
    ("raw", "status", "keep", "left"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloNEXT", 200, True, b"NEXT"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nNEXT",
            200,
            True,
            b"NEXT",
        ),
        (b"HTTP/1.1 204 No Content\r\n\r\nNEXT", 204, True, b"NEXT"),
        (b"HTTP/1.1 200 OK\r\n\r\nto the close", 200, False, b""),
    ],
)
def test_a_response_body_is_read_to_its_end_and_no_further(
    raw: bytes, status: int, keep: bool, left: bytes
) -> None:
    async def read() -> tuple[int, bool, bytes]:
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        reader.feed_eof()
        got = await loadgen.read_response(reader)
        return got[0], got[1], await reader.read()

    assert asyncio.run(read()) == (status, keep, left)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def trivial_server() -> Iterator[int]:
    port = _free_port()
    server = subprocess.Popen([sys.executable, str(HERE / "loadtarget.py"), str(port)])
    try:
        yield port
    finally:
        server.kill()
        server.wait()


def _generate(port: int, **config: object) -> list[str]:
    settings = {
        "port": port,
        "health": "/",
        "ready_timeout": 20,
        "method": "POST",
        "path": "/predict",
        "rate": 50,
        "duration": 1,
        "timeout": 10,
        "connections": 8,
        **config,
    }
    done = subprocess.run(
        [sys.executable, str(HERE / "loadgen.py"), json.dumps(settings)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.splitlines()


def test_the_generator_sends_every_scheduled_request_and_reports_each(
    trivial_server: int,
) -> None:
    lines = _generate(trivial_server, rate=50, duration=1)

    header = json.loads(lines[0])
    rows = [line.split() for line in lines[1:]]
    assert header["scheduled"] == 50
    assert len(rows) == 50
    assert {row[3] for row in rows} == {"200"}
    intended = sorted(int(row[0]) for row in rows)
    assert intended == [round(i / 50 * 1_000_000) for i in range(50)]


def test_a_server_that_never_becomes_healthy_is_said_on_the_first_line() -> None:
    lines = _generate(_free_port(), ready_timeout=0.5)

    assert lines[0].startswith('{"error": "server not healthy in time')
    assert len(lines) == 1


SLOW_SERVER = """
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.answer()
    def do_POST(self):
        time.sleep(0.2)
        self.answer()
    def answer(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def test_a_stalled_server_cannot_hide_its_stall_from_the_latencies() -> None:
    """One connection, a server taking 0.2 s a request, 20 requests due in 1 s: the
    server cannot answer the last before 4 s, though it was due at 0.95 s. Measured
    from the intended time its latency is at least 3.05 s; a closed-loop client
    (latency from when it got to send) would report about 0.2 s for every request."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", SLOW_SERVER, str(port)])
    try:
        lines = _generate(port, rate=20, duration=1, connections=1)
    finally:
        server.kill()
        server.wait()

    rows = sorted((int(row[0]), int(row[1])) for row in (line.split() for line in lines[1:]))
    assert len(rows) == 20
    intended, latency = rows[-1]
    assert intended == 950_000
    assert latency >= 3_050_000
