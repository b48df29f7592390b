"""Signed stages end to end: real git, real SSH keys, a real bare remote whose main
branch holds the allowed-signers file. Events are written as `envctl promote`
writes them (record + `git tag -s`), so no image needs building."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from envctl import registry as reg
from tests.conftest import git
from tests.harness import Invoke

CONFIG = """\
stages: [dev, staging, prod]
models:
  m:
    path: model
trust:
  allowed_signers: .envctl/allowed_signers
  ref: origin/main
  stages:
    prod:
      promoters: [alice@example.com]
      approvers: [bob@example.com]
"""


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


def keygen(path: Path) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
        check=True,
    )
    return path


def signer_line(email: str, key: Path) -> str:
    kind, blob, *_ = key.with_suffix(".pub").read_text().split()
    return f"{email} {kind} {blob}\n"


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    return {who: keygen(tmp_path / f"{who}_key") for who in ("alice", "bob", "mallory")}


@pytest.fixture
def trusted(git_repo: Path, tmp_path: Path, keys: dict[str, Path], invoke: Invoke) -> Path:
    """The project on main, pushed to a bare origin; m@v1.0.0 and v1.1.0 registered."""
    (git_repo / "envctl.yaml").write_text(CONFIG)
    (git_repo / "environments").mkdir()
    for stage in ("dev", "staging", "prod"):
        gates = "[{approvals: {required: 1}}]" if stage == "prod" else "[]"
        (git_repo / "environments" / f"{stage}.yaml").write_text(
            SPEC.format(name=stage, gates=gates)
        )
    (git_repo / "model").mkdir()
    (git_repo / "model" / "app.py").write_text("print('m')\n")
    (git_repo / ".envctl").mkdir()
    signers = signer_line("alice@example.com", keys["alice"])
    signers += signer_line("bob@example.com", keys["bob"])
    (git_repo / ".envctl" / "allowed_signers").write_text(signers)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "project")
    git(tmp_path, "init", "-q", "--bare", "origin.git")
    git(git_repo, "remote", "add", "origin", str(tmp_path / "origin.git"))
    git(git_repo, "push", "-q", "origin", "main")
    git(git_repo, "fetch", "-q", "origin")
    assert invoke("register", "m", "v1.0.0").code == 0
    git(git_repo, "commit", "-q", "--allow-empty", "-m", "retrain")
    assert invoke("register", "m", "v1.1.0").code == 0
    return git_repo


def record_tag(
    repo: Path,
    tag: str,
    version: str,
    *,
    who: str = "ada@example.com",
    key: Path | None = None,
    from_stage: str | None = None,
    gates: list[dict[str, object]] | None = None,
    bypass: str | None = None,
    spec_ref: str = "refs/remotes/origin/main",
) -> None:
    """An assignment tag as envctl writes it, by `who`, signed with `key` if given;
    its stage's spec read at `spec_ref`."""
    data = reg.promotion_record(
        who_name=who.split("@")[0],
        who_email=who,
        when=datetime.now(timezone.utc),  # as envctl writes it: audit compares it with the tag date
        from_stage=from_stage,
        env=protected_spec(repo, tag, spec_ref),
        image=None,
        gates=gates or [],
        bypass=bypass,
        **bound_to(tag, version),
    )
    message = reg.format_record(f"{who} promotes m@{version}", data)
    sign = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key}"] if key else []
    subprocess.run(
        ["git", *sign, "tag", "-s" if key else "-a", "--cleanup=verbatim", "-F", "-", tag,
         f"m@{version}^{{commit}}"],
        cwd=repo, input=message, text=True, check=True, capture_output=True,
        env={**_env(), "GIT_COMMITTER_EMAIL": who, "GIT_COMMITTER_NAME": who.split("@")[0]},
    )  # fmt: skip


def protected_spec(repo: Path, tag: str, ref: str = "refs/remotes/origin/main") -> dict[str, Any]:
    """The record's `env` as envctl writes it in a signed stage: the stage's spec
    read at the trust ref."""
    from envctl.spec.loading import load_environment, require_project

    parsed = reg.parse_tag_name(tag)
    assert parsed is not None and parsed.stage is not None
    commit = git(repo, "rev-parse", f"{ref}^{{commit}}").strip()
    env = load_environment(f"{parsed.stage}@{commit}", require_project(repo))
    return {"name": env.name, "spec_version": 1, "fingerprint": env.fingerprint, "commit": commit}


