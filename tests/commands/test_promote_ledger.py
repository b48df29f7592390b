"""The ledger under real concurrency: real git, real bare remotes, real processes
(`tests.commands.fake_gates`: the CLI without image builds, so no Docker)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
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
NO_WORSE = "[{metrics: {file: metrics.json, require: {accuracy: '>= 0.5'}, baseline: no_worse}}]"


def envctl(
    cwd: Path,
    *args: str,
    seconds: float = 0,
    arrived: Path | None = None,
    await_: Path | None = None,
    **extra: str,
) -> subprocess.Popen[str]:
    """The faked-gates CLI; `arrived`/`await_` files order a race (see fake_gates),
    `extra` adds to its environment."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "FAKE_GATE_SECONDS": str(seconds), **extra}
    if arrived is not None:
        env["FAKE_GATE_ARRIVED"] = str(arrived)
    if await_ is not None:
        env["FAKE_GATE_AWAIT"] = str(await_)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.commands.fake_gates", *args],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def run(cwd: Path, *args: str) -> tuple[int, str, str]:
    return finish(envctl(cwd, *args))


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def tags(repo: Path, pattern: str = "churn#*") -> list[str]:
    return git(repo, "tag", "-l", pattern).split()


def remote_tags(repo: Path) -> list[str]:
    out = git(repo, "ls-remote", "--tags", "origin")
    return sorted(line.split("refs/tags/")[1] for line in out.splitlines() if "^{}" not in line)


@pytest.fixture
def churn(git_repo: Path) -> Path:
    """churn with dev and staging (staging: metrics no_worse); v1.0.0 (0.986) and
    v1.1.0 (0.867) registered and in dev."""
    (git_repo / "envctl.yaml").write_text(
        "stages: [dev, staging]\nmodels:\n  churn: {path: model}\n"
    )
    envs = git_repo / "environments"
    envs.mkdir()
    (envs / "dev.yaml").write_text(SPEC.format(name="dev", gates="[]"))
    (envs / "staging.yaml").write_text(SPEC.format(name="staging", gates=NO_WORSE))
    (git_repo / "model").mkdir()
    for version, accuracy in (("v1.0.0", 0.986), ("v1.1.0", 0.867)):
        (git_repo / "model" / "metrics.json").write_text(f'{{"accuracy": {accuracy}}}\n')
        git(git_repo, "add", "-A")
        git(git_repo, "commit", "-qm", version)
        git(git_repo, "tag", "-a", f"churn@{version}", "-m", version)
    return git_repo


