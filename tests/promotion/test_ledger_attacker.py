"""A signed prod under attack, in random interleavings. One bare remote, a legitimate
clone where Alice (promoter) and Bob (approver) use envctl with their keys, and an
attacker's clone where Mallory has exactly a tag-pusher's powers: she copies any
tag object under any new name (event, approval and version names, `origin/main`),
pushes tags and branches of any name (but never main, the protected branch),
signs with her own key (not in the allowed signers), writes records by hand as
envctl would, claims Alice's or Bob's email, and runs envctl herself with
`GIT_CONFIG_*` pointing git's SSH verifier at a program that always says "Good".
She also sets those variables around the legitimate clone's reads.

After every step, in the legitimate clone (tags fetched from the remote): the prod
events and prod approvals that count are exactly those Alice's and Bob's envctl
commands wrote, and `envctl audit` names every tag Mallory made. Unsigned stages
(dev, staging) trust whoever pushes tags by design, so her hand-made events there
are not in her rules; her copies there are."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from envctl import registry as reg
from envctl import vcs
from envctl.commands.approve import approve
from envctl.commands.audit import audit
from envctl.commands.register import register
from envctl.errors import EnvctlError
from envctl.ledger.trust import read_verified
from envctl.promotion import flow
from envctl.registry.workspace import workspace
from envctl.spec.loading import load_environment, require_project
from tests.commands.fake_gates import run_without_image
from tests.conftest import git
from tests.promotion.test_ledger_stateful import SPEC, inside

MODEL = "churn"
STAGES = ("dev", "staging", "prod")
ALICE, BOB, MALLORY = "alice@example.com", "bob@example.com", "mallory@example.com"
CAROL = {"GIT_COMMITTER_NAME": "Carol", "GIT_COMMITTER_EMAIL": "carol@example.com"}
CONFIG = f"""\
stages: [{", ".join(STAGES)}]
models:
  {MODEL}: {{path: model}}
trust:
  allowed_signers: allowed_signers
  stages:
    prod: {{promoters: [{ALICE}], approvers: [{BOB}]}}
