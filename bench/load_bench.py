"""The load gate on this machine: the generator's ceiling, and the gate's own cost.

    python bench/load_bench.py [--runs 3] [--base envctl-test/debian-python:bookworm]
                               [--rates 250,500,1000,2000,3000,4000] [--seconds 3]

(a) **Ceiling**: the generator (a sidecar joined to the server's network
    namespace, as the gate runs it) against the trivial calibration server at
    each rate for `--seconds`: the rate it really sent at, the latency it saw,
    its own send lag, errors, and whether the calibration would accept it
    (>= 95% of the rate, no error, p99 <= 100 ms). The ceiling is the highest
    rate accepted.
(b) **Overhead**: on one fast model server (a standard-library server in the
    base image, no delay), interleaved (bench/_timing.py): the http gate (one
    request), the calibration alone, and the whole load gate at 20/s for 2 s
    (calibration included). What the load gate costs beyond its own duration is
    its wall time less 2 s (the model run) less the calibration's 2 s of load.

Everything it starts is removed at the end (the engine adapter's guarantee).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import call, rounds

from envctl import engine
from envctl.gates import load, runners
from envctl.gates.load import LoadCalibrationError, LoadContext
from envctl.gates.resources import StageResources
from envctl.spec.model import validated
from envctl.spec.project_file import Serve
from envctl.spec.types import HttpGate, LoadGate

SERVER = """
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_GET(self):
        self.answer()
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.answer()
    def answer(self):
        self.send_response(200)
        self.send_header("Content-Length", "17")
        self.end_headers()
        self.wfile.write(b'{"prediction": 1}')
    def log_message(self, *args):
        pass
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 1024
ThreadingHTTPServer(("127.0.0.1", 8080), Handler).serve_forever()
"""


def ceiling(base: str, rates: list[float], seconds: float) -> list[dict[str, object]]:
    files = load.generator_files(None)
    rows: list[dict[str, object]] = []
    for rate in rates:
        gate = validated(LoadGate, {"rate": rate, "duration": seconds,
                                        "slo": {"p95_ms": "<= 1"}})  # fmt: skip
        target = ["python3", f"{load.FOLDER}/loadtarget.py", "8080"]
        with engine.service(base, target, archives=files) as svc:
            output = load.generate(gate, base, svc.id, 8080, "/", files, "python3")
        measured = load.measure(load.parse_output(output.stdout), 200, rate)
        try:
            load.calibration_verdict(gate, load.parse_output(output.stdout), seconds)
            held = True
        except LoadCalibrationError:
            held = False
        rows.append({"rate": rate, **measured.values, "lag_p99_ms": measured.lag_p99_ms,
                     "errors": measured.errors, "held": held})  # fmt: skip
    return rows


def overhead(base: str, runs: int) -> dict[str, list[float]]:
    runners.PYTHON = "python3"  # the http gate's client: the base image has no /opt/venv
    serve = Serve.model_construct(command=["python3", "-c", SERVER], port=8080, health="/")
    ctx = runners.ImageContext(
        image=base,
        workdir="/",
        serve=serve,
        read_file=lambda _: b'{"x": [1]}',
        resources=StageResources("prod", 1.0, 256 * 2**20),
    )
    gate = validated(LoadGate, {"rate": "20/s", "duration": "2s", "request": "r.json",
                                    "slo": {"p95_ms": "<= 10000"}})  # fmt: skip
    files = load.generator_files(b'{"x": [1]}')
    http = HttpGate(path="/predict", request="r.json")

    def load_gate() -> None:
        result = load.run_load(gate, ctx, LoadContext(python="python3"))
        if not result.passed:
            raise SystemExit(f"load gate failed: {result.summary}")

    def http_gate() -> None:
        result = runners.run_http(http, ctx)
        if not result.passed:
            raise SystemExit(f"http gate failed: {result.summary}")

    return rounds(
        {
            "http gate": call(http_gate),
            "calibration alone (2 s)": call(
                lambda: load.calibrate(gate, base, 8080, files, "python3")
            ),
            "load gate (20/s, 2 s)": call(load_gate),
        },
        runs=runs,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--base", default="envctl-test/debian-python:bookworm")
    parser.add_argument("--rates", default="250,500,1000,2000,3000,4000")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs\n")
    rates = [float(r) for r in args.rates.split(",")]

    print(f"(a) generator ceiling against the trivial server, {args.seconds:g} s per rate")
    print("| rate /s | sent /s | p50 ms | p99 ms | max ms | send lag p99 ms | errors | held |")
    print("|---|---|---|---|---|---|---|---|")
    rows = ceiling(args.base, rates, args.seconds)
    for r in rows:
        print(f"| {r['rate']:g} | {r['achieved_rps']:g} | {r['p50_ms']:g} | {r['p99_ms']:g} | "
              f"{r['max_ms']:g} | {r['lag_p99_ms']:g} | {r['errors']} | "
              f"{'yes' if r['held'] else 'no'} |")  # fmt: skip
    # On a shared machine a burst of other work can fail one rate and spare a higher
    # one: the ceiling is the highest rate held with every lower rate held too.
    held = 0.0
    for r in rows:
        if not r["held"]:
            break
        held = float(str(r["rate"]))
    print(f"ceiling: {held:g}/s" if held else "ceiling: below every rate tried")
    print(f"load average now: {os.getloadavg()[0]:.2f} (1 min)")

    print(f"\n(b) the gate's own cost, {args.runs} interleaved rounds (median, min-max)")
    print("| measure | median s | min-max s |")
    print("|---|---|---|")
    samples = overhead(args.base, args.runs)
    for name, seconds in samples.items():
        print(f"| {name} | {statistics.median(seconds):.2f} | "
              f"{min(seconds):.2f}-{max(seconds):.2f} |")  # fmt: skip
    gate = statistics.median(samples["load gate (20/s, 2 s)"])
    calibration = statistics.median(samples["calibration alone (2 s)"])
    http = statistics.median(samples["http gate"])
    print(f"load gate beyond its 2 s of model load: {gate - 2:.2f} s "
          f"(calibration {calibration:.2f} s of it; the http gate takes {http:.2f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
