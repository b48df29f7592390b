"""`envctl diff` wiring: exit codes, one-line errors, JSON shape, markdown, GitHub lines."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from envctl.cli.diff import escape_data, escape_property
from tests.cli.conftest import Invoke
from tests.conftest import REPO_ROOT, git

BLOCKED = (
    "error: 8 findings at or above error in dev → prod; fix them, or waive them in the "
    "spec with a reason\n"
)


@pytest.fixture
def bundled(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The repository root: the README runs `envctl diff dev prod` here."""
    monkeypatch.chdir(REPO_ROOT)
    return REPO_ROOT


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled example in a fresh folder."""
    root = tmp_path / "project"
    shutil.copytree(
        REPO_ROOT / "environments", root / "environments", ignore=shutil.ignore_patterns("*.lock")
    )
    shutil.copy(REPO_ROOT / "envctl.yaml", root / "envctl.yaml")
    monkeypatch.chdir(root)
    return root


def line_of(path: Path, text: str) -> int:
    """1-based number of the first line of `path` that starts with `text` (stripped)."""
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip().startswith(text))


def test_bundled_dev_vs_prod_shows_every_area_and_fails(bundled: Path, invoke: Invoke) -> None:
    result = invoke("diff", "dev", "prod")
    assert result.code == 1
    assert result.err == BLOCKED
    for area in ("python", "os/image", "packages", "system packages", "data", "compute"):
        assert re.search(rf"^\s*{re.escape(area)}\s", result.out, re.MULTILINE), area
    assert result.out.rstrip().splitlines()[-1] == (
        "dev v13 → prod v8: 8 errors, 9 warnings, 2 info, 1 waived"
    )


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("dev", "prod", "--fail-on", "never"), 0),
        (("staging", "prod"), 0),  # staging is smaller than prod: warnings
        (("staging", "prod", "--fail-on", "warning"), 1),
        (("prod", "prod", "--fail-on", "info"), 0),
        (("prod", "staging"), 0),  # prod has more cpu and memory than staging: warnings
        (("prod", "staging", "--fail-on", "warning"), 1),
        (("dev", "prod", "--fail-on", "warning"), 1),
    ],
)
def test_fail_on_sets_the_exit_code(
    bundled: Path, invoke: Invoke, args: tuple[str, ...], code: int
) -> None:
    assert invoke("diff", *args).code == code


def test_no_differences(bundled: Path, invoke: Invoke) -> None:
    result = invoke("diff", "prod", "prod")
    assert (result.code, result.out, result.err) == (0, "prod v8 → prod v8: no findings\n", "")


def test_staging_smaller_than_prod_is_a_warning(bundled: Path, invoke: Invoke) -> None:
    """The bundled staging is a smaller copy of prod: it does not mirror prod's load."""
    result = invoke("diff", "staging", "prod", "--format", "json")
    assert result.code == 0
    (comparison,) = json.loads(result.out)["comparisons"]
    found = [(f["kind"], f["severity"], f["path"], f["left"], f["right"])
             for f in comparison["findings"]]  # fmt: skip
    assert found == [
        ("compute.smaller", "warning", "compute.cpu", "2", "4"),
        ("compute.smaller", "warning", "compute.memory", "4Gi", "8Gi"),
    ]


