"""image: the digest a stage's promotion record holds, read from git alone; and
status showing each stage's image. Records are written as promote writes them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from envctl import registry as reg
from tests.cli.conftest import Invoke
from tests.conftest import git

DIGEST = "127.0.0.1:5000/team/envctl/model-tiny@sha256:" + "d" * 64
IMAGE = {
    "ref": "envctl/model-tiny:v1.0.0-0123456789ab",
    "id": "sha256:" + "1" * 64,
    "digest": DIGEST,
    "content_fingerprint": "0123456789ab" + "0" * 52,
    "reused_from": "dev",
    "differences": [],
}


@pytest.fixture
def project(git_repo: Path, invoke: Invoke) -> Path:
    (git_repo / "envctl.yaml").write_text(
        "stages: [dev, staging, prod]\nmodels:\n  tiny: {path: model}\n"
    )
    (git_repo / "environments").mkdir()
    (git_repo / "model").mkdir()
    (git_repo / "model" / "app.py").write_text("print('hi')\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "init")
    assert invoke("register", "tiny", "v1.0.0").code == 0
    return git_repo


def assign(repo: Path, stage: str, n: int, image: dict[str, Any] | str | None) -> None:
    """An assignment tag whose record holds `image`, as promote writes it."""
    data = reg.promotion_record(
        who_name="Ada",
        who_email="ada@example.com",
        when=datetime.now(timezone.utc),  # as envctl writes it: audit compares it with the tag date
        from_stage="dev" if stage != "dev" else None,
        env={"name": stage, "spec_version": 1, "fingerprint": "f" * 64},
        image=image,
        gates=[],
    )
    message = reg.format_record(f"ada@example.com promotes tiny@v1.0.0 to {stage}", data)
    git(repo, "tag", "-a", f"tiny#{stage}#{n}", "-m", message, "HEAD")


def test_image_prints_the_digest_alone(project: Path, invoke: Invoke) -> None:
    assign(project, "staging", 1, IMAGE)
    result = invoke("image", "tiny", "--stage", "staging")
    assert (result.code, result.out, result.err) == (0, DIGEST + "\n", "")


def test_image_json(project: Path, invoke: Invoke) -> None:
    assign(project, "staging", 1, IMAGE)
    result = invoke("image", "tiny", "--stage", "staging", "--format", "json")
    assert result.code == 0
    assert json.loads(result.out) == {
        "schema_version": 1,
        "model": "tiny",
        "stage": "staging",
        "version": "v1.0.0",
        "tag": "tiny#staging#1",
        "digest": DIGEST,
        "image": IMAGE["ref"],
        "image_id": IMAGE["id"],
        "content_fingerprint": IMAGE["content_fingerprint"],
        "reused_from": "dev",
        "sbom": None,  # a record made before SBOMs were recorded
        "sbom_artifact": None,
    }


def test_image_json_names_the_recorded_sbom(project: Path, invoke: Invoke) -> None:
    sbom = {"format": "cyclonedx-json", "sha256": "sha256:" + "5" * 64, "artifact": None}
    assign(project, "staging", 1, {**IMAGE, "sbom": sbom})
    shown = json.loads(invoke("image", "tiny", "--stage", "staging", "--format", "json").out)
    assert (shown["sbom"], shown["sbom_artifact"]) == (sbom["sha256"], None)


def test_image_of_an_empty_stage_is_exit_3(project: Path, invoke: Invoke) -> None:
    result = invoke("image", "tiny", "--stage", "prod")
    assert (result.code, result.out) == (3, "")
    assert result.err == "error: no version of tiny is in prod: nothing to deploy\n"


@pytest.mark.parametrize("image", [{**IMAGE, "digest": None}, "sha256:" + "1" * 64, None])
def test_image_of_a_record_without_a_digest_is_exit_3(
    project: Path, invoke: Invoke, image: dict[str, Any] | str | None
) -> None:
    assign(project, "dev", 1, image)
    result = invoke("image", "tiny", "--stage", "dev")
    assert (result.code, result.out) == (3, "")
    assert result.err == (
        "error: tiny#dev#1 (tiny@v1.0.0 in dev) records no registry digest; "
        "set registry: in envctl.yaml; dev's next promotion made with --push records one\n"
    )


def test_image_without_a_digest_where_a_registry_is_set_says_push(
    project: Path, invoke: Invoke
) -> None:
    config = project / "envctl.yaml"
    config.write_text(config.read_text() + "registry: 127.0.0.1:5000/team\n")
    assign(project, "dev", 1, {**IMAGE, "digest": None})
    result = invoke("image", "tiny", "--stage", "dev")
    assert (result.code, result.err) == (
        3,
        "error: tiny#dev#1 (tiny@v1.0.0 in dev) records no registry digest; it was promoted "
        "without --push; dev's next promotion made with --push records one\n",
    )


def test_image_needs_a_stage(project: Path, invoke: Invoke) -> None:
    result = invoke("image", "tiny")
    assert result.code == 2
    assert result.err == "error: say which stage: envctl image NAME --stage STAGE\n"


def test_status_shows_each_stages_image_and_digest(project: Path, invoke: Invoke) -> None:
    old_id = "sha256:" + "2" * 64
    assign(project, "dev", 1, old_id)  # a record from before images were objects
    assign(project, "staging", 2, IMAGE)
    result = invoke("status", "--format", "json")
    assert result.code == 0
    stages = json.loads(result.out)["models"][0]["stages"]
    seen = {s: (e["image"], e["image_id"], e["digest"]) if e else None for s, e in stages.items()}
    assert seen == {
        "dev": (old_id, None, None),
        "staging": (IMAGE["ref"], IMAGE["id"], DIGEST),
        "prod": None,
    }


def test_image_reads_git_only(project: Path) -> None:
    assign(project, "staging", 1, IMAGE)
    code = (
        "import sys\nfrom envctl.cli import _register\nfrom envctl.cli.app import run\n"
        "_register()\ncode = run(['image', 'tiny', '--stage', 'staging'])\n"
        "print(code, 'docker' in sys.modules, file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=False
    )
    assert proc.stdout == DIGEST + "\n"
    assert proc.stderr.strip().splitlines()[-1] == "0 False"


@pytest.mark.parametrize("command", ["image", "status", "history", "check-live"])
def test_a_model_no_one_declared_or_registered_is_exit_3(
    git_repo: Path, invoke: Invoke, command: str
) -> None:
    (git_repo / "envctl.yaml").write_text("stages: [dev, prod]\n")  # no models: section
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "init")
    args = [command, "nosuchmodel"] + ([] if command in ("status", "history") else ["-s", "prod"])
    result = invoke(*args)
    assert (result.code, result.out) == (3, "")
    assert result.err == "error: unknown model 'nosuchmodel' (known: none)\n"


def test_an_unsigned_stage_counts_a_hand_made_event_for_every_command(
    project: Path, invoke: Invoke
) -> None:
    """Outside signed stages a tag without a record counts, as GTO reads it, and
    is flagged: image, advance and status read that same view, and image does not
    fall back to the digest of the event it replaced."""
    assign(project, "dev", 1, IMAGE)
    git(project, "tag", "-a", "tiny#dev#2", "-m", "by hand", "HEAD")

    result = invoke("image", "tiny", "--stage", "dev")
    assert (result.code, result.out) == (3, "")
    assert result.err == (
        "error: tiny#dev#2 (tiny@v1.0.0 in dev) records no registry digest (no envctl record: "
        "made by GTO or by hand); set registry: in envctl.yaml; "
        "dev's next promotion made with --push records one\n"
    )
    dev = json.loads(invoke("status", "--format", "json").out)["models"][0]["stages"]["dev"]
    assert (dev["tag"], dev["evidence"], dev["counts"]) == ("tiny#dev#2", "none", True)
    advanced = invoke("advance", "tiny@v1.0.0", "--until", "dev")
    assert (advanced.code, advanced.out) == (
        0,
        "tiny@v1.0.0 has entered dev already: nothing to do\n",
    )


@pytest.mark.parametrize("digest", ["sha256:" + "d" * 64, "team/img:latest", "x@sha256:short"])
def test_image_refuses_a_digest_that_pins_nothing(
    project: Path, invoke: Invoke, digest: str
) -> None:
    assign(project, "dev", 1, {**IMAGE, "digest": digest})
    result = invoke("image", "tiny", "--stage", "dev")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"error: tiny#dev#1 (tiny@v1.0.0 in dev) records {digest!r}, which is not "
        "REPO@sha256:<64 hex>\n"
    )


def test_the_raw_registry_is_not_part_of_the_registry_package() -> None:
    """Commands read the ledger through `read_verified` only; pyproject's import-linter
    contract keeps `envctl.registry.state` (where the raw parse lives) to the verifier."""
    assert not hasattr(reg, "parse_registry")


def test_image_never_prints_escape_bytes_from_a_record(project: Path, invoke: Invoke) -> None:
    hostile = {**IMAGE, "digest": DIGEST.replace("team", "te\x1b[2Jam\x1b]0;pwned\x07")}
    assign(project, "staging", 1, hostile)
    result = invoke("image", "tiny", "--stage", "staging")
    assert result.code == 1, result.err  # not a REPO@sha256:<64 hex> a deploy could pull
    assert result.out == ""
    assert "\x1b" not in result.out + result.err
    assert "\x07" not in result.out + result.err
