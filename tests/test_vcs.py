"""The vcs tag functions against real git: reading, atomic creation, push, fetch."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from envctl import vcs
from envctl.errors import GitError, InputError, PushRejected, TagExists
from envctl.registry import (
    approval_tag,
    assignment_tag,
    format_record,
    registration_tag,
)
from envctl.registry.state import parse_registry
from tests.conftest import git

REPO_ROOT = Path(__file__).resolve().parent.parent


def commit(repo: Path, message: str = "c") -> str:
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def test_read_tags_reads_every_kind_in_one_pass(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = commit(git_repo, "the commit message")
    message = "Summary\n\n# kept: not a comment\n\n\nZoë ✓ trailing  \n"
    monkeypatch.setenv("GIT_COMMITTER_DATE", "1700000000 +0130")
    oid = vcs.create_annotated_tag(git_repo, "m#prod#1", head, message)
    git(git_repo, "tag", "light")
    git(git_repo, "tag", "-a", "-m", "tree", "treetag", "HEAD^{tree}")
    git(git_repo, "tag", "-a", "-m", "nested", "nested", "m#prod#1")

    tags = {t.name: t for t in vcs.read_tags(git_repo)}

    assert set(tags) == {"m#prod#1", "light", "treetag", "nested"}
    annotated = tags["m#prod#1"]
    assert (annotated.object_type, annotated.object_id, annotated.commit) == ("tag", oid, head)
    assert (annotated.tagger_name, annotated.tagger_email) == ("Ada Tester", "ada@example.com")
    assert annotated.date is not None and annotated.date.timestamp() == 1700000000
    assert annotated.date.utcoffset() == timedelta(hours=1, minutes=30)
    assert annotated.message == message  # verbatim: '#' lines, blank lines, spaces
    light = tags["light"]
    assert (light.object_type, light.commit, light.message, light.date) == (
        "commit",
        head,
        "",
        None,
    )
    assert (tags["treetag"].target_type, tags["treetag"].commit) == ("tree", "")
    assert (tags["nested"].target_type, tags["nested"].commit) == ("tag", "")


def test_read_tags_reads_the_name_the_tag_object_carries(git_repo: Path) -> None:
    head = commit(git_repo, "one")
    oid = vcs.create_annotated_tag(git_repo, "m#prod#1", head, "x")
    git(git_repo, "update-ref", "refs/tags/m#prod#2", oid)  # the same object, another ref
    git(git_repo, "tag", "light")
    tags = {t.name: t.header for t in vcs.read_tags(git_repo)}
    assert tags == {"m#prod#1": "m#prod#1", "m#prod#2": "m#prod#1", "light": ""}


def test_read_tags_are_the_values_their_constructor_makes(git_repo: Path) -> None:
    """Annotated tags are made without RawTag's __init__ (envctl.frozen), for speed."""
    head = commit(git_repo, "one")
    vcs.create_annotated_tag(git_repo, "m#prod#1", head, "x")
    git(git_repo, "tag", "light")
    for tag in [*vcs.read_tags(git_repo), *vcs.read_tags_indexed(git_repo)]:
        again = vcs.RawTag(**{f.name: getattr(tag, f.name) for f in dataclasses.fields(tag)})
        assert (tag, hash(tag), vars(tag)) == (again, hash(again), vars(again))
        with pytest.raises(dataclasses.FrozenInstanceError):
            tag.name = "other"  # type: ignore[misc]


