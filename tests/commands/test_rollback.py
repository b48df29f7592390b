"""rollback: the model named, what will happen said first, confirmation where
the stage asks for approvals. Real git; assignments written as envctl writes them."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from envctl import registry as reg
from tests.conftest import git
from tests.harness import Invoke


def assign(
    root: Path,
    model: str,
    version: str,
    stage: str,
    counter: int,
    image: dict[str, Any] | str | None = None,
) -> None:
    data = reg.promotion_record(
        who_name="Ada Tester",
        who_email="ada@example.com",
        when=datetime.now(timezone.utc),  # as envctl writes it: audit compares it with the tag date
        from_stage=None,
        env={},
        image=image,
        gates=[],
        version=version,
        model=model,
        stage=stage,
        counter=counter,
    )
    message = reg.format_record(f"ada@example.com promotes {model}@{version} to {stage}", data)
    git(
        root,
        "tag",
        "-a",
        reg.assignment_tag(model, stage, counter),
        "-m",
        message,
        version_ref(model, version),
    )


def version_ref(model: str, version: str) -> str:
    return f"refs/tags/{model}@{version}^{{commit}}"


@pytest.fixture
def two_versions_in_prod(git_repo: Path, invoke: Invoke) -> Path:
    assert invoke("init").code == 0  # prod's spec asks for one approval
    config = git_repo / "envctl.yaml"
    config.write_text(config.read_text().replace("models: {}", "models:\n  tiny:\n    path: model"))
    (git_repo / "model").mkdir()
    (git_repo / "model" / "app.py").write_text("v = 1\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "v1")
    assert invoke("register", "tiny", "v1.0.0").code == 0
    (git_repo / "model" / "app.py").write_text("v = 2\n")
    git(git_repo, "commit", "-qam", "v2")
    assert invoke("register", "tiny", "v1.1.0").code == 0
    assign(git_repo, "tiny", "v1.0.0", "prod", 1)
    assign(git_repo, "tiny", "v1.1.0", "prod", 2)
    return git_repo


def prod_tags(repo: Path) -> list[str]:
    return git(repo, "tag", "-l", "tiny#prod#*").splitlines()


def test_rollback_of_a_stage_with_approvals_needs_confirmation(
    two_versions_in_prod: Path, invoke: Invoke
) -> None:
    result = invoke("rollback", "tiny", "--stage", "prod")
    assert result.code == 2
    assert result.err == (
        "error: roll back prod: tiny@v1.1.0 -> tiny@v1.0.0? prod asks for approvals, so a "
        "rollback needs confirmation: answer at the prompt, or pass --yes (CI)\n"
    )
    assert prod_tags(two_versions_in_prod) == ["tiny#prod#1", "tiny#prod#2"]


def test_rollback_confirmed_says_what_and_records_it(
    two_versions_in_prod: Path, invoke: Invoke
) -> None:
    result = invoke("rollback", "tiny", "--stage", "prod", "--yes")
    assert result.code == 0, result.err
    assert "roll back prod: tiny@v1.1.0 -> tiny@v1.0.0" in result.err
    assert result.out == "restored tiny@v1.0.0 to prod (replacing v1.1.0): tiny#prod#3\n"
    assert prod_tags(two_versions_in_prod) == ["tiny#prod#1", "tiny#prod#2", "tiny#prod#3"]


def test_rollback_needs_the_model(two_versions_in_prod: Path, invoke: Invoke) -> None:
    result = invoke("rollback", "--stage", "prod", "--yes")
    assert result.code == 2
    assert "Missing argument 'NAME'" in result.err


def test_old_stage_spelling_still_works(two_versions_in_prod: Path, invoke: Invoke) -> None:
    assert invoke("rollback", "tiny", "--env", "prod", "--yes").code == 0
    clash = invoke("rollback", "tiny", "--stage", "prod", "--env", "dev", "--yes")
    assert clash.code == 2
    assert clash.err == "error: --stage prod and --env dev disagree; give --stage only\n"


def image_of(version: str, n: str) -> dict[str, Any]:
    """An image object as promote records it; `n` makes ids and digests distinct."""
    return {
        "ref": f"envctl/model-tiny:{version}-{n * 12}",
        "id": "sha256:" + n * 64,
        "digest": "127.0.0.1:5000/envctl/model-tiny@sha256:" + n * 64,
        "content_fingerprint": n * 64,
        "reused_from": "staging",
        "differences": [],
    }


def record_of(repo: Path, tag: str) -> dict[str, Any]:
    message = git(repo, "tag", "-l", "--format=%(contents)", tag)
    data = reg.parse_record(message)
    assert data is not None
    return data


@pytest.fixture
def prod_with_images(two_versions_in_prod: Path) -> Path:
    """v1.0.0 went into prod twice with images (the later one counts), v1.1.0 once."""
    repo = two_versions_in_prod
    for tag in prod_tags(repo):
        git(repo, "tag", "-d", tag)
    assign(repo, "tiny", "v1.0.0", "prod", 1, image_of("v1.0.0", "a"))
    assign(repo, "tiny", "v1.0.0", "staging", 2, image_of("v1.0.0", "e"))  # another stage
    assign(repo, "tiny", "v1.1.0", "prod", 3, image_of("v1.1.0", "b"))
    assign(repo, "tiny", "v1.0.0", "prod", 4, image_of("v1.0.0", "c"))
    assign(repo, "tiny", "v1.1.0", "prod", 5, image_of("v1.1.0", "d"))
    return repo


def test_rollback_records_the_image_the_restored_version_ran(
    prod_with_images: Path, invoke: Invoke
) -> None:
    result = invoke("rollback", "tiny", "--stage", "prod", "--yes")
    assert result.code == 0, result.err
    assert f"prod runs {image_of('v1.0.0', 'c')['digest']} again" in result.err
    record = record_of(prod_with_images, "tiny#prod#6")
    assert record["rollback_of"] == "v1.1.0"
    assert record["image"] == {**image_of("v1.0.0", "c"), "restored_from": "tiny#prod#4"}


def test_image_and_status_name_the_restored_image_after_a_rollback(
    prod_with_images: Path, invoke: Invoke
) -> None:
    assert invoke("rollback", "tiny", "--stage", "prod", "--yes").code == 0
    restored = image_of("v1.0.0", "c")
    shown = invoke("image", "tiny", "--stage", "prod")
    assert (shown.code, shown.out) == (0, f"{restored['digest']}\n")
    status = invoke("status", "--format", "json")
    prod = json.loads(status.out)["models"][0]["stages"]["prod"]
    assert (prod["tag"], prod["version"], prod["rollback_of"]) == (
        "tiny#prod#6",
        "v1.0.0",
        "v1.1.0",
    )
    assert (prod["image"], prod["image_id"], prod["digest"]) == (
        restored["ref"],
        restored["id"],
        restored["digest"],
    )


def test_rollback_json_carries_the_restored_image(prod_with_images: Path, invoke: Invoke) -> None:
    result = invoke("rollback", "tiny", "--stage", "prod", "--yes", "--format", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    restored = image_of("v1.0.0", "c")
    seen = {k: doc[k] for k in ("status", "image", "image_id", "digest", "content_fingerprint")}
    assert seen == {
        "status": "rolled back",
        "image": restored["ref"],
        "image_id": restored["id"],
        "digest": restored["digest"],
        "content_fingerprint": restored["content_fingerprint"],
    }


def test_a_rollback_of_a_rollback_keeps_the_first_events_image(
    prod_with_images: Path, invoke: Invoke
) -> None:
    assert invoke("rollback", "tiny", "--stage", "prod", "--yes").code == 0  # -> v1.0.0, #6
    assign(prod_with_images, "tiny", "v1.1.0", "prod", 7, image_of("v1.1.0", "f"))  # again
    assert invoke("rollback", "tiny", "--stage", "prod", "--yes").code == 0  # -> v1.0.0, #8
    assert record_of(prod_with_images, "tiny#prod#6")["image"] == {
        **image_of("v1.0.0", "c"),
        "restored_from": "tiny#prod#4",
    }
    assert record_of(prod_with_images, "tiny#prod#8")["image"] == {
        **image_of("v1.0.0", "c"),
        "restored_from": "tiny#prod#4",
    }


def test_a_rollback_never_restores_the_version_it_replaced(
    two_versions_in_prod: Path, invoke: Invoke
) -> None:
    assert invoke("rollback", "tiny", "--stage", "prod", "--yes").code == 0  # -> v1.0.0, #3
    again = invoke("rollback", "tiny", "--stage", "prod", "--yes")
    assert again.code == 1
    assert again.err == (
        "error: nothing safe to roll back to: every other version tiny had in prod failed "
        "there since it last entered: v1.1.0 (rolled back by tiny#prod#3); "
        "promote a fixed version instead\n"
    )
    assert prod_tags(two_versions_in_prod) == ["tiny#prod#1", "tiny#prod#2", "tiny#prod#3"]


def test_a_rollback_skips_failed_versions_for_the_newest_safe_one(
    two_versions_in_prod: Path, invoke: Invoke
) -> None:
    repo = two_versions_in_prod
    (repo / "model" / "app.py").write_text("v = 3\n")
    git(repo, "commit", "-qam", "v3")
    assert invoke("register", "tiny", "v1.2.0").code == 0
    assign(repo, "tiny", "v1.2.0", "prod", 3)
    assert invoke("rollback", "tiny", "--stage", "prod", "--yes").code == 0  # -> v1.1.0, #4
    result = invoke("rollback", "tiny", "--stage", "prod", "--yes")
    assert result.code == 0, result.err
    assert (
        "roll back prod: tiny@v1.1.0 -> tiny@v1.0.0, skipping v1.2.0 (rolled back by tiny#prod#4)"
        in result.err
    )
    assert record_of(repo, "tiny#prod#5")["rollback_of"] == "v1.1.0"
    assert git(repo, "rev-parse", "tiny#prod#5^{commit}") == git(
        repo, "rev-parse", "tiny@v1.0.0^{commit}"
    )


def test_a_version_assigned_again_is_judged_afresh(
    two_versions_in_prod: Path, invoke: Invoke
) -> None:
    repo = two_versions_in_prod
    assert invoke("rollback", "tiny", "--stage", "prod", "--yes").code == 0  # v1.1.0 out, #3
    assign(repo, "tiny", "v1.1.0", "prod", 4)  # promoted again after a fix elsewhere
    assign(repo, "tiny", "v1.0.0", "prod", 5)
    result = invoke("rollback", "tiny", "--stage", "prod", "--yes")
    assert result.code == 0, result.err
    assert "roll back prod: tiny@v1.0.0 -> tiny@v1.1.0\n" in result.err


def test_rollback_to_a_version_recorded_without_an_image_records_none(
    two_versions_in_prod: Path, invoke: Invoke
) -> None:
    result = invoke("rollback", "tiny", "--stage", "prod", "--yes")
    assert result.code == 0, result.err
    assert record_of(two_versions_in_prod, "tiny#prod#3")["image"] is None
    shown = invoke("image", "tiny", "--stage", "prod")
    assert shown.code == 3
    assert "tiny#prod#3 (tiny@v1.0.0 in prod) records no registry digest" in shown.err


def test_rollback_names_the_content_tag_when_the_image_was_never_pushed(
    two_versions_in_prod: Path, invoke: Invoke
) -> None:
    unpushed = {**image_of("v1.0.0", "a"), "digest": None}
    assign(two_versions_in_prod, "tiny", "v1.0.0", "prod", 3, unpushed)
    assign(two_versions_in_prod, "tiny", "v1.1.0", "prod", 4, image_of("v1.1.0", "b"))
    result = invoke("rollback", "tiny", "--stage", "prod", "--yes")
    assert result.code == 0, result.err
    assert f"prod runs {unpushed['ref']} again\n" in result.err
    assert record_of(two_versions_in_prod, "tiny#prod#5")["image"] == {
        **unpushed,
        "restored_from": "tiny#prod#3",
    }
