"""The matcher against two independent auditors, pip-audit (`--osv-url`) and
uv's preview `uv audit --service-url`, each pointed at a small OSV-compatible
service on 127.0.0.1 (tests/supply/osv_service.py) that serves the same records
envctl imports: the fixtures plus records of every range shape.

Both tools leave the range matching to the service (they send a name and a
version and report what comes back), so the service decides it independently
of envctl (univers' PEP 440 order, packaging's PEP 503 names); the tools add
their own reading of the records: pip-audit skips withdrawn ones, both merge
aliases, both list fix versions. For every probe version of every PyPI package
each tool must report the same vulnerabilities as envctl (one per alias group).
What a tool cannot express is named where it is left out."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from envctl.supply import matching, vulndb
from envctl.supply.components import python_components
from tests.supply.conftest import FIXTURES
from tests.supply.osv_service import serve_osv

MODIFIED = "2024-06-01T00:00:00Z"
EXTRA: list[dict[str, Any]] = [
    {  # two intervals, events out of order (the schema says: sort them), one open
        "id": "PYSEC-2099-20",
        "modified": MODIFIED,
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "NumPy"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": "1.5"}, {"introduced": "1.0"}, {"fixed": "1.2"}],
                    }
                ],
            }
        ],
    },
    {  # a limit
        "id": "PYSEC-2099-21",
        "modified": MODIFIED,
        "aliases": ["CVE-2099-0021"],
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "PyYAML"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "5.0"}, {"limit": "6.0"}]}
                ],
            }
        ],
    },
    {  # last_affected, without a versions list to fall back on
        "id": "GHSA-2099-0023",
        "modified": MODIFIED,
        "aliases": ["PYSEC-2099-23"],
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "markupsafe"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": "2.0"}, {"last_affected": "2.1.3"}],
                    }
                ],
            }
        ],
    },
    {  # the same vulnerability under another id, naming it as an alias
        "id": "PYSEC-2099-23",
        "modified": MODIFIED,
        "aliases": ["GHSA-2099-0023", "CVE-2099-0023"],
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "MarkupSafe"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": "2.0"}, {"last_affected": "2.1.3"}],
                    }
                ],
            }
        ],
    },
    {  # an explicit versions list only, under a non-normalised name
        "id": "GHSA-2099-0022",
        "modified": MODIFIED,
        "affected": [
            {"package": {"ecosystem": "PyPI", "name": "Flask_Cors"}, "versions": ["4.0.0"]}
        ],
    },
]
PROBES = {
    "requests": ["2.2.9", "2.3.0", "2.30.0", "2.31.0rc1", "2.31.0", "2.32.3"],
    "six": ["1.14.0", "1.15.0", "1.16.0", "1.16.1", "1.17.0"],
    "jinja2": ["3.1.4", "3.1.5rc1", "3.1.5", "3.1.6"],
    "numpy": ["0.9", "1.0", "1.1.5", "1.2.0b1", "1.2", "1.4.9", "1.5", "2.0"],
    "pyyaml": ["4.9", "5.0", "5.4.1", "6.0rc1", "6.0", "6.0.1"],
    "flask-cors": ["4.0.0", "4.0.1"],
    "markupsafe": ["1.9", "2.0", "2.1.3", "2.1.3.post1", "2.1.4"],
}
ROUNDS = [
    {name: versions[i] for name, versions in PROBES.items() if i < len(versions)}
    for i in range(max(len(v) for v in PROBES.values()))
]
Seen = dict[tuple[str, str], list[frozenset[str]]]  # (name, version) -> alias groups
Fixes = dict[tuple[str, str], set[str]]  # (name, version) -> every fix version reported


def records() -> list[dict[str, Any]]:
    found = [json.loads(p.read_text()) for p in sorted(FIXTURES.glob("*.json"))]
    return [*found, *EXTRA]


def merged(groups: Iterable[frozenset[str]]) -> list[frozenset[str]]:
    """Alias groups with any overlap merged: one entry per vulnerability."""
    out: list[frozenset[str]] = []
    for group in groups:
        overlapping = [g for g in out if g & group]
        out = [g for g in out if not g & group] + [group.union(*overlapping)]
    return sorted(out, key=sorted)


def ours(tmp_path: Path) -> tuple[Seen, Fixes]:
    source = tmp_path / "records"
    source.mkdir()
    for record in records():
        (source / f"{record['id']}.json").write_text(json.dumps(record))
    db = vulndb.update([source], tmp_path / "db")
    seen: Seen = {}
    fixes: Fixes = {}
    for pins in ROUNDS:
        findings = matching.match(python_components(pins, {}), db).findings
        for name, version in pins.items():
            mine = [f for f in findings if f.package == name]
            seen[(name, version)] = merged(frozenset({f.id, *f.aliases}) for f in mine)
            fixes[(name, version)] = {v for f in mine for v in f.fixed}
    return seen, fixes


def from_reports(reports: Iterable[tuple[str, str, Mapping[str, Any]]]) -> tuple[Seen, Fixes]:
    seen: Seen = {}
    fixes: Fixes = {}
    for name, version, vuln in reports:
        seen.setdefault((name, version), []).append(frozenset({vuln["id"], *vuln["aliases"]}))
        fixes.setdefault((name, version), set()).update(vuln["fix_versions"])
    return {key: merged(groups) for key, groups in seen.items()}, fixes


def all_probes(seen: Seen) -> Seen:
    return {(n, v): seen.get((n, v), []) for n, versions in PROBES.items() for v in versions}


def all_fixes(fixes: Fixes) -> Fixes:
    return {(n, v): fixes.get((n, v), set()) for n, versions in PROBES.items() for v in versions}


def pip_audit(url: str, tmp_path: Path) -> tuple[Seen, Fixes]:
    tool = Path(sys.executable).with_name("pip-audit")
    if not tool.exists():
        pytest.skip("pip-audit is not installed (pip install -e '.[test]')")
    reports = []
    for i, pins in enumerate(ROUNDS):
        requirements = tmp_path / f"requirements-{i}.txt"
        requirements.write_text("".join(f"{n}=={v}\n" for n, v in pins.items()))
        done = subprocess.run(
            [str(tool), "-r", str(requirements), "--no-deps", "--disable-pip", "-s", "osv",
             "--osv-url", f"{url}/v1/query", "-f", "json", "--progress-spinner", "off",
             "--cache-dir", str(tmp_path / "pip-audit-cache")],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        assert done.returncode in (0, 1), done.stderr
        for dep in json.loads(done.stdout)["dependencies"]:
            reports += [(dep["name"], dep["version"], vuln) for vuln in dep["vulns"]]
    return from_reports(reports)


UV_LOCK_HEAD = """\
version = 1
revision = 3
requires-python = ">=3.11"