def bound_to(tag: str, version: str) -> dict[str, Any]:
    """The fields that bind a record to its tag name, as envctl writes them."""
    parsed = reg.parse_tag_name(tag)
    assert parsed is not None
    return {"model": parsed.model, "stage": parsed.stage, "counter": parsed.counter,
            "version": version}  # fmt: skip


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def through_staging(repo: Path, version: str, first: int) -> None:
    record_tag(repo, f"m#dev#{first}", version)
    record_tag(repo, f"m#staging#{first + 1}", version, from_stage="dev")


def status_json(invoke: Invoke) -> dict[str, object]:
    result = invoke("status", "--format", "json")
    assert result.code == 0, result.err
    data: dict[str, object] = json.loads(result.out)
    return data


def prod(invoke: Invoke) -> dict[str, object] | None:
    models = status_json(invoke)["models"]
    assert isinstance(models, list)
    cell: dict[str, object] | None = models[0]["stages"]["prod"]
    return cell


def audit_kinds(invoke: Invoke) -> tuple[int, list[tuple[str, str]]]:
    result = invoke("audit", "--format", "json")
    doc = json.loads(result.out)
    return result.code, [(v["tag"], v["kind"]) for v in doc["violations"]]


def test_a_signed_promotion_by_an_allowed_promoter_counts(
    trusted: Path, keys: dict[str, Path], invoke: Invoke
) -> None:
    through_staging(trusted, "v1.0.0", 1)
    record_tag(trusted, "m#prod#3", "v1.0.0", who="alice@example.com", key=keys["alice"],
               from_stage="staging")  # fmt: skip
    cell = prod(invoke)
    assert cell is not None
    assert (cell["version"], cell["evidence"], cell["signer"], cell["counts"]) == (
        "v1.0.0", "signed", "alice@example.com", True,
    )  # fmt: skip
    assert audit_kinds(invoke) == (0, [])
    assert "ledger clean: 3 events and 0 approvals checked" in invoke("audit").out


def test_a_hand_made_tag_in_a_signed_stage_does_not_count(
    trusted: Path, keys: dict[str, Path], invoke: Invoke
) -> None:
    through_staging(trusted, "v1.0.0", 1)
    record_tag(trusted, "m#prod#3", "v1.0.0", who="alice@example.com", key=keys["alice"],
               from_stage="staging")  # fmt: skip
    git(trusted, "tag", "-a", "m#prod#98", "-m", "manual", "m@v1.1.0^{commit}")
    cell = prod(invoke)
    assert cell is not None and cell["version"] == "v1.0.0"  # the last event that counts
    assert "[no evidence]" not in invoke("status").out
    history = invoke("history", "m").out.splitlines()
    assert history[0].endswith("v1.1.0  by ada@example.com  NO EVIDENCE (does not count)")
    code, kinds = audit_kinds(invoke)
    assert code == 1
    assert kinds == [
        ("m#prod#98", "counter-gap"),
        ("m#prod#98", "no-record"),
        ("m#prod#98", "skipped-stage"),
        ("m#prod#98", "unsigned"),
    ]
    plain = invoke("audit")
    assert plain.code == 1
    assert plain.err.startswith("error: audit found 4 violation(s) in 4 events and 0 approvals")
    assert "skipped-stage        m#prod#98: v1.1.0 had not entered staging" in plain.out


def test_a_signer_outside_the_trust_root_does_not_count(
    trusted: Path, keys: dict[str, Path], invoke: Invoke
) -> None:
    """Mallory adds herself to the signers file on a branch and pushes only a tag:
    the file at origin/main is what counts."""
    lines = (trusted / ".envctl" / "allowed_signers").read_text()
    (trusted / ".envctl" / "allowed_signers").write_text(
        lines + signer_line("alice@example.com", keys["mallory"])
    )
    git(trusted, "commit", "-qam", "trust me")
    through_staging(trusted, "v1.0.0", 1)
    record_tag(trusted, "m#prod#3", "v1.0.0", who="alice@example.com", key=keys["mallory"],
               from_stage="staging")  # fmt: skip
    assert prod(invoke) is None
    assert audit_kinds(invoke) == (1, [("m#prod#3", "unknown-signer")])


def test_a_bob_signed_promotion_is_not_allowed(
    trusted: Path, keys: dict[str, Path], invoke: Invoke
) -> None:
    through_staging(trusted, "v1.0.0", 1)
    record_tag(trusted, "m#prod#3", "v1.0.0", who="bob@example.com", key=keys["bob"],
               from_stage="staging")  # fmt: skip
    assert prod(invoke) is None
    code, kinds = audit_kinds(invoke)
    assert (code, kinds) == (1, [("m#prod#3", "signer-not-allowed")])