def test_json_shape(bundled: Path, invoke: Invoke) -> None:
    result = invoke("diff", "dev", "prod", "--format", "json")
    assert result.code == 1
    assert result.err == BLOCKED
    data = json.loads(result.out)
    assert list(data) == ["schema_version", "fail_on", "failed", "comparisons"]
    assert (data["schema_version"], data["fail_on"], data["failed"]) == (1, "error", True)
    (comparison,) = data["comparisons"]
    assert list(comparison) == ["left", "right", "findings", "summary", "notes"]
    left = comparison["left"]
    assert {k: left[k] for k in ("name", "kind", "version", "file")} == {
        "name": "dev",
        "kind": "spec",
        "version": 13,
        "file": "environments/dev.yaml",
    }
    assert re.fullmatch(r"[0-9a-f]{64}", left["fingerprint"])
    assert comparison["summary"] == {"error": 8, "warning": 9, "info": 2, "waived": 1}
    numpy = next(f for f in comparison["findings"] if f["path"] == "packages.numpy")
    assert numpy == {
        "kind": "package.version",
        "area": "packages",
        "severity": "error",
        "path": "packages.numpy",
        "left": "==2.5.5",
        "right": "==1.26.4",
        "message": "numpy is 2.5.5 in dev but 1.26.4 in prod: a major version apart, so APIs "
        "and results can differ.",
        "left_location": {
            "file": "environments/dev.yaml",
            "line": line_of(bundled / "environments/dev.yaml", "numpy:"),
        },
        "right_location": {
            "file": "environments/prod.yaml",
            "line": line_of(bundled / "environments/prod.yaml", "numpy:"),
        },
        "waived": False,
        "waiver_reason": None,
        "waiver_expired": None,
    }
    jupyter = next(f for f in comparison["findings"] if f["path"] == "packages.jupyterlab")
    assert (jupyter["waived"], jupyter["right_location"]) == (True, None)
    assert jupyter["waiver_reason"] == (
        "notebook server for exploration; model code never imports it"
    )


def test_github_annotations_point_at_spec_lines(bundled: Path, invoke: Invoke) -> None:
    result = invoke("diff", "dev", "prod", "--format", "github")
    assert result.code == 1
    lines = result.out.splitlines()
    prod, dev = bundled / "environments/prod.yaml", bundled / "environments/dev.yaml"
    assert (
        f"::error file=environments/prod.yaml,line={line_of(prod, 'numpy:')},"
        "title=envctl diff dev → prod%3A package.version packages.numpy::numpy is 2.5.5 in "
        "dev but 1.26.4 in prod: a major version apart, so APIs and results can differ."
    ) in lines
    research = next(line for line in lines if "data.allowed.research" in line)
    assert research.startswith(
        f"::error file=environments/dev.yaml,line={line_of(dev, 'allowed:')},title="
    )
    memory = next(line for line in lines if "compute.memory" in line)
    assert memory.startswith(
        f"::warning file=environments/prod.yaml,line={line_of(prod, 'memory:')},title="
    )
    waived = next(line for line in lines if "packages.jupyterlab" in line)
    assert waived.startswith(
        f"::notice file=environments/dev.yaml,line={line_of(dev, 'jupyterlab:')},title="
    )
    assert waived.endswith("(waived: notebook server for exploration; model code never imports it)")
    source = next(line for line in lines if "s3://acme-research" in line)
    assert "title=envctl diff dev → prod%3A data.source data.sources.s3%3A//acme-research" in source
    annotations = [line for line in lines if line.startswith("::")]
    assert len(annotations) == 20
    assert all(
        re.match(r"^::(error|warning|notice) file=[^,]+,line=\d+,title=[^:]+::", line)
        for line in annotations
    )
    assert lines[-1] == "dev v13 → prod v8: 8 errors, 9 warnings, 2 info, 1 waived"


@pytest.mark.parametrize(
    ("text", "data", "prop"),
    [
        ("a:b,c", "a:b,c", "a%3Ab%2Cc"),
        ("100%\r\nnext", "100%25%0D%0Anext", "100%25%0D%0Anext"),
    ],
)
def test_github_escaping(text: str, data: str, prop: str) -> None:
    assert (escape_data(text), escape_property(text)) == (data, prop)


def test_markdown_is_a_pr_comment(bundled: Path, invoke: Invoke) -> None:
    result = invoke("diff", "dev", "prod", "--format", "markdown")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[:6] == [
        "### envctl diff: dev v13 → prod v8",
        "",
        "**8 errors, 9 warnings, 2 info, 1 waived**",
        "",
        "| severity | area | path | dev | prod | finding |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    assert (
        "| 🔴 error | packages | `packages.numpy` | `==2.5.5` | `==1.26.4` | numpy is 2.5.5 "
        "in dev but 1.26.4 in prod: a major version apart, so APIs and results can differ. |"
    ) in lines
    assert any(
        line.startswith("| ⚪ waived error | packages | `packages.jupyterlab` | `>=4.6` | — |")
        for line in lines
    )
    assert sum(1 for line in lines if line.startswith("| ")) == 2 + 20


