"""Promotion end to end: real git (with a bare remote) and the real Docker Engine."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke
from tests.conftest import git

SERVER = """\
import json, os
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send(200, {"status": "ok"}) if self.path == "/health" else self._send(404, {})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = os.environ.get("ANSWER_KEY", "prediction")
        self._send(200, {key: sum(body["x"])})

    def log_message(self, *args):
        pass

def predict(xs):
    return sum(xs)

if __name__ == "__main__":
    HTTPServer(("127.0.0.1", 8080), Handler).serve_forever()
"""

SPEC = """\
name: {name}
version: 1
image:
  base: {base}
python: "3.11"
data:
  allowed: [internal]
gates:
{gates}
"""

GATES = {
    "dev": "  - command: {run: [/opt/venv/bin/python, -c, 'import server']}\n",
    "staging": (
        "  - tests: {paths: [tests], packages: {pytest: '==8.3.3'}}\n"
        "  - metrics: {file: metrics.json, require: {accuracy: '>= 0.90'}, "
        "baseline: no_worse}\n"
        "  - http: {path: /predict, request: request.json, expect_keys: [prediction]}\n"
    ),
    "prod": "  - approvals: {required: 1}\n",
}


@pytest.fixture
def project(git_repo: Path, base_image: str, tmp_path: Path) -> Path:
    (git_repo / "envctl.yaml").write_text(
        "stages: [dev, staging, prod]\nmodels:\n  tiny:\n    path: model\n"
        "    requires: {python: '>=3.11', data: [internal]}\n"
        "    serve: {command: [/opt/venv/bin/python, server.py], port: 8080, health: /health}\n"
    )
    for name, gates in GATES.items():
        spec = git_repo / "environments" / f"{name}.yaml"
        spec.parent.mkdir(exist_ok=True)
        spec.write_text(SPEC.format(name=name, base=base_image, gates=gates))
    model = git_repo / "model"
    (model / "tests").mkdir(parents=True)
    (model / "server.py").write_text(SERVER)
    (model / "tests" / "test_server.py").write_text(
        "from server import predict\n\ndef test_predict():\n    assert predict([1, 2]) == 3\n"
    )
    (model / "metrics.json").write_text('{"accuracy": 0.95}\n')
    (model / "request.json").write_text('{"x": [1, 2, 3]}\n')
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    git(git_repo, "remote", "add", "origin", str(bare))
    for name in GATES:
        lock(git_repo, name)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "tiny model v1")
    git(git_repo, "push", "-q", "origin", "main")
    return git_repo


def tags(repo: Path, pattern: str = "tiny#*") -> list[str]:
    return git(repo, "tag", "-l", pattern).split()


@pytest.fixture
def no_new_containers() -> Iterator[None]:
    """Every container a gate started (labelled with this process's pid, since
    the CLI runs in-process) is gone afterwards."""
    from envctl import engine

    yield
    assert engine.owned_containers({engine.PID_LABEL: str(os.getpid())}) == []


@pytest.mark.docker
@pytest.mark.usefixtures("no_new_containers")
def test_promotion_through_every_stage(
    project: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("register", "tiny", "v1.0.0").code == 0

    skip = invoke("promote", "tiny@v1.0.0", "--to", "staging")
    assert skip.code == 1
    assert "tiny@v1.0.0 has not entered dev, the stage before staging" in skip.err
    assert tags(project) == []

    dev = invoke("promote", "--to", "dev", "--format", "json")
    assert dev.code == 0, dev.err
    data = json.loads(dev.out)
    assert (data["status"], data["tag"], data["version"]) == ("promoted", "tiny#dev#1", "v1.0.0")
    assert [g["kind"] for g in data["gates"]] == ["command"]

    plan = invoke("promote", "--to", "staging", "--plan", "--format", "json")
    assert plan.code == 0
    assert json.loads(plan.out)["planned_gates"] == ["tests", "metrics", "http"]
    assert tags(project) == ["tiny#dev#1"]

    staging = invoke("promote", "--to", "staging", "--push", "--format", "json")
    assert staging.code == 0, staging.err
    result = json.loads(staging.out)
    gates = {g["kind"]: g for g in result["gates"]}
    assert gates["tests"]["evidence"]["counts"] == {"passed": 1}
    assert gates["metrics"]["evidence"]["metrics"][0]["value"] == 0.95
    assert gates["http"]["evidence"]["status"] == 200
    assert result["pushed"] is True
    assert "tiny#staging#2" in git(project, "ls-remote", "--tags", "origin")

    waiting = invoke("promote", "--to", "prod")
    assert waiting.code == 5
    assert "waits for approvals" in waiting.err
    assert tags(project) == ["tiny#dev#1", "tiny#staging#2"]

    # The author's own approval is refused at once; another person's counts.
    own = invoke("approve", "tiny@v1.0.0", "--for", "prod")
    assert own.code == 1 and "cannot approve it" in own.err
    assert invoke("promote", "--to", "prod").code == 5
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "bob@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Bob Reviewer")
    assert invoke("approve", "tiny@v1.0.0", "--for", "prod").code == 0
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "ada@example.com")
    prod = invoke("promote", "--to", "prod", "--format", "json")
    assert prod.code == 0, prod.err
    record = git(project, "tag", "-l", "--format=%(contents)", "tiny#prod#3")
    assert record.startswith("ada@example.com promotes tiny@v1.0.0 to prod")
    assert "envctl-record: v1" in record
    assert '"approvers": [\n' in record or "bob@example.com" in record

    status = json.loads(invoke("status", "--format", "json").out)
    stages = status["models"][0]["stages"]
    assert {s: (e or {}).get("version") for s, e in stages.items()} == {
        "dev": "v1.0.0",
        "staging": "v1.0.0",
        "prod": "v1.0.0",
    }


@pytest.mark.docker
@pytest.mark.usefixtures("no_new_containers")
def test_a_failing_http_gate_blocks_without_a_tag(project: Path, invoke: Invoke) -> None:
    # The API answers without the expected key. (A failing metrics gate blocks
    # without a tag in test_refused_promotion_prints_its_outcome_as_json, and in
    # staging, against its baseline, in the tutorial: tests/test_tutorial.py.)
    (project / "model" / "server.py").write_text(SERVER.replace('"prediction")', '"result")'))
    git(project, "commit", "-qam", "api changed")
    assert invoke("register", "tiny", "v1.2.0").code == 0
    assert invoke("promote", "tiny@v1.2.0", "--to", "dev").code == 0
    http = invoke("promote", "tiny@v1.2.0", "--to", "staging", "--format", "json")
    assert http.code == 1
    assert "answer lacks prediction" in http.err
    assert [(g["kind"], g["status"]) for g in json.loads(http.out)["gates"]] == [
        ("tests", "passed"),
        ("metrics", "passed"),
        ("http", "failed"),
    ]
    assert tags(project, "tiny#staging*") == []


@pytest.mark.docker
@pytest.mark.usefixtures("no_new_containers")
def test_failing_tests_gate_blocks(project: Path, invoke: Invoke) -> None:
    (project / "model" / "tests" / "test_server.py").write_text(
        "def test_broken():\n    assert 1 == 2\n"
    )
    git(project, "commit", "-qam", "broken test")
    assert invoke("register", "tiny", "v2.0.0").code == 0
    assert invoke("promote", "--to", "dev").code == 0
    result = invoke("promote", "--to", "staging")
    assert result.code == 1
    assert "gate tests failed" in result.err
    assert "1 failed" in result.err
    assert tags(project, "tiny#staging*") == []


@pytest.mark.docker
def test_rollback_and_history(project: Path, invoke: Invoke) -> None:
    assert invoke("register", "tiny", "v1.0.0").code == 0
    assert invoke("promote", "--to", "dev").code == 0
    git(project, "commit", "-q", "--allow-empty", "-m", "v1.1.0")
    assert invoke("register", "tiny", "v1.1.0").code == 0
    assert invoke("promote", "tiny@v1.1.0", "--to", "dev").code == 0
    back = invoke("rollback", "tiny", "--env", "dev")
    assert back.code == 0, back.err
    assert back.out.startswith("restored tiny@v1.0.0 to dev (replacing v1.1.0): tiny#dev#3")
    history = json.loads(invoke("history", "tiny", "--format", "json").out)
    assert [(e["n"], e["version"], e["rollback_of"]) for e in history["events"]] == [
        (3, "v1.0.0", "v1.1.0"),
        (2, "v1.1.0", None),
        (1, "v1.0.0", None),
    ]


@pytest.mark.docker
def test_forced_skip_is_recorded(git_repo: Path, invoke: Invoke, base_image: str) -> None:
    write_minimal_project(git_repo, base_image, stages=("dev", "prod"))
    assert invoke("register", "tiny", "v1.0.0").code == 0
    refused = invoke("promote", "tiny@v1.0.0", "--to", "prod", "--force")
    assert refused.code == 2
    assert "--force needs --reason" in refused.err
    unknown = invoke("promote", "tiny@v9.9.9", "--to", "dev")
    assert unknown.code == 3
    assert "tiny@v9.9.9 is not registered" in unknown.err
    forced = invoke(
        "promote",
        "tiny@v1.0.0",
        "--to",
        "prod",
        "--force",
        "--reason",
        "hotfix INC-42",
        "--format",
        "json",
    )
    assert forced.code == 0, forced.err
    assert json.loads(forced.out)["bypass_reason"] == "hotfix INC-42"
    history = json.loads(invoke("history", "tiny", "--format", "json").out)
    assert history["events"][0]["bypass_reason"] == "hotfix INC-42"
    assert "BYPASS: hotfix INC-42" in invoke("history", "tiny").out


@pytest.mark.docker
@pytest.mark.usefixtures("no_new_containers")
def test_refused_promotion_prints_its_outcome_as_json(
    git_repo: Path, invoke: Invoke, base_image: str
) -> None:
    """A failed gate (exit 1) and missing approvals (exit 5) still print the
    outcome document on stdout under --format json: CI gets the gates' evidence."""
    write_minimal_project(git_repo, base_image, stages=("dev",))
    spec = git_repo / "environments" / "dev.yaml"
    spec.write_text(
        spec.read_text().replace(
            "gates: []",
            "gates:\n  - metrics: {file: metrics.json, require: {accuracy: '>= 0.9'}}\n"
            "  - approvals: {required: 1}",
        )
    )
    for version, accuracy in (("v1.0.0", 0.8), ("v1.1.0", 0.95)):
        (git_repo / "model" / "metrics.json").write_text(f'{{"accuracy": {accuracy}}}\n')
        git(git_repo, "add", "-A")
        git(git_repo, "commit", "-qm", version)
        assert invoke("register", "tiny", version).code == 0

    blocked = invoke("promote", "tiny@v1.0.0", "--to", "dev", "--format", "json")
    assert blocked.code == 1, blocked.err
    assert blocked.err.strip().splitlines()[-1] == (
        "error: gate metrics failed for tiny@v1.0.0 -> dev: accuracy 0.8 is not >= 0.9"
    )
    data = json.loads(blocked.out)
    assert (data["status"], data["version"], data["tag"]) == ("blocked", "v1.0.0", None)
    assert [(g["kind"], g["status"]) for g in data["gates"]] == [
        ("metrics", "failed"),
        ("approvals", "skipped"),
    ]
    assert data["gates"][0]["evidence"]["metrics"][0]["value"] == 0.8
    assert data["image"] and data["image_id"]

    waiting = invoke("promote", "tiny@v1.1.0", "--to", "dev", "--format", "json")
    assert waiting.code == 5, waiting.err
    assert (
        waiting.err.strip()
        .splitlines()[-1]
        .startswith("waiting: tiny@v1.1.0 waits for approvals to enter dev: 0/1 approvals")
    )
    data = json.loads(waiting.out)
    assert (data["status"], data["version"], data["tag"]) == ("waiting", "v1.1.0", None)
    assert [(g["kind"], g["status"]) for g in data["gates"]] == [
        ("metrics", "passed"),
        ("approvals", "waiting"),
    ]
    assert data["gates"][1]["evidence"] == {
        "required": 1,
        "approvers": [],
        "ignored_self": False,
    }
    assert tags(git_repo) == []