"""
ALWAYS_GOOD = """#!/bin/sh
case "$*" in *find-principals*) echo alice@example.com; echo bob@example.com; exit 0;; esac
cat >/dev/null
echo 'Good "git" signature for alice@example.com with ED25519 key SHA256:forged'
"""


def who(email: str) -> dict[str, str]:
    return {"GIT_COMMITTER_NAME": email.split("@")[0], "GIT_COMMITTER_EMAIL": email}


def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def signer_line(email: str, key: Path) -> str:
    kind, blob, *_ = key.with_suffix(".pub").read_text().split()
    return f"{email} {kind} {blob}\n"


def seed_project(repo: Path, keys: dict[str, Path]) -> None:
    git(repo, "init", "-q", "-b", "main")
    (repo / "envctl.yaml").write_text(CONFIG)
    (repo / "allowed_signers").write_text(
        signer_line(ALICE, keys["alice"]) + signer_line(BOB, keys["bob"])
    )
    (repo / "environments").mkdir()
    for stage in STAGES:
        gates = "[{approvals: {required: 1}}]" if stage == "prod" else "[]"
        (repo / "environments" / f"{stage}.yaml").write_text(SPEC.format(name=stage, gates=gates))
    (repo / "model").mkdir()
    (repo / "model" / "version.txt").write_text("v1.0.0\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1.0.0")


def tag_names(repo: Path) -> dict[str, str]:
    return {t.name: t.object_id for t in vcs.read_tags(repo)}


class AttackedLedger(RuleBasedStateMachine):
    base: ClassVar[Path]
    runs: ClassVar[Iterator[int]]
    keys: ClassVar[dict[str, Path]]
    forger: ClassVar[Path]

    def __init__(self) -> None:
        super().__init__()
        self.versions: list[str] = []
        self.legit: set[str] = (
            set()
        )  # prod events and prod approvals Alice's and Bob's envctl wrote
        self.made: set[str] = set()  # every tag Mallory made
        self.poisoned = False
        self.remote = self.good = self.evil = Path()

    @initialize()
    def set_up(self) -> None:
        root = self.base / f"run{next(self.runs)}"
        root.mkdir()
        self.remote = root / "remote.git"
        git(root, "init", "-q", "--bare", "-b", "main", str(self.remote))
        seed = root / "seed"
        seed.mkdir()
        seed_project(seed, self.keys)
        git(seed, "tag", "-a", f"{MODEL}@v1.0.0", "-m", "v1.0.0")
        git(seed, "push", "-q", str(self.remote), "main", "--tags")
        self.good, self.evil = root / "good", root / "evil"
        for clone, key in ((self.good, "alice"), (self.evil, "mallory")):
            git(root, "clone", "-q", str(self.remote), str(clone))
            git(clone, "config", "gpg.format", "ssh")
            git(clone, "config", "user.signingkey", str(self.keys[key]))
        self.versions.append("v1.0.0")
        # A history worth replaying: v1.0.0 in prod, signed, with Bob's approval.
        self.carol_registers_a_version()
        for stage in ("dev", "staging"):
            self._alice_promotes("v1.0.0", stage)
        self._bob_approves("v1.0.0")
        assert self._alice_promotes("v1.0.0", "prod")

    # --- what Alice, Bob and Carol do, with envctl ------------------------------------

    @rule()
    def carol_registers_a_version(self) -> None:
        version = f"v1.{len(self.versions)}.0"
        (self.good / "model" / "version.txt").write_text(f"{version}\n")
        git(self.good, "commit", "-qam", version)
        with inside(self.good, CAROL):
            register(MODEL, version, push=True)
        self.versions.append(version)

    @rule(stage=st.sampled_from(STAGES), data=st.data())
    def alice_promotes(self, stage: str, data: st.DataObject) -> None:
        self._alice_promotes(data.draw(st.sampled_from(self.versions), label="version"), stage)

    def _alice_promotes(self, version: str, stage: str) -> bool:
        """As CI does on a tag push: from a checkout of the version's commit."""
        git(self.good, "checkout", "-q", "--detach", f"refs/tags/{MODEL}@{version}")
        try:
            with inside(self.good, who(ALICE)):
                outcome = flow.promote(f"{MODEL}@{version}", to=stage, push=True)
        except EnvctlError:
            return False
        finally:
            git(self.good, "checkout", "-q", "main")
        if stage == "prod" and outcome.status == "promoted" and outcome.tag:
            self.legit.add(outcome.tag)
        return outcome.status == "promoted"

    @rule(data=st.data())
    def bob_approves(self, data: st.DataObject) -> None:
        self._bob_approves(data.draw(st.sampled_from(self.versions), label="version"))

    def _bob_approves(self, version: str) -> None:
        git(self.good, "config", "user.signingkey", str(self.keys["bob"]))
        try:
            with inside(self.good, who(BOB)):
                done = approve(f"{MODEL}@{version}", stage="prod", push=True)
        except EnvctlError:
            return
        finally:
            git(self.good, "config", "user.signingkey", str(self.keys["alice"]))
        self.legit.add(done.tag)

    # --- what Mallory does ------------------------------------------------------------

    def _fetch_evil(self) -> dict[str, str]:
        subprocess.run(
            ["git", "fetch", "-q", "origin", "--tags"], cwd=self.evil, capture_output=True
        )
        return tag_names(self.evil)

    def _push(self, what: str, name: str) -> None:
        """Push `what` (an object or a local tag) as tag `name`; never forced."""
        ref = f"refs/tags/{name}"
        done = subprocess.run(
            ["git", "push", "-q", "origin", f"{what}:{ref}"], cwd=self.evil, capture_output=True
        )
        if done.returncode == 0:
            self.made.add(name)

    def _names(self, data: st.DataObject, tags: dict[str, str]) -> str:
        counters = [n for t in tags if (p := reg.parse_tag_name(t)) and (n := p.counter)]
        top = max(counters, default=0)
        version = data.draw(st.sampled_from(self.versions), label="for version")
        return data.draw(
            st.sampled_from(
                [
                    *(reg.assignment_tag(MODEL, s, top + k) for s in STAGES for k in (1, 2)),
                    reg.approval_tag(MODEL, version, "prod", BOB),
                    reg.approval_tag(MODEL, version, "prod", MALLORY),
                    reg.registration_tag(MODEL, "v9.0.0"),
                    "origin/main",
                ]
            ),
            label="name",
        )

    @rule(data=st.data())
    def mallory_copies_a_tag(self, data: st.DataObject) -> None:
        tags = self._fetch_evil()
        signed = sorted(t for t in tags if "#prod#" in t or t.startswith(reg.APPROVAL_PREFIX))
        prefer_signed: bool = data.draw(st.booleans(), label="a signed one")
        pool = signed if signed and prefer_signed else sorted(tags)
        source = data.draw(st.sampled_from(pool), label="source")
        name = self._names(data, tags)
        if name not in tags:
            self._push(tags[source], name)

    @rule(signed=st.booleans(), claims=st.sampled_from([ALICE, MALLORY]), data=st.data())
    def mallory_writes_a_prod_event(self, signed: bool, claims: str, data: st.DataObject) -> None:
        tags = self._fetch_evil()
        version = data.draw(st.sampled_from(self.versions), label="version")
        n = max((p.counter or 0 for t in tags if (p := reg.parse_tag_name(t))), default=0) + 1
        name = reg.assignment_tag(MODEL, "prod", n)
        commit = git(self.evil, "rev-parse", "refs/remotes/origin/main").strip()
        env = load_environment(f"prod@{commit}", require_project(self.evil))
        record = reg.promotion_record(
            who_name="alice", who_email=claims, when=datetime.now(timezone.utc),
            from_stage="staging",
            env={"name": "prod", "spec_version": 1, "fingerprint": env.fingerprint,
                 "commit": commit},
            image=None,
            gates=[{"kind": "approvals", "status": "passed", "evidence": {"approvers": [BOB]}}],
            version=version, model=MODEL, stage="prod", counter=n,
        )  # fmt: skip
        message = reg.format_record(f"{claims} promotes {MODEL}@{version} to prod", record)
        self._tag(name, f"refs/tags/{MODEL}@{version}", message, signed=signed, as_=claims)

    @rule(signed=st.booleans(), data=st.data())
    def mallory_approves_as_bob(self, signed: bool, data: st.DataObject) -> None:
        tags = self._fetch_evil()
        version = data.draw(st.sampled_from(self.versions), label="version")
        name = reg.approval_tag(MODEL, version, "prod", BOB)
        if name in tags:
            return
        record = {
            "kind": "approval", "who": {"name": "bob", "email": BOB},
            "when": datetime.now(timezone.utc).isoformat(),
            "model": MODEL, "version": version, "stage": "prod",
        }  # fmt: skip
        message = reg.format_record(f"{BOB} approves", record)
        self._tag(name, f"refs/tags/{MODEL}@{version}", message, signed=signed, as_=BOB)

    def _tag(self, name: str, target: str, message: str, *, signed: bool, as_: str) -> None:
        if vcs.tag_exists(self.evil, name):
            return
        subprocess.run(
            ["git", "tag", "-s" if signed else "-a", "--cleanup=verbatim", "-F", "-", name,
             f"{target}^{{commit}}"],
            cwd=self.evil, input=message, text=True, check=True, capture_output=True,
            env={**os.environ, **who(as_)},
        )  # fmt: skip
        self._push(f"refs/tags/{name}", name)

    @rule(data=st.data())
    def mallory_edits_a_signed_event(self, data: st.DataObject) -> None:
        """A signed prod event's message, signature block and all, with its record
        moved to the next N and perhaps another version, under that new name."""
        self._fetch_evil()
        signed = [t for t in vcs.read_tags(self.evil) if t.name.startswith(f"{MODEL}#prod#")]
        if not signed:
            return
        source = data.draw(st.sampled_from(signed), label="source")
        version = data.draw(st.sampled_from(self.versions), label="version")
        record = reg.parse_record(source.message) or {}
        n = max(
            (p.counter or 0 for t in self._fetch_evil() if (p := reg.parse_tag_name(t))), default=0
        )
        name = reg.assignment_tag(MODEL, "prod", n + 1)
        edited = source.message.replace(f'"n": {record.get("n")}', f'"n": {n + 1}')
        edited = edited.replace(f'"version": "{record.get("version")}"', f'"version": "{version}"')
        self._tag(name, f"refs/tags/{MODEL}@{version}", edited, signed=False, as_=ALICE)

    @rule()
    def mallory_registers_a_version_without_prods_gates(self) -> None:
        """Registrations are not signed: anyone may register. Hers sits on a commit
        whose prod spec has no approvals gate, for CI to promote from."""
        version = f"v2.{len(self.versions)}.0"
        git(self.evil, "checkout", "-q", "-B", "fast", "refs/remotes/origin/main")
        spec = self.evil / "environments" / "prod.yaml"
        spec.write_text(spec.read_text().replace("[{approvals: {required: 1}}]", "[]"))
        (self.evil / "model" / "version.txt").write_text(f"{version}\n")
        git(self.evil, "commit", "-qam", "faster prod")
        tag = f"{MODEL}@{version}"
        subprocess.run(
            ["git", "tag", "-a", tag, "-m", version], cwd=self.evil, check=True,
            env={**os.environ, **who(MALLORY)},
        )  # fmt: skip
        git(self.evil, "push", "-q", "origin", f"refs/tags/{tag}")
        git(self.evil, "checkout", "-q", "main")
        git(self.good, "fetch", "-q", "origin", "--tags")
        self.versions.append(version)

    @rule(stage=st.sampled_from(STAGES), forged=st.booleans(), data=st.data())
    def mallory_runs_envctl_as_alice(self, stage: str, forged: bool, data: st.DataObject) -> None:
        """Her own key, Alice's email, and perhaps git told that every signature is
        good (which also breaks her own signing)."""
        version = data.draw(st.sampled_from(self.versions), label="version")
        self._fetch_evil()
        before = set(vcs.remote_tags(self.evil, "origin"))
        forging = self.forged() if forged else {}
        with inside(self.evil, {**who(ALICE), **forging}), contextlib.suppress(EnvctlError):
            flow.promote(f"{MODEL}@{version}", to=stage, push=True, force=True, reason="x")
        if stage == "prod":  # in unsigned stages a promotion anyone makes counts
            self.made |= set(vcs.remote_tags(self.evil, "origin")) - before

    @rule()
    def mallory_pushes_her_own_trust_root(self) -> None:
        """A commit where her key is Alice's and prod has no gates, pushed as a branch
        and a tag both named `origin/main`."""
        git(self.evil, "checkout", "-q", "-B", "evil", "refs/remotes/origin/main")
        with (self.evil / "allowed_signers").open("a") as signers:
            signers.write(signer_line(ALICE, self.keys["mallory"]))
        spec = self.evil / "environments" / "prod.yaml"
        spec.write_text(spec.read_text().replace("[{approvals: {required: 1}}]", "[]"))
        git(self.evil, "commit", "-qam", "trust me")
        subprocess.run(
            ["git", "push", "-q", "origin", "HEAD:refs/heads/origin/main"], cwd=self.evil,
            capture_output=True,
        )  # fmt: skip
        if "origin/main" not in self._fetch_evil():
            self._push("HEAD", "origin/main")
        git(self.evil, "checkout", "-q", "main")

    @rule(on=st.booleans())
    def mallory_sets_git_config_variables(self, on: bool) -> None:
        self.poisoned = on

    def forged(self) -> dict[str, str]:
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "gpg.ssh.program",
            "GIT_CONFIG_VALUE_0": str(self.forger),
            "GIT_CONFIG_PARAMETERS": f"'gpg.ssh.program'='{self.forger}'",
        }

    # --- the invariant ------------------------------------------------------------------

    @invariant()
    def only_alices_and_bobs_prod_events_and_approvals_count(self) -> None:
        if not self.versions:
            return
        git(self.good, "fetch", "-q", "origin", "--tags")
        with inside(self.good, self.forged() if self.poisoned else {}):
            ledger = read_verified(workspace())
            document = audit()
        counted = {
            tag
            for tag, verdict in ledger.audit.verdicts.items()
            if verdict.counts and tag.startswith(f"{MODEL}#prod#")
        }
        approved = {
            reg.approval_tag(model, version, stage, email)
            for (model, version, stage), emails in ledger.audit.approvals.items()
            for email in emails
            if stage == "prod"
        }
        assert counted | approved == self.legit
        model = ledger.registry.model(MODEL)
        assert model is not None
        for event in model.events:  # prod's gate as main has it: one approval, Bob's
            if event.tag in counted:
                key = (MODEL, event.version or "", "prod")
                assert BOB in ledger.audit.approvals.get(key, ()), event.tag
        named = {v.tag for v in document.violations}
        assert self.made <= named, sorted(self.made - named)
        assert not self.legit & named, sorted(self.legit & named)


def test_a_tag_pusher_cannot_make_anything_count_in_a_signed_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flow, "_run", run_without_image)  # the approvals gate runs for real
    keys = {who: keygen(tmp_path / who) for who in ("alice", "bob", "mallory")}
    forger = tmp_path / "always-good"
    forger.write_text(ALWAYS_GOOD)
    forger.chmod(0o755)
    for name, value in (
        ("base", tmp_path), ("runs", itertools.count()), ("keys", keys), ("forger", forger),
    ):  # fmt: skip
        monkeypatch.setattr(AttackedLedger, name, value, raising=False)
    run_state_machine_as_test(
        AttackedLedger,
        settings=settings(
            max_examples=8,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
