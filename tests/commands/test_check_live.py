"""check-live: the stage's http gates and metrics endpoint against a real HTTP
service on 127.0.0.1, real git, assignments written as envctl writes them; the
automatic rollback recorded with its evidence. No Docker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from envctl import registry as reg
from tests.commands.test_rollback import assign, prod_tags
from tests.conftest import free_port, git
from tests.harness import Invoke
from tests.live_service import Service, running_service

REQUEST = '{"instances": [[1.0, 2.0]]}\n'


@pytest.fixture
def service() -> Iterator[Service]:
    with running_service() as svc:
        yield svc


def write_prod(root: Path, live: str) -> None:
    (root / "environments" / "prod.yaml").write_text(
        "name: prod\nversion: 2\nimage:\n  base: python:3.11-slim-bookworm\n"
        'python: "3.11"\npackages:\n  numpy: "==1.26.4"\n'
        "gates:\n"
        "  - http: {path: /predict, request: samples/request.json, "
        "expect_keys: [predictions, model_version]}\n"
        "  - approvals: {required: 1}\n" + (f"policy:\n  live:\n{live}" if live else "")
    )


def live_policy(url: str, rollback: str = "auto") -> str:
    return (
        f"    url: {url}\n"
        "    metrics: {path: /metrics.json, require: {error_rate: '<= 0.02'}}\n"
        f"    rollback: {rollback}\n"
    )


@pytest.fixture
def project(git_repo: Path, invoke: Invoke, service: Service) -> Path:
    """tiny v1.0.0 then v1.1.0 in prod; prod checks live at the service, rollback auto."""
    assert invoke("init").code == 0
    config = git_repo / "envctl.yaml"
    config.write_text(config.read_text().replace("models: {}", "models:\n  tiny:\n    path: model"))
    (git_repo / "model" / "samples").mkdir(parents=True)
    (git_repo / "model" / "samples" / "request.json").write_text(REQUEST)
    (git_repo / "model" / "app.py").write_text("v = 1\n")
    write_prod(git_repo, live_policy(service.url))
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "v1")
    assert invoke("register", "tiny", "v1.0.0").code == 0
    (git_repo / "model" / "app.py").write_text("v = 2\n")
    git(git_repo, "commit", "-qam", "v2")
    assert invoke("register", "tiny", "v1.1.0").code == 0
    assign(git_repo, "tiny", "v1.0.0", "prod", 1)
    assign(git_repo, "tiny", "v1.1.0", "prod", 2)
    return git_repo


def record_of(repo: Path, tag: str) -> dict[str, Any]:
    data = reg.parse_record(git(repo, "tag", "-l", "--format=%(contents)", tag))
    assert data is not None
    return data


def test_passing_checks_exit_0_and_change_nothing(
    project: Path, invoke: Invoke, service: Service
) -> None:
    result = invoke("check-live", "tiny", "--stage", "prod", "--url", service.url)
    assert result.code == 0, result.err
    assert result.out == (
        "  passed  http: POST /predict -> 200\n"
        "  passed  metrics: error_rate 0.01 <= 0.02\n"
        f"live checks passed: tiny@v1.1.0 in prod ({service.url})\n"
    )
    assert ("POST", "/predict", REQUEST.encode()) in service.received
    assert prod_tags(project) == ["tiny#prod#1", "tiny#prod#2"]
    doc = json.loads(
        invoke(
            "check-live", "tiny", "--stage", "prod", "--url", service.url, "--format", "json"
        ).out
    )
    assert doc["status"] == "passed"
    assert (doc["version"], doc["url"], doc["rollback_policy"]) == ("v1.1.0", service.url, "auto")
    assert [(c["kind"], c["status"]) for c in doc["checks"]] == [
        ("http", "passed"),
        ("metrics", "passed"),
    ]
    assert (doc["rollback"], doc["restored"], doc["message"]) == (None, None, None)


def test_a_failed_http_check_rolls_back_with_its_evidence(
    project: Path, invoke: Invoke, service: Service
) -> None:
    service.answer("/predict", 500, {"detail": "model file missing"})
    result = invoke("check-live", "tiny", "--stage", "prod", "--url", service.url)
    assert result.code == 1
    assert result.err.endswith(
        "error: check-live failed for tiny@v1.1.0 in prod: http: POST /predict answered 500, "
        "expected 200; rolled back prod to tiny@v1.0.0\n"
    )
    assert "roll back prod: tiny@v1.1.0 -> tiny@v1.0.0" in result.err
    assert result.out.endswith(
        f"live checks failed: tiny@v1.1.0 in prod ({service.url}); restored v1.0.0: tiny#prod#3\n"
    )
    assert prod_tags(project) == ["tiny#prod#1", "tiny#prod#2", "tiny#prod#3"]
    record = record_of(project, "tiny#prod#3")
    assert record["rollback_of"] == "v1.1.0"
    assert record["gates"] == []  # a rollback runs no gates: the failed checks are its cause
    cause = record["cause"]
    assert (cause["reason"], cause["version"], cause["url"]) == (
        "check-live failed",
        "v1.1.0",
        service.url,
    )
    assert [(c["kind"], c["status"]) for c in cause["checks"]] == [
        ("http", "failed"),
        ("metrics", "passed"),
    ]
    assert cause["checks"][0]["evidence"]["status"] == 500
    # The record (pushed to the shared remote) keeps no part of the service's answer.
    assert "model file missing" not in json.dumps(record)
    assert set(cause["checks"][0]["evidence"]) >= {"body_sha256", "body_bytes", "checked_keys"}
    assert cause["checks"][0]["evidence"]["urls"] == [f"{service.url}/predict"]
    history = invoke("history", "tiny").out.splitlines()
    assert history[0].endswith("prod       v1.0.0  by ada@example.com  ROLLBACK of v1.1.0 "
                               "(check-live failed)")  # fmt: skip
    status = json.loads(invoke("status", "tiny", "--format", "json").out)
    assert status["models"][0]["stages"]["prod"]["version"] == "v1.0.0"
    audit = json.loads(invoke("audit", "tiny", "--format", "json").out)
    # (the fixture's hand-made assignments skip stages; the rollback's record is valid)
    assert [v["tag"] for v in audit["violations"]] == ["tiny#prod#1", "tiny#prod#2"]


def test_a_failed_metrics_threshold_rolls_back(
    project: Path, invoke: Invoke, service: Service
) -> None:
    service.answer("/metrics.json", 200, {"error_rate": 0.05})
    result = invoke(
        "check-live", "tiny", "--stage", "prod", "--url", service.url, "--format", "json"
    )
    assert result.code == 1
    doc = json.loads(result.out)
    assert doc["status"] == "rolled back"
    assert (doc["rollback"], doc["restored"], doc["pushed"]) == ("tiny#prod#3", "v1.0.0", False)
    assert doc["checks"][1]["summary"] == "error_rate 0.05 is not <= 0.02"
    assert doc["message"] == (
        "check-live failed for tiny@v1.1.0 in prod: metrics: error_rate 0.05 is not <= 0.02; "
        "rolled back prod to tiny@v1.0.0"
    )
    assert record_of(project, "tiny#prod#3")["cause"]["checks"][1]["status"] == "failed"


def test_manual_rollback_only_reports(project: Path, invoke: Invoke, service: Service) -> None:
    write_prod(project, live_policy(service.url, rollback="manual"))
    service.answer("/predict", 500, {})
    result = invoke(
        "check-live", "tiny", "--stage", "prod", "--url", service.url, "--format", "json"
    )
    assert result.code == 1
    assert result.err == (
        "error: check-live failed for tiny@v1.1.0 in prod: http: POST /predict answered 500, "
        "expected 200; rollback: manual, so prod is unchanged "
        "(to roll back: envctl rollback tiny --stage prod)\n"
    )
    doc = json.loads(result.out)
    assert (doc["status"], doc["rollback_policy"], doc["rollback"]) == ("failed", "manual", None)
    assert prod_tags(project) == ["tiny#prod#1", "tiny#prod#2"]


def test_nothing_to_roll_back_to_is_a_failure_without_an_event(
    project: Path, invoke: Invoke, service: Service
) -> None:
    for tag in ("tiny#prod#1", "tiny#prod#2"):
        git(project, "tag", "-d", tag)
    assign(project, "tiny", "v1.1.0", "prod", 1)
    service.answer("/predict", 500, {})
    result = invoke("check-live", "tiny", "--stage", "prod", "--url", service.url)
    assert result.code == 1
    assert result.err.endswith(
        "error: check-live failed for tiny@v1.1.0 in prod: http: POST /predict answered 500, "
        "expected 200; nothing to roll back to: tiny has had no other version in prod\n"
    )
    assert prod_tags(project) == ["tiny#prod#1"]


def test_an_unreachable_service_is_a_failed_check(project: Path, invoke: Invoke) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = invoke("check-live", "tiny", "--stage", "prod", "--url", url, "--format", "json")
    assert result.code == 1
    doc = json.loads(result.out)
    assert doc["url"] == url
    assert [c["status"] for c in doc["checks"]] == ["failed", "failed"]
    assert doc["checks"][0]["summary"].startswith(f"POST {url}/predict: no answer (")
    assert doc["status"] == "rolled back"
    assert record_of(project, "tiny#prod#3")["cause"]["url"] == url


def test_push_publishes_the_rollback(
    project: Path, invoke: Invoke, service: Service, tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(project, "remote", "add", "origin", str(remote))
    git(project, "push", "-q", "origin", "main", "--tags")
    service.answer("/predict", 500, {})
    result = invoke(
        "check-live", "tiny", "--stage", "prod", "--url", service.url, "--push", "--format", "json"
    )
    assert result.code == 1
    assert json.loads(result.out)["pushed"] is True
    assert "tiny#prod#3" in git(project, "ls-remote", "--tags", "origin")


@pytest.mark.parametrize(
    ("args", "live", "message"),
    [
        (
            ("--stage", "prod"),
            "    rollback: auto\n",
            "error: where does prod run? pass --url URL, or set policy.live.url in its spec\n",
        ),
        (
            ("--stage", "prod", "--url", "churn:8000"),
            "",
            "error: --url: 'churn:8000' is not a service URL like 'http://churn.internal:8000': "
            "http or https, a host, no credentials, query, fragment, spaces or quotes\n",
        ),
        (
            ("--stage", "staging", "--url", "http://127.0.0.1:1"),
            "",
            "error: nothing to check: no version of tiny is in staging\n",
        ),
        (("--stage", "qa"), "", "error: unknown stage 'qa' (stages: dev -> staging -> prod)\n"),
    ],
)
def test_input_errors_exit_3(
    project: Path, invoke: Invoke, args: tuple[str, ...], live: str, message: str
) -> None:
    write_prod(project, live)
    result = invoke("check-live", "tiny", *args)
    assert (result.code, result.err) == (3, message)


def test_a_stage_with_nothing_to_check_exits_3(project: Path, invoke: Invoke) -> None:
    assign(project, "tiny", "v1.1.0", "dev", 3)  # dev's spec has no http gate
    result = invoke("check-live", "tiny", "--stage", "dev", "--url", "http://127.0.0.1:1")
    assert result.code == 3
    assert result.err == (
        "error: nothing to check in dev: its spec has no http gate and no policy.live.metrics\n"
    )


def test_the_stage_is_required(project: Path, invoke: Invoke) -> None:
    result = invoke("check-live", "tiny")
    assert (result.code, result.err) == (
        2,
        "error: say which stage: envctl check-live NAME --stage STAGE\n",
    )


def test_a_rollback_that_cannot_be_pushed_exits_4_with_the_checks(
    project: Path, invoke: Invoke, service: Service
) -> None:
    service.answer("/predict", 500, {})
    result = invoke(
        "check-live", "tiny", "--stage", "prod", "--url", service.url, "--push", "--format", "json"
    )
    assert result.code == 4  # no remote named origin: git failed, the stage unchanged
    doc = json.loads(result.out)
    assert (doc["status"], doc["rollback"]) == ("failed", None)
    assert doc["checks"][0]["status"] == "failed"
    assert doc["message"].startswith("check-live failed for tiny@v1.1.0 in prod: http: ")
    assert prod_tags(project) == ["tiny#prod#1", "tiny#prod#2"]


def test_a_service_that_stays_down_is_rolled_back_once(project: Path, invoke: Invoke) -> None:
    """The flip-flop: nothing redeployed, the service still down, the scheduled job
    runs again and again. One rollback (v1.1.0 -> v1.0.0), then "nothing safe"."""
    url = f"http://127.0.0.1:{free_port()}"
    results = [invoke("check-live", "tiny", "--stage", "prod", "--url", url) for _ in range(4)]
    assert [r.code for r in results] == [1, 1, 1, 1]
    assert prod_tags(project) == ["tiny#prod#1", "tiny#prod#2", "tiny#prod#3"]
    assert "rolled back prod to tiny@v1.0.0" in results[0].err
    for later in results[1:]:
        assert later.err.endswith(
            "; nothing safe to roll back to: every other version tiny had in prod failed there "
            "since it last entered: v1.1.0 (rolled back by tiny#prod#3); "
            "promote a fixed version instead\n"
        )
        assert "check-live failed for tiny@v1.0.0 in prod: http: POST " in later.err
    history = invoke("history", "tiny", "--format", "json")
    rollbacks = [e for e in json.loads(history.out)["events"] if e.get("rollback_of")]
    assert len(rollbacks) == 1


def test_check_live_skips_a_failed_version_for_the_newest_safe_one(
    project: Path, invoke: Invoke, service: Service
) -> None:
    (project / "model" / "app.py").write_text("v = 3\n")
    git(project, "commit", "-qam", "v3")
    assert invoke("register", "tiny", "v1.2.0").code == 0
    assign(project, "tiny", "v1.2.0", "prod", 3)
    service.answer("/predict", 500, {})
    assert (
        invoke("check-live", "tiny", "--stage", "prod", "--url", service.url).code == 1
    )  # v1.2.0 -> v1.1.0, #4
    result = invoke(
        "check-live", "tiny", "--stage", "prod", "--url", service.url, "--format", "json"
    )
    assert result.code == 1
    doc = json.loads(result.out)
    assert (doc["version"], doc["rollback"], doc["restored"]) == ("v1.1.0", "tiny#prod#5", "v1.0.0")
    assert doc["message"].endswith(
        "rolled back prod to tiny@v1.0.0, skipping v1.2.0 (rolled back by tiny#prod#4)"
    )


def test_a_spec_url_on_this_machine_is_refused_without_writing(
    project: Path, invoke: Invoke, service: Service
) -> None:
    """policy.live.url comes from the checkout: it may not make the CI host call
    itself. The same URL given with --url is the operator's choice."""
    service.answer("/predict", 500, {})
    result = invoke("check-live", "tiny", "--stage", "prod")
    assert result.code == 3
    assert result.err.endswith(
        f"error: {service.url}/health: 127.0.0.1 is this machine (loopback), and the URL comes "
        "from the spec; a live check reaches this machine only with --url on the command line\n"
    )
    assert service.received == []
    assert prod_tags(project) == ["tiny#prod#1", "tiny#prod#2"]


