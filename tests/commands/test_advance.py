"""advance: a version taken through the stages by real processes on real git
(`tests.commands.fake_gates`: the CLI without image builds, so no Docker)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, git

SPEC = """\
name: {name}
version: 1
image:
  base: python:3.11-slim
python: "3.11"
data:
  allowed: [internal]
gates: {gates}
"""
GATES = {
    "dev": "[]",
    "staging": "[{metrics: {file: metrics.json, require: {accuracy: '>= 0.5'}, "
    "baseline: no_worse}}]",
    "prod": "[{approvals: {required: 1}}]",
}


def run(cwd: Path, *args: str, **env: str) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.commands.fake_gates", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
        text=True,
        capture_output=True,
        timeout=120,
    )
    return proc.returncode, proc.stdout, proc.stderr


def tags(repo: Path, pattern: str = "churn#*") -> list[str]:
    return git(repo, "tag", "-l", pattern).split()


@pytest.fixture
def churn(git_repo: Path) -> Path:
    """churn in dev -> staging (metrics no_worse) -> prod (one approval); v1.0.0
    (accuracy 0.986) and v1.1.0 (0.867) registered, in no stage yet."""
    (git_repo / "envctl.yaml").write_text(
        "stages: [dev, staging, prod]\nmodels:\n  churn: {path: model}\n"
    )
    envs = git_repo / "environments"
    envs.mkdir()
    for name, gates in GATES.items():
        (envs / f"{name}.yaml").write_text(SPEC.format(name=name, gates=gates))
    (git_repo / "model").mkdir()
    for version, accuracy in (("v1.0.0", 0.986), ("v1.1.0", 0.867)):
        (git_repo / "model" / "metrics.json").write_text(f'{{"accuracy": {accuracy}}}\n')
        git(git_repo, "add", "-A")
        git(git_repo, "commit", "-qm", version)
        git(git_repo, "tag", "-a", f"churn@{version}", "-m", version)
    return git_repo


def approve_as_bob(repo: Path, ref: str, stage: str) -> None:
    bob = {"GIT_COMMITTER_NAME": "Bob", "GIT_COMMITTER_EMAIL": "bob@example.com"}
    code, _, err = run(repo, "approve", ref, "--stage", stage, **bob)
    assert code == 0, err


def test_advance_stops_for_approvals_then_continues_where_it_stopped(churn: Path) -> None:
    code, out, err = run(churn, "advance", "churn@v1.0.0", "--format", "json")

    assert code == 5, err
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith("waiting: churn@v1.0.0 waits for approvals to enter prod: 0/1 approvals")
    )
    data = json.loads(out)
    assert (data["status"], data["from_stage"], data["until"]) == ("waiting", None, "prod")
    assert (data["reached"], data["stopped_at"]) == ("staging", "prod")
    assert data["message"].startswith("churn@v1.0.0 waits for approvals to enter prod")
    assert [(s["stage"], s["status"], s["tag"]) for s in data["stages"]] == [
        ("dev", "promoted", "churn#dev#1"),
        ("staging", "promoted", "churn#staging#2"),
        ("prod", "waiting", None),
    ]
    assert tags(churn) == ["churn#dev#1", "churn#staging#2"]

    approve_as_bob(churn, "churn@v1.0.0", "prod")
    code, out, err = run(churn, "advance", "churn@v1.0.0")

    assert code == 0, err
    assert out.strip().splitlines()[-2:] == [
        "promoted churn@v1.0.0 to prod: churn#prod#3",
        "churn@v1.0.0 reached prod",
    ]
    code, out, err = run(churn, "advance", "churn@v1.0.0", "--format", "json")

    assert code == 0, err
    data = json.loads(out)
    assert (data["status"], data["from_stage"], data["reached"], data["stages"]) == (
        "reached", "prod", "prod", []
    )  # fmt: skip
    assert tags(churn) == ["churn#dev#1", "churn#prod#3", "churn#staging#2"]


def test_a_worse_version_stops_at_the_gate_that_refuses_it(churn: Path) -> None:
    assert run(churn, "advance", "churn@v1.0.0", "--until", "staging")[0] == 0
    code, out, err = run(churn, "advance", "churn@v1.1.0", "--format", "json")

    assert code == 1, err
    assert err.strip().splitlines()[-1] == (
        "error: gate metrics failed for churn@v1.1.0 -> staging: accuracy 0.867 is worse "
        "than 0.986 (v1.0.0, now in the stage)"
    )
    data = json.loads(out)
    assert (data["status"], data["reached"], data["stopped_at"]) == ("blocked", "dev", "staging")
    assert [(s["stage"], s["status"]) for s in data["stages"]] == [
        ("dev", "promoted"),
        ("staging", "blocked"),
    ]
    assert tags(churn, "churn#staging#*") == ["churn#staging#2"]


def test_until_stops_in_that_stage(churn: Path) -> None:
    code, out, err = run(churn, "advance", "churn@v1.0.0", "--until", "staging")

    assert code == 0, err
    assert out.strip().splitlines() == [
        "promoted churn@v1.0.0 to dev: churn#dev#1",
        "  passed  metrics: accuracy 0.986 >= 0.5",
        "promoted churn@v1.0.0 to staging: churn#staging#2",
        "churn@v1.0.0 reached staging",
    ]
    code, out, _ = run(churn, "advance", "churn@v1.0.0", "--until", "dev")
    assert (code, out.strip()) == (0, "churn@v1.0.0 has entered staging already: nothing to do")


def test_advance_needs_a_version_and_a_known_stage(churn: Path) -> None:
    code, _, err = run(churn, "advance", "churn")
    assert (code, err.strip()) == (2, "error: name the version: envctl advance churn@vX.Y.Z")
    code, _, err = run(churn, "advance", "churn@v1.0.0", "--until", "prd")
    assert code == 3
    assert "unknown stage 'prd'; did you mean 'prod'?" in err
    assert tags(churn) == []


def set_policy(repo: Path, stage: str, policy: str) -> None:
    spec = repo / "environments" / f"{stage}.yaml"
    spec.write_text(spec.read_text() + f"policy: {policy}\n")


def test_a_soak_time_is_not_yet_and_says_until_when(churn: Path) -> None:
    set_policy(churn, "staging", "{soak: 24h}")
    code, out, err = run(churn, "advance", "churn@v1.0.0", "--format", "json")

    assert code == 5, err
    data = json.loads(out)
    assert (data["status"], data["reached"], data["stopped_at"]) == ("waiting", "dev", "staging")
    dev_time = git(churn, "for-each-ref", "--format=%(taggerdate:unix)", "refs/tags/churn#dev#1")
    not_before = datetime.fromisoformat(data["not_before"])
    assert not_before == datetime.fromtimestamp(int(dev_time), timezone.utc) + timedelta(hours=24)
    staging = data["stages"][-1]
    assert (staging["status"], staging["not_before"], staging["gates"]) == (
        "waiting", data["not_before"], []
    )  # fmt: skip
    assert staging["policy"]["evidence"]["soak"] == "1d"
    line = err.strip().splitlines()[-1]
    assert line.startswith("waiting: churn@v1.0.0 may not enter staging yet: in dev since ")
    assert "allowed from " in line and "--force --reason TEXT" in line
    assert tags(churn) == ["churn#dev#1"]

    # A person overrides it, recorded; the unattended run then goes on from there.
    code, _, err = run(churn, "promote", "churn@v1.0.0", "-s", "staging", "--force",
                       "--reason", "hotfix for a broken feature")  # fmt: skip
    assert code == 0, err
    code, out, err = run(churn, "history", "churn", "--format", "json")
    event = json.loads(out)["events"][0]
    assert (event["tag"], event["bypass_reason"]) == (
        "churn#staging#2", "hotfix for a broken feature"
    )  # fmt: skip
    code, out, err = run(churn, "advance", "churn@v1.0.0", "--format", "json")
    assert code == 5, err
    assert [s["stage"] for s in json.loads(out)["stages"]] == ["prod"]


def test_a_freeze_stops_advance_until_its_end(churn: Path) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    since, until = ((now + timedelta(hours=h)).isoformat() for h in (-1, 2))
    freeze = f"{{from: '{since}', until: '{until}', reason: release week}}"
    set_policy(churn, "dev", f"{{timezone: UTC, freeze: [{freeze}]}}")
    code, out, err = run(churn, "advance", "churn@v1.0.0", "--format", "json")

    assert code == 5, err
    data = json.loads(out)
    assert (data["stopped_at"], data["reached"]) == ("dev", None)
    assert datetime.fromisoformat(data["not_before"]) == datetime.fromisoformat(until)
    assert "(release week)" in data["message"]
    assert tags(churn) == []


def test_auto_false_stops_advance_but_not_a_person(churn: Path) -> None:
    set_policy(churn, "staging", "{auto: false}")
    code, out, err = run(churn, "advance", "churn@v1.0.0", "--format", "json")

    assert code == 5, err
    data = json.loads(out)
    assert (data["status"], data["stopped_at"], data["not_before"]) == ("waiting", "staging", None)
    assert err.strip().splitlines()[-1] == (
        "waiting: churn@v1.0.0 waits for a person to enter staging: staging takes no unattended "
        "promotion (policy auto: false): a person promotes with envctl promote --stage staging"
    )
    code, _, err = run(churn, "promote", "churn@v1.0.0", "--stage", "staging")
    assert code == 0, err
    assert tags(churn) == ["churn#dev#1", "churn#staging#2"]


def test_promote_plan_shows_the_policy_verdict(churn: Path) -> None:
    until = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
    set_policy(churn, "dev", f"{{timezone: UTC, freeze: [{{from: '2020-01-01T00:00+00:00', "
               f"until: '{until.isoformat()}'}}]}}")  # fmt: skip
    code, out, err = run(churn, "promote", "churn@v1.0.0", "--stage", "dev", "--plan")

    assert code == 0, err
    shown = until.strftime("%Y-%m-%d %H:%M UTC")
    assert out.strip().splitlines()[-1] == (f"  policy: frozen until {shown}: allowed from {shown}")
    assert tags(churn) == []


def test_a_challenger_must_beat_the_champion_by_the_margin(churn: Path) -> None:
    staging = churn / "environments" / "staging.yaml"
    staging.write_text(
        SPEC.format(
            name="staging",
            gates="[{metrics: {file: metrics.json, require: {accuracy: '>= baseline + 0.005'}}}]",
        )
    )
    code, out, err = run(churn, "advance", "churn@v1.0.0", "--until", "staging")
    assert code == 0, err
    assert "  passed  metrics: accuracy 0.986 >= baseline + 0.005" in out  # no champion yet

    code, out, err = run(churn, "advance", "churn@v1.1.0", "--format", "json")

    assert code == 1, err
    assert err.strip().splitlines()[-1] == (
        "error: gate metrics failed for churn@v1.1.0 -> staging: accuracy 0.867 is not >= 0.991 "
        "(>= baseline + 0.005, baseline 0.986 from v1.0.0, now in the stage)"
    )
    evidence = json.loads(out)["stages"][-1]["gates"][0]["evidence"]
    assert (evidence["baseline_version"], evidence["baseline_source"]) == ("v1.0.0", "record")
    row = evidence["metrics"][0]
    assert (row["value"], row["baseline"], row["margin"], row["passed"]) == (
        0.867, 0.986, 0.005, False
    )  # fmt: skip
    assert row["bound"] == pytest.approx(0.991)


def test_push_publishes_what_an_earlier_run_left_local(churn: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(churn, "remote", "add", "origin", str(remote))
    assert run(churn, "advance", "churn@v1.0.0", "--until", "dev")[0] == 0  # not pushed

    code, out, err = run(churn, "advance", "churn@v1.0.0", "--until", "dev", "--push")

    assert code == 0, err
    assert out.strip().splitlines()[-2:] == [
        "churn@v1.0.0 is already in dev: nothing to do",
        "churn@v1.0.0 reached dev",
    ]
    pushed = git(churn, "ls-remote", "--tags", "origin").split()
    assert "refs/tags/churn#dev#1" in pushed and "refs/tags/churn@v1.0.0" in pushed

    # Replaced in dev since: it is not taken into dev again, pushed or not.
    assert run(churn, "promote", "churn@v1.1.0", "--stage", "dev")[0] == 0
    code, out, err = run(churn, "advance", "churn@v1.0.0", "--until", "dev", "--push")
    assert (code, out.strip()) == (0, "churn@v1.0.0 has entered dev already: nothing to do"), err
    assert tags(churn) == ["churn#dev#1", "churn#dev#2"]


def test_a_backdated_tag_does_not_cut_the_soak_short(churn: Path) -> None:
    """A promoter whose git says it is a month ago (GIT_COMMITTER_DATE) dates the
    tag, not the record: the soak counts from the later of the two, and audit
    names the event whose times disagree."""
    set_policy(churn, "staging", "{soak: 24h}")
    month_back = datetime.now(timezone.utc) - timedelta(days=30)
    code, _, err = run(churn, "promote", "churn@v1.0.0", "--to", "dev",
                       GIT_COMMITTER_DATE=month_back.strftime("%s +0000"))  # fmt: skip
    assert code == 0, err
    tagged = git(churn, "for-each-ref", "--format=%(taggerdate:unix)", "refs/tags/churn#dev#1")
    assert int(tagged) == int(month_back.timestamp())

    code, out, err = run(churn, "advance", "churn@v1.0.0", "--format", "json")

    assert code == 5, err
    data = json.loads(out)
    assert (data["status"], data["reached"], data["stopped_at"]) == ("waiting", "dev", "staging")
    not_before = datetime.fromisoformat(data["not_before"])
    assert not_before - datetime.now(timezone.utc) > timedelta(hours=23)
    assert tags(churn) == ["churn#dev#1"]
    code, out, _ = run(churn, "audit", "--format", "json")
    assert code == 1
    assert [(v["tag"], v["kind"]) for v in json.loads(out)["violations"]] == [
        ("churn#dev#1", "clock-skew")
    ]


@pytest.mark.parametrize("value", ["1e999", "NaN", "Infinity"])
def test_a_metric_that_is_not_a_finite_number_is_an_input_error(churn: Path, value: str) -> None:
    (churn / "model" / "metrics.json").write_text(f'{{"accuracy": {value}}}\n')
    git(churn, "commit", "-qam", "v1.2.0")
    git(churn, "tag", "-a", "churn@v1.2.0", "-m", "v1.2.0")
    code, _, err = run(churn, "advance", "churn@v1.2.0", "--until", "staging")
    assert code == 3, err
    assert err.strip().splitlines()[-1] == (
        "error: metrics file metrics.json: accuracy is not a finite number "
        "(1e999, NaN, Infinity: write a number a float can hold)"
    )
    assert tags(churn, "churn#staging#*") == []  # never recorded


def test_a_stage_that_extends_prod_does_not_take_prods_policy(churn: Path) -> None:
    """staging extends prod for its environment; prod's `auto: false` is prod's."""
    (churn / "environments" / "staging.yaml").write_text(
        "name: staging\nversion: 1\nextends: prod\n"
        "gates: [{metrics: {file: metrics.json, require: {accuracy: '>= 0.5'}}}]\n"
    )
    set_policy(churn, "prod", "{auto: false}")
    code, out, err = run(churn, "advance", "churn@v1.0.0", "--format", "json")

    assert code == 5, err
    assert (json.loads(out)["reached"], json.loads(out)["stopped_at"]) == ("staging", "prod")
    code, out, err = run(churn, "diff", "staging", "prod", "--format", "json")
    assert code == 0, err
    findings = json.loads(out)["comparisons"][0]["findings"]
    assert [(f["kind"], f["path"], f["severity"]) for f in findings] == [
        ("policy.changed", "policy.auto", "info")
    ]
