"""The shipped examples: CI recipes, pre-commit hooks and the churn project.

Every `envctl ...` command the CI recipes and hooks run must exist with the
flags (and choice values) they pass, as the real CLI's `--help` says; a command
that does not exist fails here, it is never skipped. The churn project's specs
validate, its promotion path has no unwaived error, the committed model is the
one its training script makes (over prod's bar, with the scikit-learn the
specs pin), and the model's own tests pass on this interpreter. The degraded
model trained on the host is run end to end by the tutorial (tests/test_tutorial.py).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import yaml

from envctl.cli import _register
from envctl.cli.app import run

REPO_ROOT = Path(__file__).resolve().parent.parent
CI_DIR = REPO_ROOT / "examples" / "ci"
GITHUB = CI_DIR / "github-actions.yml"
GITLAB = CI_DIR / "gitlab-ci.yml"
HOOKS = REPO_ROOT / ".pre-commit-hooks.yaml"
CHURN = REPO_ROOT / "examples" / "churn"
MODEL_DIR = CHURN / "model"
RECIPES = sorted([*CI_DIR.glob("*.yml"), *CI_DIR.glob("*.yaml"), HOOKS])
SHELL_KEYS = frozenset({"run", "script", "before_script", "after_script", "entry"})
CONTROL = set("();<>|&")


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rel(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


# ---- reading the envctl commands a recipe runs --------------------------------


@dataclass(frozen=True)
class Command:
    source: str
    args: tuple[str, ...]  # after `envctl`

    @property
    def subcommand(self) -> str | None:
        return next((a for a in self.args if not a.startswith("-")), None)

    def __str__(self) -> str:
        return f"{self.source}: envctl {' '.join(self.args)}"


def shell_texts(node: Any, key: str | None = None) -> Iterator[str]:
    """Every shell string under a run/script/before_script/after_script/entry key."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from shell_texts(v, str(k))
    elif isinstance(node, list):
        for item in node:
            yield from shell_texts(item, key)
    elif isinstance(node, str) and key in SHELL_KEYS:
        yield node


def envctl_calls(text: str, source: str) -> Iterator[Command]:
    """`envctl` invocations in a shell snippet, each up to the next |, ;, &&, ) or
    redirection; one line at a time after joining backslash continuations."""
    for line in text.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        for i, token in enumerate(tokens):
            if token != "envctl":
                continue
            args: list[str] = []
            for arg in tokens[i + 1 :]:
                if set(arg) <= CONTROL:
                    break
                args.append(arg)
            yield Command(source, tuple(args))


def recipe_commands(path: Path) -> list[Command]:
    return [c for text in shell_texts(load(path)) for c in envctl_calls(text, rel(path))]


ALL_COMMANDS = [c for path in RECIPES for c in recipe_commands(path)]


# ---- what the real CLI says it accepts ------------------------------------------


@dataclass(frozen=True)
class Option:
    takes_value: bool
    choices: tuple[str, ...] | None