def test_path_compares_consecutive_stages(bundled: Path, invoke: Invoke) -> None:
    result = invoke("diff", "--path", "--format", "json")
    assert result.code == 1
    assert result.err == (
        "error: 8 findings at or above error in dev → staging; fix them, or "
        "waive them in the spec with a reason\n"
    )
    pairs = [
        (c["left"]["name"], c["right"]["name"], len(c["findings"]))
        for c in json.loads(result.out)["comparisons"]
    ]
    assert pairs == [("dev", "staging", 20), ("staging", "prod", 2)]


@pytest.mark.parametrize(
    ("args", "code", "err"),
    [
        (
            ("dev", "prdo"),
            3,
            "error: unknown environment 'prdo'; did you mean 'prod'? (known: dev, "
            "staging, prod; specs live in environments/)\n",
        ),
        (
            ("dev", "locl"),
            3,
            "error: unknown environment 'locl'; did you mean 'local' (the "
            "interpreter envctl runs in)?\n",
        ),
        (
            ("img:envctl/prod:1", "prod"),
            3,
            "error: unknown environment 'img:envctl/prod:1'; did you mean 'image:envctl/prod:1'?\n",
        ),
        (
            ("image:", "prod"),
            3,
            "error: 'image:': give an image after 'image:', e.g. image:envctl/prod:1a2b3c4d5e6f\n",
        ),
        (("missing.yaml", "prod"), 3, "error: spec file missing.yaml does not exist\n"),
        (
            ("dev",),
            2,
            "error: give two environments to compare (got 1), e.g. `envctl diff dev prod`, "
            "or use --path for every stage\n",
        ),
        (
            ("--path", "dev"),
            2,
            "error: --path compares the stages of envctl.yaml; give no environments with it\n",
        ),
    ],
)
def test_bad_operands(
    bundled: Path, invoke: Invoke, args: tuple[str, ...], code: int, err: str
) -> None:
    result = invoke("diff", *args)
    assert (result.code, result.out, result.err) == (code, "", err)


def test_bad_format_is_a_usage_error(bundled: Path, invoke: Invoke) -> None:
    result = invoke("diff", "dev", "prod", "--format", "yaml")
    assert result.code == 2
    assert "'yaml' is not one of 'table', 'json', 'markdown', 'github'" in result.err


def test_unknown_severity_override_kind(project: Path, invoke: Invoke) -> None:
    config = project / "envctl.yaml"
    config.write_text(
        config.read_text().replace("severity: {}", "severity: {pakage.version: info}")
    )
    result = invoke("diff", "dev", "prod")
    assert (result.code, result.out) == (3, "")
    assert result.err == (
        "error: envctl.yaml: policy.severity: unknown finding kind "
        "'pakage.version'; did you mean 'package.version'?\n"
    )


def test_severity_override_from_envctl_yaml(project: Path, invoke: Invoke) -> None:
    config = project / "envctl.yaml"
    config.write_text(
        config.read_text().replace(
            "severity: {}",
            "severity: {package: warning, data: warning, compute: info, python: info}",
        )
    )
    result = invoke("diff", "dev", "prod", "--format", "json")
    assert result.code == 0
    assert json.loads(result.out)["comparisons"][0]["summary"] == {
        "error": 0,
        "warning": 14,
        "info": 5,
        "waived": 1,
    }


def test_unknown_waiver_kind_names_its_line(project: Path, invoke: Invoke) -> None:
    spec = project / "environments" / "dev.yaml"
    spec.write_text(spec.read_text().replace("kind: package.missing", "kind: package.mising"))
    result = invoke("diff", "dev", "prod")
    line = line_of(spec, "- kind:")
    assert (result.code, result.out) == (3, "")
    assert result.err == (
        f"error: environments/dev.yaml:{line}:5: waivers[0].kind: unknown "
        "finding kind 'package.mising'; did you mean 'package.missing'?\n"
    )


