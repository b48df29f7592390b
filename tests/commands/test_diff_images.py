"""envctl diff --images: what two stages run, compared through their SBOMs, with
real git, a real Docker Engine and the fixture OSV database."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import git
from tests.harness import Invoke
from tests.supply.conftest import FIXTURES

pytestmark = pytest.mark.docker

SPEC = """\
name: {name}
version: 1
image:
  base: {base}
python: "3.11"
{packages}"""


@pytest.fixture
def project(
    git_repo: Path, base_image: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (git_repo / "envctl.yaml").write_text(
        "stages: [dev, staging, prod]\nmodels:\n  tiny: {path: model}\n"
    )
    (git_repo / "environments").mkdir()
    packages = {
        "dev": 'packages:\n  six: "==1.16.0"\n',
        "staging": 'packages:\n  six: "==1.16.0"\n',
        "prod": 'packages:\n  six: "==1.17.0"\n',  # fixed: GHSA-six0-crit-0001 ends at 1.16.0
    }
    for name, listed in packages.items():
        (git_repo / "environments" / f"{name}.yaml").write_text(
            SPEC.format(name=name, base=base_image, packages=listed)
        )
        subprocess.run(
            [sys.executable, "-m", "envctl", "lock", name],
            cwd=git_repo,
            check=True,
            capture_output=True,
        )
    (git_repo / "model").mkdir()
    # Content of its own: another run on this engine may remove an image of the same content.
    (git_repo / "model" / "app.py").write_text(f"ANSWER = 42\nRUN = {uuid.uuid4().hex!r}\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "tiny v1")
    return git_repo


def test_diff_images_lists_package_and_finding_changes_between_stages(
    project: Path, invoke: Invoke
) -> None:
    assert invoke("register", "tiny", "v1.0.0").code == 0
    for stage in ("dev", "staging", "prod"):
        promoted = invoke("promote", "tiny@v1.0.0", "--stage", stage, "--force", "--reason", "t")
        assert promoted.code == 0, promoted.err

    plain = invoke("diff", "staging", "prod", "--format", "json", "--fail-on", "never")
    assert plain.code == 0, plain.err
    assert "images" not in json.loads(plain.out)["comparisons"][0]  # unchanged without --images

    # No database: packages compared, findings not (and the document says so).
    no_db = invoke("diff", "staging", "prod", "--images", "--format", "json", "--fail-on", "never")
    assert no_db.code == 0, no_db.err
    (comparison,) = json.loads(no_db.out)["comparisons"]
    assert {k: v for k, v in comparison.items() if k != "images"} == json.loads(plain.out)[
        "comparisons"
    ][0]
    images = comparison["images"]
    assert (images["model"], images["same_image"], images["database"]) == ("tiny", False, None)
    assert (images["left"]["stage"], images["left"]["version"]) == ("staging", "v1.0.0")
    assert images["packages"] == [
        {
            "ecosystem": "PyPI",
            "name": "six",
            "change": "changed",
            "left": "1.16.0",
            "right": "1.17.0",
        }
    ]
    assert (images["only_left"], images["only_right"]) == ([], [])

    assert invoke("vulndb", "update", "--from", str(FIXTURES)).code == 0
    checked = invoke(
        "diff", "staging", "prod", "--images", "--format", "json", "--fail-on", "never"
    )
    assert checked.code == 0, checked.err
    images = json.loads(checked.out)["comparisons"][0]["images"]
    assert images["database"]["records"] == 7
    assert [(f["id"], f["package"]) for f in images["only_left"]] == [
        ("CVE-2099-0001", "six")
    ]  # fixed in prod; the base image's findings are on both sides
    assert images["only_right"] == []

    # dev and staging run one image (same content): nothing differs.
    same = invoke("diff", "dev", "staging", "--images", "--fail-on", "never")
    assert same.code == 0, same.err
    assert "images of tiny: v1.0.0 in dev → v1.0.0 in staging: the same image" in same.out
    table = invoke("diff", "staging", "prod", "--images", "--fail-on", "never")
    assert "images of tiny: v1.0.0 in staging → v1.0.0 in prod: 0 added, 0 removed, 1 changed" in (
        table.out
    )
    assert "  PyPI   six 1.16.0 → 1.17.0" in table.out
    assert "only in staging: CVE-2099-0001 six 1.16.0 (critical)" in table.out

    not_a_stage = invoke("diff", "staging", "environments/prod.yaml", "--images")
    assert not_a_stage.code == 2
    assert "--images compares what two stages run: 'environments/prod.yaml' is not a stage" in (
        not_a_stage.err
    )