def cli_help(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    _register()
    code = run([*args, "--help"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def parse_options(help_text: str) -> dict[str, Option]:
    """`-f, --format <table|json>  Output format.` -> {"-f": .., "--format": ..}."""
    options: dict[str, Option] = {}
    section = help_text.split("Options:", 1)[-1]
    for line in section.splitlines():
        match = re.match(r"^ {1,4}(-\S.*?)(?: {2,}|$)", line)
        if match is None:
            continue
        signature = match[1]
        metavar = re.search(r"<([^>]*)>", signature)
        choices = tuple(metavar[1].split("|")) if metavar and "|" in metavar[1] else None
        names = re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", signature.split("<", 1)[0])
        for name in names:
            options[name] = Option(takes_value=metavar is not None, choices=choices)
    return options


def flag_problems(command: Command, options: dict[str, Option]) -> list[str]:
    problems: list[str] = []
    args = list(command.args)
    for i, arg in enumerate(args):
        if not arg.startswith("-") or arg == "-":
            continue
        name, eq, inline = arg.partition("=")
        option = options.get(name)
        if option is None:
            problems.append(f"no option {name}")
            continue
        value = inline if eq else (args[i + 1] if option.takes_value and i + 1 < len(args) else "")
        if option.choices and "$" not in value and value not in option.choices:
            problems.append(f"{name} {value!r} is not one of {', '.join(option.choices)}")
    return problems


# ---- the recipes ----------------------------------------------------------------


@pytest.mark.parametrize("path", RECIPES, ids=rel)
def test_recipe_is_valid_yaml_that_runs_envctl(path: Path) -> None:
    data = load(path)
    assert isinstance(data, (dict, list)) and data
    assert recipe_commands(path), f"{rel(path)} runs no envctl command"


@pytest.mark.parametrize("path", [GITHUB, GITLAB], ids=rel)
def test_ci_recipe_covers_the_pipeline(path: Path) -> None:
    used = {c.subcommand for c in recipe_commands(path)}
    wanted = {"validate", "check", "diff", "lock", "build", "verify", "promote"}
    assert wanted <= used, f"{rel(path)} never runs envctl {', '.join(sorted(wanted - used))}"


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=str)
def test_recipe_command_exists_with_its_flags(
    command: Command, capsys: pytest.CaptureFixture[str]
) -> None:
    sub = command.subcommand
    assert sub is not None, f"{command}: no subcommand"
    code, text = cli_help(capsys, sub)
    assert code == 0, f"{command}: `envctl {sub} --help` exited {code}: {text.strip()}"
    assert f"Usage: envctl {sub}" in text
    assert flag_problems(command, parse_options(text)) == [], str(command)


def test_command_reader_splits_pipes_redirections_and_continuations() -> None:
    text = (
        "envctl diff --path --format markdown --fail-on never > out.md\n"
        'for e in $(envctl list --format json | jq -r .x); do envctl lock "$e"; done\n'
        'envctl promote \\\n  "$VERSION" --to prod --push && echo ok # trailing\n'
    )
    got = [c.args for c in envctl_calls(text, "t")]
    assert got == [
        ("diff", "--path", "--format", "markdown", "--fail-on", "never"),
        ("list", "--format", "json"),
        ("lock", "$e"),
        ("promote", "$VERSION", "--to", "prod", "--push"),
    ]


def test_flag_checker_reports_unknown_flags_and_bad_choices() -> None:
    options = parse_options(
        "Options:\n  --path  Compare.\n  -f, --format <table|json>  Output format.\n"
        "  --to <str>  Target stage.\n  --help  Show this message and exit.\n"
    )
    assert set(options) == {"--path", "-f", "--format", "--to", "--help"}
    command = Command("t", ("diff", "--path", "-f", "yaml", "--nope", "--to=$STAGE"))
    assert flag_problems(command, options) == [
        "-f 'yaml' is not one of table, json",
        "no option --nope",
    ]


def test_github_checkouts_fetch_full_history_for_tags() -> None:
    steps = [s for job in load(GITHUB)["jobs"].values() for s in job["steps"]]
    checkouts = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout")]
    assert checkouts
    assert all(s.get("with", {}).get("fetch-depth") == 0 for s in checkouts)


def test_github_promotes_version_tags_through_every_stage_with_push() -> None:
    workflow = load(GITHUB)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads `on` as True
    assert "churn@v*" in triggers["push"]["tags"]
    assert "pull_request" in triggers
    promotes = [c for c in recipe_commands(GITHUB) if c.subcommand == "promote"]
    stages = [c.args[c.args.index("--stage") + 1] for c in promotes]
    assert stages == ["dev", "staging", "prod"]
    assert all("--push" in c.args for c in promotes)


def prod_step() -> dict[str, Any]:
    steps = load(GITHUB)["jobs"]["promote"]["steps"]
    return next(s for s in steps if "--stage prod" in s.get("run", ""))


@pytest.mark.parametrize(("envctl_exit", "step_exit"), [(0, 0), (5, 0), (1, 1), (4, 4), (3, 3)])
def test_github_prod_step_treats_exit_5_as_waiting(
    tmp_path: Path, envctl_exit: int, step_exit: int
) -> None:
    fake = tmp_path / "bin" / "envctl"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\nexit {envctl_exit}\n", encoding="utf-8")
    fake.chmod(0o755)
    outputs, summary = tmp_path / "outputs", tmp_path / "summary"
    env = {
        **os.environ,
        "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(summary),
        "VERSION": "churn@v1.0.0",
    }
    # GitHub runs `shell: bash` steps as `bash --noprofile --norc -eo pipefail`.
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", prod_step()["run"]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == step_exit, result.stderr
    if envctl_exit == 5:
        assert "outcome=awaiting-approvals" in outputs.read_text(encoding="utf-8")
        assert "::notice" in result.stdout


def test_gitlab_runs_on_merge_requests_and_tags_and_allows_exit_5_in_prod_only() -> None:
    pipeline = load(GITLAB)
    rules = " ".join(r["if"] for r in pipeline["workflow"]["rules"])
    assert "merge_request_event" in rules
    assert "CI_COMMIT_TAG" in rules
    assert pipeline["variables"]["GIT_DEPTH"] == "0"
    assert pipeline["promote:prod"]["allow_failure"] == {"exit_codes": [5]}
    for job in ("promote:dev", "promote:staging"):
        assert "allow_failure" not in pipeline[job]


def test_pre_commit_hooks_validate_and_check_specs_once_per_commit() -> None:
    hooks = {h["id"]: h for h in load(HOOKS)}
    assert set(hooks) == {"envctl-validate", "envctl-check"}
    assert hooks["envctl-validate"]["entry"] == "envctl validate"
    assert hooks["envctl-check"]["entry"] == "envctl check"
    for hook in hooks.values():
        assert hook["pass_filenames"] is False
        assert hook["language"] == "python"
        files = re.compile(hook["files"])
        assert files.search("environments/prod.yaml")
        assert files.search("environments/dev.yml")
        assert not files.search("src/environments.py")
        assert not files.search("model/app.py")


# ---- the churn project --------------------------------------------------------


@pytest.fixture
def churn(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(CHURN)
    _register()
    return CHURN


def envctl(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def prod_accuracy_bar() -> float:
    from envctl.spec.loading import load_environment, require_project
    from envctl.spec.rules import parse_rule

    prod = load_environment("prod", require_project(CHURN))
    rule = next(g.evaluate for g in prod.spec.gates if g.evaluate is not None)
    accuracy = parse_rule(rule.require["accuracy"], "accuracy")
    assert (accuracy.op, accuracy.relative) == (">=", None)
    assert accuracy.threshold is not None
    return accuracy.threshold


def test_churn_specs_validate(churn: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = envctl(capsys, "validate")
    assert code == 0, err
    assert [line.split()[:2] for line in out.splitlines()] == [
        ["ok", "dev"],
        ["ok", "staging"],
        ["ok", "prod"],
    ]


def test_churn_staging_mirrors_prod_but_approvals(
    churn: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = {}
    for name in ("staging", "prod"):
        code, out, err = envctl(capsys, "show", name, "--format", "json")
        assert code == 0, err
        specs[name] = json.loads(out)["spec"]
    for key in ("image", "python", "packages", "system_packages", "data", "compute"):
        assert specs["staging"][key] == specs["prod"][key], key
    kinds = {name: [next(iter(g)) for g in spec["gates"]] for name, spec in specs.items()}
    assert kinds == {
        # Measured metrics first: a worse version never costs the tests.
        "staging": ["evaluate", "tests", "http"],
        "prod": ["evaluate", "tests", "http", "approvals"],
    }


def test_churn_promotion_path_has_only_waived_errors(
    churn: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = envctl(capsys, "diff", "--path", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    pairs = [(c["left"]["name"], c["right"]["name"]) for c in report["comparisons"]]
    assert pairs == [("dev", "staging"), ("staging", "prod")]
    dev_staging, staging_prod = report["comparisons"]
    waived = {f["path"] for f in dev_staging["findings"] if f["waived"]}
    assert waived == {
        "compute.engines.spark",
        "data.allowed.research",
        "packages.rich",
        "packages.tqdm",
    }
    assert staging_prod["findings"] == []


def test_churn_dev_to_prod_diff_shows_what_dev_has_and_prod_lacks(
    churn: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = envctl(capsys, "diff", "dev", "prod", "--format", "json")
    assert code == 1  # the waivers live in staging: straight to prod, these block
    errors = {
        (f["kind"], f["path"])
        for f in json.loads(out)["comparisons"][0]["findings"]
        if f["severity"] == "error" and not f["waived"]
    }
    assert errors == {
        ("compute.engine", "compute.engines.spark"),
        ("data.classification", "data.allowed.research"),
        ("package.missing", "packages.rich"),
        ("package.missing", "packages.tqdm"),
    }


def test_churn_every_stage_meets_the_model_requirements_and_has_a_fresh_lock() -> None:
    from envctl.build.lockfile import lock_path, staleness
    from envctl.gates.compat import unmet_requirements
    from envctl.spec.loading import load_environment, require_project

    project = require_project(CHURN)
    requires = project.config.models["churn"].requires
    for stage in project.config.stages:
        env = load_environment(stage, project)
        assert unmet_requirements(requires, env.spec) == [], stage
        assert lock_path(project, env).is_file(), stage
        assert staleness(project, env) is None, stage


def training_script() -> ModuleType:
    """model/train.py, imported in this process under a name of its own (training
    takes milliseconds; a process that imports scikit-learn takes seconds)."""
    spec = importlib.util.spec_from_file_location("churn_train", MODEL_DIR / "train.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fitted(bundle: dict[str, Any]) -> dict[str, Any]:
    """What a fit learned: the scaler's and the classifier's parameters."""
    steps = bundle["model"].named_steps
    scale, classify = steps["scale"], steps["classify"]
    return {
        "mean": scale.mean_,
        "scale": scale.scale_,
        "coef": classify.coef_,
        "intercept": classify.intercept_,
    }


def pinned_scikit_learn(stage: str) -> str:
    from envctl.spec.loading import load_environment, require_project

    return load_environment(stage, require_project(CHURN)).spec.packages["scikit-learn"]


def test_the_committed_model_is_what_train_py_makes_for_v1_0_0() -> None:
    # The degraded v1.1.0 (trained on the host, under prod's bar, its tests still
    # passing) is run end to end by tests/test_tutorial.py (docs/tutorial.md, 6.).
    train = training_script()
    committed = train.joblib.load(MODEL_DIR / "model.joblib")
    committed_metrics = json.loads((MODEL_DIR / "metrics.json").read_text(encoding="utf-8"))
    bundle, metrics = train.train(version="v1.0.0")
    again, _ = train.train(version="v1.0.0")

    assert {k: v for k, v in committed.items() if k != "model"} == {
        k: v for k, v in bundle.items() if k != "model"
    }
    for name, learned in fitted(bundle).items():
        np.testing.assert_array_equal(learned, fitted(again)[name], err_msg=name)
        np.testing.assert_allclose(learned, fitted(committed)[name], rtol=1e-6, err_msg=name)
    _, x_test, _, y_test = train.held_out_split()
    assert train.evaluate(committed["model"], x_test, y_test) == committed_metrics == metrics
    assert set(metrics) == {"accuracy", "f1", "roc_auc"}
    assert metrics["accuracy"] >= prod_accuracy_bar()
    # The images load the pickle with the scikit-learn their specs pin.
    for stage in ("dev", "staging", "prod"):
        assert pinned_scikit_learn(stage) == f"=={committed['sklearn_version']}", stage
    assert (MODEL_DIR / "model.joblib").stat().st_size < 100_000


def test_churn_model_tests_pass_here() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=MODEL_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b\d+ passed\b", result.stdout)
    assert "failed" not in result.stdout


def test_the_committed_holdout_is_train_py_s_held_out_split_and_pinned(tmp_path: Path) -> None:
    import hashlib

    from envctl.spec.loading import load_environment, require_project

    train = training_script()
    written = tmp_path / "holdout.csv"
    train.write_holdout(written)
    committed = CHURN / "evaluation" / "holdout.csv"
    assert committed.read_bytes() == written.read_bytes()
    _, x_test, _, _ = train.held_out_split()
    assert len(committed.read_text(encoding="utf-8").splitlines()) == len(x_test) + 1
    for stage in ("staging", "prod"):
        held = load_environment(stage, require_project(CHURN)).spec.data.evaluation["holdout"]
        assert held.file == "evaluation/holdout.csv"
        assert held.sha256 == hashlib.sha256(committed.read_bytes()).hexdigest(), stage
    # Outside the model's folder: no image of the model holds the labels.
    assert not any(MODEL_DIR.rglob("*.csv"))
