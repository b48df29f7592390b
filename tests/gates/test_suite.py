"""The order gates run in, what they report as they go and how long each took
(a fake clock: no sleeps, no image)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from envctl.errors import InputError
from envctl.gates import runners
from envctl.gates.checks import GateSpec, gate_kind, gate_spec
from envctl.gates.events import GateEvent
from envctl.gates.suite import require_request_files, run_in_order, timed
from envctl.registry.results import GateResult
from envctl.spec.model import validated
from envctl.spec.types import Gate
from tests.conftest import git

TESTS = gate_spec(validated(Gate, {"tests": {}}))
METRICS = gate_spec(
    validated(Gate, {"metrics": {"file": "m.json", "require": {"accuracy": ">= 0.9"}}})
)
HTTP = gate_spec(validated(Gate, {"http": {}}))


class Clock:
    """Time moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def runner(
    clock: Clock, durations: dict[str, float], failing: frozenset[str] = frozenset()
) -> tuple[list[str], Callable[[GateSpec], GateResult]]:
    ran: list[str] = []

    def run_one(spec: GateSpec) -> GateResult:
        kind = gate_kind(spec)
        ran.append(kind)
        clock.now += durations[kind]
        if kind in failing:
            return GateResult(kind, "failed", f"{kind} said no")
        return GateResult(kind, "passed", f"{kind} said yes")

    return ran, run_one


@pytest.fixture
def clock() -> Iterator[Clock]:
    yield Clock()


def test_each_gate_reports_its_start_then_its_end_with_elapsed_seconds(clock: Clock) -> None:
    events: list[GateEvent] = []
    ran, run_one = runner(clock, {"tests": 8.25, "metrics": 0.125, "http": 2.0})

    results = run_in_order(
        [TESTS, METRICS, HTTP],
        run_one,
        on_gate=events.append,
        clock=clock,
    )

    assert ran == ["tests", "metrics", "http"]
    assert [r.seconds for r in results] == [8.25, 0.125, 2.0]
    assert [(e.index, e.total, e.kind, e.result) for e in events] == [
        (1, 3, "tests", None),
        (1, 3, "tests", results[0]),
        (2, 3, "metrics", None),
        (2, 3, "metrics", results[1]),
        (3, 3, "http", None),
        (3, 3, "http", results[2]),
    ]
    assert [e.is_last for e in events] == [False, False, False, False, False, True]


def test_after_a_failure_the_rest_end_skipped_without_starting(clock: Clock) -> None:
    events: list[GateEvent] = []
    ran, run_one = runner(clock, {"tests": 1.0, "metrics": 0.5}, failing=frozenset({"tests"}))

    results = run_in_order(
        [TESTS, METRICS, HTTP],
        run_one,
        on_gate=events.append,
        clock=clock,
    )

    assert ran == ["tests"]
    assert [(r.kind, r.status, r.seconds) for r in results] == [
        ("tests", "failed", 1.0),
        ("metrics", "skipped", None),
        ("http", "skipped", None),
    ]
    assert [(e.index, e.result.status if e.result else "started") for e in events] == [
        (1, "started"),
        (1, "failed"),
        (2, "skipped"),
        (3, "skipped"),
    ]
    assert events[-1].is_last


def test_no_gates_report_nothing() -> None:
    events: list[GateEvent] = []

    assert (
        run_in_order([], lambda spec: GateResult("tests", "passed", ""), on_gate=events.append)
        == ()
    )
    assert events == []


def test_timed_keeps_the_result_and_adds_the_seconds(clock: Clock) -> None:
    def gate() -> GateResult:
        clock.now += 0.0004 + 3
        return GateResult("command", "passed", "exited 0", {"exit_code": 0})

    result = timed(gate, clock)

    assert result == GateResult("command", "passed", "exited 0", {"exit_code": 0}, 3.0)


# ---- where the evaluate gate reads its data -------------------------------------------