@pytest.mark.parametrize("url", ["http://169.254.169.254", "http://metadata.google.internal"])
def test_a_metadata_address_is_refused_even_from_the_command_line(
    project: Path, invoke: Invoke, url: str
) -> None:
    result = invoke("check-live", "tiny", "--stage", "prod", "--url", url)
    assert result.code == 3
    assert result.err.endswith("envctl never contacts it\n")
    assert prod_tags(project) == ["tiny#prod#1", "tiny#prod#2"]


# ---- which version the service runs ---------------------------------------------


def test_a_service_still_running_the_old_version_is_waited_for(
    project: Path, invoke: Invoke, service: Service
) -> None:
    """The ledger says v1.1.0; the service, not redeployed, runs v1.0.0 and is
    broken besides. Nothing is judged or written until it runs v1.1.0."""
    service.answer("/health", 200, {"status": "ok"}, headers={"X-Model-Version": "v1.0.0"})
    service.answer("/predict", 500, {})
    result = invoke("check-live", "tiny", "--stage", "prod", "--url", service.url,
                    "--format", "json")  # fmt: skip
    assert result.code == 5, result.err
    assert result.err.endswith(
        "waiting: waiting for the deployment of tiny@v1.1.0 to prod "
        "(service still runs v1.0.0); nothing checked\n"
    )
    doc = json.loads(result.out)
    assert (doc["status"], doc["running_version"], doc["checks"]) == ("waiting", "v1.0.0", [])
    assert doc["version_probe"] == {
        "url": f"{service.url}/health", "status": 200, "version": "v1.0.0", "source": "header"
    }  # fmt: skip
    assert [path for _, path, _ in service.received] == ["/health"]
    assert prod_tags(project) == ["tiny#prod#1", "tiny#prod#2"]


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"X-Model-Version": "v1.1.0"}, {"status": "ok"}),
        ({"X-Model-Version": "tiny@v1.1.0"}, {"status": "ok"}),
        ({}, {"status": "ok", "model_version": "v1.1.0"}),
    ],
)
def test_the_version_the_stage_holds_is_judged(
    project: Path, invoke: Invoke, service: Service, headers: dict[str, str], body: Any
) -> None:
    service.answer("/health", 200, body, headers=headers)
    service.answer("/predict", 500, {})
    result = invoke("check-live", "tiny", "--stage", "prod", "--url", service.url,
                    "--format", "json")  # fmt: skip
    assert result.code == 1
    doc = json.loads(result.out)
    assert (doc["status"], doc["running_version"]) == ("rolled back", headers.get(
        "X-Model-Version", "v1.1.0"))  # fmt: skip
    assert record_of(project, "tiny#prod#3")["cause"]["running_version"] == doc["running_version"]


