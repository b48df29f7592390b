"""Live checks against a real HTTP service on 127.0.0.1 (no Docker)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from envctl.errors import InputError
from envctl.gates import live
from envctl.spec.model import HttpGate, LiveMetrics
from tests.conftest import free_port
from tests.live_service import Service, running_service

REQUEST = b'{"instances": [[1.0, 2.0]]}'
GATE = HttpGate(request="samples/request.json", expect_keys=["predictions", "model_version"])
METRICS = LiveMetrics(require={"error_rate": "<= 0.02"})


@pytest.fixture
def service() -> Iterator[Service]:
    with running_service() as svc:
        yield svc


def files(path: str) -> bytes | None:
    return REQUEST if path == "samples/request.json" else None


def test_check_http_sends_the_gates_request_and_passes(service: Service) -> None:
    result = live.check_http(GATE, service.url, files)
    assert (result.kind, result.status, result.summary) == (
        "http",
        "passed",
        "POST /predict -> 200",
    )
    assert result.evidence["url"] == f"{service.url}/predict"
    assert service.received == [("POST", "/predict", REQUEST)]


@pytest.mark.parametrize(
    ("status", "body", "summary"),
    [
        (500, {"detail": "boom"}, "POST /predict answered 500, expected 200"),
        (200, {"predictions": [1]}, "POST /predict answer lacks model_version"),
        (200, "not json", "POST /predict answer lacks predictions, model_version"),
    ],
)
def test_check_http_fails_as_the_gate_would(
    service: Service, status: int, body: object, summary: str
) -> None:
    service.answer("/predict", status, body)
    result = live.check_http(GATE, service.url, files)
    assert (result.status, result.summary) == ("failed", summary)
    assert result.evidence["status"] == status


def test_check_http_without_the_request_file_is_an_input_error(service: Service) -> None:
    with pytest.raises(InputError, match=r"request file samples/request\.json does not exist"):
        live.check_http(GATE, service.url, lambda _path: None)


def test_an_unreachable_service_is_a_failed_check() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = live.check_http(GATE, url, files)
    assert result.status == "failed"
    assert result.summary.startswith(f"POST {url}/predict: no answer (")
    assert result.evidence["status"] is None
    metrics = live.check_metrics(METRICS, url)
    assert (metrics.status, metrics.evidence["status"]) == ("failed", None)
    assert metrics.summary.startswith(f"GET {url}/metrics.json: no answer (")


def test_check_metrics_reads_the_endpoint(service: Service) -> None:
    passed = live.check_metrics(METRICS, service.url)
    assert (passed.status, passed.summary) == ("passed", "error_rate 0.01 <= 0.02")
    service.answer("/metrics.json", 200, {"error_rate": 0.2})
    failed = live.check_metrics(METRICS, service.url)
    assert (failed.status, failed.summary) == ("failed", "error_rate 0.2 is not <= 0.02")
    assert failed.evidence["url"] == f"{service.url}/metrics.json"


@pytest.mark.parametrize(
    ("status", "body", "summary"),
    [
        (503, "{}", "GET /metrics.json answered 503, expected 200"),
        (200, "[1, 2]", "GET /metrics.json did not answer a JSON object of metric -> number"),
        (200, "<html>", "GET /metrics.json did not answer a JSON object of metric -> number"),
    ],
)
def test_check_metrics_refuses_what_is_not_a_metrics_object(
    service: Service, status: int, body: str, summary: str
) -> None:
    service.answer("/metrics.json", status, body)
    result = live.check_metrics(METRICS, service.url)
    assert (result.status, result.summary) == ("failed", summary)


def test_run_checks_runs_every_check_after_a_failure(service: Service) -> None:
    service.answer("/predict", 500, {})
    results = live.run_checks([GATE, GATE], METRICS, service.url, files)
    assert [(r.kind, r.status) for r in results] == [
        ("http", "failed"),
        ("http", "failed"),
        ("metrics", "passed"),
    ]
    assert json.loads(service.received[-1][2] or b"{}") == {}