def test_an_edited_record_keeping_the_old_signature_is_a_bad_signature(
    trusted: Path, keys: dict[str, Path], invoke: Invoke
) -> None:
    through_staging(trusted, "v1.0.0", 1)
    record_tag(trusted, "m#prod#3", "v1.0.0", who="alice@example.com", key=keys["alice"],
               from_stage="staging", gates=[{"kind": "tests", "status": "passed"}])  # fmt: skip
    message = git(trusted, "tag", "-l", "--format=%(contents)", "m#prod#3")
    edited = message.replace('"passed"', '"failed"')
    git(trusted, "tag", "-d", "m#prod#3")
    subprocess.run(
        ["git", "tag", "-a", "--cleanup=verbatim", "-F", "-", "m#prod#3", "m@v1.0.0^{commit}"],
        cwd=trusted, input=edited + "\n", text=True, check=True,
        env={**_env(), "GIT_COMMITTER_EMAIL": "alice@example.com"},
    )  # fmt: skip
    assert prod(invoke) is None
    code, kinds = audit_kinds(invoke)
    assert (code, kinds) == (1, [("m#prod#3", "bad-signature"), ("m#prod#3", "gate-not-passed")])


def test_an_edited_record_in_an_unsigned_stage_still_shows_but_invalid(
    trusted: Path, invoke: Invoke
) -> None:
    record_tag(trusted, "m#dev#1", "v1.0.0", gates=[{"kind": "tests", "status": "failed"}])
    git(trusted, "tag", "-d", "m#dev#1")
    message = reg.format_record("x", {"kind": "promotion", "who": {"name": "B", "email": "b@x"}})
    subprocess.run(
        ["git", "tag", "-a", "--cleanup=verbatim", "-F", "-", "m#dev#1", "m@v1.0.0^{commit}"],
        cwd=trusted, input=message, text=True, check=True,
    )  # fmt: skip
    result = invoke("status")
    assert "v1.0.0 (" in result.out and "[invalid]" in result.out
    code, kinds = audit_kinds(invoke)
    assert code == 1
    assert ("m#dev#1", "invalid-record") in kinds


# ---- the trust root, by its full name ------------------------------------------------


def test_a_tag_named_like_the_trust_ref_never_shadows_it(
    trusted: Path, keys: dict[str, Path], invoke: Invoke
) -> None:
    """Mallory commits a signers file that gives her key Alice's email and pushes
    that commit only as a tag named `origin/main` (git would prefer the tag)."""
    lines = (trusted / ".envctl" / "allowed_signers").read_text()
    (trusted / ".envctl" / "allowed_signers").write_text(
        lines + signer_line("alice@example.com", keys["mallory"])
    )
    git(trusted, "commit", "-qam", "trust me")
    git(trusted, "tag", "origin/main", "HEAD")
    git(trusted, "reset", "-q", "--hard", "HEAD~1")
    through_staging(trusted, "v1.0.0", 1)
    record_tag(trusted, "m#prod#3", "v1.0.0", who="alice@example.com", key=keys["mallory"],
               from_stage="staging")  # fmt: skip
    assert prod(invoke) is None
    code, kinds = audit_kinds(invoke)
    assert (code, kinds) == (
        1,
        [("m#prod#3", "unknown-signer"), ("origin/main", "trust-ref-shadow")],
    )


def test_an_ambiguous_trust_ref_is_refused(trusted: Path, invoke: Invoke) -> None:
    git(trusted, "branch", "origin/main", "HEAD")
    result = invoke("status")
    assert result.code == 3
    assert result.err == (
        "error: trust.ref in envctl.yaml: the ref 'origin/main' is ambiguous "
        "(refs/heads/origin/main, refs/remotes/origin/main); name it in full in envctl.yaml "
        "(e.g. refs/remotes/origin/main)\n"
    )


# ---- a signed stage's spec is the protected branch's -------------------------------


def drop_prods_gates(repo: Path, invoke: Invoke) -> None:
    """Mallory's commit: prod's spec without its approvals gate, registered as v2.0.0
    and taken through staging (unsigned stages)."""
    git(repo, "checkout", "-q", "-b", "evil")
    spec = repo / "environments" / "prod.yaml"
    spec.write_text(spec.read_text().replace("[{approvals: {required: 1}}]", "[]"))
    git(repo, "commit", "-qam", "faster prod")
    assert invoke("register", "m", "v2.0.0").code == 0
    through_staging(repo, "v2.0.0", 1)