def test_after_a_rollback_the_old_service_is_not_judged_again(
    project: Path, invoke: Invoke, service: Service
) -> None:
    """Rolled back to v1.0.0 in the ledger; the broken v1.1.0 still serves until
    the deployer acts: waiting, not a second verdict."""
    service.answer("/health", 200, {"status": "ok", "model_version": "v1.1.0"})
    service.answer("/predict", 500, {})
    assert invoke("check-live", "tiny", "--stage", "prod", "--url", service.url).code == 1
    again = invoke("check-live", "tiny", "--stage", "prod", "--url", service.url)
    assert again.code == 5
    assert "waiting for the deployment of tiny@v1.0.0 to prod (service still runs v1.1.0)" in (
        again.err
    )
    assert prod_tags(project) == ["tiny#prod#1", "tiny#prod#2", "tiny#prod#3"]


@pytest.mark.parametrize("reported", ["", "v1.0.0; rm -rf /", "\x1b[31mv1.0.0", "x" * 200])
def test_a_version_that_is_not_one_is_not_believed(
    project: Path, invoke: Invoke, service: Service, reported: str
) -> None:
    service.answer("/health", 200, {"status": "ok", "model_version": reported})
    result = invoke("check-live", "tiny", "--stage", "prod", "--url", service.url,
                    "--format", "json")  # fmt: skip
    assert result.code == 0, result.err
    assert json.loads(result.out)["running_version"] is None
    table = invoke("check-live", "tiny", "--stage", "prod", "--url", service.url)
    assert "(the service does not say which version it runs)" in table.err
    assert not reported or reported not in table.err + table.out


