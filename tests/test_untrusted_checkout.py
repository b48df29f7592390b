"""A checkout is input from a stranger: no code or config committed in it runs on the host.

The attacker can commit anything in the work tree (and, to be thorough, we also
let them write the clone's .git/hooks and .git/config). Every module, config file
and hook below leaves a canary outside the repository if it runs, and the config
files point the index at a local HTTP server that records every request. envctl
runs as a real process (its console script, as CI runs it) with the checkout as
its working directory and an empty wheel cache, so wheels are downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.conftest import git

ENVCTL = str(Path(sys.executable).parent / "envctl")

SPEC = """\
name: dev
version: 1
image:
  base: {base}
python: "3.11"
env:
  RUN: "{run}"
packages:
  six: "==1.16.0"
data:
  allowed: [internal]
gates:
  - tests: {{paths: [tests], packages: {{pytest: '==8.3.3'}}}}
"""


class Recorder(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Recorder.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def index_trap() -> Iterator[str]:
    """A package index on 127.0.0.1 that only the planted config files name."""
    Recorder.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    finally:
        server.shutdown()
        server.server_close()


def canary_code(canary: Path, what: str) -> str:
    return f"open({str(canary)!r}, 'a').write({what!r} + '\\n')\n"


def plant(root: Path, canary: Path, index: str) -> None:
    """Everything a tool would pick up from its working directory or the clone."""
    for module in ("pip", "uv", "pytest", "_pytest", "packaging", "json", "yaml"):
        (root / module).mkdir()
        (root / module / "__init__.py").write_text(canary_code(canary, f"{module} package"))
        (root / module / "__main__.py").write_text(canary_code(canary, f"{module} main"))
    for module in ("sitecustomize", "usercustomize"):
        (root / f"{module}.py").write_text(canary_code(canary, module))
    (root / "zz-envctl.pth").write_text("import os; " + canary_code(canary, "pth"))
    (root / "conftest.py").write_text(canary_code(canary, "conftest"))
    (root / "pytest.ini").write_text("[pytest]\naddopts = -p conftest\n")
    (root / "pip.conf").write_text(f"[global]\nindex-url = {index}\n")
    (root / "uv.toml").write_text(f'index-url = "{index}"\n')
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "x"\n[tool.uv]\nindex-url = "{index}"\n'
    )
    (root / ".python-version").write_text("3.9\n")
    hook = f"#!/bin/sh\necho hook >> {canary}\n"
    hooks = root / "githooks"
    hooks.mkdir()
    for name in ("reference-transaction", "pre-push", "post-checkout", "post-index-change"):
        for folder in (root / ".git" / "hooks", hooks):
            (folder / name).write_text(hook)
            (folder / name).chmod(0o755)
    monitor = root / "monitor.sh"
    monitor.write_text(f"#!/bin/sh\necho fsmonitor >> {canary}\n")
    monitor.chmod(0o755)
    with (root / ".git" / "config").open("a") as config:
        config.write(f"[core]\n\thooksPath = {hooks}\n\tfsmonitor = {monitor}\n")


@pytest.fixture
def checkout(git_repo: Path, tmp_path: Path, index_trap: str) -> Path:
    (git_repo / "envctl.yaml").write_text(
        "stages: [dev]\nmodels:\n  tiny:\n    path: model\n"
        "    requires: {python: '>=3.11', data: [internal]}\n"
    )
    (git_repo / "environments").mkdir()
    base = os.environ.get("ENVCTL_TEST_BASE_IMAGE", "envctl-test/debian-python:bookworm")
    (git_repo / "environments" / "dev.yaml").write_text(
        SPEC.format(base=base, run=uuid.uuid4().hex)
    )
    (git_repo / "model" / "tests").mkdir(parents=True)
    (git_repo / "model" / "tests" / "test_ok.py").write_text("def test_ok():\n    pass\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "tiny")
    plant(git_repo, tmp_path / "outside" / "canary", index_trap)
    (tmp_path / "outside").mkdir()
    return git_repo


def envctl(root: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    return subprocess.run(
        [ENVCTL, *args], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )


def assert_nothing_fired(tmp_path: Path) -> None:
    canary = tmp_path / "outside" / "canary"
    assert not canary.exists(), canary.read_text()
    assert Recorder.hits == []


def test_lock_and_ledger_commands_run_nothing_from_the_checkout(
    checkout: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    # The console script itself must not import the checkout's modules either: this
    # proves the planted names are live for any Python that trusts its cwd.
    trusting = subprocess.run(
        [sys.executable, "-c", "import json"], cwd=checkout, capture_output=True, text=True
    )
    assert (tmp_path / "outside" / "canary").read_text() == "json package\n", trusting.stderr
    (tmp_path / "outside" / "canary").unlink()

    (checkout / "requirements.txt").write_text("six==1.16.0\n")
    for args in (
        ("lock", "dev"),
        ("validate",),
        ("check",),
        ("list",),
        ("show", "dev"),
        ("import", "requirements.txt", "--name", "imported"),
        ("render", "dev"),
        ("register", "tiny", "v1.0.0"),
        ("status",),
        ("history", "tiny"),
        ("audit",),
        ("diff", "dev", "dev@HEAD"),
    ):
        done = envctl(checkout, cache, *args)
        assert done.returncode in (0, 1), (args, done.stderr)
        assert_nothing_fired(tmp_path)
    assert "six==1.16.0" in (checkout / "environments" / "dev.lock").read_text()


@pytest.mark.docker
def test_build_and_promote_fetch_wheels_without_running_checkout_code(
    checkout: Path, tmp_path: Path, base_image: str
) -> None:
    cache = tmp_path / "cache"
    assert envctl(checkout, cache, "lock", "dev").returncode == 0
    safe_git = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"]
    subprocess.run([*safe_git, "add", "environments"], cwd=checkout, check=True)
    subprocess.run([*safe_git, "commit", "-qm", "lock"], cwd=checkout, check=True)
    built = envctl(checkout, cache, "build", "dev", "--format", "json")
    assert built.returncode == 0, built.stderr
    assert_nothing_fired(tmp_path)
    assert list((cache / "envctl" / "wheels" / "sha256").glob("*/six-1.16.0-*.whl"))
    assert envctl(checkout, cache, "verify", "dev").returncode == 0
    assert_nothing_fired(tmp_path)

    assert envctl(checkout, cache, "register", "tiny", "v1.0.0").returncode == 0
    promoted = envctl(checkout, cache, "promote", "tiny@v1.0.0", "--to", "dev", "--format", "json")
    assert promoted.returncode == 0, promoted.stderr
    gates = json.loads(promoted.stdout)["gates"]
    assert gates[0]["evidence"]["counts"] == {"passed": 1}
    assert_nothing_fired(tmp_path)
    assert list((cache / "envctl" / "wheels" / "sha256").glob("*/pytest-8.3.3-*.whl"))
    shutil.rmtree(cache, ignore_errors=True)