@pytest.fixture
def origin(churn: Path, tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(churn, "remote", "add", "origin", str(remote))
    git(churn, "push", "-q", "origin", "main")
    return remote


def in_dev(repo: Path, *versions: str) -> None:
    for version in versions:
        code, _, err = run(repo, "promote", f"churn@{version}", "--to", "dev")
        assert code == 0, err


def test_four_simultaneous_promotions_of_one_version_write_one_event(churn: Path) -> None:
    in_dev(churn, "v1.0.0")
    procs = [envctl(churn, "promote", "churn@v1.0.0", "--to", "staging", seconds=1) for _ in "abcd"]
    results = [finish(p) for p in procs]

    assert [code for code, _, _ in results] == [0, 0, 0, 0], [e for _, _, e in results]
    assert tags(churn, "churn#staging#*") == ["churn#staging#2"]
    outs = sorted(out.strip().splitlines()[-1] for _, out, _ in results)
    assert outs == [
        *["churn@v1.0.0 is already in staging: nothing to do"] * 3,
        "promoted churn@v1.0.0 to staging: churn#staging#2",
    ]


def test_simultaneous_better_and_worse_versions_keep_the_better_one(
    churn: Path, tmp_path: Path
) -> None:
    in_dev(churn, "v1.0.0", "v1.1.0")
    # The order, whatever the load: the worse version decides on an empty staging
    # and enters its gates; only then does the better one go through and write
    # its event; only after that does the worse one reach the lock.
    worse_in_gates, good_done = tmp_path / "worse-in-gates", tmp_path / "good-done"
    worse = envctl(churn, "promote", "churn@v1.1.0", "--to", "staging", "--format", "json",
                   arrived=worse_in_gates, await_=good_done)  # fmt: skip
    good = envctl(churn, "promote", "churn@v1.0.0", "--to", "staging", await_=worse_in_gates)
    assert finish(good)[0] == 0
    good_done.touch()
    code, out, err = finish(worse)

    assert code == 1, err
    assert err.strip().splitlines()[-1] == (
        "error: staging holds v1.0.0: gate metrics failed for churn@v1.1.0: accuracy 0.867 is "
        "worse than 0.986 (v1.0.0, now in the stage)"
    )
    data = json.loads(out)
    assert (data["status"], data["replaces"], data["tag"]) == ("blocked", "v1.0.0", None)
    assert data["gates"][0]["evidence"]["baseline_version"] == "v1.0.0"
    assert tags(churn, "churn#staging#*") == ["churn#staging#3"]


def test_push_publishes_the_local_only_prerequisites_first(churn: Path, origin: Path) -> None:
    in_dev(churn, "v1.0.0")  # without --push: churn@v1.0.0 and churn#dev#1 are local only
    code, out, err = run(churn, "promote", "churn@v1.0.0", "--to", "staging", "--push")

    assert code == 0, err
    assert out.strip().endswith("promoted churn@v1.0.0 to staging: churn#staging#2 (pushed)")
    assert "pushing local-only prerequisites with churn#staging#2: churn@v1.0.0, churn#dev#1" in err
    assert remote_tags(churn) == ["churn#dev#1", "churn#staging#2", "churn@v1.0.0"]
    # A later push from here works: local and remote N agree.
    code, _, err = run(churn, "promote", "churn@v1.1.0", "--to", "dev", "--push")
    assert code == 0, err
    assert "churn#dev#3" in remote_tags(churn)


def test_a_push_killed_midway_is_completed_by_the_next_run(churn: Path, origin: Path) -> None:
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nsleep 30\n")
    hook.chmod(0o755)
    in_dev(churn, "v1.0.0")
    proc = envctl(churn, "promote", "churn@v1.0.0", "--to", "staging", "--push")
    deadline = time.monotonic() + 60
    while "churn#staging#2" not in tags(churn) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # inside `git push`, in the remote's hook
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert remote_tags(churn) == []
    hook.unlink()

    code, out, err = run(churn, "promote", "churn@v1.0.0", "--to", "staging", "--push")

    assert code == 0, err
    assert out.strip() == "churn@v1.0.0 is already in staging: nothing to do"
    assert remote_tags(churn) == ["churn#dev#1", "churn#staging#2", "churn@v1.0.0"]


def test_already_in_the_stage_is_decided_on_the_remote_with_push(
    churn: Path, origin: Path, tmp_path: Path
) -> None:
    code, _, err = run(churn, "promote", "churn@v1.0.0", "--to", "dev", "--push")
    assert code == 0, err
    git(churn, "push", "-q", "origin", "churn@v1.1.0")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", "main", str(origin), str(other))
    code, _, err = run(other, "promote", "churn@v1.1.0", "--to", "dev", "--push")
    assert code == 0, err  # dev holds v1.1.0 on origin; this clone still says v1.0.0

    code, out, err = run(churn, "promote", "churn@v1.0.0", "--to", "dev", "--push")

    assert code == 0, err
    assert "origin has registry tags this clone has not seen; fetching them first" in err
    assert out.strip().endswith("promoted churn@v1.0.0 to dev: churn#dev#3 (pushed)")
    assert remote_tags(churn) == [
        "churn#dev#1", "churn#dev#2", "churn#dev#3", "churn@v1.0.0", "churn@v1.1.0",
    ]  # fmt: skip


def test_the_stage_order_is_decided_on_the_remote_with_push(
    churn: Path, origin: Path, tmp_path: Path
) -> None:
    git(churn, "push", "-q", "origin", "churn@v1.0.0")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", "main", str(origin), str(other))
    code, _, err = run(other, "promote", "churn@v1.0.0", "--to", "dev", "--push")
    assert code == 0, err  # v1.0.0 entered dev on origin only

    code, _, err = run(churn, "promote", "churn@v1.0.0", "--to", "staging")
    assert code == 1  # this clone's own copy: v1.0.0 never entered dev
    assert "churn@v1.0.0 has not entered dev" in err, err

    code, out, err = run(churn, "promote", "churn@v1.0.0", "--to", "staging", "--push")

    assert code == 0, err  # the shared ledger says it has
    assert "origin has registry tags this clone has not seen; fetching them first" in err
    assert out.strip().endswith("promoted churn@v1.0.0 to staging: churn#staging#2 (pushed)")


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_stale_clone_decides_the_baseline_on_the_fetched_ledger(
    churn: Path, origin: Path, tmp_path: Path, as_json: bool
) -> None:
    in_dev(churn, "v1.0.0", "v1.1.0")
    git(churn, "push", "-q", "origin", "--tags")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", "main", str(origin), str(other))
    # Here v1.0.0 (0.986) enters staging and is pushed...
    code, _, err = run(churn, "promote", "churn@v1.0.0", "--to", "staging", "--push")
    assert code == 0, err
    # ...and the other machine, which has not fetched, would see an empty staging
    # (no baseline, so v1.1.0 at 0.867 would pass): with --push it fetches first.
    # (The race, where the remote changes during the gates: the next test.)
    fmt = ("--format", "json") if as_json else ()
    code, out, err = run(other, "promote", "churn@v1.1.0", "--to", "staging", "--push", *fmt)

    assert code == 1, err
    if as_json:
        data = json.loads(out)  # the outcome on the fetched ledger: its baseline and verdict
        assert (data["status"], data["replaces"], data["tag"]) == ("blocked", "v1.0.0", None)
        metrics = data["gates"][0]["evidence"]
        assert metrics["baseline_version"] == "v1.0.0"
        assert metrics["metrics"][0]["baseline"] == 0.986
    else:
        assert "origin has registry tags this clone has not seen; fetching them first" in err
    assert err.strip().splitlines()[-1] == (
        "error: gate metrics failed for churn@v1.1.0 -> staging: accuracy 0.867 is worse "
        "than 0.986 (v1.0.0, now in the stage)"
    )
    assert tags(other, "churn#staging#*") == ["churn#staging#3"]
    assert "churn#staging#4" not in remote_tags(churn)


def test_a_rejected_push_rechecks_the_baseline_against_the_new_stage_version(
    churn: Path, origin: Path, tmp_path: Path
) -> None:
    in_dev(churn, "v1.0.0", "v1.1.0")
    git(churn, "push", "-q", "origin", "--tags")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", "main", str(origin), str(other))
    # The other machine decides on an empty staging (no baseline) and is in its
    # gates when v1.0.0 (0.986) enters staging here and is pushed; only then does
    # the worse v1.1.0 (0.867) reach its tag, and its push is rejected.
    other_in_gates, pushed_here = tmp_path / "other-in-gates", tmp_path / "pushed-here"
    worse = envctl(other, "promote", "churn@v1.1.0", "--to", "staging", "--push",
                   "--format", "json", arrived=other_in_gates, await_=pushed_here)  # fmt: skip
    good = envctl(churn, "promote", "churn@v1.0.0", "--to", "staging", "--push",
                  await_=other_in_gates)  # fmt: skip
    assert finish(good)[0] == 0
    pushed_here.touch()
    code, out, err = finish(worse)

    assert code == 1, err
    assert err.strip().splitlines()[-1] == (
        "error: after fetching tags, staging holds v1.0.0: gate metrics failed for "
        "churn@v1.1.0: accuracy 0.867 is worse than 0.986 (v1.0.0, now in the stage)"
    )
    data = json.loads(out)  # the outcome as it stood after the re-check
    assert (data["status"], data["replaces"], data["tag"]) == ("blocked", "v1.0.0", None)
    assert data["gates"][0]["evidence"]["baseline_version"] == "v1.0.0"
    assert tags(other, "churn#staging#*") == ["churn#staging#3"]  # the fetched one only
    assert "churn#staging#4" not in remote_tags(churn)


def test_clashing_local_events_are_refused_then_renumbered_by_sync(
    churn: Path, origin: Path, tmp_path: Path
) -> None:
    git(churn, "push", "-q", "origin", "--tags")  # both versions
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", "main", str(origin), str(other))
    in_dev(other, "v1.1.0")
    code, _, err = run(other, "promote", "churn@v1.1.0", "--to", "dev", "--push")
    assert code == 0, err  # already in dev locally: published now
    in_dev(churn, "v1.0.0")  # churn#dev#1 here, another churn#dev#1 on origin

    code, _, err = run(churn, "promote", "churn@v1.0.0", "--to", "staging", "--push")
    assert code == 4
    assert err.strip().splitlines()[-1] == (
        "error: local tags clash with origin's numbering: churn#dev#1; run envctl sync "
        "--remote origin to fetch and renumber them, then retry"
    )
    code, out, err = run(churn, "sync", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["renumbered"] == [
        {"old_tag": "churn#dev#1", "new_tag": "churn#dev#2", "reason": None}
    ]
    assert data["pushed"] == ["churn#dev#2"]
    record = git(churn, "tag", "-l", "--format=%(contents)", "churn#dev#2")
    assert '"renumbered_from": "churn#dev#1"' in record
    assert remote_tags(churn) == ["churn#dev#1", "churn#dev#2", "churn@v1.0.0", "churn@v1.1.0"]

    code, out, err = run(churn, "promote", "churn@v1.0.0", "--to", "staging", "--push")
    assert code == 0, err
    assert out.strip().endswith("churn#staging#3 (pushed)")


def test_sync_decides_a_renumbered_event_again_and_drops_what_no_longer_holds(
    churn: Path, origin: Path, tmp_path: Path
) -> None:
    """Here the worse v1.1.0 (0.867) enters staging locally, on an empty staging;
    meanwhile another clone pushes the better v1.2.0 (0.99) into staging. sync must
    not renumber and publish the worse event: under `baseline: no_worse` it no
    longer holds on the shared ledger."""
    (churn / "model" / "metrics.json").write_text('{"accuracy": 0.99}\n')
    git(churn, "commit", "-qam", "v1.2.0")
    git(churn, "tag", "-a", "churn@v1.2.0", "-m", "v1.2.0")
    in_dev(churn, "v1.0.0", "v1.1.0", "v1.2.0")
    git(churn, "push", "-q", "origin", "main", "--tags")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", "main", str(origin), str(other))
    code, _, err = run(churn, "promote", "churn@v1.1.0", "--to", "staging")  # local only
    assert code == 0, err
    code, _, err = run(other, "promote", "churn@v1.2.0", "--to", "staging", "--push")
    assert code == 0, err

    code, out, err = run(churn, "sync", "--format", "json")

    assert code == 0, err
    reason = (
        "staging holds v1.2.0: gate metrics failed: accuracy 0.867 is worse than 0.99 "
        "(v1.2.0, now in the stage)"
    )
    data = json.loads(out)
    assert data["renumbered"] == [{"old_tag": "churn#staging#4", "new_tag": None, "reason": reason}]
    assert data["pushed"] == []
    assert tags(churn, "churn#staging#*") == ["churn#staging#4"] == tags(other, "churn#staging#*")
    assert git(churn, "rev-parse", "churn#staging#4") == git(other, "rev-parse", "churn#staging#4")
    assert [t for t in remote_tags(churn) if "#staging#" in t] == ["churn#staging#4"]
    code, out, _ = run(churn, "status", "churn", "--format", "json")
    assert json.loads(out)["models"][0]["stages"]["staging"]["version"] == "v1.2.0"


def test_sync_renumbers_an_event_that_still_holds_with_its_gates_decided_again(
    churn: Path, origin: Path, tmp_path: Path
) -> None:
    """The other way round: the better version was promoted here, the worse one
    there. The better one still holds against the worse one, and is published with
    its baseline evidence decided again on the shared ledger."""
    (churn / "model" / "metrics.json").write_text('{"accuracy": 0.99}\n')
    git(churn, "commit", "-qam", "v1.2.0")
    git(churn, "tag", "-a", "churn@v1.2.0", "-m", "v1.2.0")
    in_dev(churn, "v1.1.0", "v1.2.0")
    git(churn, "push", "-q", "origin", "main", "--tags")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", "main", str(origin), str(other))
    assert run(churn, "promote", "churn@v1.2.0", "--to", "staging")[0] == 0
    assert run(other, "promote", "churn@v1.1.0", "--to", "staging", "--push")[0] == 0

    code, out, err = run(churn, "sync", "--format", "json")

    assert code == 0, err
    data = json.loads(out)
    assert data["renumbered"] == [
        {"old_tag": "churn#staging#3", "new_tag": "churn#staging#4", "reason": None}
    ]
    assert "churn#staging#4" in remote_tags(churn)
    record = git(churn, "tag", "-l", "--format=%(contents)", "churn#staging#4")
    data = json.loads(record.split("envctl-record: v1", 1)[1])
    assert data["gates"][0]["evidence"]["baseline_version"] == "v1.1.0"
    assert data["renumbered_from"] == "churn#staging#3"


def test_sync_drops_a_renumbered_event_the_stage_policy_no_longer_allows(
    churn: Path, origin: Path, tmp_path: Path
) -> None:
    """staging was promoted to here, then frozen before the event was published:
    sync decides the policy again (now) and does not publish it."""
    in_dev(churn, "v1.0.0")
    git(churn, "push", "-q", "origin", "main", "--tags")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", "main", str(origin), str(other))
    assert run(churn, "promote", "churn@v1.0.0", "--to", "staging")[0] == 0  # churn#staging#2
    assert run(other, "promote", "churn@v1.1.0", "--to", "dev", "--push")[0] == 0  # #2 there
    spec = churn / "environments" / "staging.yaml"
    freeze = "{from: '2020-01-01T00:00+00:00', until: '2999-01-01T00:00+00:00', reason: audit}"
    spec.write_text(spec.read_text() + f"policy: {{timezone: UTC, freeze: [{freeze}]}}\n")

    code, out, err = run(churn, "sync", "--format", "json")

    assert code == 0, err
    (dropped,) = json.loads(out)["renumbered"]
    assert (dropped["old_tag"], dropped["new_tag"]) == ("churn#staging#2", None)
    assert dropped["reason"].startswith("the policy of staging says not now: frozen until ")
    assert tags(churn, "churn#staging#*") == []
    assert [t for t in remote_tags(churn) if "#staging#" in t] == []


def git_that_kills_after_tagging(folder: Path) -> Path:
    """A folder holding a `git` that runs the real one and, after a `git tag -a`,
    SIGKILLs its process group (the envctl that ran it): a kill right after git
    wrote the tag, before envctl heard back."""
    folder.mkdir()
    script = folder / "git"
    script.write_text(
        f'#!/bin/sh\n"{shutil.which("git")}" "$@"\ncode=$?\n'
        'case " $* " in *" tag -a "*) kill -KILL 0 ;; esac\nexit $code\n'
    )
    script.chmod(0o755)
    return folder


@pytest.mark.parametrize("push", [False, True], ids=["local", "push"])
def test_a_kill_right_after_the_tag_is_written_is_done_for_the_next_run(
    churn: Path, origin: Path, tmp_path: Path, push: bool
) -> None:
    flags = ["--push"] if push else []
    killer = git_that_kills_after_tagging(tmp_path / "bin")
    path = f"{killer}{os.pathsep}{os.environ['PATH']}"
    proc = envctl(churn, "promote", "churn@v1.0.0", "--to", "dev", *flags, PATH=path)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err
    assert tags(churn) == ["churn#dev#1"]
    assert remote_tags(churn) == []  # with --push: killed before its push

    code, out, err = run(churn, "promote", "churn@v1.0.0", "--to", "dev", *flags)

    assert code == 0, err
    assert out.strip() == "churn@v1.0.0 is already in dev: nothing to do"
    assert tags(churn) == ["churn#dev#1"]
    assert remote_tags(churn) == (["churn#dev#1", "churn@v1.0.0"] if push else [])
    code, out, err = run(churn, "status", "churn", "--format", "json")
    assert code == 0, err
    dev = json.loads(out)["models"][0]["stages"]["dev"]
    assert (dev["tag"], dev["version"], dev["evidence"]) == ("churn#dev#1", "v1.0.0", "recorded")
    code, out, err = run(churn, "audit", "churn", "--format", "json")
    assert (code, json.loads(out)["violations"]) == (0, []), err


def terminate_in_gates(repo: Path, *args: str) -> tuple[int, str, str]:
    """Start a promotion of churn@v1.0.0 to dev, SIGTERM it in its (faked) gates."""
    ready = repo.parent / "in-gates"
    proc = envctl(repo, "promote", "churn@v1.0.0", "--to", "dev", *args, seconds=30,
                  arrived=ready)  # fmt: skip
    deadline = time.monotonic() + 60
    while not ready.exists():  # in its (faked) gates, with its handlers set
        assert proc.poll() is None, "the promotion ended before its gates"
        assert time.monotonic() < deadline, "the promotion never reached its gates"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def test_sigterm_stops_a_promotion_without_a_tag(churn: Path) -> None:
    code, out, err = terminate_in_gates(churn)

    assert code == 143, err
    assert err.strip().splitlines()[-1] == "error: terminated"
    assert out == ""
    assert tags(churn) == []


def test_sigterm_under_json_says_terminated_with_exit_143(churn: Path) -> None:
    code, out, err = terminate_in_gates(churn, "--format", "json")

    assert code == 143, err
    assert err.strip().splitlines()[-1] == "error: terminated"
    data = json.loads(out)
    assert data["exit_code"] == 143
    assert (data["error"]["kind"], data["error"]["message"]) == ("terminated", "terminated")
    assert tags(churn) == []


def test_register_refuses_a_dirty_model_folder_and_a_commit_registered_twice(
    churn: Path,
) -> None:
    git(churn, "commit", "-q", "--allow-empty", "-m", "v1.3.0")
    (churn / "model" / "metrics.json").write_text('{"accuracy": 0.9}\n')
    code, _, err = run(churn, "register", "churn", "v1.3.0")
    assert code == 3
    assert "the model folder model/ has 1 uncommitted or untracked change(s)" in err
    assert tags(churn, "churn@v1.3.0") == []
    code, _, err = run(churn, "register", "churn", "v1.3.0", "--allow-dirty")
    assert code == 0, err
    assert '"allow_dirty"' in git(churn, "tag", "-l", "--format=%(contents)", "churn@v1.3.0")

    git(churn, "checkout", "-q", "--", "model")
    code, _, err = run(churn, "register", "churn", "v1.4.0")
    assert code == 3
    assert "is already registered as churn@v1.3.0" in err
    code, _, err = run(churn, "register", "churn", "v1.4.0", "--force", "--reason", "rename")
    assert code == 0, err
    assert '"reason": "rename"' in git(churn, "tag", "-l", "--format=%(contents)", "churn@v1.4.0")


def versions_in_history(repo: Path) -> dict[str, str]:
    code, out, err = run(repo, "history", "churn", "--format", "json")
    assert code == 0, err
    return {e["tag"]: e["version"] for e in json.loads(out)["events"]}


def test_a_commit_registered_twice_keeps_each_versions_promotions_apart(churn: Path) -> None:
    git(churn, "commit", "-q", "--allow-empty", "-m", "v1.2.0")
    assert run(churn, "register", "churn", "v1.2.0")[0] == 0
    in_dev(churn, "v1.2.0")
    code, _, err = run(churn, "register", "churn", "v1.3.0", "--force", "--reason", "renamed")
    assert code == 0, err

    assert versions_in_history(churn) == {"churn#dev#1": "v1.2.0"}
    code, out, err = run(churn, "status", "churn", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["models"][0]["stages"]["dev"]["version"] == "v1.2.0"
    code, out, err = run(churn, "promote", "churn@v1.3.0", "--to", "dev")
    assert code == 0, err
    assert out.strip().endswith("promoted churn@v1.3.0 to dev: churn#dev#2")
    assert versions_in_history(churn) == {"churn#dev#1": "v1.2.0", "churn#dev#2": "v1.3.0"}
    code, out, err = run(churn, "audit", "churn", "--format", "json")
    assert (code, json.loads(out)["violations"]) == (0, []), err


def test_register_warns_when_the_version_is_lower_than_the_latest(churn: Path) -> None:
    git(churn, "commit", "-q", "--allow-empty", "-m", "backport")
    code, _, err = run(churn, "register", "churn", "v1.0.1")
    assert code == 0, err
    assert err.strip() == (
        "warning: churn@v1.0.1 is lower than v1.1.0, the latest registered version"
    )


def test_a_held_lock_names_its_holder_and_times_out(churn: Path) -> None:
    from envctl.ledger.lock import registry_lock

    with registry_lock(churn):
        code, _, err = run(churn, "promote", "churn@v1.0.0", "--to", "dev", "--lock-timeout", "1")
    assert code == 4
    assert f"waiting for the registry lock, held by pid {os.getpid()} on" in err
    assert "gave up after 1s (--lock-timeout)" in err.strip().splitlines()[-1]
    assert tags(churn) == []


def test_a_lock_held_by_a_killed_process_is_taken_over(churn: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "from envctl.ledger.lock import registry_lock\n"
         "import time\nwith registry_lock(__import__('pathlib').Path('.')):\n"
         "    print('held', flush=True); time.sleep(60)"],
        cwd=churn, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    holder.kill()
    holder.wait()
    code, _, err = run(churn, "promote", "churn@v1.0.0", "--to", "dev", "--lock-timeout", "5")
    assert code == 0, err
