"""A load gate in a promotion: its evidence in the record, the champion's recorded
load read back as the baseline, and the model's requires: checked against the
measured peaks (a warning in staging). Real git and the real Docker Engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke
from tests.commands.test_promote import SPEC, no_new_containers, project, tags  # noqa: F401  # fixtures
from tests.conftest import git

LOAD = (
    "  - load: {path: /predict, request: request.json, rate: 10/s, duration: 1s,\n"
    "           calibration_p99_ms: 5000,\n"
    "           slo: {p95_ms: ['<= 10000', '<= baseline * 1000'], error_rate: '<= 0'}}\n"
)


def _with_load_gate(repo: Path, base_image: str) -> None:
    spec = SPEC.format(name="staging", base=base_image, gates=LOAD).replace(
        "version: 1", "version: 2"
    )
    (repo / "environments" / "staging.yaml").write_text(spec)
    config = repo / "envctl.yaml"
    config.write_text(
        config.read_text().replace("data: [internal]}", "data: [internal], memory: 1Ki}")
    )
    git(repo, "commit", "-qam", "staging holds a load")


@pytest.mark.docker
@pytest.mark.usefixtures("no_new_containers")
def test_a_load_gate_records_its_load_and_the_next_version_is_compared_with_it(
    project: Path,  # noqa: F811  # the fixture imported above
    invoke: Invoke,
    base_image: str,
) -> None:
    _with_load_gate(project, base_image)
    assert invoke("register", "tiny", "v1.0.0").code == 0
    assert invoke("promote", "tiny@v1.0.0", "--to", "dev").code == 0

    first = invoke("promote", "tiny@v1.0.0", "--to", "staging", "--format", "json")

    assert first.code == 0, first.err
    (gate,) = json.loads(first.out)["gates"]
    assert gate["kind"] == "load" and gate["status"] == "passed"
    evidence = gate["evidence"]
    assert evidence["requests"] == 10 and evidence["errors"] == 0
    assert (
        evidence["slo"][1]["note"] == "no recorded p95_ms of a champion: <= baseline * 1000 passes"
    )
    assert evidence["calibration"]["rate"] == 10
    assert evidence["service"]["peak_memory_bytes"] > 1024
    assert evidence["requires"][0]["severity"] == "warning"  # staging is not the last stage
    assert "is above requires.memory 1Ki (warning)" in gate["summary"]
    record = git(project, "tag", "-l", "--format=%(contents)", "tiny#staging#2")
    assert '"p95_ms"' in record

    git(project, "commit", "-q", "--allow-empty", "-m", "v1.1.0")
    assert invoke("register", "tiny", "v1.1.0").code == 0
    assert invoke("promote", "tiny@v1.1.0", "--to", "dev").code == 0
    second = invoke("promote", "tiny@v1.1.0", "--to", "staging", "--format", "json")

    (again,) = json.loads(second.out)["gates"]
    row = again["evidence"]["slo"][1]
    assert row["baseline"] == evidence["measured"]["p95_ms"]
    assert row["bound"] == pytest.approx(evidence["measured"]["p95_ms"] * 1000)
    assert again["evidence"]["baseline_version"] == "v1.0.0"
    assert tags(project, "tiny#staging*")[0] == "tiny#staging#2"
