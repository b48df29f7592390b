"""Start-up stays within its budget: the read-path commands import only what they use.

No timing here (docs/benchmarks.md has the figures, bench/startup_bench.py takes
them): each case runs `envctl ARGS` in a fresh interpreter, as a user's shell
does, and checks which modules it loaded.
"""

from __future__ import annotations

import os
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
    "envctl.spec.types",
    "envctl.spec.plain",
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


# Settings that ask for Rich's layout or colours off a terminal (pytest may set
# COLUMNS): not here.
RICH_SETTINGS = ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


def loaded_by(args: list[str], cwd: Path) -> set[str]:
    """The modules `envctl ARGS` had imported when it finished, run off a terminal
    as in CI."""
    env = {k: v for k, v in os.environ.items() if k not in RICH_SETTINGS}
    proc = subprocess.run(
        [sys.executable, "-c", _REPORT, *args],
        cwd=cwd,
        env=env,
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
    assert "envctl.spec.types" in loaded  # the command did read a spec
    assert under(loaded, (*HEAVY, "packaging.utils", "packaging.tags", "logging")) == []


def test_diff_reads_locks_without_the_lock_document(untagged: Path) -> None:
    """diff reads each environment's lock; the `lock` command's output model is not its."""
    loaded = loaded_by(["diff", "dev", "prod"], untagged)
    assert "envctl.build.lockfile" in loaded  # the locks were read
    assert under(loaded, ("envctl.output.build",)) == []


# ---- the start-up budget (issue 25) ------------------------------------------
# What a command that only reads and prints does without: typer's pydantic
# parameter converters (envctl.cli.lean_params converts instead), and Rich off a
# terminal (console.print_rows lays the table out). Help reads no YAML and
# builds no model at all.
CONVERTERS = ("typer._adapters",)
HELP = (*HEAVY, *CONVERTERS, "pydantic", "pydantic_core", "yaml", "rich", "envctl.output")


def promoted(repo: Path) -> Path:
    """`repo` with churn@v1.0.0 registered and promoted to dev, its record naming
    the image by registry digest (what `envctl image` prints)."""
    from envctl.registry import assignment_tag, format_record

    (repo / "model.txt").write_text("weights\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "model")
    git(repo, "tag", "-a", "churn@v1.0.0", "-m", "Registering artifact churn version v1.0.0")
    record = {
        "kind": "promotion",
        "model": "churn",
        "version": "v1.0.0",
        "stage": "dev",
        "n": 1,
        "from_stage": None,
        "who": {"name": "T", "email": "t@example.com"},
        "when": "2026-12-05T08:00:00+00:00",
        "bypass": None,
        "rollback_of": None,
        "image": {"ref": "envctl/dev:0123456789ab", "digest": "r.example/e@sha256:" + "a" * 64},
        "gates": [],
    }
    message = format_record("Promote churn v1.0.0 to dev", record)
    git(repo, "tag", "-a", assignment_tag("churn", "dev", 1), "-m", message)
    return repo


@pytest.mark.parametrize("command", [[], ["status"], ["history"], ["image"], ["list"], ["diff"]])
def test_help_builds_no_model_and_prints_without_rich(untagged: Path, command: list[str]) -> None:
    loaded = loaded_by([*command, "--help"], untagged)
    assert under(loaded, HELP) == []


@pytest.mark.parametrize(
    ("args", "runs"),
    [
        (["status"], "status"),
        (["history", "churn"], "status"),
        (["image", "churn", "--stage", "dev"], "image"),
        (["list"], "specs"),
    ],
)
def test_read_commands_print_without_rich_off_a_terminal(
    untagged: Path, args: list[str], runs: str
) -> None:
    loaded = loaded_by(args, promoted(untagged))
    assert f"envctl.commands.{runs}" in loaded  # the command did run
    assert under(loaded, (*HEAVY, *CONVERTERS, "rich")) == []


@pytest.mark.parametrize(
    "args", [["status"], ["history", "churn"], ["image", "churn", "--stage", "dev"]]
)
def test_ledger_reads_build_no_model(untagged: Path, args: list[str]) -> None:
    """envctl.yaml is read as plain settings and the documents are plain data:
    defining pydantic models costs more than reading the ledger."""
    loaded = loaded_by(args, promoted(untagged))
    assert "envctl.ledger.trust" in loaded  # the ledger was read
    assert under(loaded, ("pydantic", "pydantic_core", "envctl.spec.project_file")) == []


# The pydantic output models (the documents' schemas; the commands build plain
# documents: envctl.output.plain_specs, plain_diff) and envctl.yaml's models (the
# commands read its plain settings). pydantic itself is still imported by the
# environment spec's models, which these commands validate.
OUTPUT_MODELS = (
    "envctl.output.base",
    "envctl.output.specs",
    "envctl.output.diff",
    "envctl.output.supply",
    "envctl.output.promotion",
    "envctl.output.registry_models",
    "envctl.output.build",
    "envctl.output.errors",
    "envctl.spec.project_file",
)


@pytest.mark.parametrize(
    ("args", "runs"),
    [
        (["list"], "specs"),
        (["list", "--format", "json"], "specs"),
        (["validate"], "specs"),
        (["validate", "--format", "json"], "specs"),
        (["show", "prod"], "specs"),
        (["show", "prod", "--format", "json"], "specs"),
        (["diff", "dev", "prod"], "diff"),
        (["diff", "dev", "prod", "--format", "json"], "diff"),
        (["diff", "--path"], "diff"),
    ],
)
def test_spec_reads_need_neither_pydantic_nor_rich(
    untagged: Path, args: list[str], runs: str
) -> None:
    """Off a terminal the tables are laid out without Rich (diff's boxed one by
    envctl.cli.text_table), the documents are plain data, and valid specs are read
    by the plain reader (envctl.spec.plain): pydantic is never imported."""
    loaded = loaded_by(args, untagged)
    assert f"envctl.commands.{runs}" in loaded  # the command did run
    assert "envctl.spec.plain" in loaded  # and read the specs
    assert under(loaded, ("rich", "pydantic", "envctl.spec.model", *OUTPUT_MODELS)) == []


def test_an_invalid_spec_is_explained_by_the_model(untagged: Path) -> None:
    """The plain reader steps aside on a mistake: the model names it."""
    prod = untagged / "environments" / "prod.yaml"
    prod.write_text(prod.read_text().replace("  cpu: 4\n", "  cpu: lots\n"))
    loaded = loaded_by(["validate"], untagged)
    assert "envctl.spec.model" in loaded
