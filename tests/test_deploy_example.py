"""examples/deploy: render the deployment files with a pinned image, and (with
Docker) deploy that digest on another engine and get 200 from /health; and the
whole path for examples/churn: promote it into prod with --push, take the digest
`envctl image churn --stage prod` prints, render, pull that digest, run it with
the rendered command and get 200 from /health."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from envctl import engine
from tests.conftest import REPO_ROOT, git
from tests.harness import Invoke

DEPLOY = REPO_ROOT / "examples" / "deploy"
CHURN = REPO_ROOT / "examples" / "churn"
RENDER = DEPLOY / "render.py"
DIGEST = "sha256:" + "0123456789abcdef" * 4


def render(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RENDER), *args, "--out", str(tmp_path / "out")],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def rendered_images(out: Path) -> tuple[str, str]:
    """The image the compose service and the Deployment's container name."""
    compose: dict[str, Any] = yaml.safe_load((out / "compose.yaml").read_text())
    deployment: dict[str, Any] = yaml.safe_load((out / "deployment.yaml").read_text())
    assert deployment["kind"] == "Deployment"
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return compose["services"]["churn"]["image"], container["image"]


@pytest.mark.parametrize("how", ["argument", "stdin"])
def test_render_pins_both_files_to_the_digest(tmp_path: Path, how: str) -> None:
    ref = f"registry.example.com:5000/team/churn@{DIGEST}"
    proc = render(tmp_path, ref) if how == "argument" else render(tmp_path, stdin=ref + "\n")

    assert proc.returncode == 0, proc.stderr
    assert rendered_images(tmp_path / "out") == (ref, ref)
    assert "{{IMAGE}}" not in (tmp_path / "out" / "compose.yaml").read_text()


@pytest.mark.parametrize(
    "given",
    ["registry.example.com/team/churn:prod", "churn@sha256:abc", ""],
)
def test_render_refuses_an_image_not_pinned_by_digest(tmp_path: Path, given: str) -> None:
    proc = render(tmp_path, stdin=given)

    assert proc.returncode == 1
    assert proc.stderr.startswith("render.py: ")
    assert not (tmp_path / "out").exists()


HEALTH_IMAGE = """FROM {base}
RUN mkdir /srv/www && printf ok > /srv/www/health
EXPOSE 8000
CMD ["python3", "-m", "http.server", "8000", "--bind", "127.0.0.1", "--directory", "/srv/www"]
"""

# The http gate's way in (envctl/gates/runners.py): no port is published, the
# request runs inside the container, against its own loopback.
PROBE = """
import time, urllib.request
deadline = time.time() + 30
while True:
    try:
        with urllib.request.urlopen("http://127.0.0.1:8000/health", timeout=5) as answer:
            print(answer.status, answer.read().decode())
            break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(0.2)
"""


def context_tar(dockerfile: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile.encode())
        tar.addfile(info, io.BytesIO(dockerfile.encode()))
    return buffer.getvalue()


@pytest.mark.docker
def test_a_pushed_digest_renders_deploys_on_another_engine_and_answers_health(
    base_image: str,
    local_registry: str,
    engine_b: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tagged = f"{local_registry}/deploy-test/health:{uuid.uuid4().hex[:10]}"
    engine.build(context_tar(HEALTH_IMAGE.format(base=base_image)), tag=tagged, labels={})
    try:
        digest = engine.push(tagged)
    finally:
        engine.remove_image(tagged)
    pinned = f"{tagged.rsplit(':', 1)[0]}@{digest}"
    assert digest.startswith("sha256:")

    proc = render(tmp_path, stdin=pinned)
    assert proc.returncode == 0, proc.stderr
    assert rendered_images(tmp_path / "out") == (pinned, pinned)

    monkeypatch.setenv("DOCKER_HOST", engine_b)
    engine.client.cache_clear()
    try:
        assert not engine.image_exists(pinned)
        engine.ensure_image(pinned)  # pulled from the registry, by digest, into engine B
        assert pinned in engine.inspect_image(pinned)["RepoDigests"]
        with engine.service(
            pinned,
            [
                "python3",
                "-m",
                "http.server",
                "8000",
                "--bind",
                "127.0.0.1",
                "--directory",
                "/srv/www",
            ],
        ) as server:
            answer = engine.exec_in(server, ["python3", "-c", PROBE], timeout=60)
        assert (answer.exit_code, answer.stdout) == (0, "200 ok\n"), answer.stderr
    finally:
        engine.remove_image(pinned, force=True)
        engine.client.cache_clear()


# ---- examples/churn, from promotion to a running deployment -----------------------------


def churn_project(root: Path, registry: str) -> Path:
    """A clone of examples/churn whose `registry:` is `registry`, committed, with a
    bare origin for --push, and churn@v1.0.0 registered."""
    project = root / "churn"
    shutil.copytree(CHURN, project)
    config = project / "envctl.yaml"
    lines = config.read_text().splitlines(keepends=True)
    (at,) = [i for i, line in enumerate(lines) if line.startswith("registry:")]
    lines[at] = f"registry: {registry}/deploy-test\n"
    config.write_text("".join(lines))
    git(project, "init", "-q", "-b", "main")
    git(project, "config", "commit.gpgsign", "false")
    git(project, "config", "tag.gpgsign", "false")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "churn v1.0.0")
    git(root, "init", "-q", "--bare", "origin.git")
    git(project, "remote", "add", "origin", str(root / "origin.git"))
    return project


