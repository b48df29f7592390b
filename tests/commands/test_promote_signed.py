"""A signed prod end to end: real git with a bare remote, real SSH keys, real
images. The approvals gate counts only signed approvals by allowed approvers, and
the promotion tag is signed by the promoter's key."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from envctl import registry as reg
from tests.cli.conftest import Invoke
from tests.commands.test_promote import SPEC, lock, write_minimal_project
from tests.conftest import git

TRUST = """\
trust:
  allowed_signers: allowed_signers
  ref: origin/main
  stages:
    prod: {promoters: [ada@example.com], approvers: [bob@example.com]}
"""


def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def signer(email: str, key: Path) -> str:
    kind, blob, *_ = key.with_suffix(".pub").read_text().split()
    return f"{email} {kind} {blob}\n"


@pytest.fixture
def signed_project(git_repo: Path, base_image: str, tmp_path: Path) -> dict[str, Path]:
    write_minimal_project(git_repo, base_image, stages=("dev", "prod"))
    spec = SPEC.format(name="prod", base=base_image, gates="  - approvals: {required: 1}\n")
    (git_repo / "environments" / "prod.yaml").write_text(spec)
    lock(git_repo, "prod")
    keys = {who: keygen(tmp_path / who) for who in ("ada", "bob")}
    with (git_repo / "envctl.yaml").open("a") as config:
        config.write(TRUST)
    (git_repo / "allowed_signers").write_text(
        signer("ada@example.com", keys["ada"]) + signer("bob@example.com", keys["bob"])
    )
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "signed prod")
    git(tmp_path, "init", "-q", "--bare", "remote.git")
    git(git_repo, "remote", "add", "origin", str(tmp_path / "remote.git"))
    git(git_repo, "push", "-q", "origin", "main")
    git(git_repo, "fetch", "-q", "origin")
    git(git_repo, "config", "gpg.format", "ssh")
    return keys


@pytest.mark.docker
def test_a_signed_stage_counts_only_signed_approvals_and_signs_the_promotion(
    git_repo: Path, signed_project: dict[str, Path], invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    keys = signed_project
    assert invoke("register", "tiny", "v1.0.0").code == 0
    assert invoke("promote", "--to", "dev").code == 0
    git(git_repo, "config", "user.signingkey", str(keys["ada"]))
    assert invoke("promote", "--to", "prod").code == 5

    # Ada, claiming to be Bob: the signer is Ada, so the approval is refused.
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "bob@example.com")
    spoofed = invoke("approve", "tiny@v1.0.0", "--for", "prod")
    assert spoofed.code == 1 and "this approval would not count" in spoofed.err
    # By hand, unsigned: the tag exists but does not count.
    name = reg.approval_tag("tiny", "v1.0.0", "prod", "bob@example.com")
    git(git_repo, "tag", "-a", name, "-m", "ok", "tiny@v1.0.0^{commit}")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "ada@example.com")
    assert invoke("promote", "--to", "prod").code == 5
    audit = json.loads(invoke("audit", "--format", "json").out)
    assert sorted(v["kind"] for v in audit["violations"]) == ["no-record", "unsigned"]

    # Bob, with his own key, once the hand-made tag is gone.
    git(git_repo, "tag", "-d", name)
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "bob@example.com")
    git(git_repo, "config", "user.signingkey", str(keys["bob"]))
    assert invoke("approve", "tiny@v1.0.0", "--for", "prod").code == 0
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "ada@example.com")
    git(git_repo, "config", "user.signingkey", str(keys["ada"]))
    promoted = invoke("promote", "--to", "prod", "--push")
    assert promoted.code == 0, promoted.err
    assert "BEGIN SSH SIGNATURE" in git(git_repo, "cat-file", "tag", "tiny#prod#2")

    status = json.loads(invoke("status", "--format", "json").out)
    prod = status["models"][0]["stages"]["prod"]
    assert (prod["version"], prod["evidence"], prod["signer"]) == (
        "v1.0.0", "signed", "ada@example.com",
    )  # fmt: skip
    assert invoke("audit").code == 0


# ---- without Docker: the gates faked (tests/commands/fake_gates.py) ------------------


@pytest.fixture
def signed_staging(tmp_path: Path) -> tuple[Path, Path]:
    """tests/commands/test_promote_ledger.py's churn, staging signed by Ada, on origin."""
    from tests.commands.test_promote_ledger import SPEC as LEDGER_SPEC

    repo, key = tmp_path / "repo", keygen(tmp_path / "ada")
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    (repo / "envctl.yaml").write_text(
        "stages: [dev, staging]\nmodels:\n  churn: {path: model}\n"
        "trust:\n  allowed_signers: allowed_signers\n"
        "  stages: {staging: {promoters: [ada@example.com]}}\n"
    )
    (repo / "allowed_signers").write_text(signer("ada@example.com", key))
    (repo / "environments").mkdir()
    for stage in ("dev", "staging"):
        (repo / "environments" / f"{stage}.yaml").write_text(
            LEDGER_SPEC.format(name=stage, gates="[]")
        )
    (repo / "model").mkdir()
    (repo / "model" / "metrics.json").write_text('{"accuracy": 0.9}\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1.0.0")
    git(repo, "tag", "-a", "churn@v1.0.0", "-m", "v1.0.0")
    git(tmp_path, "init", "-q", "--bare", "origin.git")
    git(repo, "remote", "add", "origin", str(tmp_path / "origin.git"))
    git(repo, "push", "-q", "origin", "main", "--tags")
    git(repo, "fetch", "-q", "origin")
    git(repo, "config", "gpg.format", "ssh")
    return repo, key


def test_promote_signs_in_a_signed_stage_and_sync_re_signs_what_it_renumbers(
    signed_staging: tuple[Path, Path], tmp_path: Path
) -> None:
    from tests.commands.test_promote_ledger import run

    repo, key = signed_staging
    code, _, err = run(repo, "promote", "churn@v1.0.0", "--to", "staging")
    assert code == 1 and "staging is a signed stage: promoting needs a signing key" in err
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", "main", str(tmp_path / "origin.git"), str(other))
    code, _, err = run(other, "promote", "churn@v1.0.0", "--to", "dev", "--push")
    assert code == 0, err

    git(repo, "config", "user.signingkey", str(key))
    assert run(repo, "promote", "churn@v1.0.0", "--to", "dev")[0] == 0
    code, _, err = run(repo, "promote", "churn@v1.0.0", "--to", "staging")
    assert code == 0, err
    assert "BEGIN SSH SIGNATURE" in git(repo, "cat-file", "tag", "churn#staging#2")

    code, out, err = run(repo, "sync", "--format", "json")
    assert code == 0, err
    renumbered = {r["old_tag"]: r["new_tag"] for r in json.loads(out)["renumbered"]}
    new = renumbered["churn#staging#2"]
    assert new is not None and "BEGIN SSH SIGNATURE" in git(repo, "cat-file", "tag", new)
    code, out, err = run(repo, "status", "--format", "json")
    staging = json.loads(out)["models"][0]["stages"]["staging"]
    assert (staging["tag"], staging["evidence"], staging["signer"]) == (
        new, "signed", "ada@example.com",
    )  # fmt: skip


# ---- one verified reader: image and advance never read around the verification ----

GOOD = "127.0.0.1:5000/team/envctl/model-churn@sha256:" + "a" * 64
EVIL = "127.0.0.1:5000/evil/model-churn@sha256:" + "e" * 64


def event_message(
    repo: Path,
    version: str,
    stage: str,
    n: int,
    image: dict[str, str],
    who: str = "ada@example.com",
) -> str:
    """A record as envctl writes it for `churn#STAGE#N`: bound to that name and to
    the stage's spec on the protected branch (what a signed stage requires)."""
    from envctl.spec.loading import load_environment, require_project

    commit = git(repo, "rev-parse", "refs/remotes/origin/main")
    env = load_environment(f"{stage}@{commit}", require_project(repo))
    data = reg.promotion_record(
        who_name=who.split("@")[0],
        who_email=who,
        when=datetime.now(timezone.utc),
        from_stage="dev",
        env={"name": stage, "spec_version": 1, "fingerprint": env.fingerprint, "commit": commit},
        image=image,
        gates=[],
        version=version,
        model="churn",
        stage=stage,
        counter=n,
    )
    return reg.format_record(f"{who} promotes churn@{version} to {stage}", data)


def register_v110(repo: Path) -> None:
    (repo / "model" / "metrics.json").write_text('{"accuracy": 0.8}\n')
    git(repo, "commit", "-qam", "v1.1.0")
    git(repo, "tag", "-a", "churn@v1.1.0", "-m", "v1.1.0")


def test_image_and_advance_read_only_events_that_count_in_a_signed_stage(
    signed_staging: tuple[Path, Path],
) -> None:
    """A tag-pusher's unsigned `churn#staging#N` for v1.1.0 is neither what a
    deployer pulls nor a place advance believes v1.1.0 has reached."""
    from tests.commands.test_promote_ledger import run

    repo, key = signed_staging
    register_v110(repo)
    assert run(repo, "promote", "churn@v1.0.0", "--to", "dev")[0] == 0
    # Ada signs v1.0.0's staging event (an allowed promoter), recording its digest.
    message = event_message(repo, "v1.0.0", "staging", 2, {"ref": "r", "id": "i", "digest": GOOD})
    git(repo, "-c", f"user.signingkey={key}", "tag", "-s", "churn#staging#2", "-m", message,
        "churn@v1.0.0^{commit}")  # fmt: skip
    # Mallory, who can push tags: an unsigned event putting v1.1.0 in staging.
    forged = event_message(repo, "v1.1.0", "staging", 3, {"ref": "r", "id": "i", "digest": EVIL})
    git(repo, "tag", "-a", "churn#staging#3", "-m", forged, "churn@v1.1.0^{commit}")

    code, out, err = run(repo, "image", "churn", "--stage", "staging", "--format", "json")
    assert code == 0, err
    answer = json.loads(out)
    assert (answer["digest"], answer["tag"], answer["version"]) == (
        GOOD, "churn#staging#2", "v1.0.0"
    )  # fmt: skip

    git(repo, "config", "user.signingkey", str(key))
    code, out, err = run(repo, "advance", "churn@v1.1.0", "--until", "staging")
    assert code == 0, err
    assert "has entered staging already" not in out
    assert out.strip().splitlines()[-1] == "churn@v1.1.0 reached staging"
    code, out, _ = run(repo, "status", "--format", "json")
    staging = json.loads(out)["models"][0]["stages"]["staging"]
    assert (staging["version"], staging["evidence"], staging["tag"]) == (
        "v1.1.0", "signed", "churn#staging#5"
    )  # fmt: skip


def test_image_refuses_when_the_event_that_counts_records_no_digest(
    signed_staging: tuple[Path, Path],
) -> None:
    """The stage's counted event has no digest: image says so (exit 3) instead of
    answering from the later, uncounted event that records one."""
    from tests.commands.test_promote_ledger import run

    repo, key = signed_staging
    git(repo, "config", "user.signingkey", str(key))
    assert run(repo, "advance", "churn@v1.0.0", "--until", "staging")[0] == 0  # image: "fake"
    forged = event_message(repo, "v1.0.0", "staging", 3, {"ref": "r", "id": "i", "digest": EVIL})
    git(repo, "tag", "-a", "churn#staging#3", "-m", forged, "churn@v1.0.0^{commit}")

    code, out, err = run(repo, "image", "churn", "--stage", "staging")
    assert (code, out) == (3, "")
    assert err.strip().splitlines()[-1] == (
        "error: churn#staging#2 (churn@v1.0.0 in staging) records no registry digest; "
        "set registry: in envctl.yaml; staging's next promotion made with --push records one"
    )
