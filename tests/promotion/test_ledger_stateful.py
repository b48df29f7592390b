"""The ledger rules under random interleavings: one bare remote, three clones of a
project whose gates need no image, and register / promote / rollback / approve /
sync / fetch in any order, in any clone, with or without --push. After every step
the invariants hold on every clone and on the remote, and every decision agrees
with a small model of the ledger read straight from the tags."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
from envctl.commands.rollback import rollback
from envctl.commands.sync import sync
from envctl.errors import EnvctlError
from envctl.promotion import flow
from envctl.promotion.outcome import Outcome
from envctl.registry.state import parse_registry
from tests.commands.fake_gates import run_without_image
from tests.conftest import git

MODEL = "churn"
STAGES = ("dev", "staging", "prod")
CLONES = 3
BOB = {"GIT_COMMITTER_NAME": "Bob Reviewer", "GIT_COMMITTER_EMAIL": "bob@example.com"}
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
EVENT = re.compile(rf"^{MODEL}#({'|'.join(STAGES)})#(\d+)$")
APPROVAL = f"{reg.APPROVAL_PREFIX}{MODEL}/"
# Of a promotion refused before it wrote anything: stage order (1), approvals (5),
# a version this clone has not seen (3), local tags clashing with the remote (4).
REFUSED = (1, 3, 4, 5)


# --- the model: the ledger as the tags say, read without envctl's registry ---------


@dataclass(frozen=True)
class Event:
    tag: str
    stage: str
    n: int
    version: str | None  # from the record: every event here is envctl's
    rollback: bool


@dataclass(frozen=True)
class View:
    objects: dict[str, str]  # registry tag -> object id
    versions: frozenset[str]
    events: tuple[Event, ...]  # by N, then name
    approved: frozenset[str]  # versions Bob approved for prod

    def holder(self, stage: str) -> str | None:
        here = [e for e in self.events if e.stage == stage]
        return here[-1].version if here else None

    def entered(self, version: str, stage: str) -> bool:
        return any(e.stage == stage and e.version == version for e in self.events)

    def rollback_target(self, stage: str) -> str | None:
        current = self.holder(stage)
        here = [e.version for e in self.events if e.stage == stage and e.version != current]
        return here[-1] if here else None

    def may_enter(self, version: str, stage: str) -> bool:
        index = STAGES.index(stage)
        if index > 0 and not self.entered(version, STAGES[index - 1]):
            return False
        return stage != "prod" or version in self.approved

    @property
    def last_n(self) -> int:
        return max((e.n for e in self.events), default=0)

    def written(self, before: View, remote: View) -> list[Event]:
        """The events here that neither `before` nor `remote` held: what a command
        wrote itself (a fetch brings the remote's too)."""
        held = {*before.objects.items(), *remote.objects.items()}
        return [e for e in self.events if (e.tag, self.objects[e.tag]) not in held]


def read_view(repo: Path) -> View:
    return view_of(vcs.read_tags(repo))


def view_of(tags: list[vcs.RawTag]) -> View:
    objects, versions, events, approved = {}, set(), [], set()
    for raw in tags:
        if raw.name.startswith(f"{MODEL}@"):
            versions.add(raw.name.split("@", 1)[1])
        elif raw.name.startswith(APPROVAL):
            version, stage, _slug = raw.name[len(APPROVAL) :].split("/")
            if stage == "prod" and raw.tagger_email == BOB["GIT_COMMITTER_EMAIL"]:
                approved.add(version)
        elif (match := EVENT.match(raw.name)) is not None:
            record = reg.parse_record(raw.message) or {}
            rollback = bool(record.get("rollback_of"))
            events.append(Event(raw.name, match[1], int(match[2]), record.get("version"), rollback))
        else:
            continue
        objects[raw.name] = raw.object_id
    events.sort(key=lambda e: (e.n, e.tag))
    return View(objects, frozenset(versions), tuple(events), frozenset(approved))


def merged(local: View, remote: View) -> View:
    """What a clone sees after fetching every tag of the remote (local tags win)."""
    events = {e.tag: e for e in (*remote.events, *local.events)}
    return View(
        {**remote.objects, **local.objects},
        local.versions | remote.versions,
        tuple(sorted(events.values(), key=lambda e: (e.n, e.tag))),
        local.approved | remote.approved,
    )


def local_only(local: View, remote: View) -> list[str]:
    return [name for name, oid in local.objects.items() if remote.objects.get(name) != oid]


def local_only_events(local: View, remote: View) -> list[Event]:
    return [e for e in local.events if remote.objects.get(e.tag) != local.objects[e.tag]]


def clashing(local: View, remote: View) -> bool:
    """Local tags a push would clash with: another object under the same name on the
    remote, or a local-only event whose N the remote already uses."""
    return any(
        name in remote.objects and remote.objects[name] != oid
        for name, oid in local.objects.items()
    ) or any(e.n <= remote.last_n for e in local_only_events(local, remote))


# --- the machine -----------------------------------------------------------------


@contextmanager
def inside(repo: Path, env: dict[str, str] | None = None) -> Iterator[None]:
    """Run envctl's commands in `repo` (they read the current directory), as `env` says."""
    before_cwd, before_env = Path.cwd(), {k: os.environ.get(k) for k in env or {}}
    os.chdir(repo)
    os.environ.update(env or {})
    try:
        yield
    finally:
        os.chdir(before_cwd)
        for key, value in before_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def seed_project(repo: Path) -> None:
    git(repo, "init", "-q", "-b", "main")
    (repo / "envctl.yaml").write_text(
        f"stages: [{', '.join(STAGES)}]\nmodels:\n  {MODEL}: {{path: model}}\n"
    )
    envs = repo / "environments"
    envs.mkdir()
    for stage in STAGES:
        gates = "[{approvals: {required: 1}}]" if stage == "prod" else "[]"
        (envs / f"{stage}.yaml").write_text(SPEC.format(name=stage, gates=gates))
    (repo / "model").mkdir()
    (repo / "model" / "version.txt").write_text("v1.0.0\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1.0.0")


class LedgerMachine(RuleBasedStateMachine):
    base: ClassVar[Path]
    runs: ClassVar[Iterator[int]]

    def __init__(self) -> None:
        super().__init__()
        self.versions: list[str] = []
        self.clones: list[Path] = []
        self.remote = Path()

    @initialize()
    def set_up(self) -> None:
        root = self.base / f"run{next(self.runs)}"
        root.mkdir()
        self.remote = root / "remote.git"
        git(root, "init", "-q", "--bare", "-b", "main", str(self.remote))
        seed = root / "seed"
        seed.mkdir()
        seed_project(seed)
        git(seed, "tag", "-a", f"{MODEL}@v1.0.0", "-m", "v1.0.0")
        git(seed, "push", "-q", str(self.remote), "main", "--tags")
        for i in range(CLONES):
            clone = root / f"clone{i}"
            git(root, "clone", "-q", str(self.remote), str(clone))
            git(clone, "config", "tag.gpgsign", "false")
            self.clones.append(clone)
        self.versions.append("v1.0.0")

    # --- rules ---------------------------------------------------------------------

    @rule(clone=st.integers(0, CLONES - 1), push=st.booleans())
    def register_a_version(self, clone: int, push: bool) -> None:
        repo = self.clones[clone]
        version = f"v1.{len(self.versions)}.0"
        (repo / "model" / "version.txt").write_text(f"{version}\n")
        git(repo, "commit", "-qam", version)
        with inside(repo):
            register(MODEL, version, push=push)
        self.versions.append(version)
        assert version in read_view(repo).versions
        assert (version in read_view(self.remote).versions) == push

    @rule(
        clone=st.integers(0, CLONES - 1),
        stage=st.sampled_from(STAGES),
        push=st.booleans(),
        data=st.data(),
    )
    def promote(self, clone: int, stage: str, push: bool, data: st.DataObject) -> None:
        repo = self.clones[clone]
        version = data.draw(st.sampled_from(self.versions), label="version")
        local, remote = read_view(repo), read_view(self.remote)
        code, outcome = 0, None
        with inside(repo):
            try:
                outcome = flow.promote(f"{MODEL}@{version}", to=stage, push=push)
            except EnvctlError as exc:
                code = exc.exit_code
        after, remote_after = read_view(repo), read_view(self.remote)
        written = after.written(local, remote)
        if code != 0:
            assert code in REFUSED, code
            assert written == []
            assert remote_after == remote
        if push:
            self._check_shared_promotion(version, stage, local, remote, code, outcome, written)
        else:
            self._check_local_promotion(version, stage, local, code, outcome, written)

    def _check_local_promotion(
        self,
        version: str,
        stage: str,
        local: View,
        code: int,
        outcome: Outcome | None,
        written: list[Event],
    ) -> None:
        if version not in local.versions:
            assert code == 3
        elif local.holder(stage) == version:
            assert outcome is not None and outcome.status == "unchanged"
            assert written == []
        elif not local.may_enter(version, stage):
            index = STAGES.index(stage)
            entered = index == 0 or local.entered(version, STAGES[index - 1])
            assert code == (5 if entered else 1)
        else:
            assert outcome is not None and outcome.status == "promoted", code
            assert [(e.stage, e.version, e.n) for e in written] == [
                (stage, version, local.last_n + 1)
            ]

    def _check_shared_promotion(
        self,
        version: str,
        stage: str,
        local: View,
        remote: View,
        code: int,
        outcome: Outcome | None,
        written: list[Event],
    ) -> None:
        """With --push the decision is taken on the shared ledger: whatever this clone
        believed, success means the remote now holds the version in the stage."""
        shared = merged(local, remote)
        remote_after = read_view(self.remote)
        if code == 0:
            assert outcome is not None
            assert remote_after.holder(stage) == version, (outcome.status, outcome.tag)
            assert shared.may_enter(version, stage) or shared.holder(stage) == version
            if outcome.status == "promoted":
                assert [(e.stage, e.version, e.n) for e in written] == [
                    (stage, version, shared.last_n + 1)
                ]
                assert all(e.tag in remote_after.objects for e in written)
            else:
                assert outcome.status == "unchanged" and written == []
        elif version in local.versions and not clashing(local, remote):
            # Refused: it may not enter on what this clone saw, or on the shared ledger.
            assert code != 4
            assert (
                not (local.may_enter(version, stage) and shared.may_enter(version, stage))
                or shared.holder(stage) == version
            )

    @rule(clone=st.integers(0, CLONES - 1), stage=st.sampled_from(STAGES), push=st.booleans())
    def roll_back(self, clone: int, stage: str, push: bool) -> None:
        repo = self.clones[clone]
        local, remote = read_view(repo), read_view(self.remote)
        code, outcome = 0, None
        with inside(repo):
            try:
                outcome = rollback(MODEL, stage=stage, push=push, confirmed=True)
            except EnvctlError as exc:
                code = exc.exit_code
        after, remote_after = read_view(repo), read_view(self.remote)
        written = after.written(local, remote)
        target = local.rollback_target(stage)
        if local.holder(stage) is None or target is None:
            assert code == 3
            return
        if code != 0:
            assert written == [] and remote_after == remote
            assert push and code in (1, 4)
            return
        assert outcome is not None
        if not push:
            assert outcome.status == "rolled back"
            assert [(e.stage, e.version, e.n, e.rollback) for e in written] == [
                (stage, target, local.last_n + 1, True)
            ]
        else:
            assert remote_after.holder(stage) == outcome.target.version

    @rule(clone=st.integers(0, CLONES - 1), push=st.booleans(), data=st.data())
    def approve_for_prod(self, clone: int, push: bool, data: st.DataObject) -> None:
        repo = self.clones[clone]
        version = data.draw(st.sampled_from(self.versions), label="version")
        local, remote = read_view(repo), read_view(self.remote)
        code = 0
        with inside(repo, BOB):
            try:
                approve(f"{MODEL}@{version}", stage="prod", push=push)
            except EnvctlError as exc:
                code = exc.exit_code
        if version not in local.versions:
            assert code == 3
            return
        tag = reg.approval_tag(MODEL, version, "prod", BOB["GIT_COMMITTER_EMAIL"])
        after = read_view(repo)
        assert version in after.approved
        if push and code == 0:
            shared = read_view(self.remote)
            assert shared.objects[tag] == after.objects[tag]
            assert version in shared.versions  # pushed with its approval
        if code != 0:  # only a push of an approval made twice (in two clones) fails
            assert push and tag in remote.objects and remote.objects[tag] != after.objects[tag]

    @rule(clone=st.integers(0, CLONES - 1), push=st.booleans())
    def sync_clone(self, clone: int, push: bool) -> None:
        repo = self.clones[clone]
        with inside(repo):
            sync(push=push)
        local, remote = read_view(repo), read_view(self.remote)
        assert_counted(local, "after sync")
        for event in local_only_events(local, remote):
            assert event.n > remote.last_n
        if push:
            assert local_only(local, remote) == []

    @rule(clone=st.integers(0, CLONES - 1))
    def fetch(self, clone: int) -> None:
        """A plain `git fetch --tags`: it never clobbers a local tag (it may fail)."""
        subprocess.run(
            ["git", "fetch", "-q", "--tags", "origin"], cwd=self.clones[clone], capture_output=True
        )

    # --- invariants ------------------------------------------------------------------

    @invariant()
    def the_remote_ledger_is_complete_and_clean(self) -> None:
        if not self.clones:
            return
        tags = vcs.read_tags(self.remote)
        remote = view_of(tags)
        assert_counted(remote, "remote")
        assert_exactly_once(remote, "remote")
        for event in remote.events:
            assert f"{MODEL}@{event.version}" in remote.objects, event
            before = [e for e in remote.events if e.n < event.n]
            index = STAGES.index(event.stage)
            if event.rollback:
                assert any(e.stage == event.stage and e.version == event.version for e in before)
            elif index > 0:
                previous = STAGES[index - 1]
                assert any(e.stage == previous and e.version == event.version for e in before)
            if event.stage == "prod" and not event.rollback:
                assert event.version in remote.approved, event
        registry = parse_registry(tags)
        found = reg.audit_registry(
            registry, tags, stages=list(STAGES), trust=reg.TrustPolicy(), signatures={}, specs={}
        )
        assert [str(v) for v in found.violations] == []

    @invariant()
    def every_clone_is_consistent(self) -> None:
        remote = read_view(self.remote) if self.clones else None
        for i, repo in enumerate(self.clones):
            local = read_view(repo)
            assert remote is not None
            pending = bool(local_only_events(local, remote))
            if not pending:  # else: a plain fetch may have brought a clash, for sync
                assert_counted(local, f"clone{i}")
            assert_exactly_once(local, f"clone{i}")
            with inside(repo):
                found = audit(MODEL)
            allowed = {"counter-duplicate", "counter-gap"} if pending else set()
            assert [f"{v.tag}: {v.kind}" for v in found.violations if v.kind not in allowed] == []


def assert_counted(view: View, where: str) -> None:
    """#N is one counter per model: 1..max, each once."""
    numbers = sorted(e.n for e in view.events)
    assert numbers == list(range(1, len(numbers) + 1)), (where, [e.tag for e in view.events])


def assert_exactly_once(view: View, where: str) -> None:
    """No stage is assigned the version it already holds."""
    for stage in STAGES:
        here = [e for e in view.events if e.stage == stage]
        for before, event in itertools.pairwise(here):
            assert before.version != event.version, (where, before.tag, event.tag)


def test_the_ledger_rules_hold_under_random_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flow, "_run", run_without_image)  # the approvals gate runs for real
    monkeypatch.setattr(LedgerMachine, "base", tmp_path, raising=False)
    monkeypatch.setattr(LedgerMachine, "runs", itertools.count(), raising=False)
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
