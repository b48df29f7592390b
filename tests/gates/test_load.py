"""The load gate: its verdicts on a generator's output (pure), and real runs in
Docker: a slow model refused by its SLO, a fast one passing, a generator that
cannot hold its bound refusing to judge, a champion's load compared with, and
the model's requires: checked against the measured peaks."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from envctl.errors import InputError
from envctl.gates import load, runners
from envctl.gates.checks import Baseline
from envctl.gates.load import LoadCalibrationError, LoadContext, Sample
from envctl.gates.resources import StageResources
from envctl.spec.model import validated
from envctl.spec.project_file import Requires, Serve
from envctl.spec.types import LoadGate


def _gate(**fields: Any) -> LoadGate:
    return validated(LoadGate, {"rate": "20/s", "duration": "2s", **fields})


def _samples(latencies_ms: Sequence[float], rate: float = 20, status: int = 200) -> list[Sample]:
    step = 1_000_000 / rate
    return [
        Sample(round(i * step), round(ms * 1000), 0, status) for i, ms in enumerate(latencies_ms)
    ]


def _output(samples: Sequence[Sample]) -> str:
    rows = [f"{s.intended_us} {s.latency_us} {s.lag_us} {s.status}" for s in samples]
    return "\n".join([json.dumps({"rate": 20, "scheduled": len(samples)}), *rows]) + "\n"


# ---- measuring (pure) ------------------------------------------------------------


def test_percentiles_come_from_the_histogram_within_its_precision() -> None:
    samples = _samples([float(ms) for ms in range(1, 1001)], rate=1000)

    measured = load.measure(samples, 200, 1000)

    for p in (50, 90, 95, 99):
        assert measured.values[f"p{p}_ms"] == pytest.approx(p * 10, rel=1e-3)
    assert measured.values["max_ms"] == pytest.approx(1000, rel=1e-3)
    assert measured.values["mean_ms"] == pytest.approx(500.5, rel=1e-3)
    assert (measured.requests, measured.errors, measured.values["error_rate"]) == (1000, 0, 0.0)


def test_answers_other_than_the_expected_status_and_no_answers_are_errors() -> None:
    samples = [*_samples([5] * 8), *_samples([5], status=503), *_samples([10_000], status=0)]

    measured = load.measure(samples, 200, 20)

    assert measured.errors == 2
    assert measured.values["error_rate"] == pytest.approx(0.2)
    assert measured.statuses == {"0": 1, "200": 8, "503": 1}


def test_the_achieved_rate_is_read_from_when_requests_were_really_sent() -> None:
    on_time = _samples([1] * 21, rate=20)
    late = [Sample(s.intended_us, s.latency_us, s.intended_us, s.status) for s in on_time]

    assert load.achieved_rate(on_time, 20) == pytest.approx(20)
    assert load.achieved_rate(late, 20) == pytest.approx(10)


def test_latency_counts_from_the_intended_time_so_a_stall_shows() -> None:
    """The generator reports latency from each request's due time: a request that
    waited 900 ms behind a stalled one carries those 900 ms."""
    stalled = [Sample(0, 1_000_000, 0, 200), *(Sample(i * 50_000, 1_000_000 - i * 50_000 + 2_000,
               0, 200) for i in range(1, 20))]  # fmt: skip

    measured = load.measure(stalled, 200, 20)

    assert measured.values["p50_ms"] > 400


# ---- verdicts (pure) -------------------------------------------------------------


def test_a_slow_answer_fails_its_slo_with_the_percentiles_shown() -> None:
    gate = _gate(slo={"p95_ms": "<= 100", "error_rate": "<= 0.1%"})

    result = load.load_result(gate, _output(_samples([200] * 40)), None)

    assert result.status == "failed"
    assert result.summary.startswith("p95_ms 200.063 is not <= 100 (p50 200.063 ms, p95 200.063")
    assert result.evidence["slo"][0] == {
        "metric": "p95_ms", "value": 200.063, "rule": "<= 100", "passed": False,
    }  # fmt: skip
    assert result.evidence["measured"]["p99_ms"] == 200.063


def test_a_fast_answer_passes_showing_what_was_measured() -> None:
    gate = _gate(slo={"p95_ms": ["<= 100", "<= baseline * 1.2"], "error_rate": "<= 0.1%"})

    result = load.load_result(gate, _output(_samples([5] * 40)), None)

    assert result.status == "passed", result.summary
    assert result.summary == "p50 5.003 ms, p95 5.003 ms, p99 5.003 ms, errors 0/40, 20/s"
    assert result.evidence["slo"][1]["note"] == (
        "no recorded p95_ms of a champion: <= baseline * 1.2 passes"
    )


@pytest.mark.parametrize(("champion_p95", "status"), [(4.0, "passed"), (3.0, "failed")])
def test_a_relative_rule_compares_with_the_champion_s_recorded_load(
    champion_p95: float, status: str
) -> None:
    gate = _gate(slo={"p95_ms": "<= baseline * 1.3"})
    champion = Baseline({"p95_ms": champion_p95}, "v1.0.0", "record")

    result = load.load_result(gate, _output(_samples([5] * 40)), champion)

    assert result.status == status
    assert result.evidence["slo"][0]["baseline"] == champion_p95
    assert result.evidence["baseline_version"] == "v1.0.0"
    if status == "failed":
        assert result.summary.startswith("p95_ms 5.003 is not <= 3.9 (<= baseline * 1.3, v1.0.0)")


def test_a_passed_load_is_judged_again_against_a_champion_that_arrived_meanwhile() -> None:
    gate = _gate(slo={"p95_ms": ["<= 100", "<= baseline * 1.3"]})
    first = load.load_result(gate, _output(_samples([5] * 40)), None)
    first = replace(first, evidence={**first.evidence, "calibration": {"rate": 20}}, seconds=6.5)

    kept = load.rejudged(gate, first, Baseline({"p95_ms": 4.0}, "v1.1.0", "record"))
    refused = load.rejudged(gate, first, Baseline({"p95_ms": 3.0}, "v1.1.0", "record"))

    assert kept.status == "passed"
    assert kept.evidence["slo"][1]["bound"] == pytest.approx(5.2)
    assert kept.evidence["baseline_version"] == "v1.1.0"
    assert kept.evidence["calibration"] == {"rate": 20}
    assert kept.seconds == 6.5
    assert refused.status == "failed"
    assert refused.summary.startswith("p95_ms 5.003 is not <= 3.9 (<= baseline * 1.3, v1.1.0)")
    assert refused.evidence["measured"] == first.evidence["measured"]


def test_a_server_that_never_answered_fails_the_gate_saying_why() -> None:
    output = json.dumps({"error": "server not healthy in time (health: refused)"})

    result = load.load_result(_gate(slo={"p95_ms": "<= 100"}), output, None)

    assert result.status == "failed"
    assert result.summary == "server not healthy in time (health: refused)"


def test_the_champion_s_load_is_read_from_its_record_for_the_same_path() -> None:
    record = {
        "gates": [
            {"kind": "http", "evidence": {"path": "/predict"}},
            {"kind": "load", "evidence": {"path": "/other", "measured": {"p95_ms": 1.0}}},
            {
                "kind": "load",
                "evidence": {
                    "path": "/predict",
                    "measured": {"p95_ms": 12.5, "error_rate": 0, "flag": True},
                },
            },
        ]
    }

    assert load.recorded_load(record, "/predict") == {"p95_ms": 12.5, "error_rate": 0.0}
    assert load.recorded_load(None, "/predict") == {}


# ---- calibration (pure) ----------------------------------------------------------


def test_a_missing_request_file_names_where_it_was_looked_for_and_what_to_do() -> None:
    # A new user writes the path from the project's root; gate paths are the model's.
    serve = Serve(command=["python3", "server.py"], port=8080, health="/health")
    ctx = runners.ImageContext(image="unused", workdir="/opt/model", serve=serve,
                               read_file=lambda _: None, model_dir="model")  # fmt: skip

    with pytest.raises(InputError) as raised:
        load.run_load(_gate(request="samples/request.json", slo=SLO), ctx, LoadContext())

    assert str(raised.value) == (
        "load gate: request file model/samples/request.json does not exist at that version's "
        "commit (the gate's request: samples/request.json is relative to the model's folder, "
        "models.<name>.path): commit it there or correct request: in the stage's spec"
    )


def test_a_generator_that_held_the_rate_is_calibrated() -> None:
    evidence = load.calibration_verdict(_gate(slo={"p95_ms": "<= 1"}), _samples([1] * 40), 2.0)

    assert evidence["achieved_rps"] == pytest.approx(20)
    assert evidence["p99_ms"] == pytest.approx(1, rel=1e-2)


@pytest.mark.parametrize(
    ("samples", "why"),
    [
        (
            [Sample(s.intended_us, 1000, s.intended_us, 200) for s in _samples([1] * 40)],
            "reached 10.0/s of 20/s",
        ),
        (_samples([1] * 39) + _samples([1], status=0), "1 of 40 requests failed"),
        (_samples([150] * 40), "its own p99 was 150.0 ms (bound 100)"),
    ],
)
def test_a_generator_that_could_not_hold_the_rate_cannot_check(
    samples: list[Sample], why: str
) -> None:
    with pytest.raises(LoadCalibrationError) as caught:
        load.calibration_verdict(_gate(slo={"p95_ms": "<= 1"}), samples, 2.0)

    assert why in str(caught.value)
    assert str(caught.value).startswith("load gate: the generator cannot hold 20/s on this engine")
    assert caught.value.exit_code == 4


# ---- real runs -------------------------------------------------------------------

# A model server that answers POST after DELAY seconds (keep-alive HTTP/1.1).
_SERVER = """
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
DELAY = float(sys.argv[1])
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_GET(self):
        self.answer()
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(DELAY)
        self.answer()
    def answer(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args):
        pass
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 1024
ThreadingHTTPServer(("127.0.0.1", 8080), Handler).serve_forever()
"""


def _ctx(image: str, delay: float) -> runners.ImageContext:
    # model_construct: a spec's serve command is one line; this test server is not.
    serve = Serve.model_construct(command=["python3", "-c", _SERVER, str(delay)], port=8080,
                                  health="/health")  # fmt: skip
    return runners.ImageContext(
        image=image,
        workdir="/",
        serve=serve,
        read_file=lambda path: b'{"rows": [1]}' if path == "request.json" else None,
        resources=StageResources("prod", 1.0, 256 * 2**20),
    )


def _no_container_left() -> None:
    from envctl import engine

    assert engine.owned_containers({engine.PID_LABEL: str(os.getpid())}) == []


SLO = {"p95_ms": "<= 100", "error_rate": "<= 0.1%"}
# These runs test the model's verdicts, not the calibration: a loaded CI machine's
# latency spike (the calibration's p99 over 40 requests is about their maximum)
# must not stop them. The calibration's own bound is tested below.
CALM = {"calibration_p99_ms": 5000}


@pytest.mark.docker
def test_a_model_that_sleeps_200_ms_is_refused_by_a_p95_of_100_ms(base_image: str) -> None:
    gate = _gate(slo=SLO, request="request.json", **CALM)

    result = load.run_load(gate, _ctx(base_image, 0.2), LoadContext(python="python3"))

    assert result.status == "failed"
    assert result.summary.startswith("p95_ms ")
    assert " is not <= 100 (p50 " in result.summary
    measured = result.evidence["measured"]
    assert measured["p50_ms"] >= 200
    assert result.evidence["requests"] == 40
    assert result.evidence["calibration"]["achieved_rps"] >= 19
    assert result.evidence["limits"] == {"cpu": 1.0, "memory": "256Mi", "swap": "none"}
    _no_container_left()


@pytest.mark.docker
def test_a_fast_model_passes_with_its_load_and_peaks_recorded(base_image: str) -> None:
    slo = {"p95_ms": "<= 10000", "error_rate": "<= 0.1%"}
    gate = _gate(slo=slo, request="request.json", **CALM)
    requires = Requires(memory="1Ki", cpu=64)  # parsed as the YAML is

    result = load.run_load(
        gate, _ctx(base_image, 0.0), LoadContext(requires=requires, python="python3")
    )

    assert result.status == "passed", result.summary
    assert result.evidence["errors"] == 0
    assert result.evidence["statuses"] == {"200": 40}
    service = result.evidence["service"]
    assert service["samples"] >= 1
    assert service["peak_memory_bytes"] > 1024
    assert [f["resource"] for f in result.evidence["requires"]] == ["memory"]
    assert "; peak memory " in result.summary
    assert result.summary.endswith("is above requires.memory 1Ki (warning)")
    _no_container_left()


@pytest.mark.docker
def test_a_peak_above_requires_fails_the_gate_where_it_is_an_error(base_image: str) -> None:
    gate = _gate(slo={"p95_ms": "<= 10000"}, duration="1s", **CALM)
    requires = Requires(memory="1Ki")  # parsed as the YAML is

    result = load.run_load(
        gate, _ctx(base_image, 0.0), LoadContext(requires, "error", python="python3")
    )

    assert result.status == "failed"
    assert result.summary.startswith("peak memory ")
    assert result.summary.endswith(" is above requires.memory 1Ki (error)")


@pytest.mark.docker
def test_a_slower_challenger_fails_against_the_champion_s_recorded_load(base_image: str) -> None:
    gate = _gate(slo={"p95_ms": "<= baseline * 1.2"}, duration="1s", **CALM)
    champion = Baseline({"p95_ms": 50.0}, "v1.0.0", "record")

    result = load.run_load(
        gate, _ctx(base_image, 0.2), LoadContext(baseline=champion, python="python3")
    )

    assert result.status == "failed"
    assert " is not <= 60 (<= baseline * 1.2, v1.0.0) (p50 " in result.summary


@pytest.mark.docker
def test_a_generator_that_cannot_meet_its_bound_refuses_to_judge_the_model(
    base_image: str,
) -> None:
    gate = _gate(slo={"p95_ms": "<= 100"}, duration="1s", calibration_p99_ms=0.001)

    with pytest.raises(LoadCalibrationError, match=r"its own p99 was .* ms \(bound 0.001\)"):
        load.run_load(gate, _ctx(base_image, 0.0), LoadContext(python="python3"))
    _no_container_left()


@pytest.mark.docker
def test_a_server_that_exits_at_start_fails_the_load_gate_with_its_log(base_image: str) -> None:
    # Was an engine error (exit 4): "cannot join network of a non running container".
    serve = Serve(command=["sh", "-c", "echo 'boom: missing weights'; exit 3"], port=8080,
                  health="/health")  # fmt: skip
    ctx = replace(_ctx(base_image, 0.0), serve=serve)

    result = load.run_load(_gate(slo=SLO, request="request.json", **CALM), ctx,
                           LoadContext(python="python3"))  # fmt: skip

    assert (result.kind, result.status) == ("load", "failed")
    assert "boom: missing weights" in result.evidence["server_log_tail"]
    if result.summary.startswith("the model's server"):  # else the generator started first
        assert result.summary == (
            "the model's server exited before it answered; its log ends: boom: missing weights"
        )
    _no_container_left()
