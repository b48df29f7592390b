"""The load gate's generator: an open-loop, constant-arrival-rate HTTP client.

It runs in a sidecar container that shares the service container's network
namespace, from the stage's own image, so it must use the standard library only
(this file is copied into the container and run by the image's Python; it
imports nothing from envctl).

Open loop: request i is due at `i / rate` seconds after the start, whatever
became of the earlier ones, and its latency is measured from that *intended*
time. A stalled service therefore cannot hide its stall by slowing the
generator down (the "coordinated omission" of closed-loop tools): every request
that waited behind the stall carries the wait in its latency.

Output, on stdout: one JSON line (`{"error": ...}` when the service never became
healthy, else the run's header), then one line per request:
`INTENDED_US LATENCY_US LAG_US STATUS` (status 0: no HTTP answer: refused,
reset, timed out). LAG_US is how late the generator itself sent it: the host
judges the generator's own capacity from it (calibration).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

READ_LIMIT = 1 << 20  # the largest header block read; bodies are read by length


def schedule(rate: float, duration: float) -> list[float]:
    """The intended send times, seconds from the start: a constant arrival rate."""
    count = round(rate * duration)
    return [i / rate for i in range(count)]


def request_bytes(method: str, path: str, body: bytes | None) -> bytes:
    """One HTTP/1.1 request, keeping the connection open for the next one."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: keep-alive"]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + (body or b"")


def parse_head(head: bytes) -> tuple[int, dict[str, str], bool]:
    """(status, lower-cased headers, whether the connection stays open) of a response head."""
    lines = head.decode("latin-1").split("\r\n")
    version, status = lines[0].split(" ", 2)[:2]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    keep = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    return int(status), headers, keep


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, keep-alive) of one response, its body read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    status, headers, keep = parse_head(head[:-4])
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        await _read_chunks(reader)
    elif status >= 200 and status not in (204, 304):
        await reader.read()  # delimited by the close
        keep = False
    return status, keep


async def _read_chunks(reader: asyncio.StreamReader) -> None:
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        await reader.readexactly(size + 2)
        if size == 0:
            return


class Client:
    """Keep-alive connections to one port: an idle one is reused, else one is opened
    (up to `limit` at once; beyond that a request waits, and the wait is in its latency)."""

    def __init__(self, port: int, payload: bytes, timeout: float, limit: int) -> None:
        self.port, self.payload, self.timeout = port, payload, timeout
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(limit)

    async def send(self) -> int:
        async with self.slots:
            try:
                return await asyncio.wait_for(self._exchange(), self.timeout)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
                return 0

    async def _exchange(self) -> int:
        if self.idle:
            reader, writer = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=READ_LIMIT)
        try:
            writer.write(self.payload)
            await writer.drain()
            status, keep = await read_response(reader)
        except BaseException:
            writer.close()
            raise
        if keep:
            self.idle.append((reader, writer))
        else:
            writer.close()
        return status


async def run(client: Client, times: list[float], out: list[tuple[int, int, int, int]]) -> float:
    """Send one request at each intended time; returns the start (monotonic seconds)."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    pending = []

    async def one(intended: float) -> None:
        sent = loop.time()
        status = await client.send()
        done = loop.time()
        out.append((_us(intended - start), _us(done - intended), _us(sent - intended), status))

    for offset in times:
        due = start + offset
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(asyncio.ensure_future(one(due)))
    await asyncio.gather(*pending)
    return start


def _us(seconds: float) -> int:
    return max(0, round(seconds * 1_000_000))


def wait_healthy(port: int, health: str, deadline: float) -> str:
    """'' once `health` answers 200, else why not by `deadline`."""
    import urllib.request

    last = "no answer"
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{health}", timeout=5) as reply:
                if reply.status == 200:
                    return ""
                last = f"health answered {reply.status}"
        except Exception as exc:  # any failure means not yet healthy
            last = f"health: {exc}"
        if time.time() > deadline:
            return f"server not healthy in time ({last})"
        time.sleep(0.25)


def main(argv: list[str]) -> int:
    config = json.loads(argv[1])
    error = wait_healthy(config["port"], config["health"], time.time() + config["ready_timeout"])
    if error:
        print(json.dumps({"error": error}), flush=True)
        return 0
    body = None
    if config.get("body_file"):
        body = Path(config["body_file"]).read_bytes()
    payload = request_bytes(config["method"], config["path"], body)
    times = schedule(config["rate"], config["duration"])
    out: list[tuple[int, int, int, int]] = []

    async def go() -> float:
        client = Client(config["port"], payload, config["timeout"], config["connections"])
        return await run(client, times, out)

    began = time.time()
    asyncio.run(go())
    header = {"rate": config["rate"], "scheduled": len(times), "wall_s": time.time() - began}
    lines = [json.dumps(header)] + [" ".join(map(str, row)) for row in sorted(out)]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
