"""The evaluate gate end to end: real git and the real Docker Engine. A tiny
classifier is served in the stage's image and measured on a labelled set the
project holds; what its metrics.json claims never decides."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke
from tests.commands.test_promote import lock, no_new_containers, tags
from tests.conftest import git

__all__ = ["no_new_containers"]  # the fixture, used by name

# Predicts 1 where the one feature is above THRESHOLD. Refuses (422) any input
# that is not exactly one number: the label column, were it sent, would show.
SERVER = """\
import json
from http.server import BaseHTTPRequestHandler, HTTPServer
THRESHOLD = {threshold}

class Handler(BaseHTTPRequestHandler):
    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send(200, {{"status": "ok"}})

    def do_POST(self):
        rows = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["instances"]
        if any(len(row) != 1 for row in rows):
            return self._send(422, {{"detail": "one feature per input"}})
        self._send(200, {{"predictions": [int(row[0] > THRESHOLD) for row in rows],
                          "scores": [min(1.0, row[0] / 10) for row in rows]}})

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", 8080), Handler).serve_forever()
"""

SPEC = """\
name: {name}
version: 1
image:
  base: {base}
python: "3.11"
data:
  allowed: [{allowed}]
  evaluation:
    holdout: {{file: evaluation/holdout.csv, classification: {classification}, label: y}}
