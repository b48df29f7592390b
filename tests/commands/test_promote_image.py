"""Build once, promote the digest: real git and the real Docker Engine (and a local
registry for the hand-off). Stages with the same image content share one image; a
stage whose content differs gets a new one, and the record says which."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from envctl import engine, referrers
from tests.cli.conftest import Invoke
from tests.commands.test_promote import lock
from tests.conftest import git

pytestmark = pytest.mark.docker

SPEC = """\
name: {name}
version: 1
description: {name}, with its own gate
image:
  base: {base}
python: "3.11"
{env}gates:
  - command: {{run: [/opt/venv/bin/python, -c, 'import app; print("{name}")']}}
"""
# dev and staging differ in name, description and gate only: the same image content.
ENV = {"dev": "", "staging": "", "prod": "env:\n  MODE: prod\n"}


@pytest.fixture
def project(git_repo: Path, base_image: str, tmp_path: Path) -> Path:
    (git_repo / "envctl.yaml").write_text(
        "stages: [dev, staging, prod]\nmodels:\n  tiny: {path: model}\n"
    )
    (git_repo / "environments").mkdir()
    for name, env in ENV.items():
        (git_repo / "environments" / f"{name}.yaml").write_text(
            SPEC.format(name=name, base=base_image, env=env)
        )
        lock(git_repo, name)
    (git_repo / "model").mkdir()
    # Content of its own: these tests remove their images, which another run on
    # this engine (the session keeps images) may otherwise be using.
    (git_repo / "model" / "app.py").write_text(f"ANSWER = 42\nRUN = {uuid.uuid4().hex!r}\n")
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    git(git_repo, "remote", "add", "origin", str(bare))
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "tiny v1")
    return git_repo


def with_registry(project: Path, registry: str) -> None:
    config = project / "envctl.yaml"
    config.write_text(config.read_text() + f"registry: {registry}/team\n")
    git(project, "commit", "-qam", "registry")


def record(project: Path, tag: str) -> dict[str, Any]:
    message = git(project, "tag", "-l", "--format=%(contents)", tag)
    data: dict[str, Any] = json.loads(message.split("envctl-record: v1", 1)[1])
    return data


def no_build(*args: object, **kwargs: object) -> None:
    raise AssertionError("an image was built")


def test_same_content_is_one_image_and_new_content_a_new_one(
    project: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("register", "tiny", "v1.0.0").code == 0
    dev = invoke("promote", "--to", "dev", "--format", "json")
    assert dev.code == 0, dev.err
    built = json.loads(dev.out)
    assert built["image"].startswith("envctl/model-tiny:v1.0.0-")
    assert (built["reused_from"], built["image_differences"]) == (None, [])

    with monkeypatch.context() as patched:
        patched.setattr(engine, "build", no_build)
        staging = invoke("promote", "--to", "staging")
    assert staging.code == 0, staging.err
    assert f"staging runs the image dev tested: {built['image_id']}" in staging.out
    assert "(reused, nothing built)" in staging.err
    image = record(project, "tiny#staging#2")["image"]
    assert image == {
        "ref": built["image"],
        "id": built["image_id"],
        "digest": None,
        "content_fingerprint": built["content_fingerprint"],
        "reused_from": "dev",
        "differences": [],
        # The very image dev tested: dev's record answers for its SBOM (no probe).
        "sbom": record(project, "tiny#dev#1")["image"]["sbom"],
    }
    assert image["sbom"] == {"format": "cyclonedx-json", "sha256": built["sbom"], "artifact": None}

    prod = invoke("promote", "--to", "prod", "--format", "json")
    assert prod.code == 0, prod.err
    new = json.loads(prod.out)
    assert new["image_id"] != built["image_id"]
    assert new["content_fingerprint"] != built["content_fingerprint"]
    assert new["reused_from"] is None
    assert new["image_differences"] == [
        "the image content differs (lock, templates or model files) though the spec "
        "diff shows no package, Python or image difference"
    ]
    assert record(project, "tiny#prod#3")["image"]["differences"] == new["image_differences"]
    assert engine.inspect_image(new["image"])["Config"]["Env"].count("MODE=prod") == 1


def test_push_records_the_digest_and_image_prints_it(
    project: Path, invoke: Invoke, image_registry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_registry(project, image_registry)
    assert invoke("register", "tiny", "v1.0.0").code == 0
    dev = invoke("promote", "--to", "dev", "--push", "--format", "json")
    assert dev.code == 0, dev.err
    pushed = json.loads(dev.out)
    repository = f"{image_registry}/team/{pushed['image'].rsplit(':', 1)[0]}"
    assert pushed["digest"].startswith(f"{repository}@sha256:")
    assert record(project, "tiny#dev#1")["image"]["digest"] == pushed["digest"]
    # The SBOM is beside the image in the registry, and the record names it.
    sbom = record(project, "tiny#dev#1")["image"]["sbom"]
    assert (sbom["sha256"], sbom["artifact"]) == (pushed["sbom"], pushed["sbom_artifact"])
    assert sbom["artifact"].startswith(f"{repository}@sha256:")

    shown = json.loads(invoke("image", "tiny", "--stage", "dev", "--format", "json").out)
    assert (shown["sbom"], shown["sbom_artifact"]) == (sbom["sha256"], sbom["artifact"])

    printed = invoke("image", "tiny", "--stage", "dev")
    assert (printed.code, printed.out) == (0, pushed["digest"] + "\n")
    stages = json.loads(invoke("status", "--format", "json").out)["models"][0]["stages"]
    assert (stages["dev"]["image"], stages["dev"]["digest"]) == (
        pushed["image"],
        pushed["digest"],
    )

    # Another machine: nothing local; staging pulls the digest dev recorded.
    engine.remove_image(pushed["image"])
    engine.remove_image(f"{image_registry}/team/{pushed['image']}")
    monkeypatch.setattr(engine, "build", no_build)
    staging = invoke("promote", "--to", "staging", "--format", "json")
    assert staging.code == 0, staging.err
    reused = json.loads(staging.out)
    assert (reused["image_id"], reused["digest"], reused["reused_from"]) == (
        pushed["image_id"],
        pushed["digest"],
        "dev",
    )
    assert record(project, "tiny#staging#2")["image"]["sbom"] == sbom
    engine.remove_image(pushed["digest"])


def test_the_sbom_a_stage_runs_is_fetched_from_the_registry_and_checked(
    project: Path, invoke: Invoke, image_registry: str, tmp_path: Path
) -> None:
    """A deployer with the ledger and the registry: `envctl sbom --stage` fetches
    the document the promotion pushed and refuses one that is not it."""
    with_registry(project, image_registry)
    assert invoke("register", "tiny", "v1.0.0").code == 0
    dev = invoke("promote", "--to", "dev", "--push", "--format", "json")
    assert dev.code == 0, dev.err
    pushed = json.loads(dev.out)
    engine.remove_image(pushed["image"])  # nothing to probe here: it comes from the registry
    engine.remove_image(f"{image_registry}/team/{pushed['image']}")

    out = tmp_path / "sbom.json"
    fetched = invoke("sbom", "tiny", "--stage", "dev", "-o", str(out), "--format", "json")
    assert fetched.code == 0, fetched.err
    written = json.loads(fetched.out)
    assert (written["source"], written["sha256"], written["recorded_sha256"]) == (
        "registry",
        pushed["sbom"],
        pushed["sbom"],
    )
    assert json.loads(out.read_text())["metadata"]["component"]["name"] == pushed["image_id"]
    assert written["debian_packages"] > 0  # the base image's dpkg status, as pushed

    # Made again from the image, it is the same bytes as the one pushed.
    engine.ensure_image(pushed["digest"])
    again = invoke("sbom", "--image", pushed["digest"])
    assert again.out == out.read_text()
    engine.remove_image(pushed["digest"])

    # Who can push to the registry attaches another SBOM to the image (it is listed
    # beside ours in the referrers index): the record names ours, so ours is read.
    forged = out.read_text().replace('"components"', '"components" ', 1).encode()
    referrers.push(pushed["digest"], forged, "application/vnd.cyclonedx+json", None)
    client = referrers.Client(pushed["digest"].partition("@")[0])
    index = client.manifest(pushed["digest"].partition("@")[2].replace(":", "-"))[0]
    assert len(json.loads(index)["manifests"]) == 2
    still = invoke("sbom", "tiny", "--stage", "dev")
    assert (still.code, still.out) == (0, out.read_text())

    # Who can write the registry's storage swaps the document: refused, exit 4.
    blob = pushed["sbom"].partition(":")[2]
    stored = tmp_path / "r" / "docker/registry/v2/blobs/sha256" / blob[:2] / blob / "data"
    stored.write_text(out.read_text().replace('"components"', '"components" ', 1))
    swapped = invoke("sbom", "tiny", "--stage", "dev")
    assert (swapped.code, swapped.out) == (4, "")
    assert "the registry sent other bytes than the digest names" in swapped.err


def test_a_recorded_digest_gone_from_the_registry_is_exit_4(
    project: Path, invoke: Invoke, image_registry: str, tmp_path: Path
) -> None:
    with_registry(project, image_registry)
    assert invoke("register", "tiny", "v1.0.0").code == 0
    dev = invoke("promote", "--to", "dev", "--push", "--format", "json")
    assert dev.code == 0, dev.err
    pushed = json.loads(dev.out)
    engine.remove_image(pushed["image"])
    engine.remove_image(f"{image_registry}/team/{pushed['image']}")
    shutil.rmtree(tmp_path / "r" / "docker" / "registry" / "v2" / "repositories")

    staging = invoke("promote", "--to", "staging")
    assert (staging.code, staging.out) == (4, "")
    assert staging.err.splitlines()[-1].startswith(
        f"error: image {pushed['digest']}, which dev tested tiny@v1.0.0 in, is gone "
        "from the registry ("
    )
    assert git(project, "tag", "-l", "tiny#staging*") == ""


def test_a_second_engine_promotes_the_pushed_digest_without_building(
    project: Path,
    invoke: Invoke,
    image_registry: str,
    engine_b: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Machine A builds, gates and pushes dev's image; machine B (its own Docker
    Engine, its own clone) promotes to staging by pulling that digest: nothing is
    built there, the gates run there, and both records name the same digest."""
    with_registry(project, image_registry)
    assert invoke("register", "tiny", "v1.0.0", "--push").code == 0
    git(project, "push", "-q", "origin", "main")
    dev = invoke("promote", "--stage", "dev", "--push", "--format", "json")
    assert dev.code == 0, dev.err
    pushed = json.loads(dev.out)

    machine_b = tmp_path / "machine-b"
    remote = str(tmp_path / "remote.git")
    subprocess.run(["git", "clone", "-q", "-b", "main", remote, str(machine_b)], check=True)
    with monkeypatch.context() as on_b:
        on_b.chdir(machine_b)
        on_b.setenv("DOCKER_HOST", engine_b)
        on_b.setattr(engine, "build", no_build)
        engine.client.cache_clear()
        try:
            assert not engine.image_exists(pushed["digest"])  # B has never seen it
            staging = invoke("promote", "--stage", "staging", "--push", "--format", "json")
            assert staging.code == 0, staging.err
            on_b_doc = json.loads(staging.out)
            assert (on_b_doc["digest"], on_b_doc["image_id"], on_b_doc["reused_from"]) == (
                pushed["digest"],
                pushed["image_id"],
                "dev",
            )
            assert [g["status"] for g in on_b_doc["gates"]] == ["passed"]
            assert engine.image_exists(pushed["digest"])  # pulled into B
            engine.remove_image(pushed["digest"])
        finally:
            engine.client.cache_clear()
    engine.client.cache_clear()  # DOCKER_HOST is engine A's again: so is the next client
    git(project, "fetch", "-q", "origin", "refs/tags/*:refs/tags/*")
    assert record(project, "tiny#staging#2")["image"]["digest"] == pushed["digest"]
    assert record(project, "tiny#dev#1")["image"]["digest"] == pushed["digest"]