def test_full_refname_never_expands_to_a_tag_and_refuses_ambiguity(git_repo: Path) -> None:
    commit(git_repo, "one")
    git(git_repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(git_repo, "tag", "origin/main")
    assert vcs.full_refname(git_repo, "origin/main") == "refs/remotes/origin/main"
    assert vcs.full_refname(git_repo, "refs/remotes/origin/main") == "refs/remotes/origin/main"
    assert vcs.full_refname(git_repo, "upstream/main") is None
    git(git_repo, "branch", "origin/main")
    with pytest.raises(InputError, match="ambiguous"):
        vcs.full_refname(git_repo, "origin/main")


def test_read_tags_of_a_repository_without_tags_is_empty(git_repo: Path) -> None:
    assert vcs.read_tags(git_repo) == []


def test_read_tags_outside_a_repository_is_a_git_error(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="git for-each-ref failed"):
        vcs.read_tags(tmp_path)


def test_parse_tag_records_refuses_truncated_output() -> None:
    with pytest.raises(GitError, match="cannot read"):
        vcs.parse_tag_records("refs/tags/x\0tag\0")


def test_registry_round_trip_through_git(git_repo: Path) -> None:
    first, second = commit(git_repo), commit(git_repo)
    vcs.create_annotated_tag(git_repo, registration_tag("m", "v1.0.0"), first, "register")
    vcs.create_annotated_tag(git_repo, registration_tag("m", "v2.0.0"), second, "register")
    record = {"from_stage": "staging", "bypass": None}
    # Every tag in the same second: only #N can order them.
    for n, rev in enumerate([first, second, first], start=1):
        vcs.create_annotated_tag(
            git_repo, assignment_tag("m", "prod", n), rev, format_record("Promote", record)
        )
    vcs.create_annotated_tag(
        git_repo, approval_tag("m", "v2.0.0", "prod", "ada@example.com"), second, "ok"
    )

    registry = parse_registry(vcs.read_tags(git_repo))

    model = registry.model("m")
    assert model is not None
    assert [e.counter for e in model.events] == [1, 2, 3]
    assert model.stages["prod"].version == "v1.0.0"
    assert model.stages["prod"].record == record
    assert registry.next_counter("m") == 4
    assert registry.approvers("m", "v2.0.0", "prod") == {"ada@example.com"}
    assert registry.warnings == ()


def test_create_annotated_tag_never_overwrites(git_repo: Path) -> None:
    head = commit(git_repo)
    oid = vcs.create_annotated_tag(git_repo, "m#prod#1", head, "first")
    with pytest.raises(TagExists, match=r"m#prod#1 already exists") as caught:
        vcs.create_annotated_tag(git_repo, "m#prod#1", head, "second")
    assert caught.value.tag == "m#prod#1"
    assert caught.value.exit_code == 4
    assert git(git_repo, "rev-parse", "refs/tags/m#prod#1") == oid


@pytest.mark.parametrize(
    ("name", "rev", "error"),
    [("m#prod#1", "no-such-rev", "git tag m#prod#1 failed"), ("bad..name", "HEAD", "failed")],
)
def test_create_annotated_tag_reports_git_failures(
    git_repo: Path, name: str, rev: str, error: str
) -> None:
    commit(git_repo)
    with pytest.raises(GitError, match=error) as caught:
        vcs.create_annotated_tag(git_repo, name, rev, "x")
    assert not isinstance(caught.value, TagExists)


_RACER = """
import sys, time
from pathlib import Path
from envctl import vcs
from envctl.errors import TagExists
root, name, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
while not go.exists():
    time.sleep(0.001)
try:
    vcs.create_annotated_tag(root, name, "HEAD", sys.argv[4])
    print("won")
except TagExists:
    print("lost")
"""


def test_concurrent_creation_of_one_tag_has_exactly_one_winner(git_repo: Path) -> None:
    commit(git_repo)
    for round_ in range(8):
        name, go = f"m#prod#{round_ + 1}", git_repo.parent / f"go-{round_}"
        racers = [
            subprocess.Popen(
                [sys.executable, "-c", _RACER, str(git_repo), name, str(go), who],
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for who in ("racer-a", "racer-b")
        ]
        time.sleep(0.3)  # both are polling for the go file by now
        go.touch()
        results = sorted(p.communicate(timeout=60)[0].strip() for p in racers)
        assert results == ["lost", "won"], [p.stderr for p in racers]
        tags = {t.name: t for t in vcs.read_tags(git_repo)}
        assert tags[name].message in ("racer-a\n", "racer-b\n")


@pytest.fixture
def remote(git_repo: Path, tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    commit(git_repo)
    git(git_repo, "remote", "add", "origin", str(bare))
    git(git_repo, "push", "-q", "origin", "main")
    return bare


def clone(remote: Path, where: Path) -> Path:
    git(where.parent, "clone", "-q", str(remote), str(where))
    return where


def test_push_tag_then_a_second_push_of_the_same_name_is_rejected(
    git_repo: Path, remote: Path, tmp_path: Path
) -> None:
    vcs.create_annotated_tag(git_repo, "m#prod#1", "HEAD", "mine")
    vcs.push_tag(git_repo, "origin", "m#prod#1")
    vcs.push_tag(git_repo, "origin", "m#prod#1")  # same object again: a no-op, not an error
    other = clone(remote, tmp_path / "other")
    vcs.delete_tag(other, "m#prod#1")  # as if created before fetching
    vcs.create_annotated_tag(other, "m#prod#1", "HEAD", "theirs")

    with pytest.raises(PushRejected, match="origin already has tag m#prod#1") as caught:
        vcs.push_tag(other, "origin", "m#prod#1")

    assert (caught.value.tag, caught.value.remote, caught.value.exit_code) == (
        "m#prod#1", "origin", 4,
    )  # fmt: skip


def test_push_tag_failures_other_than_a_taken_name_are_plain_git_errors(
    git_repo: Path, remote: Path
) -> None:
    vcs.create_annotated_tag(git_repo, "m#prod#1", "HEAD", "mine")
    with pytest.raises(GitError, match="git push nowhere m#prod#1 failed") as caught:
        vcs.push_tag(git_repo, "nowhere", "m#prod#1")
    assert not isinstance(caught.value, PushRejected)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (vcs.fetch_tags, "git fetch nowhere tags failed: "),
        (vcs.remote_tags, "git ls-remote nowhere failed: "),
    ],
)
def test_a_git_error_shows_what_failed_not_git_advice(
    git_repo: Path, call: Callable[[Path, str], object], message: str
) -> None:
    # git's stderr ends in advice ("... and the repository exists."): the first
    # fatal: line is the one that says what went wrong.
    with pytest.raises(GitError) as caught:
        call(git_repo, "nowhere")
    assert caught.value.message == message + "'nowhere' does not appear to be a git repository"


def test_a_hook_in_the_clone_never_runs(git_repo: Path, remote: Path, tmp_path: Path) -> None:
    """The clone may be a checkout of a stranger's tag: git runs with no hook, so a
    pre-push hook neither refuses nor runs code (docs/untrusted-checkout.md)."""
    canary = tmp_path / "hook-ran"
    hook = git_repo / ".git" / "hooks" / "pre-push"
    hook.write_text(f"#!/bin/sh\ntouch {canary}\necho 'refused by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    vcs.create_annotated_tag(git_repo, "m#prod#1", "HEAD", "mine")
    vcs.push_tag(git_repo, "origin", "m#prod#1")
    assert not canary.exists()
    assert "m#prod#1" in git(remote, "tag", "-l")


def test_fetch_tags_brings_new_tags_and_refuses_to_clobber(
    git_repo: Path, remote: Path, tmp_path: Path
) -> None:
    other = clone(remote, tmp_path / "other")
    vcs.create_annotated_tag(other, "m#prod#1", "HEAD", "theirs")
    vcs.create_annotated_tag(other, "m#prod#2", "HEAD", "theirs")
    vcs.push_tag(other, "origin", "m#prod#1")
    vcs.push_tag(other, "origin", "m#prod#2")
    vcs.create_annotated_tag(git_repo, "m#prod#2", "HEAD", "mine, not pushed")

    with pytest.raises(GitError) as refused:
        vcs.fetch_tags(git_repo, "origin")
    assert refused.value.message == (
        "origin has other tags of the same names as local ones (m#prod#2); "
        "run envctl sync --remote origin to renumber the local ones"
    )
    vcs.delete_tag(git_repo, "m#prod#2")
    vcs.fetch_tags(git_repo, "origin")

    tags = {t.name: t.message for t in vcs.read_tags(git_repo)}
    assert tags == {"m#prod#1": "theirs\n", "m#prod#2": "theirs\n"}


def test_delete_tag_only_deletes_the_expected_object(git_repo: Path) -> None:
    commit(git_repo)
    first = vcs.create_annotated_tag(git_repo, "m#prod#1", "HEAD", "x")
    other = vcs.create_annotated_tag(git_repo, "m#prod#2", "HEAD", "y")
    with pytest.raises(GitError, match="could not delete tag m#prod#1"):
        vcs.delete_tag(git_repo, "m#prod#1", expected=other)
    assert vcs.delete_tag(git_repo, "m#prod#1", expected=first) is True
    assert vcs.delete_tag(git_repo, "m#prod#1") is False
    assert [t.name for t in vcs.read_tags(git_repo)] == ["m#prod#2"]


def test_head_user_is_who_git_records_as_tagger(git_repo: Path) -> None:
    assert vcs.head_user(git_repo) == vcs.GitUser("Ada Tester", "ada@example.com")


def test_common_dir_of_a_linked_worktree_is_the_main_git_dir(
    git_repo: Path, tmp_path: Path
) -> None:
    commit(git_repo)
    linked = tmp_path / "linked"
    git(git_repo, "worktree", "add", "-q", str(linked))
    assert vcs.common_dir(linked) == (git_repo / ".git").resolve()
    assert vcs.common_dir(git_repo) == (git_repo / ".git").resolve()


def test_toplevel_from_a_subfolder_of_a_linked_worktree_knows_its_common_dir(
    git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit(git_repo)
    linked = tmp_path / "linked"
    git(git_repo, "worktree", "add", "-q", str(linked))
    (linked / "a" / "b").mkdir(parents=True)
    monkeypatch.setattr(vcs, "_COMMON_DIRS", {})

    root = vcs.toplevel(linked / "a" / "b")

    assert root == linked.resolve()
    assert vcs.common_dir(root) == (git_repo / ".git").resolve()
    (git_repo / "c" / "d").mkdir(parents=True)  # git answers `../../.git` there
    assert vcs.common_dir(vcs.toplevel(git_repo / "c" / "d")) == (git_repo / ".git").resolve()


# ---- signatures -------------------------------------------------------------------


def test_parse_allowed_signers_reads_principals_options_and_keys() -> None:
    from envctl.vcs import parse_allowed_signers

    blob = "AAAAC3NzaC1lZDI1NTE5AAAAIBnb"
    text = (
        "# team\n\n"
        f"Alice@Example.com,al@x ssh-ed25519 {blob} alice\n"
        f'bob@x namespaces="git" ssh-ed25519 {blob}\n'
        "broken line\n"
    )
    found = parse_allowed_signers(text)
    assert [s.principals for s in found] == [("alice@example.com", "al@x"), ("bob@x",)]
    assert found[0].key.startswith(b"\x00\x00\x00\x0bssh-ed25519")


def test_verify_tags_tells_good_unknown_bad_and_unsigned(git_repo: Path, tmp_path: Path) -> None:
    from envctl import vcs

    keys = {}
    for who in ("alice", "mallory"):
        key = tmp_path / who
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        keys[who] = key
    kind, blob, *_ = (tmp_path / "alice.pub").read_text().split()
    signers = f"alice@example.com {kind} {blob}\n"
    git(git_repo, "commit", "-q", "--allow-empty", "-m", "c")
    git(git_repo, "config", "gpg.format", "ssh")
    for name, who in (("good", "alice"), ("unknown", "mallory")):
        git(git_repo, "-c", f"user.signingkey={keys[who]}", "tag", "-s", name, "-m", "m")
    git(git_repo, "tag", "-a", "plain", "-m", "m")
    signed = git(git_repo, "cat-file", "tag", "good")
    forged = signed.replace("\n\nm\n", "\n\nedited\n", 1).replace("tag good", "tag bad", 1)
    oid = subprocess.run(
        ["git", "mktag"], cwd=git_repo, input=forged + "\n", text=True, capture_output=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    git(git_repo, "update-ref", "refs/tags/bad", oid)
    tags = {t.name: t for t in vcs.read_tags(git_repo)}
    found = vcs.verify_tags(git_repo, list(tags.values()), signers)
    assert {name: sig.status for name, sig in found.items()} == {
        "good": "good", "unknown": "unknown", "bad": "bad", "plain": "none",
    }  # fmt: skip
    assert found["good"].principals == ("alice@example.com",)
    assert vcs.signing_key(git_repo) is None


def test_create_annotated_tag_signs_when_asked(git_repo: Path, tmp_path: Path) -> None:
    from envctl import vcs

    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    git(git_repo, "commit", "-q", "--allow-empty", "-m", "c")
    git(git_repo, "config", "gpg.format", "ssh")
    git(git_repo, "config", "user.signingkey", str(key))
    assert vcs.signing_key(git_repo) == str(key)
    vcs.create_annotated_tag(git_repo, "m#prod#1", "HEAD", "summary\n\nbody\n", sign=True)
    vcs.create_annotated_tag(git_repo, "m#prod#2", "HEAD", "summary\n")
    kind, blob, *_ = key.with_suffix(".pub").read_text().split()
    found = vcs.verify_tags(git_repo, vcs.read_tags(git_repo), f"ada@example.com {kind} {blob}\n")
    assert found["m#prod#1"].status == "good"
    assert found["m#prod#2"].status == "none"


# --- the tag index ------------------------------------------------------------------


def every_kind_of_tag(repo: Path) -> None:
    head = commit(repo, "the commit message")
    vcs.create_annotated_tag(repo, "m#prod#1", head, "Summary\n\n\nZoë ✓ trailing  \n")
    git(repo, "tag", "light")
    git(repo, "tag", "-a", "-m", "tree", "treetag", "HEAD^{tree}")
    git(repo, "tag", "-a", "-m", "nested", "nested", "m#prod#1")
    git(repo, "tag", "-a", "-m", "in a folder", "a/b", "HEAD")
    git(repo, "tag", "-a", "-m", "beside it", "a/c", "HEAD")


def index_file(repo: Path) -> Path:
    return vcs.common_dir(repo) / "envctl-tag-index"


def test_the_indexed_read_is_the_full_read_before_and_after_the_index_exists(
    git_repo: Path,
) -> None:
    every_kind_of_tag(git_repo)
    assert not index_file(git_repo).exists()

    first = vcs.read_tags_indexed(git_repo)
    assert index_file(git_repo).exists()
    again = vcs.read_tags_indexed(git_repo)

    assert first == again == vcs.read_tags(git_repo)


def test_the_indexed_read_sees_tags_added_deleted_and_moved_since(git_repo: Path) -> None:
    every_kind_of_tag(git_repo)
    vcs.read_tags_indexed(git_repo)
    git(git_repo, "tag", "-d", "a/b")  # its object stays in the index: not its name
    git(git_repo, "tag", "-a", "-f", "-m", "moved", "m#prod#1", "HEAD")
    git(git_repo, "tag", "-a", "-m", "new", "m#dev#2", "HEAD")
    git(git_repo, "pack-refs", "--all")

    assert vcs.read_tags_indexed(git_repo) == vcs.read_tags(git_repo)
    assert {t.name for t in vcs.read_tags_indexed(git_repo)} >= {"m#dev#2", "a/c"}


def test_a_tag_object_copied_under_another_name_keeps_its_own_header(git_repo: Path) -> None:
    every_kind_of_tag(git_repo)
    vcs.read_tags_indexed(git_repo)
    oid = git(git_repo, "rev-parse", "m#prod#1")
    git(git_repo, "update-ref", "refs/tags/m#prod#9", oid)

    tags = {t.name: t for t in vcs.read_tags_indexed(git_repo)}

    assert (tags["m#prod#9"].header, tags["m#prod#9"].object_id) == ("m#prod#1", oid)
    assert list(tags.values()) == vcs.read_tags(git_repo)


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"envctl-tag-index v0\n",
        b"envctl-tag-index v1\ntag\0abc\0",
        b"\xff\xfe garbage",
        b"envctl-tag-index v2 5 9\nabc\0\0",  # shorter than it says
        b"envctl-tag-index v2 4 0\nabc\0",  # a column short
    ],
)
def test_a_damaged_index_is_read_again_from_git(git_repo: Path, damage: bytes) -> None:
    every_kind_of_tag(git_repo)
    vcs.read_tags_indexed(git_repo)
    index_file(git_repo).write_bytes(damage)

    assert vcs.read_tags_indexed(git_repo) == vcs.read_tags(git_repo)
    assert index_file(git_repo).read_bytes().startswith(b"envctl-tag-index v2 ")


def test_many_new_tags_are_read_in_one_pass(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vcs, "_FULL_READ", 2)
    every_kind_of_tag(git_repo)
    vcs.read_tags_indexed(git_repo)
    for n in range(3, 8):
        git(git_repo, "tag", "-a", "-m", f"event {n}", f"m#dev#{n}", "HEAD")

    assert vcs.read_tags_indexed(git_repo) == vcs.read_tags(git_repo)
    assert vcs.read_tags_indexed(git_repo) == vcs.read_tags(git_repo)


def test_a_tag_whose_name_is_not_utf8_is_read_as_the_full_read_reads_it(
    git_repo: Path,
) -> None:
    every_kind_of_tag(git_repo)
    vcs.read_tags_indexed(git_repo)
    git(git_repo, "tag", "-a", "-m", "approved", "made-here", "HEAD")
    oid = git(git_repo, "rev-parse", "made-here")  # an object the index has not seen
    git(git_repo, "tag", "-d", "made-here")
    subprocess.run(
        [b"git", b"update-ref", b"refs/tags/envctl/approval/m\xff", oid.encode()],
        cwd=git_repo,
        check=True,
    )
    git(git_repo, "tag", "-a", "-m", "new", "m#dev#2", "HEAD")

    tags = vcs.read_tags_indexed(git_repo)

    assert tags == vcs.read_tags(git_repo)
    assert "envctl/approval/m\N{REPLACEMENT CHARACTER}" in {t.name for t in tags}


def test_a_git_directory_envctl_cannot_write_only_costs_the_index(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    every_kind_of_tag(git_repo)
    monkeypatch.setattr(vcs, "_INDEX", "no-such-folder/envctl-tag-index")

    assert vcs.read_tags_indexed(git_repo) == vcs.read_tags(git_repo)
    assert not (vcs.common_dir(git_repo) / "no-such-folder").exists()