def write_minimal_project(repo: Path, base: str, *, stages: tuple[str, ...]) -> None:
    """A model with no packages and no gates: promotion cost is one small build."""
    (repo / "envctl.yaml").write_text(
        f"stages: [{', '.join(stages)}]\nmodels:\n  tiny: {{path: model}}\n"
    )
    for name in stages:
        spec = repo / "environments" / f"{name}.yaml"
        spec.parent.mkdir(exist_ok=True)
        spec.write_text(
            SPEC.format(name=name, base=base, gates="").replace("gates:\n", "gates: []\n")
        )
        lock(repo, name)
    (repo / "model").mkdir()
    (repo / "model" / "server.py").write_text(SERVER)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")


def lock(repo: Path, name: str) -> None:
    """`envctl lock NAME` in `repo`, in this process: these specs have no
    packages, so it writes the lock's header without the resolver or the network."""
    from envctl.build import lockfile
    from envctl.spec.loading import load_environment, require_project

    project = require_project(repo)
    lockfile.lock(project, load_environment(name, project))


ALLOCATE = "x = bytearray(200 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096])"


def _dev_spec(project: Path, base_image: str, compute: str, gate: str) -> None:
    spec = SPEC.format(name="dev", base=base_image, gates=gate)
    (project / "environments" / "dev.yaml").write_text(
        spec + f"compute: {compute}\nenv: {{STAGE_MARK: from-dev}}\n"
    )
    git(project, "commit", "-qam", "dev's compute")


