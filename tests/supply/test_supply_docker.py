"""The vulnerabilities gate, envctl sbom and envctl scan with a real Docker Engine,
real git and the fixture OSV database imported as a user would (envctl vulndb update)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from envctl import engine
from tests.conftest import git
from tests.harness import Invoke
from tests.supply.conftest import FIXTURES

pytestmark = pytest.mark.docker

SPEC = """\
name: dev
version: {version}
image:
  base: {base}
python: "3.11"
packages:
  six: "==1.16.0"
gates:
  - vulnerabilities:
      fail_on: high
{waivers}"""
WAIVER = """      waivers:
        - id: GHSA-six0-crit-0001
          package: six
          reason: not reachable from the model
          expires: 2099-01-01
"""


@pytest.fixture
def project(
    git_repo: Path, base_image: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (git_repo / "envctl.yaml").write_text("stages: [dev]\nmodels:\n  tiny: {path: model}\n")
    (git_repo / "environments").mkdir()
    write_spec(git_repo, base_image, version=1, waivers="")
    (git_repo / "model").mkdir()
    (git_repo / "model" / "app.py").write_text("ANSWER = 42\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "tiny v1")
    return git_repo


def write_spec(root: Path, base: str, *, version: int, waivers: str) -> None:
    (root / "environments" / "dev.yaml").write_text(
        SPEC.format(base=base, version=version, waivers=waivers)
    )
    subprocess.run(
        [sys.executable, "-m", "envctl", "lock", "dev"], cwd=root, check=True, capture_output=True
    )


def tags(root: Path) -> list[str]:
    return git(root, "tag", "-l", "tiny#*").split()


def record(project: Path, tag: str) -> dict[str, Any]:
    message = git(project, "tag", "-l", "--format=%(contents)", tag)
    data: dict[str, Any] = json.loads(message.split("envctl-record: v1", 1)[1])
    return data


def test_vulnerabilities_gate_refuses_waives_and_needs_its_database(
    project: Path, invoke: Invoke, base_image: str
) -> None:
    assert invoke("register", "tiny", "v1.0.0").code == 0
    # No database: nothing was checked, so it is an input error, never a pass.
    no_db = invoke("promote", "tiny@v1.0.0", "--stage", "dev")
    assert no_db.code == 3, no_db.err
    assert "no vulnerability database" in no_db.err and "envctl vulndb update" in no_db.err
    assert tags(project) == []

    imported = invoke("vulndb", "update", "--from", str(FIXTURES), "--format", "json")
    assert imported.code == 0, imported.err
    assert json.loads(imported.out)["database"]["records"] == 7

    refused = invoke("promote", "tiny@v1.0.0", "--stage", "dev", "--format", "json")
    assert refused.code == 1, refused.err
    gate = json.loads(refused.out)["gates"][0]
    assert (gate["kind"], gate["status"]) == ("vulnerabilities", "failed")
    assert gate["evidence"]["blocking"] == ["CVE-2099-0001"]
    finding = next(f for f in gate["evidence"]["findings"] if f["id"] == "CVE-2099-0001")
    assert (finding["package"], finding["installed"], finding["severity"]) == (
        "six",
        "1.16.0",
        "critical",
    )
    # Debian packages are matched by their source: the base image's libc6 is glibc.
    glibc = [f for f in gate["evidence"]["findings"] if f["id"] == "CVE-2099-0002"]
    assert {(f["ecosystem"], f["severity"]) for f in glibc} == {("Debian:12", "low")}
    assert {"libc6", "libc-bin"} <= {f["package"] for f in glibc}
    assert tags(project) == []

    write_spec(project, base_image, version=2, waivers=WAIVER)
    git(project, "commit", "-qam", "waive the six finding")
    assert invoke("register", "tiny", "v1.0.1").code == 0
    passed = invoke("promote", "tiny@v1.0.1", "--stage", "dev")
    assert passed.code == 0, passed.err
    (tag,) = tags(project)
    evidence = record(project, tag)["gates"][0]["evidence"]
    assert evidence["sbom"].startswith("sha256:")
    # The gate's SBOM is the one the record keeps beside the digest (one probe).
    assert record(project, tag)["image"]["sbom"] == {
        "format": "cyclonedx-json",
        "sha256": evidence["sbom"],
        "artifact": None,
    }
    waived = next(f for f in evidence["findings"] if f["id"] == "CVE-2099-0001")
    assert waived["waived_by"] == "not reachable from the model"

    # The image the stage runs, re-checked: clean with the waiver, then without it.
    assert invoke("scan", "tiny", "--stage", "dev").code == 0
    write_spec(project, base_image, version=3, waivers="")
    scanned = invoke("scan", "tiny", "--format", "json")
    assert scanned.code == 1
    (stage,) = json.loads(scanned.out)["stages"]
    assert (stage["stage"], stage["version"], stage["blocking"]) == (
        "dev",
        "v1.0.1",
        ["CVE-2099-0001"],
    )

    # Not pushed: the SBOM is made again from the image and checked against the record.
    again = invoke("sbom", "tiny", "--stage", "dev", "-o", str(project / "s.json"), "-f", "json")
    assert again.code == 0, again.err
    written = json.loads(again.out)
    assert (written["source"], written["sha256"], written["recorded_sha256"]) == (
        "image",
        evidence["sbom"],
        evidence["sbom"],
    )
    # Without the lock the image was built from, its hashes are missing: other bytes.
    (project / "environments" / "dev.lock").unlink()
    other = invoke("sbom", "tiny", "--stage", "dev")
    assert (other.code, other.out) == (1, "")
    assert other.err.startswith(f"error: the SBOM of {stage['image']} (sha256:")
    assert other.err.rstrip().endswith(
        f"is not the one {tag} recorded ({evidence['sbom']}): the image differs, or the lock "
        "it was built from is no longer in the project"
    )


def test_sbom_lists_exactly_what_dpkg_and_pip_hold_in_the_image(
    project: Path, invoke: Invoke, tmp_path: Path
) -> None:
    assert invoke("build", "dev").code == 0
    out = tmp_path / "sbom.json"
    written = invoke("sbom", "dev", "--output", str(out), "--format", "json")
    assert written.code == 0, written.err
    meta = json.loads(written.out)
    doc = json.loads(out.read_text())
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.6"
    comps = doc["components"]
    pypi = {c["name"].lower() for c in comps if c["purl"].startswith("pkg:pypi/")}
    debs = {c["name"] for c in comps if c["purl"].startswith("pkg:deb/debian/")}

    image = meta["image"]
    listed = engine.run(
        image,
        [
            "/opt/venv/bin/python",
            "-c",
            "import importlib.metadata as m; "
            "print('\\n'.join(sorted(d.metadata['Name'].lower() for d in m.distributions())))",
        ],
        timeout=60,
        network_disabled=True,
    )
    assert set(pypi) == set(listed.stdout.split())
    dpkg = engine.run(
        image,
        ["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\\n"],
        timeout=60,
        network_disabled=True,
    )
    installed = {
        line.split()[0] for line in dpkg.stdout.splitlines() if line.endswith(" installed")
    }
    assert debs == installed and len(debs) > 20
    six = next(c for c in doc["components"] if c["name"] == "six")
    assert six["hashes"] and meta["hashes_from_lock"] is True
    # The same image gives the same bytes: the hash a record keeps can be checked.
    again = invoke("sbom", "dev")
    assert again.out == out.read_text()
    # ... and however it is named: by its id, as a stage's record names it.
    by_id = invoke("sbom", "--image", meta["image_id"])
    assert by_id.out == out.read_text()

    # SPDX: the same packages by PURL, valid by spdx-tools' own validator.
    spdx_file = tmp_path / "sbom.spdx.json"
    spdx = invoke("sbom", "dev", "-o", str(spdx_file), "--format", "json", "--sbom-format",
                  "spdx-json")  # fmt: skip
    assert spdx.code == 0, spdx.err
    assert json.loads(spdx.out)["format"] == "spdx-json"
    assert validate_full_spdx_document(parse_file(str(spdx_file))) == []
    purls = {
        ref["referenceLocator"]
        for p in json.loads(spdx_file.read_text())["packages"]
        for ref in p.get("externalRefs", [])
    }
    assert purls == {c["purl"] for c in comps}
    assert invoke("sbom", "dev", "--format", "spdx-json").out == spdx_file.read_text()
    wrong = invoke("sbom", "dev", "--format", "spdx")
    assert (wrong.code, wrong.err) == (
        2,
        "error: --format spdx: choose cyclonedx-json, spdx-json, table or json\n",
    )