def test_ci_promoting_from_the_attackers_checkout_runs_the_protected_gates(
    trusted: Path, keys: dict[str, Path], invoke: Invoke
) -> None:
    from tests.commands.test_promote_ledger import envctl, finish

    drop_prods_gates(trusted, invoke)
    use_key(trusted, keys["alice"])  # CI's key, on a checkout of the version's commit
    ci = envctl(
        trusted, "promote", "m@v2.0.0", "--to", "prod", GIT_COMMITTER_EMAIL="alice@example.com"
    )
    code, _, err = finish(ci)
    assert code == 5, err
    assert "m@v2.0.0 waits for approvals to enter prod" in err
    assert git(trusted, "tag", "-l", "m#prod#*") == ""


def test_an_event_decided_on_a_spec_not_on_the_protected_branch_does_not_count(
    trusted: Path, keys: dict[str, Path], invoke: Invoke
) -> None:
    """Signed by Alice, but its gates came from Mallory's commit (an older envctl,
    or a hand-made record): the spec it names never was on main."""
    drop_prods_gates(trusted, invoke)
    record_tag(trusted, "m#prod#3", "v2.0.0", who="alice@example.com", key=keys["alice"],
               from_stage="staging", spec_ref="HEAD")  # fmt: skip
    assert prod(invoke) is None
    assert audit_kinds(invoke) == (1, [("m#prod#3", "spec-not-protected")])
    assert "prod's spec at" in invoke("audit").out