def remove_images_of(project: Path) -> None:
    """The images promoting this clone made (labelled with one of its commits),
    newest first; images other runs made are never touched."""
    commits = set(git(project, "rev-list", "--all").split())
    ours = [
        image
        for image in engine.client().api.images()
        if (image.get("Labels") or {}).get("dev.envctl.git-commit") in commits
    ]
    for image in sorted(ours, key=lambda i: -int(i["Created"])):
        engine.remove_image(str(image["Id"]), force=True)


@pytest.mark.docker
@pytest.mark.usefixtures("base_image")
def test_the_churn_prod_digest_renders_pulls_runs_and_answers_health(
    local_registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, invoke: Invoke
) -> None:
    project = churn_project(tmp_path, local_registry)
    monkeypatch.chdir(project)
    try:
        assert invoke("register", "churn", "v1.0.0").code == 0
        with monkeypatch.context() as bob:
            bob.setenv("GIT_COMMITTER_NAME", "Bob")
            bob.setenv("GIT_COMMITTER_EMAIL", "bob@example.com")
            approved = invoke("approve", "churn@v1.0.0", "--stage", "prod")
        assert approved.code == 0, approved.err
        # Straight into prod (recorded as a bypass): one build and one run of prod's
        # gates; how a version reaches prod is tests/commands/test_promote_image.py's.
        promoted = invoke(
            "promote", "churn@v1.0.0", "--stage", "prod", "--push", "--force",
            "--reason", "deploy test: prod only", "--format", "json",
        )  # fmt: skip
        assert promoted.code == 0, promoted.err
        outcome = json.loads(promoted.out)
        assert [g["status"] for g in outcome["gates"]] == ["passed"] * 4

        shown = invoke("image", "churn", "--stage", "prod")
        assert shown.code == 0, shown.err
        pinned = shown.out.strip()
        assert pinned == outcome["digest"]
        assert pinned.startswith(f"{local_registry}/deploy-test/envctl/model-churn@sha256:")

        proc = render(tmp_path, stdin=shown.out)
        assert proc.returncode == 0, proc.stderr
        assert rendered_images(tmp_path / "out") == (pinned, pinned)
        compose = yaml.safe_load((tmp_path / "out" / "compose.yaml").read_text())
        command = [str(word) for word in compose["services"]["churn"]["command"]]

        # Drop what promoting left here, so the digest is pulled from the registry
        # (the layers churn shares with its base are already in the engine).
        remove_images_of(project)
        assert not engine.image_exists(pinned)
        assert engine.pull(pinned) == ""
        assert engine.inspect_image(pinned)["Id"] == outcome["image_id"]
        with engine.service(pinned, command) as server:
            answer = engine.exec_in(server, ["python", "-c", PROBE], timeout=60)
        assert (answer.exit_code, answer.stdout) == (0, '200 {"status":"ok"}\n'), answer.stderr
    finally:
        remove_images_of(project)  # the pulled image too: it carries the same labels