def test_expired_waiver_fails_the_run(project: Path, invoke: Invoke) -> None:
    spec = project / "environments" / "dev.yaml"
    spec.write_text(spec.read_text().replace("expires: 2027-06-30", "expires: 2024-01-31"))
    result = invoke("diff", "dev", "prod", "--format", "json")
    data = json.loads(result.out)["comparisons"][0]
    jupyter = next(f for f in data["findings"] if f["path"] == "packages.jupyterlab")
    assert (result.code, jupyter["waived"], jupyter["waiver_expired"]) == (1, False, "2024-01-31")
    assert jupyter["message"].endswith("; its waiver expired on 2024-01-31.")
    assert data["summary"] == {"error": 9, "warning": 9, "info": 2, "waived": 0}


def test_spec_files_work_outside_a_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, invoke: Invoke
) -> None:
    for name in ("dev", "prod"):
        shutil.copy(REPO_ROOT / "environments" / f"{name}.yaml", tmp_path / f"{name}.yaml")
    monkeypatch.chdir(tmp_path)
    result = invoke("diff", "dev.yaml", "./prod.yaml", "--format", "json")
    assert result.code == 1
    comparison = json.loads(result.out)["comparisons"][0]
    assert (comparison["left"]["file"], comparison["right"]["file"]) == ("dev.yaml", "prod.yaml")


def test_past_versions_from_git(project: Path, invoke: Invoke) -> None:
    for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-qm", "v8")):
        git(project, *args)
    spec = project / "environments" / "prod.yaml"
    spec.write_text(
        spec.read_text()
        .replace("version: 8", "version: 9")
        .replace('numpy: "==1.26.4"', 'numpy: "==2.5.5"')
    )
    git(project, "commit", "-qam", "v9: numpy 2")
    result = invoke("diff", "prod@v8", "prod", "--format", "json")
    comparison = json.loads(result.out)["comparisons"][0]
    assert result.code == 1
    assert (comparison["left"]["name"], comparison["left"]["version"]) == ("prod@v8", 8)
    assert [(f["kind"], f["path"], f["left"], f["right"]) for f in comparison["findings"]] == [
        ("package.version", "packages.numpy", "==1.26.4", "==2.5.5")
    ]
    same = invoke("diff", "prod@HEAD", "prod")
    assert (same.code, same.out) == (0, "prod@HEAD v9 → prod v9: no findings\n")