@pytest.mark.docker
@pytest.mark.usefixtures("no_new_containers")
def test_a_gate_over_the_stage_s_memory_is_refused_with_the_oom_named(
    project: Path, invoke: Invoke, base_image: str
) -> None:
    gate = f'  - command: {{run: [/opt/venv/bin/python, -c, "{ALLOCATE}"]}}\n'
    _dev_spec(project, base_image, "{memory: 64Mi}", gate)
    assert invoke("register", "tiny", "v1.0.0").code == 0

    result = invoke("promote", "--to", "dev", "--format", "json")

    assert result.code == 1
    assert "killed: out of memory at 64Mi, dev's limit" in result.err
    assert tags(project) == []


@pytest.mark.docker
@pytest.mark.usefixtures("no_new_containers")
def test_the_record_says_under_what_limits_the_gates_ran(
    project: Path, invoke: Invoke, base_image: str
) -> None:
    gate = "  - command: {run: [sh, -c, 'test \"$STAGE_MARK\" = from-dev']}\n"
    _dev_spec(project, base_image, "{cpu: 0.5, memory: 512Mi}", gate)
    assert invoke("register", "tiny", "v1.0.0").code == 0

    result = invoke("promote", "--to", "dev", "--format", "json")

    assert result.code == 0, result.err
    [command] = json.loads(result.out)["gates"]
    assert command["evidence"]["limits"] == {"cpu": 0.5, "memory": "512Mi", "swap": "none"}
    record = git(project, "tag", "-l", "--format=%(contents)", "tiny#dev#1")
    assert '"memory": "512Mi"' in record