# ---- relative live thresholds ----------------------------------------------------


def assign_with_metrics(root: Path, version: str, counter: int, values: dict[str, float]) -> None:
    """An assignment to prod whose record holds a metrics gate's evidence, as
    promote writes it."""
    rows = [{"metric": k, "value": v, "rule": "<= 1", "passed": True} for k, v in values.items()]
    gate = {"kind": "metrics", "status": "passed", "summary": "",
            "evidence": {"file": "metrics.json", "metrics": rows}}  # fmt: skip
    data = reg.promotion_record(
        who_name="Ada Tester", who_email="ada@example.com",
        when=datetime(2025, 1, 2, tzinfo=timezone.utc), from_stage="staging", env={},
        image=None, gates=[gate], version=version,
    )  # fmt: skip
    message = reg.format_record(f"ada@example.com promotes tiny@{version} to prod", data)
    git(root, "tag", "-a", reg.assignment_tag("tiny", "prod", counter), "-m", message,
        f"refs/tags/tiny@{version}^{{commit}}")  # fmt: skip


def relative_policy(rule: str) -> str:
    return (
        "    metrics: {path: /metrics.json, require: {latency_p95_ms: '" + rule + "'}}\n"
        "    rollback: auto\n"
    )


@pytest.fixture
def champion_recorded(project: Path) -> Path:
    """v1.0.0 entered prod with latency_p95_ms 100 recorded; v1.1.0 replaced it."""
    for tag in prod_tags(project):
        git(project, "tag", "-d", tag)
    assign_with_metrics(project, "v1.0.0", 1, {"latency_p95_ms": 100.0, "error_rate": 0.01})
    assign(project, "tiny", "v1.1.0", "prod", 2)
    return project