def test_local_against_a_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, invoke: Invoke
) -> None:
    from importlib import metadata

    spec = tmp_path / "prod.yaml"
    spec.write_text(
        "name: prod\nversion: 1\nimage: {base: 'python:3.11-slim'}\n"
        f'python: "{sys.version_info[0]}.{sys.version_info[1]}"\n'
        f'packages:\n  pytest: "=={metadata.version("pytest")}"\n'
        '  packaging: "<1"\n  surely-not-installed-here: "==1.0"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)  # `local` is this test's interpreter
    result = invoke("diff", "local", "prod.yaml", "--format", "json")
    comparison = json.loads(result.out)["comparisons"][0]
    assert result.code == 1
    assert comparison["left"] == {
        "name": "local",
        "kind": "local",
        "version": None,
        "fingerprint": None,
        "file": None,
    }
    assert [(f["kind"], f["path"]) for f in comparison["findings"]] == [
        ("package.conflict", "packages.packaging"),
        ("package.missing", "packages.surely-not-installed-here"),
    ]
    assert comparison["findings"][0]["left"] == metadata.version("packaging")


def test_local_is_the_python_given_not_envctls_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, invoke: Invoke
) -> None:
    import subprocess as sp

    venv = tmp_path / "model-venv"
    sp.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "numpy-1.26.4.dist-info").mkdir()
    (site / "numpy-1.26.4.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.4\n"
    )
    spec = tmp_path / "prod.yaml"
    spec.write_text(
        "name: prod\nversion: 1\nimage: {base: 'python:3.11-slim'}\n"
        f'python: "{sys.version_info[0]}.{sys.version_info[1]}"\n'
        'packages:\n  numpy: "==1.26.4"\n  typer: "==0.0.1"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)  # envctl's own: --python must win
    result = invoke("diff", "local", "prod.yaml", "--python", str(venv), "--format", "json")
    comparison = json.loads(result.out)["comparisons"][0]
    assert result.code == 1
    assert comparison["notes"][0] == (
        f"local is {venv / 'bin' / 'python'} (Python {'.'.join(map(str, sys.version_info[:3]))})"
    )
    # numpy matches; typer is envctl's, not the model venv's: missing there.
    assert [(f["kind"], f["path"]) for f in comparison["findings"]] == [
        ("package.missing", "packages.typer")
    ]


def test_unreachable_engine_exits_4(
    bundled: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from envctl import engine

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    engine.client.cache_clear()
    try:
        result = invoke("diff", "image:envctl/prod:abc", "prod")
    finally:
        engine.client.cache_clear()
    assert (result.code, result.out) == (4, "")
    assert result.err == (
        f"error: no Docker Engine at unix://{tmp_path}/no-docker.sock: start "
        "dockerd or set DOCKER_HOST\n"
    )


def test_diff_of_specs_imports_neither_docker_nor_git(bundled: Path) -> None:
    code = (
        "import sys\nfrom envctl.cli import _register\nfrom envctl.cli.app import run\n"
        "_register()\ncode = run(['diff', 'dev', 'prod', '--format', 'json'])\n"
        "print(code, sorted(m for m in ('docker', 'git') if m in sys.modules), "
        "file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=bundled, capture_output=True, text=True, check=False
    )
    assert proc.stderr.strip().splitlines()[-1] == "1 []"


def printed_table(cwd: Path, *args: str, columns: str | None = None) -> str:
    """What `envctl diff ARGS` writes to a pipe: laid out by envctl (no COLUMNS),
    or by Rich (COLUMNS=120: the same width, Rich's own layout)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR")}
    if columns is not None:
        env["COLUMNS"] = columns
    proc = subprocess.run(
        [sys.executable, "-m", "envctl", "diff", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


@pytest.mark.parametrize("args", [("dev", "prod"), ("--path",), ("staging", "dev")])
def test_the_table_off_a_terminal_is_what_rich_prints(bundled: Path, args: tuple[str, ...]) -> None:
    plain = printed_table(bundled, *args)
    assert "┃ finding" in plain
    assert plain == printed_table(bundled, *args, columns="120")


def test_text_rich_must_print_is_printed_by_rich(project: Path) -> None:
    """A waiver reason with an emoji code and a wide character: Rich's to lay out."""
    spec = project / "environments" / "dev.yaml"
    spec.write_text(
        spec.read_text().replace(
            "reason: notebook server", "reason: notebook :smile:日本 server", 1
        )
    )
    plain = printed_table(project, "dev", "prod")
    assert "notebook 😄日本" in plain
    assert plain == printed_table(project, "dev", "prod", columns="120")


# ---- a real image -------------------------------------------------------------


@pytest.fixture(scope="module")
def prod_image(base_image: str) -> Iterator[str]:
    from envctl import engine
    from tests.test_probe import FAKE_VENV, LABELS, build_image

    tag = build_image(base_image, f"RUN {FAKE_VENV}", labels=LABELS)
    yield tag
    engine.remove_image(tag, force=True)


@pytest.mark.docker
def test_image_against_a_spec(project: Path, invoke: Invoke, prod_image: str) -> None:
    spec = project / "environments" / "prod.yaml"
    spec.write_text(spec.read_text().replace('scikit-learn: "==1.6.1"', 'scikit-learn: "==1.4.2"'))
    result = invoke("diff", "prod", f"image:{prod_image}", "--format", "json")
    comparison: dict[str, Any] = json.loads(result.out)["comparisons"][0]
    assert result.code == 1, result.err
    assert comparison["right"] == {
        "name": f"image:{prod_image}",
        "kind": "image",
        "version": 7,
        "fingerprint": "e" * 64,
        "file": None,
    }
    found = {
        f["path"]: (f["kind"], f["severity"], f["left"], f["right"]) for f in comparison["findings"]
    }
    assert "packages.numpy" not in found and "packages.scikit-learn" not in found
    assert found["packages.pandas"] == ("package.missing", "error", "==2.2.3", None)
    assert found["python"] == ("python.version", "warning", "3.11.11", found["python"][3])
    assert found["image.base"][0] == "image.unpinned"
    assert found["system_packages.libgomp1"] == (
        "system_package.missing",
        "error",
        "libgomp1",
        None,
    )
    assert comparison["notes"] == [
        "prod has no lock (environments/prod.lock); installed packages were checked against "
        "the spec's pins only"
    ]