EVAL_SPEC = """\
name: staging
version: 1
image: {base: "debian:12"}
python: "3.11"
data:
  allowed: [internal]
  evaluation:
    holdout: {file: evaluation/holdout.csv, classification: internal}
gates:
  - evaluate: {data: holdout, require: {accuracy: ">= 0.9"}}
"""


def test_evaluation_data_is_read_where_the_stage_s_spec_is_read(git_repo: Path) -> None:
    from envctl.gates.suite import evaluation_file
    from envctl.registry.workspace import Workspace
    from envctl.spec.loading import load_environment, require_project

    (git_repo / "envctl.yaml").write_text("stages: [staging]\n")
    (git_repo / "environments").mkdir()
    (git_repo / "environments" / "staging.yaml").write_text(EVAL_SPEC)
    (git_repo / "evaluation").mkdir()
    holdout = git_repo / "evaluation" / "holdout.csv"
    holdout.write_text("x,label\n1,1\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "the exam")
    trusted = git(git_repo, "rev-parse", "HEAD").strip()
    # A later commit (say, a model version's) rewrites the labels in its favour.
    holdout.write_text("x,label\n1,0\n")
    git(git_repo, "commit", "-qam", "easier labels")
    project = require_project(git_repo)
    ws = Workspace(git_repo, project)

    # A signed stage's spec is read at its trust ref: so is its data.
    at_ref = load_environment(f"staging@{trusted}", project)
    assert evaluation_file(ws, at_ref, "evaluation/holdout.csv") == b"x,label\n1,1\n"
    # An unsigned stage's spec is the work tree's: so is its data.
    in_tree = load_environment("staging", project)
    assert evaluation_file(ws, in_tree, "evaluation/holdout.csv") == b"x,label\n1,0\n"
    assert evaluation_file(ws, in_tree, "evaluation/missing.csv") is None


def test_evaluation_data_may_not_lead_out_of_the_project(git_repo: Path, tmp_path: Path) -> None:
    from envctl.errors import InputError
    from envctl.gates.suite import evaluation_file
    from envctl.registry.workspace import Workspace
    from envctl.spec.loading import load_environment, require_project

    (git_repo / "envctl.yaml").write_text("stages: [staging]\n")
    (git_repo / "environments").mkdir()
    (git_repo / "environments" / "staging.yaml").write_text(EVAL_SPEC)
    outside = tmp_path / "secret.csv"
    outside.write_text("x,label\n1,1\n")
    (git_repo / "evaluation").mkdir()
    (git_repo / "evaluation" / "holdout.csv").symlink_to(outside)
    project = require_project(git_repo)

    with pytest.raises(InputError, match=r"evaluation set evaluation/holdout\.csv"):
        evaluation_file(
            Workspace(git_repo, project),
            load_environment("staging", project),
            "evaluation/holdout.csv",
        )


def test_a_missing_request_file_stops_the_gates_before_any_runs() -> None:
    # The load gate is last: without this the gates before it served the
    # model first, and the promotion then stopped on the missing file anyway.
    gates = [
        validated(Gate, {"evaluate": {"data": "h", "require": {"accuracy": ">= 0.9"}}}),
        validated(Gate, {"http": {"path": "/predict", "request": "ok.json"}}),
        validated(
            Gate,
            {
                "load": {
                    "rate": 5,
                    "duration": "1s",
                    "request": "samples/r.json",
                    "slo": {"p95_ms": "<= 100"},
                }
            },
        ),
    ]
    read = {"ok.json": b"{}"}.get
    ctx = runners.ImageContext(image="i", workdir="/opt/model", serve=None, read_file=read,
                               model_dir="model")  # fmt: skip

    with pytest.raises(InputError, match=r"^load gate: request file model/samples/r\.json "):
        require_request_files([gate_spec(g) for g in gates], ctx)
    require_request_files([gate_spec(g) for g in gates[:2]], ctx)  # all present: no error