def test_a_relative_live_threshold_compares_with_the_version_a_rollback_would_restore(
    champion_recorded: Path, invoke: Invoke, service: Service
) -> None:
    write_prod(champion_recorded, relative_policy("<= baseline * 1.10"))
    service.answer("/metrics.json", 200, {"latency_p95_ms": 108})
    passed = invoke("check-live", "tiny", "--stage", "prod", "--url", service.url,
                    "--format", "json")  # fmt: skip
    assert passed.code == 0, passed.err
    metrics = json.loads(passed.out)["checks"][1]
    assert metrics["summary"] == "latency_p95_ms 108 <= baseline * 1.1 (110)"
    evidence = metrics["evidence"]
    assert (evidence["baseline_version"], evidence["baseline_source"]) == ("v1.0.0", "tiny#prod#1")
    assert evidence["metrics"][0] == {
        "metric": "latency_p95_ms", "value": 108.0, "rule": "<= baseline * 1.1",
        "baseline": 100.0, "margin": 1.1, "relative": "*", "bound": 110.00000000000001,
        "passed": True,
    }  # fmt: skip

    service.answer("/metrics.json", 200, {"latency_p95_ms": 130})
    failed = invoke("check-live", "tiny", "--stage", "prod", "--url", service.url,
                    "--format", "json")  # fmt: skip
    assert failed.code == 1
    doc = json.loads(failed.out)
    assert doc["checks"][1]["summary"] == (
        "latency_p95_ms 130 is not <= 110 (<= baseline * 1.1, baseline 100 from v1.0.0, recorded)"
    )
    assert (doc["rollback"], doc["restored"]) == ("tiny#prod#3", "v1.0.0")
    cause = record_of(champion_recorded, "tiny#prod#3")["cause"]
    assert cause["checks"][1]["evidence"]["baseline_version"] == "v1.0.0"


def test_a_relative_live_threshold_without_a_baseline_passes_with_a_note(
    project: Path, invoke: Invoke, service: Service
) -> None:
    write_prod(project, relative_policy("<= baseline + 5"))  # v1.0.0's record has no metrics
    service.answer("/metrics.json", 200, {"latency_p95_ms": 500})
    result = invoke("check-live", "tiny", "--stage", "prod", "--url", service.url,
                    "--format", "json")  # fmt: skip
    assert result.code == 0, result.err
    row = json.loads(result.out)["checks"][1]["evidence"]["metrics"][0]
    assert row["note"] == "v1.0.0 has no recorded latency_p95_ms: <= baseline + 5 passes"