gates:
{gates}
"""

EVALUATE = (
    "  - evaluate: {data: holdout, require: {accuracy: '>= 0.9', roc_auc: '>= 0.5'}, "
    "scores: scores, batch: 4, baseline: no_worse, claims: metrics.json}\n"
)
# x from 0 to 9, y = 1 above 4.5: THRESHOLD 4.5 earns accuracy 1.0, 5.5 earns 0.9.
HOLDOUT = "x,y\n" + "".join(f"{x},{int(x > 4.5)}\n" for x in range(10))


@pytest.fixture
def project(git_repo: Path, base_image: str) -> Path:
    (git_repo / "envctl.yaml").write_text(
        "stages: [dev, staging]\nmodels:\n  tiny:\n    path: model\n"
        "    serve: {command: [/opt/venv/bin/python, server.py], port: 8080, health: /health}\n"
    )
    specs = git_repo / "environments"
    specs.mkdir()
    for name, gates in (("dev", "  - command: {run: ['true']}\n"), ("staging", EVALUATE)):
        (specs / f"{name}.yaml").write_text(
            SPEC.format(
                name=name,
                base=base_image,
                allowed="internal",
                classification="internal",
                gates=gates,
            )
        )
        lock(git_repo, name)
    (git_repo / "evaluation").mkdir()
    (git_repo / "evaluation" / "holdout.csv").write_text(HOLDOUT)
    _model(git_repo, threshold=4.5, claims=1.0)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "tiny model v1")
    return git_repo


def _model(repo: Path, *, threshold: float, claims: float) -> None:
    model = repo / "model"
    model.mkdir(exist_ok=True)
    (model / "server.py").write_text(SERVER.format(threshold=threshold))
    (model / "metrics.json").write_text(json.dumps({"accuracy": claims}) + "\n")


def _release(repo: Path, invoke: Invoke, version: str, *, threshold: float, claims: float) -> None:
    _model(repo, threshold=threshold, claims=claims)
    git(repo, "commit", "-qam", f"tiny {version}")
    assert invoke("register", "tiny", version).code == 0
    assert invoke("promote", f"tiny@{version}", "--to", "dev").code == 0


@pytest.mark.docker
@pytest.mark.usefixtures("no_new_containers")
def test_evaluate_measures_the_served_model_and_refuses_what_it_does_not_earn(
    project: Path, invoke: Invoke
) -> None:
    assert invoke("register", "tiny", "v1.0.0").code == 0
    assert invoke("promote", "--to", "dev").code == 0

    good = invoke("promote", "--to", "staging", "--format", "json")

    assert good.code == 0, good.err
    [gate] = json.loads(good.out)["gates"]
    evidence = gate["evidence"]
    assert (gate["kind"], evidence["basis"], evidence["rows"]) == ("evaluate", "measured", 10)
    assert evidence["sha256"] == hashlib.sha256(HOLDOUT.encode()).hexdigest()
    assert {r["metric"]: r["value"] for r in evidence["metrics"]} == {
        "accuracy": 1.0,
        "roc_auc": 1.0,
    }
    record = git(project, "tag", "-l", "--format=%(contents)", "tiny#staging#2")
    assert evidence["sha256"] in record
    history = invoke("history", "tiny")
    assert "staging    v1.0.0  by ada@example.com  accuracy 1 measured, roc_auc 1 measured" in (
        history.out
    )

    # Claims 0.99 in its metrics.json; its answers earn 0.5 (it says 1 for everything).
    _release(project, invoke, "v1.1.0", threshold=-1, claims=0.99)
    lying = invoke("promote", "--to", "staging", "--format", "json")

    assert lying.code == 1
    assert "accuracy 0.5 is not >= 0.9" in lying.err
    assert "metrics.json claims accuracy 0.99, measured 0.5" in lying.err
    assert tags(project, "tiny#staging*") == ["tiny#staging#2"]

    # Above the bar, but worse than what the champion measured when it entered.
    _release(project, invoke, "v1.2.0", threshold=5.5, claims=1.0)
    worse = invoke("promote", "--to", "staging", "--format", "json")

    assert worse.code == 1
    assert "accuracy 0.9 is worse than 1 (v1.0.0, now in the stage)" in worse.err
    [gate] = json.loads(worse.out)["gates"]
    assert (gate["evidence"]["baseline_version"], gate["evidence"]["baseline_source"]) == (
        "v1.0.0",
        "record",
    )
    assert tags(project, "tiny#staging*") == ["tiny#staging#2"]


def test_a_stage_that_does_not_allow_restricted_data_refuses_to_evaluate_on_it(
    project: Path, invoke: Invoke, base_image: str
) -> None:
    (project / "environments" / "staging.yaml").write_text(
        SPEC.format(
            name="staging",
            base=base_image,
            allowed="public, internal",
            classification="restricted",
            gates=EVALUATE,
        )
    )

    assert invoke("register", "tiny", "v1.0.0").code == 0

    result = invoke("promote", "tiny@v1.0.0", "--to", "staging", "--force", "--reason", "try")

    assert result.code == 3
    assert (
        "evaluation.holdout: restricted data is not allowed here "
        "(data.allowed: public, internal); this stage may not read it"
    ) in result.err


@pytest.mark.docker
@pytest.mark.usefixtures("no_new_containers")
def test_evaluate_reads_a_set_on_the_engine_s_host(
    project: Path, invoke: Invoke, base_image: str, tmp_path: Path
) -> None:
    # The engine runs on this machine: a file in tmp_path is on its host.
    on_host = tmp_path / "engine-host" / "holdout.csv"
    on_host.parent.mkdir()
    on_host.write_text(HOLDOUT)
    (project / "evaluation" / "holdout.csv").unlink()
    spec = project / "environments" / "staging.yaml"
    spec.write_text(
        spec.read_text().replace("file: evaluation/holdout.csv", f"host_file: {on_host}")
    )
    git(project, "commit", "-qam", "staging measures on the engine host's copy")
    assert invoke("register", "tiny", "v1.0.0").code == 0
    assert invoke("promote", "--to", "dev").code == 0

    result = invoke("promote", "--to", "staging", "--format", "json")

    assert result.code == 0, result.err
    [gate] = json.loads(result.out)["gates"]
    assert gate["evidence"]["file"] == f"host:{on_host}"
    assert gate["evidence"]["sha256"] == hashlib.sha256(HOLDOUT.encode()).hexdigest()


@pytest.mark.docker
@pytest.mark.usefixtures("no_new_containers")
def test_evaluate_checks_the_model_s_declared_needs_against_its_measured_peaks(
    project: Path, invoke: Invoke
) -> None:
    """The server's peak memory while it answers is measured; above the model's
    requires.memory it fails the last stage by default, and a gate that says
    `requires: warning` passes saying so."""
    config = project / "envctl.yaml"
    config.write_text(config.read_text() + "    requires: {memory: 1Ki}\n")
    git(project, "commit", "-qam", "tiny declares 1Ki")
    assert invoke("register", "tiny", "v1.0.0").code == 0
    assert invoke("promote", "--to", "dev").code == 0

    refused = invoke("promote", "--to", "staging", "--format", "json")

    assert refused.code == 1
    [gate] = json.loads(refused.out)["gates"]
    assert gate["evidence"]["service"]["peak_memory_bytes"] > 1024
    assert [f["resource"] for f in gate["evidence"]["requires"]] == ["memory"]
    assert " is above requires.memory 1Ki (error)" in refused.err
    assert tags(project, "tiny#staging*") == []

    staging = project / "environments" / "staging.yaml"
    staging.write_text(
        staging.read_text()
        .replace("claims: metrics.json}", "claims: metrics.json, requires: warning}")
        .replace("version: 1", "version: 2")
    )
    lock(project, "staging")
    git(project, "commit", "-qam", "staging: requires: warning")

    warned = invoke("promote", "--to", "staging", "--format", "json")

    assert warned.code == 0, warned.err
    [gate] = json.loads(warned.out)["gates"]
    assert gate["summary"].endswith(" is above requires.memory 1Ki (warning)")
