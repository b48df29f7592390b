"""Start-up stays within its budget: the read-path commands import only what they use.

No timing here (docs/benchmarks.md has the figures, bench/startup_bench.py takes
them): each case runs `envctl ARGS` in a fresh interpreter, as a user's shell
does, and checks which modules it loaded.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, git

# Never on any path below: the engine SDK, GitPython, the build tooling, and
# scikit-learn (only an evaluate gate computing its metrics imports it).
HEAVY = ("docker", "git", "requests", "jinja2", "uv", "sklearn")
# What reading envctl.yaml and the tags does not need: the environment spec's
# models (and the GPU tables they check against), PEP 440 parsing, the other
# commands' output models.
SPEC = (
    "envctl.spec.model",
    "envctl.gpu",
    "packaging",
    "envctl.output.specs",
    "envctl.output.promotion",
)
# What printing help does not need: spec reading, YAML, rich's tables, output models.
READING = ("envctl.spec.loading", "yaml", "rich.table", "envctl.output", "envctl.registry")

_REPORT = (
    "import runpy, sys\n"
    "sys.argv = ['envctl', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('envctl', run_name='__main__')\n"
    "except SystemExit:\n    pass\n"
    "print('loaded:', *sorted(sys.modules), file=sys.stderr)\n"
)


def loaded_by(args: list[str], cwd: Path) -> set[str]:
    """The modules `envctl ARGS` had imported when it finished."""
    proc = subprocess.run(
        [sys.executable, "-c", _REPORT, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in proc.stderr.splitlines() if line.startswith("loaded: ")]
    assert lines, proc.stderr
    return set(lines[-1].removeprefix("loaded: ").split())


def under(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(
        m for m in modules if m.startswith(tuple(f"{p}." for p in packages)) or m in packages
    )


@pytest.fixture
def untagged(tmp_path: Path) -> Path:
    """The bundled project in a repository without a single tag."""
    shutil.copy(REPO_ROOT / "envctl.yaml", tmp_path / "envctl.yaml")
    shutil.copytree(REPO_ROOT / "environments", tmp_path / "environments")
    git(tmp_path, "init", "-q")
    return tmp_path


@pytest.mark.parametrize("args", [["status"], ["history", "--help"], ["status", "--help"]])
def test_registry_reads_leave_the_spec_models_alone(untagged: Path, args: list[str]) -> None:
    loaded = loaded_by(args, untagged)
    assert "envctl.cli.promote" in loaded  # the command did run
    assert under(loaded, HEAVY + SPEC) == []


@pytest.mark.parametrize("command", ["status", "history", "list", "validate", "diff", "image"])
def test_help_reads_nothing(untagged: Path, command: str) -> None:
    loaded = loaded_by([command, "--help"], untagged)
    assert under(loaded, HEAVY + SPEC + READING) == []


@pytest.mark.parametrize(
    "args", [["list"], ["validate"], ["show", "prod"], ["diff", "dev", "prod"]]
)
def test_spec_reads_leave_the_wheel_tags_alone(untagged: Path, args: list[str]) -> None:
    """packaging.utils would load the wheel-tag machinery (logging, platform probes)."""
    loaded = loaded_by(args, untagged)
    assert "envctl.spec.model" in loaded  # the command did read a spec
    assert under(loaded, (*HEAVY, "packaging.utils", "packaging.tags", "logging")) == []


def test_diff_reads_locks_without_the_lock_document(untagged: Path) -> None:
    """diff reads each environment's lock; the `lock` command's output model is not its."""
    loaded = loaded_by(["diff", "dev", "prod"], untagged)
    assert "envctl.build.lockfile" in loaded  # the locks were read
    assert under(loaded, ("envctl.output.build",)) == []
