"""examples/deploy: render the deployment files with a pinned image, and (with
Docker) deploy that digest on another engine and get 200 from /health."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from envctl import engine
from tests.conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "examples" / "deploy"
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

# The http gate's way in (envctl/promotion/runners.py): no port is published, the
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