[[package]]
name = "probe"
version = "0.1.0"
source = {{ virtual = "." }}
dependencies = [{deps}]

[package.metadata]
requires-dist = [{specs}]
"""
UV_LOCK_PACKAGE = """
[[package]]
name = "{name}"
version = "{version}"
source = {{ registry = "https://pypi.org/simple" }}
sdist = {{ url = "https://files.pythonhosted.org/packages/x/{name}-{version}.tar.gz", \
hash = "sha256:{zero}", size = 1 }}
"""


def uv_audit(url: str, tmp_path: Path) -> tuple[Seen, Fixes]:
    """uv audit of a project whose lock pins each round's versions (--frozen: the
    lock is read as is, nothing is resolved or downloaded)."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert uv is not None
    helped = subprocess.run([uv, "audit", "--help"], capture_output=True, text=True, check=False)
    if "--service-url" not in helped.stdout:
        pytest.skip(f"this uv has no `audit --service-url` ({uv})")
    reports = []
    for i, pins in enumerate(ROUNDS):
        project = tmp_path / f"uv-{i}"
        project.mkdir()
        names = sorted(pins)
        (project / "pyproject.toml").write_text(
            '[project]\nname = "probe"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
            f"dependencies = {json.dumps([f'{n}=={pins[n]}' for n in names])}\n"
        )
        lock = UV_LOCK_HEAD.format(
            deps=", ".join(f'{{ name = "{n}" }}' for n in names),
            specs=", ".join(f'{{ name = "{n}", specifier = "=={pins[n]}" }}' for n in names),
        )
        lock += "".join(
            UV_LOCK_PACKAGE.format(name=n, version=pins[n], zero="0" * 64) for n in names
        )
        (project / "uv.lock").write_text(lock)
        done = subprocess.run(
            [uv, "audit", "--frozen", "--service-url", url, "--output-format", "json",
             "--cache-dir", str(tmp_path / "uv-cache")],
            cwd=project, capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        assert done.stdout.strip(), done.stderr
        for vuln in json.loads(done.stdout)["vulnerabilities"]:
            dep = vuln["dependency"]
            reports.append((dep["name"], dep["version"], vuln))
    return from_reports(reports)


WITHDRAWN = "PYSEC-2099-9"  # six, every version: the service returns it, as stored


def test_pip_audit_agrees_on_every_probe(tmp_path: Path) -> None:
    with serve_osv(records()) as url:
        reported, their_fixes = pip_audit(url, tmp_path)
    seen, fixes = ours(tmp_path)
    theirs = all_probes(reported)
    assert theirs == all_probes(seen)
    # pip-audit 2.10 reads fix versions only from an entry whose name is already
    # PEP 503-normalised ("NumPy" is not): there it lists none, envctl (and uv) 1.2.
    theirs_fixed, ours_fixed = all_fixes(their_fixes), all_fixes(fixes)
    unnormalised = {key for key in ours_fixed if key[0] == "numpy"}
    assert all(not theirs_fixed[key] for key in unnormalised)
    assert {key[1] for key in unnormalised if ours_fixed[key] == {"1.2"}} == {
        "1.0", "1.1.5", "1.2.0b1", "1.5", "2.0"
    }  # fmt: skip
    assert {k: v for k, v in theirs_fixed.items() if k not in unnormalised} == {
        k: v for k, v in ours_fixed.items() if k not in unnormalised
    }
    # Not vacuous: the probes cover findings and their absence.
    assert theirs[("requests", "2.31.0rc1")] and not theirs[("requests", "2.31.0")]
    assert theirs[("markupsafe", "2.1.3")] == [
        frozenset({"GHSA-2099-0023", "PYSEC-2099-23", "CVE-2099-0023"})
    ]


def test_uv_audit_agrees_on_every_probe_but_withdrawn_records(tmp_path: Path) -> None:
    """uv audit (preview) reports a withdrawn record the service returns, where the
    OSV schema (and envctl, and pip-audit) skip it: that one record is left out of
    uv's side, and the test says so by checking it is the only difference."""
    with serve_osv(records()) as url:
        reported, their_fixes = uv_audit(url, tmp_path)
    seen, fixes = ours(tmp_path)
    theirs, expected = all_probes(reported), all_probes(seen)
    assert all_fixes(their_fixes) == all_fixes(fixes)
    withdrawn = {key for key, groups in theirs.items() if frozenset({WITHDRAWN}) in groups}
    assert withdrawn == {("six", v) for v in PROBES["six"]}
    without = {k: [g for g in v if g != frozenset({WITHDRAWN})] for k, v in theirs.items()}
    assert without == expected
    assert re.search(
        "CVE-2099-0021", json.dumps(sorted(map(sorted, expected[("pyyaml", "5.4.1")])))
    )
