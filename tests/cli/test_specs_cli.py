"""Wiring of init/validate/show/list/schema/check: exit codes, one-line errors, JSON shape."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke
from tests.conftest import REPO_ROOT, git


@pytest.fixture
def initialised(git_repo: Path, invoke: Invoke) -> Path:
    assert invoke("init").code == 0
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "init")
    return git_repo


def test_init_scaffolds_and_refuses_to_overwrite(git_repo: Path, invoke: Invoke) -> None:
    first = invoke("init")
    assert first.code == 0
    assert first.out.splitlines() == [
        "created envctl.yaml",
        "created environments/dev.yaml",
        "created environments/staging.yaml",
        "created environments/prod.yaml",
        "created envctl-environment.schema.json",
    ]
    again = invoke("init")
    assert again.code == 3
    assert again.err.strip().startswith("error: envctl.yaml, environments/dev.yaml")
    assert "use --force to overwrite" in again.err
    assert invoke("init", "--force").code == 0


@pytest.mark.parametrize("pair", [("dev", "staging"), ("staging", "prod"), ("dev", "prod")])
def test_the_scaffold_passes_its_own_diff_and_check(
    initialised: Path, invoke: Invoke, pair: tuple[str, str]
) -> None:
    """A new project starts clean: every error or warning in it would be one the
    user did not write."""
    shown = invoke("diff", *pair, "--format", "json")
    assert shown.code == 0, shown.out + shown.err
    (comparison,) = json.loads(shown.out)["comparisons"]
    severities = {f["severity"] for f in comparison["findings"]}
    assert severities <= {"info"}
    assert invoke("check").code == 0


def test_validate_all_ok_and_json(initialised: Path, invoke: Invoke) -> None:
    result = invoke("validate", "--format", "json")
    assert result.code == 0
    data = json.loads(result.out)
    assert data["schema_version"] == 1
    assert [r["environment"] for r in data["results"]] == ["dev", "staging", "prod"]
    assert all(r["valid"] and len(r["fingerprint"]) == 64 for r in data["results"])


def test_validate_invalid_exits_3_with_one_line_per_problem(
    initialised: Path, invoke: Invoke
) -> None:
    spec = initialised / "environments" / "prod.yaml"
    spec.write_text(
        spec.read_text().replace('python: "3.11"', "python: 3.10").replace("compute:", "compte:")
    )
    result = invoke("validate")
    assert result.code == 3
    lines = result.err.strip().splitlines()
    assert lines[0].startswith(
        "error: 1 spec is invalid (prod): environments/prod.yaml:6:1: python: "
        "YAML read this as the number 3.1; quote it"
    )
    assert any("unknown key 'compte'; did you mean 'compute'?" in line for line in lines)
    assert "Traceback" not in result.err
    assert "ok    dev" in result.out


def test_validate_json_prints_the_error_document_when_a_spec_is_invalid(
    initialised: Path, invoke: Invoke
) -> None:
    spec = initialised / "environments" / "prod.yaml"
    spec.write_text(spec.read_text().replace("compute:", "compte:"))
    result = invoke("validate", "--format", "json")
    assert result.code == 3
    data = json.loads(result.out)
    assert (data["ok"], data["exit_code"], data["error"]["kind"]) == (False, 3, "spec")
    assert data["error"]["message"].startswith("1 spec is invalid (prod): ")
    assert any("unknown key 'compte'" in line for line in data["error"]["details"])
    # Where the first problem is, as show and promote give it for the same spec.
    where = {k: data["error"][k] for k in ("file", "line", "column", "key_path")}
    shown = json.loads(invoke("show", "prod", "--format", "json").out)["error"]
    assert where == {k: shown[k] for k in where}
    assert (where["file"], where["key_path"]) == ("environments/prod.yaml", "compte")
    assert isinstance(where["line"], int)


def test_validate_spec_file_outside_project(
    tmp_path: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "solo.yaml"
    spec.write_text("name: solo\nversion: 2\nimage: {base: debian:12}\npython: '3.12'\n")
    result = invoke("validate", str(spec))
    assert result.code == 0
    assert result.out.startswith("ok    ")


def test_unknown_env_exits_3(initialised: Path, invoke: Invoke) -> None:
    result = invoke("show", "prdo")
    assert result.code == 3
    assert result.err.startswith("error: unknown environment 'prdo'; did you mean 'prod'?")
    assert len(result.err.strip().splitlines()) == 1


def test_show_json_and_yaml(initialised: Path, invoke: Invoke) -> None:
    data = json.loads(invoke("show", "prod", "--format", "json").out)
    assert data["environment"] == "prod"
    assert data["version"] == 1
    assert data["spec"]["packages"] == {"numpy": "==1.26.4"}
    assert data["spec"]["compute"]["memory"] == "8Gi"
    text = invoke("show", "prod").out
    assert text.startswith(f"# prod v1 fingerprint {data['fingerprint']}")


def test_list_in_stage_order(initialised: Path, invoke: Invoke) -> None:
    data = json.loads(invoke("list", "--format", "json").out)
    assert [(e["name"], e["stage"], e["version"]) for e in data["environments"]] == [
        ("dev", 1, 1),
        ("staging", 2, 1),
        ("prod", 3, 1),
    ]


def test_committed_editor_schema_is_current(invoke: Invoke) -> None:
    """docs/schema/environment.schema.json (the bundled specs' modeline) = `envctl schema`."""
    committed = (REPO_ROOT / "docs" / "schema" / "environment.schema.json").read_text()
    assert json.loads(committed) == json.loads(invoke("schema").out)


def test_schema_is_json_schema(invoke: Invoke) -> None:
    schema = json.loads(invoke("schema").out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["additionalProperties"] is False
    assert {"name", "version", "image", "python"} <= set(schema["required"])


def test_check_requires_version_bump(initialised: Path, invoke: Invoke) -> None:
    spec = initialised / "environments" / "prod.yaml"
    spec.write_text(spec.read_text().replace("==1.26.4", "==2.0.0"))
    result = invoke("check", "--format", "json")
    assert result.code == 1
    findings = json.loads(result.out)["findings"]
    assert [(f["environment"], f["kind"]) for f in findings] == [("prod", "version-not-bumped")]
    assert "set version: 2" in findings[0]["message"]
    spec.write_text(spec.read_text().replace("version: 1", "version: 2"))
    assert invoke("check").code == 0


def test_check_ignores_comment_only_changes(initialised: Path, invoke: Invoke) -> None:
    spec = initialised / "environments" / "dev.yaml"
    spec.write_text("# reviewed\n" + spec.read_text())
    assert invoke("check", "--base", "HEAD").code == 0


def test_check_reports_invalid_spec(initialised: Path, invoke: Invoke) -> None:
    (initialised / "environments" / "dev.yaml").write_text("name: dev\n")
    result = invoke("check")
    assert result.code == 1
    assert "required key 'version' is missing" in result.out


def test_check_policy_pin_exact(initialised: Path, invoke: Invoke) -> None:
    spec = initialised / "environments" / "prod.yaml"
    spec.write_text(
        spec.read_text().replace("==1.26.4", ">=1.26").replace("version: 1", "version: 2")
    )
    result = invoke("validate", "prod")
    assert result.code == 3
    assert "policy pin_exact: prod must pin numpy exactly" in result.err


def test_usage_error_exits_2_in_one_line(invoke: Invoke) -> None:
    result = invoke("show")
    assert result.code == 2
    assert result.err == "error: Missing argument 'ENV'. (see envctl show --help)\n"


def test_version_flag(invoke: Invoke) -> None:
    result = invoke("--version")
    assert result.code == 0
    assert result.out.startswith("envctl ")


HEAVY = ("docker", "requests", "urllib3", "jinja2", "uv")


@pytest.mark.parametrize(
    "args", [["validate"], ["show", "prod"], ["list"], ["diff", "dev", "prod"]]
)
def test_everyday_commands_stay_light(args: list[str]) -> None:
    """The Docker SDK (and what it drags in) and the build tooling load lazily."""
    code = (
        "import sys\nfrom envctl.cli import _register\nfrom envctl.cli.app import run\n"
        f"_register()\nrun({args!r})\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert proc.stderr.strip().splitlines()[-1] == "[]"


def test_show_refuses_a_spec_symlinked_out_of_the_project(
    initialised: Path, invoke: Invoke, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("token: hunter2\n")
    spec = initialised / "environments" / "prod.yaml"
    spec.unlink()
    spec.symlink_to(secret)
    result = invoke("show", "prod")
    assert result.code == 3
    assert result.out == ""
    assert result.err == (
        f"error: environments/prod.yaml: the spec file is a symlink to {secret}, "
        f"outside {initialised}; keep spec files inside the project\n"
    )


@pytest.mark.parametrize("base", ["nosuchref", "origin/main"])
def test_check_with_a_base_it_cannot_resolve_exits_3(
    initialised: Path, invoke: Invoke, base: str
) -> None:
    spec = initialised / "environments" / "prod.yaml"
    spec.write_text(spec.read_text().replace("==1.26.4", "==2.0.0"))  # not bumped
    result = invoke("check", "--base", base)
    assert result.code == 3
    assert result.err.startswith(f"error: --base {base}: no such commit in this repository")
    assert result.out == ""


def test_check_with_a_base_outside_git_exits_3(
    initialised: Path, invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    shutil.copytree(initialised, outside, ignore=shutil.ignore_patterns(".git"))
    monkeypatch.chdir(outside)
    result = invoke("check", "--base", "HEAD")
    assert result.code == 3
    assert result.err.startswith(f"error: --base HEAD: {outside} is not in a git repository")
    plain = invoke("check")  # no --base: the specs are still checked, and it says what was not
    assert (plain.code, plain.out.splitlines()[-1]) == (
        0,
        "ok: 3 specs checked (not in git, or no commit yet: versions not compared)",
    )
    assert json.loads(invoke("check", "--format", "json").out)["base"] is None


def test_check_before_the_first_commit_claims_no_comparison(
    initialised: Path, invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = tmp_path / "fresh"
    shutil.copytree(initialised, fresh, ignore=shutil.ignore_patterns(".git"))
    subprocess.run(["git", "init", "-q", str(fresh)], check=True)
    monkeypatch.chdir(fresh)
    result = invoke("check")
    assert result.code == 0
    assert result.out.splitlines()[-1].endswith(
        "(not in git, or no commit yet: versions not compared)"
    )


def test_check_in_git_names_the_base_it_compared_with(initialised: Path, invoke: Invoke) -> None:
    result = invoke("check")
    assert (result.code, result.out.splitlines()[-1]) == (0, "ok: 3 specs checked against HEAD")
