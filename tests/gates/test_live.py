"""Live checks against a real HTTP service on 127.0.0.1 (no Docker)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest

from envctl.errors import InputError
from envctl.gates import live
from envctl.spec.types import HttpGate, LiveMetrics
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
    result = live.check_http(GATE, service.url, files, allow_loopback=True)
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
    result = live.check_http(GATE, service.url, files, allow_loopback=True)
    assert (result.status, result.summary) == ("failed", summary)
    assert result.evidence["status"] == status


def test_check_http_without_the_request_file_is_an_input_error(service: Service) -> None:
    with pytest.raises(InputError, match=r"request file samples/request\.json does not exist"):
        live.check_http(GATE, service.url, lambda _path: None, allow_loopback=True)


def test_an_unreachable_service_is_a_failed_check() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = live.check_http(GATE, url, files, allow_loopback=True)
    assert result.status == "failed"
    assert result.summary.startswith(f"POST {url}/predict: no answer (")
    assert result.evidence["status"] is None
    metrics = live.check_metrics(METRICS, url, allow_loopback=True)
    assert (metrics.status, metrics.evidence["status"]) == ("failed", None)
    assert metrics.summary.startswith(f"GET {url}/metrics.json: no answer (")


def test_check_metrics_reads_the_endpoint(service: Service) -> None:
    passed = live.check_metrics(METRICS, service.url, allow_loopback=True)
    assert (passed.status, passed.summary) == ("passed", "error_rate 0.01 <= 0.02")
    service.answer("/metrics.json", 200, {"error_rate": 0.2})
    failed = live.check_metrics(METRICS, service.url, allow_loopback=True)
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
    result = live.check_metrics(METRICS, service.url, allow_loopback=True)
    assert (result.status, result.summary) == ("failed", summary)


def test_run_checks_runs_every_check_after_a_failure(service: Service) -> None:
    service.answer("/predict", 500, {})
    results = live.run_checks([GATE, GATE], METRICS, service.url, files, allow_loopback=True)
    assert [(r.kind, r.status) for r in results] == [
        ("http", "failed"),
        ("http", "failed"),
        ("metrics", "passed"),
    ]
    assert json.loads(service.received[-1][2] or b"{}") == {}


# ---- services that lie, and addresses a live check never contacts ------------------


def test_a_trickling_answer_ends_at_the_checks_deadline(service: Service) -> None:
    """Headers at once, then one byte every 0.2 s: each read is quick, the whole
    answer would take 20 s. The check's one deadline (1 s) covers all of it."""
    service.trickle.add("/predict")
    gate = GATE.replace(**{"timeout": 1})
    result = live.check_http(gate, service.url, files, allow_loopback=True)
    assert result.status == "failed"
    assert result.summary == (
        f"POST {service.url}/predict: no answer (no complete answer within 1 s "
        "(connect, headers and body together))"
    )
    assert service.received == [("POST", "/predict", REQUEST)]  # it was sent, once


def test_a_trickling_metrics_endpoint_ends_at_its_deadline(service: Service) -> None:
    service.trickle.add("/metrics.json")
    metrics = METRICS.replace(**{"timeout": 1})
    result = live.check_metrics(metrics, service.url, allow_loopback=True)
    assert result.status == "failed"
    assert "no complete answer within 1 s" in result.summary


def test_a_redirect_to_another_origin_is_not_followed(service: Service) -> None:
    with running_service() as elsewhere:
        location = f"{elsewhere.url}/predict"
        service.answer("/predict", 302, "", headers={"Location": location})
        result = live.check_http(GATE, service.url, files, allow_loopback=True)
        assert elsewhere.received == []  # never contacted
    assert result.status == "failed"
    assert result.summary == "POST /predict answered 302, expected 200 (a redirect, not followed)"
    assert result.evidence["urls"] == [f"{service.url}/predict"]
    assert result.evidence["redirect"] == location


def test_a_same_origin_redirect_is_not_followed_either(service: Service) -> None:
    service.answer("/metrics.json", 307, "", headers={"Location": "/other.json"})
    service.answer("/other.json", 200, {"error_rate": 0.0})
    result = live.check_metrics(METRICS, service.url, allow_loopback=True)
    assert (
        result.summary == "GET /metrics.json answered 307, expected 200 (a redirect, not followed)"
    )
    assert [path for _, path, _ in service.received] == ["/metrics.json"]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://169.254.169.254", "169.254.169.254 is a link-local or cloud metadata address"),
        ("http://169.254.1.1:8000", "169.254.1.1 is a link-local or cloud metadata address"),
        ("http://[fe80::1]:8000", "fe80::1 is a link-local or cloud metadata address"),
        ("http://[::ffff:169.254.169.254]", "is a link-local or cloud metadata address"),
        ("http://100.100.100.200", "100.100.100.200 is a link-local or cloud metadata address"),
        ("http://metadata.google.internal", "metadata.google.internal is a cloud metadata"),
        ("http://METADATA.google.internal.", "is a cloud metadata service"),
    ],
)
def test_link_local_and_metadata_addresses_are_refused_always(url: str, why: str) -> None:
    for allow in (False, True):
        with pytest.raises(InputError) as caught:
            live.check_http(GATE, url, files, allow_loopback=allow)
        assert why in caught.value.message
        assert caught.value.message.endswith("envctl never contacts it")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "0.0.0.0", "127.1.2.3"])
def test_loopback_is_refused_unless_the_url_came_from_the_command_line(host: str) -> None:
    with pytest.raises(InputError) as caught:
        live.check_metrics(METRICS, f"http://{host}:{free_port()}")
    assert caught.value.message.endswith(
        "is this machine (loopback), and the URL comes from the spec; "
        "a live check reaches this machine only with --url on the command line"
    )


def test_loopback_from_the_command_line_is_contacted(service: Service) -> None:
    assert live.check_metrics(METRICS, service.url, allow_loopback=True).passed


def test_a_record_keeps_no_part_of_the_answer(service: Service) -> None:
    secret = "canary-4f1c9e"
    service.answer("/predict", 500, {"detail": secret})
    service.answer("/metrics.json", 200, {"error_rate": 0.5, "note": secret})
    checks = live.run_checks([GATE], METRICS, service.url, files, allow_loopback=True)
    assert secret in json.dumps([c.to_json() for c in checks])  # the local report shows it
    recorded = json.dumps([live.for_record(c) for c in checks])
    assert secret not in recorded
    http = live.for_record(checks[0])["evidence"]
    assert http["status"] == 500
    assert http["checked_keys"] == ["predictions", "model_version"]
    body = json.dumps({"detail": secret}).encode()
    assert (http["body_sha256"], http["body_bytes"]) == (
        hashlib.sha256(body).hexdigest(),
        len(body),
    )