def test_protected_specs_are_kept_once_found_on_the_protected_branch(
    trusted: Path, keys: dict[str, Path], invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """envctl/promotion/protected.py: the stage spec at a commit on the protected
    branch is looked up once; one not on it is asked about every time."""
    from envctl.ledger import protected
    from envctl.ledger.trust import read_verified
    from envctl.registry.workspace import workspace

    through_staging(trusted, "v1.0.0", 1)
    record_tag(trusted, "m#prod#3", "v1.0.0", who="alice@example.com", key=keys["alice"],
               from_stage="staging")  # fmt: skip
    record_tag(trusted, "m#prod#4", "v1.0.0", who="alice@example.com", key=keys["alice"],
               from_stage="staging", spec_ref="HEAD")  # fmt: skip
    asked: list[str] = []
    real = protected._fingerprint

    def counting(ws: object, stage: str, commit: str, ref: str) -> str | None:
        asked.append(commit)
        return real(ws, stage, commit, ref)  # type: ignore[arg-type]  # a Workspace

    monkeypatch.setattr(protected, "_fingerprint", counting)
    main = git(trusted, "rev-parse", "origin/main").strip()
    head = git(trusted, "rev-parse", "HEAD").strip()
    for _ in range(2):
        ledger = read_verified(workspace())
        assert ledger.audit.verdict("m#prod#3").counts
        assert not ledger.audit.verdict("m#prod#4").counts
    assert sorted(asked) == sorted([main, head, head])


# ---- replays: a signed object read under another name ------------------------------


def copy_tag(repo: Path, source: str, name: str) -> None:
    """What anyone who can push tags can do with a signed tag: point a new ref at
    the very same tag object (`git push origin OBJECT:refs/tags/NAME`)."""
    git(repo, "update-ref", f"refs/tags/{name}", git(repo, "rev-parse", f"refs/tags/{source}"))


def test_prods_signed_event_replayed_as_a_new_event_does_not_count(
    trusted: Path, keys: dict[str, Path], invoke: Invoke
) -> None:
    through_staging(trusted, "v1.0.0", 1)
    record_tag(trusted, "m#prod#3", "v1.0.0", who="alice@example.com", key=keys["alice"],
               from_stage="staging")  # fmt: skip
    through_staging(trusted, "v1.1.0", 4)
    record_tag(trusted, "m#prod#6", "v1.1.0", who="alice@example.com", key=keys["alice"],
               from_stage="staging")  # fmt: skip
    copy_tag(trusted, "m#prod#3", "m#prod#7")
    cell = prod(invoke)
    assert cell is not None and (cell["version"], cell["tag"]) == ("v1.1.0", "m#prod#6")
    code, kinds = audit_kinds(invoke)
    assert (code, kinds) == (1, [("m#prod#7", "name-mismatch")])
    assert "the tag object is named m#prod#3" in invoke("audit").out


def test_bobs_signed_approval_replayed_for_another_version_does_not_count(
    trusted: Path, keys: dict[str, Path], invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from envctl.ledger.trust import read_verified
    from envctl.registry.workspace import workspace

    use_key(trusted, keys["bob"])
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "bob@example.com")
    assert invoke("approve", "m@v1.0.0", "--for", "prod").code == 0
    source = reg.approval_tag("m", "v1.0.0", "prod", "bob@example.com")
    replayed = reg.approval_tag("m", "v1.1.0", "prod", "bob@example.com")
    copy_tag(trusted, source, replayed)
    ledger = read_verified(workspace())
    assert ledger.trusted.approvers("m", "v1.0.0", "prod") == {"bob@example.com"}
    assert ledger.trusted.approvers("m", "v1.1.0", "prod") == frozenset()
    assert {(v.tag, v.kind) for v in ledger.audit.violations} == {(replayed, "name-mismatch")}


# ---- approve ----------------------------------------------------------------------


def use_key(repo: Path, key: Path) -> None:
    git(repo, "config", "gpg.format", "ssh")
    git(repo, "config", "user.signingkey", str(key))


def test_approve_in_a_signed_stage_needs_a_signing_key(trusted: Path, invoke: Invoke) -> None:
    result = invoke("approve", "m@v1.0.0", "--for", "prod")
    assert result.code == 1
    assert result.err.startswith(
        "error: prod is a signed stage: approving needs a signing key; run git config gpg.format"
    )
    assert git(trusted, "tag", "-l", "envctl/approval/*") == ""


def test_a_spoofed_approver_email_is_refused_and_leaves_no_tag(
    trusted: Path, keys: dict[str, Path], invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_key(trusted, keys["alice"])
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "bob@example.com")
    result = invoke("approve", "m@v1.0.0", "--for", "prod")
    assert result.code == 1
    assert result.err.startswith(
        "error: this approval would not count: made by alice@example.com, named for another "
        "approver (invalid-approval)"
    )
    assert "signer-not-allowed: alice@example.com may not approve here" in result.err
    assert git(trusted, "tag", "-l", "envctl/approval/*") == ""


def test_a_signed_approval_by_an_allowed_approver_counts(
    trusted: Path, keys: dict[str, Path], invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_key(trusted, keys["bob"])
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "bob@example.com")
    assert invoke("approve", "m@v1.0.0", "--for", "prod").code == 0
    from envctl.ledger.trust import read_verified
    from envctl.registry.workspace import workspace

    ledger = read_verified(workspace())
    assert ledger.trusted.approvers("m", "v1.0.0", "prod") == {"bob@example.com"}
    assert ledger.audit.violations == ()


def test_an_unsigned_approval_in_a_signed_stage_does_not_count(
    trusted: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = reg.approval_tag("m", "v1.0.0", "prod", "bob@example.com")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "bob@example.com")
    git(trusted, "tag", "-a", slug, "-m", "ok", "m@v1.0.0^{commit}")
    from envctl.ledger.trust import read_verified
    from envctl.registry.workspace import workspace

    ledger = read_verified(workspace())
    assert ledger.registry.approvers("m", "v1.0.0", "prod") == {"bob@example.com"}
    assert ledger.trusted.approvers("m", "v1.0.0", "prod") == frozenset()
    assert [v.kind for v in ledger.audit.violations] == ["no-record", "unsigned"]


def test_a_missing_signers_file_is_a_warning_and_nothing_counts(
    trusted: Path, keys: dict[str, Path], invoke: Invoke
) -> None:
    through_staging(trusted, "v1.0.0", 1)
    record_tag(trusted, "m#prod#3", "v1.0.0", who="alice@example.com", key=keys["alice"],
               from_stage="staging")  # fmt: skip
    git(trusted, "update-ref", "-d", "refs/remotes/origin/main")
    result = invoke("status")
    assert result.err.startswith(
        "warning: trust: .envctl/allowed_signers not found at origin/main; "
        "no event of a signed stage counts"
    )
    assert prod(invoke) is None


def test_verdicts_are_kept_per_signers_file_and_tag_object(
    trusted: Path, keys: dict[str, Path], invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from envctl import vcs
    from envctl.ledger.trust import read_verified
    from envctl.registry.workspace import workspace

    through_staging(trusted, "v1.0.0", 1)
    record_tag(trusted, "m#prod#3", "v1.0.0", who="alice@example.com", key=keys["alice"],
               from_stage="staging")  # fmt: skip
    asked: list[list[str]] = []
    real = vcs.verify_tags

    def counting(root: Path, tags: list[vcs.RawTag], signers: str) -> dict[str, vcs.Signature]:
        asked.append([t.name for t in tags])
        return real(root, tags, signers)

    monkeypatch.setattr(vcs, "verify_tags", counting)
    for _ in range(2):
        assert read_verified(workspace()).audit.verdict("m#prod#3").counts
    assert asked == [["m#prod#3"]]  # the second read asked git nothing
    # Bob's key leaves the signers file on main: every verdict is taken again.
    (trusted / ".envctl" / "allowed_signers").write_text(
        signer_line("alice@example.com", keys["alice"])
    )
    git(trusted, "commit", "-qam", "bob leaves")
    git(trusted, "push", "-q", "origin", "main")
    git(trusted, "fetch", "-q", "origin")
    assert read_verified(workspace()).audit.verdict("m#prod#3").counts
    assert asked == [["m#prod#3"], ["m#prod#3"]]


ALWAYS_GOOD = """#!/bin/sh
# answers like ssh-keygen does for a signature that verifies, whatever it is given
case "$*" in *find-principals*) echo alice@example.com; exit 0;; esac
cat >/dev/null
echo 'Good "git" signature for alice@example.com with ED25519 key SHA256:forged'
"""


def test_the_environment_cannot_redirect_verification(
    trusted: Path, keys: dict[str, Path], invoke: Invoke, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    """GIT_CONFIG_* pointing gpg.ssh.program at a program that always says "Good":
    an edited (badly signed) prod event still does not count, and reading again
    without the variables finds no verdict that stuck."""
    through_staging(trusted, "v1.0.0", 1)
    record_tag(trusted, "m#prod#3", "v1.0.0", who="alice@example.com", key=keys["alice"],
               from_stage="staging")  # fmt: skip
    message = git(trusted, "tag", "-l", "--format=%(contents)", "m#prod#3")
    git(trusted, "tag", "-d", "m#prod#3")
    subprocess.run(
        ["git", "tag", "-a", "--cleanup=verbatim", "-F", "-", "m#prod#3", "m@v1.0.0^{commit}"],
        cwd=trusted, input=message.replace("2024-05-01", "2024-04-01") + "\n", text=True,
        check=True,
        env={**_env(), "GIT_COMMITTER_EMAIL": "alice@example.com"},
    )  # fmt: skip
    fake = tmp_path / "always-good"
    fake.write_text(ALWAYS_GOOD)
    fake.chmod(0o755)
    for name, value in {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "gpg.ssh.program", "GIT_CONFIG_VALUE_0": str(fake),
        "GIT_CONFIG_KEY_1": "gpg.format", "GIT_CONFIG_VALUE_1": "ssh",
        "GIT_CONFIG_PARAMETERS": f"'gpg.ssh.program'='{fake}'",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    assert prod(invoke) is None
    assert audit_kinds(invoke) == (1, [("m#prod#3", "bad-signature")])
    for name in ("GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS"):
        monkeypatch.delenv(name)
    assert prod(invoke) is None
    assert audit_kinds(invoke) == (1, [("m#prod#3", "bad-signature")])


@pytest.mark.parametrize(
    ("argv", "role"),
    [
        (("promote", "m@v1.0.0", "--to", "prod", "--force", "--reason", "x"), "promoting"),
        (("rollback", "m", "--env", "prod"), "rolling back"),
    ],
)
def test_writing_to_a_signed_stage_needs_a_signing_key(
    trusted: Path, keys: dict[str, Path], invoke: Invoke, argv: tuple[str, ...], role: str
) -> None:
    through_staging(trusted, "v1.0.0", 1)
    record_tag(trusted, "m#prod#3", "v1.0.0", who="alice@example.com", key=keys["alice"],
               from_stage="staging")  # fmt: skip
    before = git(trusted, "tag", "-l")
    result = invoke(*argv)
    assert result.code == 1, result.err
    assert result.err.startswith(f"error: prod is a signed stage: {role} needs a signing key")
    assert git(trusted, "tag", "-l") == before


def test_audit_of_one_model_and_its_json(
    trusted: Path, keys: dict[str, Path], invoke: Invoke
) -> None:
    through_staging(trusted, "v1.0.0", 1)
    result = invoke("audit", "m", "--format", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert {k: doc[k] for k in ("model", "signed_stages", "events", "approvals", "clean")} == {
        "model": "m", "signed_stages": ["prod"], "events": 2, "approvals": 0, "clean": True,
    }  # fmt: skip
    assert doc["violations"] == []
