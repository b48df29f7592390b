"""envctl.diff: every finding kind, the cases that are NOT findings, waivers, overrides.

Specs are real files read through `load_environment`, so paths, spellings and
positions are what users write."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from envctl.diff import KINDS, Finding, Side, compare, counts, severity_for, unknown_kind
from envctl.spec.loading import deep_merge, load_environment

TODAY = date(2026, 11, 26)

BASE: dict[str, Any] = {
    "version": 1,
    "image": {"base": "python:3.11-slim-bookworm", "platform": "linux/amd64"},
    "python": "3.11",
    "packages": {"numpy": "==1.26.4", "pandas": "==2.2.2"},
    "system_packages": ["libgomp1"],
    "data": {"allowed": ["public", "internal"], "sources": ["s3://features/*"]},
    "compute": {"cpu": 4, "memory": "8Gi", "gpu": 0, "engines": []},
}


SHA_A, SHA_B = "a" * 64, "b" * 64


def _evaluating(name: str, sha256: str | None) -> dict[str, Any]:
    """A spec whose evaluate gate measures on evaluation set `name`."""
    held = {"file": f"eval/{name}.csv", "classification": "internal"}
    return {
        "data": {"evaluation": {name: held | ({"sha256": sha256} if sha256 else {})}},
        "gates": [{"evaluate": {"data": name, "require": {"accuracy": ">= 0.9"}}}],
    }


CU128 = {"name": "cu128", "url": "https://download.pytorch.org/whl/cu128", "explicit": True}


def write_spec(folder: Path, name: str, changes: dict[str, Any]) -> Path:
    data = deep_merge({**BASE, "name": name}, changes)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def side(folder: Path, name: str, changes: dict[str, Any]) -> Side:
    return Side.from_environment(load_environment(str(write_spec(folder, name, changes))))


def diff(
    tmp_path: Path, left: dict[str, Any], right: dict[str, Any], **kwargs: Any
) -> list[Finding]:
    return compare(
        side(tmp_path, "dev", left),
        side(tmp_path, "prod", right),
        today=kwargs.pop("today", TODAY),
        **kwargs,
    )


def triples(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.kind, f.severity, f.path) for f in findings]


CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[tuple[str, str, str]]]] = [
    ("identical", {}, {}, []),
    # python
    ("python minor", {"python": "3.12"}, {}, [("python.version", "error", "python")]),
    (
        "python major.minor older",
        {"python": "3.10"},
        {"python": "3.11.9"},
        [("python.version", "error", "python")],
    ),
    (
        "python patch",
        {"python": "3.11.9"},
        {"python": "3.11.4"},
        [("python.version", "warning", "python")],
    ),
    ("python patch unknown on one side", {"python": "3.11"}, {"python": "3.11.9"}, []),
    # image / OS
    (
        "other image",
        {"image": {"base": "python:3.12-slim"}},
        {},
        [("image.base", "warning", "image.base")],
    ),
    (
        "other digest",
        {"image": {"base": "python:3.11-slim-bookworm@sha256:" + "a" * 64}},
        {"image": {"base": "python:3.11-slim-bookworm@sha256:" + "b" * 64}},
        [("image.digest", "warning", "image.base")],
    ),
    (
        "tag without digest",
        {},
        {"image": {"base": "python:3.11-slim-bookworm@sha256:" + "c" * 64}},
        [("image.unpinned", "warning", "image.base")],
    ),
    (
        "same image, docker hub spelled out",
        {"image": {"base": "docker.io/library/python:3.11"}},
        {"image": {"base": "python:3.11"}},
        [],
    ),
    (
        "platform",
        {"image": {"platform": "linux/arm64"}},
        {},
        [("image.platform", "error", "image.platform")],
    ),
    # packages
    (
        "package only left",
        {"packages": {"jupyterlab": ">=4.2"}},
        {},
        [("package.missing", "error", "packages.jupyterlab")],
    ),
    (
        "package only right",
        {},
        {"packages": {"gunicorn": "==23.0.0"}},
        [("package.extra", "info", "packages.gunicorn")],
    ),
    (
        "major",
        {"packages": {"numpy": "==2.1.3"}},
        {},
        [("package.version", "error", "packages.numpy")],
    ),
    (
        "minor",
        {"packages": {"pandas": "==2.3.0"}},
        {},
        [("package.version", "warning", "packages.pandas")],
    ),
    (
        "patch",
        {"packages": {"pandas": "==2.2.3"}},
        {},
        [("package.version", "warning", "packages.pandas")],
    ),
    ("equal versions written differently", {"packages": {"numpy": "==1.26.4.0"}}, {}, []),
    (
        "package routed to another index",
        {"indexes": [CU128], "sources": {"numpy": {"index": "cu128"}}},
        {},
        [("package.index", "error", "sources.numpy")],
    ),
    (
        "same routing, index named differently",
        {"indexes": [CU128], "sources": {"numpy": {"index": "cu128"}}},
        {"indexes": [{**CU128, "name": "gpu"}], "sources": {"numpy": {"index": "gpu"}}},
        [],
    ),
    (
        "an extra index declared, nothing routed: unrouted packages may come from it",
        {"indexes": [{"name": "extra", "url": "https://pkgs.example.com/simple"}]},
        {},
        [
            ("package.index", "error", "sources.numpy"),
            ("package.index", "error", "sources.pandas"),
        ],
    ),
    (
        "an explicit index nothing is routed to changes nothing",
        {"indexes": [CU128]},
        {},
        [],
    ),
    (
        "PEP 503 spellings",
        {"packages": {"numpy": None, "NumPy": "==1.26.4", "Scikit_Learn": "==1.5.2"}},
        {"packages": {"scikit-learn": "==1.5.2"}},
        [],
    ),
    (
        "range admits the pin",
        {"packages": {"numpy": ">=1.26"}},
        {},
        [("package.specifier", "info", "packages.numpy")],
    ),
    (
        "range excludes the pin",
        {"packages": {"numpy": ">=2"}},
        {},
        [("package.conflict", "error", "packages.numpy")],
    ),
    (
        "pin outside the right's range",
        {},
        {"packages": {"numpy": "<1.26"}},
        [("package.conflict", "error", "packages.numpy")],
    ),
    (
        "any version vs pin",
        {"packages": {"numpy": "*"}},
        {},
        [("package.specifier", "info", "packages.numpy")],
    ),
    (
        "pre-release pin inside range",
        {"packages": {"numpy": ">=2.0"}},
        {"packages": {"numpy": "==2.1.0rc1"}},
        [("package.specifier", "info", "packages.numpy")],
    ),
    (
        "ranges overlap",
        {"packages": {"numpy": ">=1.20"}},
        {"packages": {"numpy": "<2"}},
        [("package.specifier", "info", "packages.numpy")],
    ),
    (
        "ranges disjoint",
        {"packages": {"numpy": ">=2"}},
        {"packages": {"numpy": "<2"}},
        [("package.conflict", "error", "packages.numpy")],
    ),
    (
        "compatible release vs higher floor",
        {"packages": {"numpy": "~=1.4.2"}},
        {"packages": {"numpy": ">=1.5"}},
        [("package.conflict", "error", "packages.numpy")],
    ),
    (
        "prefix match vs lower range",
        {"packages": {"numpy": "==1.4.*"}},
        {"packages": {"numpy": "<1.4"}},
        [("package.conflict", "error", "packages.numpy")],
    ),
    (
        "touching bounds meet",
        {"packages": {"numpy": ">=1.0"}},
        {"packages": {"numpy": "<=1.0"}},
        [("package.specifier", "info", "packages.numpy")],
    ),
    (
        "touching bounds, one open",
        {"packages": {"numpy": ">1.0"}},
        {"packages": {"numpy": "<=1.0"}},
        [("package.conflict", "error", "packages.numpy")],
    ),
    (
        "the meeting point excluded",
        {"packages": {"numpy": ">=1.0,!=1.0"}},
        {"packages": {"numpy": "<=1.0"}},
        [("package.conflict", "error", "packages.numpy")],
    ),
    (
        "extras differ",
        {"packages": {"pandas": None, "pandas[excel]": "==2.2.2"}},
        {},
        [("package.extras", "info", "packages.pandas")],
    ),
    # system packages
    (
        "system package only left",
        {"system_packages": ["libgomp1", "graphviz"]},
        {},
        [("system_package.missing", "warning", "system_packages.graphviz")],
    ),
    (
        "system package only right",
        {},
        {"system_packages": ["libgomp1", "curl"]},
        [("system_package.extra", "info", "system_packages.curl")],
    ),
    (
        "apt network on the left only",
        {"image": {"network": "apt"}},
        {},
        [("image.network", "warning", "image.network")],
    ),
    ("apt network on both sides", {"image": {"network": "apt"}}, {"image": {"network": "apt"}}, []),
    (
        "system package versions",
        {"system_packages": ["libgomp1=12.2.0-14"]},
        {"system_packages": ["libgomp1=12.2.0-15"]},
        [("system_package.version", "warning", "system_packages.libgomp1")],
    ),
    # data
    (
        "classification only left",
        {"data": {"allowed": ["public", "internal", "research"]}},
        {},
        [("data.classification", "error", "data.allowed.research")],
    ),
    (
        "classification only right",
        {},
        {"data": {"allowed": ["public", "internal", "pii"]}},
        [("data.classification", "warning", "data.allowed.pii")],
    ),
    (
        "source only left",
        {"data": {"sources": ["s3://features/*", "s3://research/*"]}},
        {},
        [("data.source", "warning", "data.sources.s3://research/*")],
    ),
    (
        "source only right",
        {},
        {"data": {"sources": ["s3://features/*", "s3://prod-only/*"]}},
        [("data.source", "warning", "data.sources.s3://prod-only/*")],
    ),
    (
        "left source covered by a wider glob",
        {"data": {"sources": ["s3://features/churn/*"]}},
        {},
        [("data.source", "warning", "data.sources.s3://features/*")],
    ),
    # evaluation data: compared only where both sides measure (evaluate gates)
    (
        "the same evaluation set on both sides",
        _evaluating("holdout", SHA_A),
        _evaluating("holdout", SHA_A),
        [],
    ),
    (
        "evaluation set with another pinned hash",
        _evaluating("holdout", SHA_A),
        _evaluating("holdout", SHA_B),
        [("data.evaluation", "warning", "data.evaluation.holdout")],
    ),
    (
        "evaluation set pinned on one side only",
        _evaluating("holdout", None),
        _evaluating("holdout", SHA_B),
        [("data.evaluation", "warning", "data.evaluation.holdout")],
    ),
    (
        "each side measures on a set of its own",
        _evaluating("small", SHA_A),
        _evaluating("holdout", SHA_A),
        [
            ("data.evaluation", "warning", "data.evaluation.holdout"),
            ("data.evaluation", "warning", "data.evaluation.small"),
        ],
    ),
    ("only one side measures: not compared", {}, _evaluating("holdout", SHA_B), []),
    # compute
    (
        "engine only left",
        {"compute": {"engines": ["spark"]}},
        {},
        [("compute.engine", "error", "compute.engines.spark")],
    ),
    (
        "engine only right",
        {},
        {"compute": {"engines": ["ray"]}},
        [("compute.engine", "info", "compute.engines.ray")],
    ),
    ("gpu only left", {"compute": {"gpu": 1}}, {}, [("compute.gpu", "error", "compute.gpu")]),
    (
        "more gpus left",
        {"compute": {"gpu": 4}},
        {"compute": {"gpu": 1}},
        [("compute.gpu", "warning", "compute.gpu")],
    ),
    ("more cpu left", {"compute": {"cpu": 16}}, {}, [("compute.cpu", "warning", "compute.cpu")]),
    # the source smaller than the target: it does not mirror it (warning)
    (
        "less cpu left",
        {"compute": {"cpu": "500m"}},
        {},
        [("compute.smaller", "warning", "compute.cpu")],
    ),
    (
        "less memory left",
        {"compute": {"memory": "4Gi"}},
        {},
        [("compute.smaller", "warning", "compute.memory")],
    ),
    (
        "fewer gpus left",
        {},
        {"compute": {"gpu": 2}},
        [("compute.smaller", "warning", "compute.gpu")],
    ),
    ("cpu unknown on one side", {"compute": {"cpu": None}}, {"compute": {"cpu": 8}}, []),
    # runner: where each stage's gates run
    (
        "runner only right",
        {},
        {"runner": "ssh://deploy@gpu-host"},
        [("compute.runner", "warning", "runner")],
    ),
    (
        "runner only left",
        {"runner": "tcp://10.0.0.7:2376"},
        {},
        [("compute.runner", "warning", "runner")],
    ),
    (
        "runners differ",
        {"runner": "tcp://10.0.0.7:2376"},
        {"runner": "ssh://deploy@gpu-host"},
        [("compute.runner", "warning", "runner")],
    ),
    ("same runner", {"runner": "ssh://gpu-host"}, {"runner": "ssh://gpu-host"}, []),
    (
        "more memory left",
        {"compute": {"memory": "64Gi"}},
        {},
        [("compute.memory", "warning", "compute.memory")],
    ),
    ("memory equal by value", {"compute": {"memory": "8192Mi"}}, {}, []),
    # policy: when a version may enter, never what runs; info only
    (
        "soak only right",
        {},
        {"policy": {"soak": "24h"}},
        [("policy.changed", "info", "policy.soak")],
    ),
    (
        "policies differ field by field",
        {"policy": {"soak": "24h", "auto": False}},
        {"policy": {"soak": "2d", "live": {"url": "http://churn:8000", "rollback": "auto"}}},
        [
            ("policy.changed", "info", "policy.auto"),
            ("policy.changed", "info", "policy.live"),
            ("policy.changed", "info", "policy.soak"),
        ],
    ),
    (
        "same policy, one written out in hours",
        {"policy": {"soak": "48h"}},
        {"policy": {"soak": "2d"}},
        [],
    ),
    ("a default written out is no difference", {"policy": {"auto": True}}, {}, []),
    ("memory unknown on one side", {"compute": {"memory": None}}, {}, []),
]


@pytest.mark.parametrize(
    ("left", "right", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_compare_table(
    tmp_path: Path,
    left: dict[str, Any],
    right: dict[str, Any],
    expected: list[tuple[str, str, str]],
) -> None:
    assert triples(diff(tmp_path, left, right)) == expected


def test_compare_covers_every_kind() -> None:
    covered = {kind for case in CASES for kind, _, _ in case[3]}
    # os.release needs two probed sides; it is covered by the reality tests below.
    # gpu.* kinds need locks: tests/diff/test_rules_gpu.py covers each of them;
    # tests/diff/test_rules_load.py covers the load.* kinds.
    elsewhere = {k for k in KINDS if k.startswith(("gpu.", "load."))}
    assert set(KINDS) - covered == {"os.release"} | elsewhere


def test_findings_are_ordered_by_area_then_path(tmp_path: Path) -> None:
    findings = diff(
        tmp_path,
        {
            "compute": {"cpu": 8},
            "packages": {"zlib-ng": "==1.0", "aiohttp": "==3.0"},
            "python": "3.12",
        },
        {},
    )
    assert [f.path for f in findings] == [
        "python",
        "packages.aiohttp",
        "packages.zlib-ng",
        "compute.cpu",
    ]


def test_messages_are_plain_sentences_naming_both_sides(tmp_path: Path) -> None:
    findings = diff(
        tmp_path,
        {
            "python": "3.12",
            "packages": {"numpy": "==2.1.3"},
            "data": {"allowed": ["public", "internal", "research"]},
            "compute": {"memory": "64Gi"},
        },
        {},
    )
    messages = {f.kind: f.message for f in findings}
    assert messages["python.version"] == (
        "dev runs Python 3.12 but prod runs Python 3.11: code, pickled models and compiled "
        "packages may not carry over."
    )
    assert messages["package.version"] == (
        "numpy is 2.1.3 in dev but 1.26.4 in prod: a major version apart, so APIs and "
        "results can differ."
    )
    assert messages["data.classification"] == (
        "dev may read research data but prod may not: features the model was built on may "
        "be missing at inference in prod."
    )
    assert messages["compute.memory"] == (
        "dev has 64Gi of memory but prod permits 8Gi: development must not exceed what "
        "production permits, or the model may not fit in prod."
    )


def test_smaller_and_runner_messages_say_the_source_does_not_mirror_the_target(
    tmp_path: Path,
) -> None:
    findings = diff(
        tmp_path,
        {"compute": {"cpu": 2, "memory": "4Gi"}},
        {"compute": {"gpu": 1}, "runner": "ssh://deploy@gpu-host"},
    )
    messages = {(f.kind, f.path): (f.left, f.right, f.message) for f in findings}
    mirror = "so dev does not mirror prod: what passes dev's gates ran on less than prod runs on."
    assert messages == {
        ("compute.smaller", "compute.cpu"): ("2", "4", f"dev has 2 CPUs and prod 4, {mirror}"),
        ("compute.smaller", "compute.memory"): (
            "4Gi",
            "8Gi",
            f"dev has 4Gi of memory and prod 8Gi, {mirror}",
        ),
        ("compute.smaller", "compute.gpu"): ("0", "1", f"dev has no GPU and prod 1, {mirror}"),
        ("compute.runner", "runner"): (
            None,
            "ssh://deploy@gpu-host",
            "dev's gates run on envctl's own engine, prod's on ssh://deploy@gpu-host: "
            "what passes in dev ran on other hardware than prod's gates run on.",
        ),
    }


def test_smaller_is_a_warning_an_override_or_a_waiver_can_settle(tmp_path: Path) -> None:
    """Severity by kind (envctl.yaml policy.severity), waiver by kind and path."""
    left = {"compute": {"cpu": 2}}
    (raised,) = diff(tmp_path, left, {}, severity_overrides={"compute.smaller": "error"})
    assert (raised.kind, raised.severity) == ("compute.smaller", "error")
    waiver = {"kind": "compute.smaller", "path": "compute.cpu", "reason": "a smaller copy"}
    (waived,) = diff(tmp_path, {**left, "waivers": [waiver]}, {})
    assert waived.waived == "a smaller copy"


def test_values_and_positions_point_at_the_spec_lines(tmp_path: Path) -> None:
    (finding,) = diff(tmp_path, {"packages": {"numpy": "==2.1.3"}}, {})
    assert (finding.left, finding.right) == ("==2.1.3", "==1.26.4")
    dev_lines = (tmp_path / "dev.yaml").read_text().splitlines()
    assert finding.left_pos is not None and finding.right_pos is not None
    assert finding.left_pos[0].endswith("dev.yaml")
    assert dev_lines[finding.left_pos[1] - 1].strip() == "numpy: ==2.1.3"
    prod_lines = (tmp_path / "prod.yaml").read_text().splitlines()
    assert prod_lines[finding.right_pos[1] - 1].strip() == "numpy: ==1.26.4"


def test_missing_on_one_side_points_at_the_side_that_has_it(tmp_path: Path) -> None:
    (finding,) = diff(tmp_path, {"data": {"allowed": ["public", "internal", "research"]}}, {})
    assert finding.right_pos is None
    assert finding.left_pos is not None
    lines = (tmp_path / "dev.yaml").read_text().splitlines()
    assert lines[finding.left_pos[1] - 1].strip() == "- research"


def test_position_of_a_package_written_in_another_spelling(tmp_path: Path) -> None:
    (finding,) = diff(tmp_path, {"packages": {"numpy": None, "NumPy": "==2.0.0"}}, {})
    assert finding.path == "packages.numpy"
    assert finding.left_pos is not None
    lines = (tmp_path / "dev.yaml").read_text().splitlines()
    assert lines[finding.left_pos[1] - 1].strip() == "NumPy: ==2.0.0"


# ---- waivers and overrides --------------------------------------------------


def waiver(kind: str, path: str | None = None, expires: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": kind, "reason": "notebook only, never imported"}
    if path is not None:
        out["path"] = path
    if expires is not None:
        out["expires"] = date.fromisoformat(expires)
    return out


JUPYTER = {"packages": {"jupyterlab": ">=4.2"}}


@pytest.mark.parametrize(
    ("left_waivers", "right_waivers"),
    [
        ([waiver("package.missing", "packages.jupyterlab")], []),
        ([], [waiver("package.missing", "packages.jupyterlab")]),
        ([waiver("package.missing", "packages.JupyterLab")], []),
        ([waiver("package")], []),
        ([waiver("package.missing", "packages.jupyterlab", expires="2026-11-26")], []),
    ],
    ids=[
        "in the left spec",
        "in the right spec",
        "other spelling",
        "family, any path",
        "expires today",
    ],
)
def test_waived_finding_shows_but_does_not_block(
    tmp_path: Path, left_waivers: list[dict[str, Any]], right_waivers: list[dict[str, Any]]
) -> None:
    (finding,) = diff(tmp_path, {**JUPYTER, "waivers": left_waivers}, {"waivers": right_waivers})
    assert finding.kind == "package.missing"
    assert finding.severity == "error"
    assert finding.waived == "notebook only, never imported"
    assert not finding.blocks("error")
    assert not finding.blocks("info")
    assert counts([finding]) == {"error": 0, "warning": 0, "info": 0, "waived": 1}


@pytest.mark.parametrize(
    "rule",
    [
        waiver("package.missing", "packages.numpy"),
        waiver("package.version", "packages.jupyterlab"),
        waiver("data"),
    ],
    ids=["other path", "other kind", "other family"],
)
def test_waiver_that_does_not_match(tmp_path: Path, rule: dict[str, Any]) -> None:
    (finding,) = diff(tmp_path, {**JUPYTER, "waivers": [rule]}, {})
    assert finding.waived is None
    assert finding.blocks("error")


def test_expired_waiver_fails_and_says_when_it_expired(tmp_path: Path) -> None:
    rule = waiver("package.missing", "packages.jupyterlab", expires="2026-06-30")
    (finding,) = diff(tmp_path, {**JUPYTER, "waivers": [rule]}, {})
    assert finding.waived is None
    assert finding.severity == "error"
    assert finding.waiver_expired == date(2026, 6, 30)
    assert finding.blocks("error")
    assert finding.message == (
        "jupyterlab (>=4.2) is in dev but not in prod: code that imports it will fail in "
        "prod; its waiver expired on 2026-06-30."
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"package.version": "info"}, {"package.version": "info", "compute.cpu": "warning"}),
        ({"compute": "error"}, {"package.version": "error", "compute.cpu": "error"}),
        (
            {"compute": "info", "compute.cpu": "error"},
            {"package.version": "error", "compute.cpu": "error"},
        ),
    ],
    ids=["one kind", "a family", "kind beats family"],
)
def test_severity_overrides(
    tmp_path: Path, overrides: dict[str, str], expected: dict[str, str]
) -> None:
    findings = diff(
        tmp_path,
        {"packages": {"numpy": "==2.1.3"}, "compute": {"cpu": 8}},
        {},
        severity_overrides=overrides,
    )
    assert {f.kind: f.severity for f in findings} == expected


def test_override_then_waiver(tmp_path: Path) -> None:
    (finding,) = diff(
        tmp_path,
        {**JUPYTER, "waivers": [waiver("package.missing")]},
        {},
        severity_overrides={"package.missing": "warning"},
    )
    assert (finding.severity, finding.waived) == ("warning", "notebook only, never imported")


@pytest.mark.parametrize(
    ("threshold", "blocks"), [("error", False), ("warning", True), ("info", True), ("never", False)]
)
def test_blocks_by_threshold(tmp_path: Path, threshold: str, blocks: bool) -> None:
    (finding,) = diff(tmp_path, {"compute": {"cpu": 8}}, {})
    assert finding.severity == "warning"
    assert finding.blocks(threshold) is blocks


def test_severity_for_and_unknown_kind() -> None:
    assert severity_for("package.version", {"package": "info"}) == "info"
    assert severity_for("package.version", {"package": "bogus"}) is None
    assert unknown_kind("package.version") is None
    assert unknown_kind("data") is None
    assert unknown_kind("pakage.version") == (
        "unknown finding kind 'pakage.version'; did you mean 'package.version'?"
    )


# ---- reality: a probe's installed packages against a spec --------------------


def reality(installed: dict[str, str], **fields: Any) -> Side:
    return Side(
        label="local",
        python=fields.pop("python", "3.11.7"),
        installed=installed,
        system_packages=fields.pop("system_packages", None),
        **fields,
    )


SPEC_VS_REALITY: list[tuple[str, dict[str, str], dict[str, Any], list[tuple[str, str, str]]]] = [
    ("all installed as pinned", {"numpy": "1.26.4", "pandas": "2.2.2", "pip": "24.0"}, {}, []),
    ("not installed", {"numpy": "1.26.4"}, {}, [("package.missing", "error", "packages.pandas")]),
    (
        "major drift",
        {"numpy": "2.1.3", "pandas": "2.2.2"},
        {},
        [("package.version", "error", "packages.numpy")],
    ),
    (
        "patch drift",
        {"numpy": "1.26.4", "pandas": "2.2.3"},
        {},
        [("package.version", "warning", "packages.pandas")],
    ),
    (
        "outside a range",
        {"numpy": "1.26.4", "pandas": "2.2.2", "scipy": "1.10.0"},
        {"packages": {"scipy": ">=1.13"}},
        [("package.conflict", "error", "packages.scipy")],
    ),
    (
        "inside a range",
        {"numpy": "1.26.4", "pandas": "2.2.2", "scipy": "1.13.1"},
        {"packages": {"scipy": ">=1.13"}},
        [],
    ),
    ("python patch is not in the spec", {"numpy": "1.26.4", "pandas": "2.2.2"}, {}, []),
    (
        "python minor",
        {"numpy": "1.26.4", "pandas": "2.2.2"},
        {"python": "3.12"},
        [("python.version", "error", "python")],
    ),
]


@pytest.mark.parametrize(
    ("installed", "spec", "expected"),
    [c[1:] for c in SPEC_VS_REALITY],
    ids=[c[0] for c in SPEC_VS_REALITY],
)
def test_spec_against_reality(
    tmp_path: Path,
    installed: dict[str, str],
    spec: dict[str, Any],
    expected: list[tuple[str, str, str]],
) -> None:
    prod = side(tmp_path, "prod", spec)
    assert triples(compare(prod, reality(installed), today=TODAY)) == expected
    # Either direction finds the same things, with the values on the right sides.
    flipped = compare(reality(installed), prod, today=TODAY)
    assert triples(flipped) == expected


def test_reality_values_are_oriented(tmp_path: Path) -> None:
    prod = side(tmp_path, "prod", {})
    (finding,) = compare(reality({"numpy": "2.1.3", "pandas": "2.2.2"}), prod, today=TODAY)
    assert (finding.left, finding.right) == ("2.1.3", "==1.26.4")
    assert finding.message == (
        "prod pins numpy 1.26.4 but local has 2.1.3 installed: a major "
        "version apart, so APIs and results can differ."
    )


def test_reality_against_the_lock(tmp_path: Path) -> None:
    prod = side(tmp_path, "prod", {"packages": {"pandas": ">=2"}})
    locked = Side(
        **{
            **prod.__dict__,
            "locked": {"numpy": "1.26.4", "pandas": "2.2.2", "tzdata": "2024.1", "six": "1.16.0"},
        }
    )
    installed = {
        "numpy": "1.26.4",
        "pandas": "2.2.3",
        "tzdata": "2024.2",
        "rich": "13.0",
        "pip": "24.0",
    }
    assert triples(compare(locked, reality(installed), today=TODAY)) == [
        ("package.version", "warning", "packages.pandas"),
        ("package.extra", "info", "packages.rich"),
        ("package.missing", "error", "packages.six"),
        ("package.version", "warning", "packages.tzdata"),
    ]


def test_system_packages_against_reality(tmp_path: Path) -> None:
    prod = side(tmp_path, "prod", {"system_packages": ["libgomp1", "curl=7.88.1-10"]})
    real = reality(
        {"numpy": "1.26.4", "pandas": "2.2.2"},
        system_packages=("libgomp1=12.2.0-14", "curl=7.88.1-11", "bash=5.2"),
    )
    assert triples(compare(prod, real, today=TODAY)) == [
        ("system_package.version", "warning", "system_packages.curl")
    ]
    bare = reality({"numpy": "1.26.4", "pandas": "2.2.2"}, system_packages=("bash=5.2",))
    assert triples(compare(prod, bare, today=TODAY)) == [
        ("system_package.missing", "error", "system_packages.curl"),
        ("system_package.missing", "error", "system_packages.libgomp1"),
    ]


def test_two_realities(tmp_path: Path) -> None:
    a = reality(
        {"numpy": "1.26.4", "rich": "13.0"},
        os="Debian GNU/Linux 12 (bookworm)",
        platform="linux/amd64",
    )
    b = Side(
        label="image:x",
        python="3.12.1",
        installed={"numpy": "1.26.4", "six": "1.16"},
        os="Ubuntu 24.04 LTS",
        platform="linux/arm64",
    )
    assert triples(compare(a, b, today=TODAY)) == [
        ("python.version", "error", "python"),
        ("image.platform", "error", "image.platform"),
        ("os.release", "warning", "os"),
        ("package.missing", "error", "packages.rich"),
        ("package.extra", "info", "packages.six"),
    ]


def test_reality_knows_nothing_of_data_or_compute(tmp_path: Path) -> None:
    dev = side(
        tmp_path,
        "dev",
        {"compute": {"engines": ["spark"], "gpu": 2}, "data": {"allowed": ["research"]}},
    )
    assert compare(dev, reality({"numpy": "1.26.4", "pandas": "2.2.2"}), today=TODAY) == []


# ---- the bundled example ----------------------------------------------------


def test_bundled_dev_and_prod_differ_in_every_area() -> None:
    root = Path(__file__).resolve().parents[2]
    dev = Side.from_environment(load_environment(str(root / "environments" / "dev.yaml")))
    prod = Side.from_environment(load_environment(str(root / "environments" / "prod.yaml")))
    findings = compare(dev, prod)
    assert {f.area for f in findings} == {
        "python",
        "os/image",
        "packages",
        "system packages",
        "data",
        "compute",
    }
    assert any(f.blocks("error") for f in findings)
    by_path = {f.path: f for f in findings}
    assert by_path["packages.jupyterlab"].waived is not None
    assert "packages.pyyaml" not in by_path and "packages.uvicorn" not in by_path
    grades = {
        p: by_path[p].severity
        for p in ("packages.numpy", "packages.scikit-learn", "packages.pandas")
    }
    assert grades == {
        "packages.numpy": "error",
        "packages.scikit-learn": "warning",
        "packages.pandas": "warning",
    }


def test_different_evaluation_data_says_what_each_side_measures_on(tmp_path: Path) -> None:
    [finding] = diff(tmp_path, _evaluating("holdout", SHA_A), _evaluating("holdout", SHA_B))
    assert finding.left == f"eval/holdout.csv sha256:{'a' * 12}, label label, internal"
    assert finding.right == f"eval/holdout.csv sha256:{'b' * 12}, label label, internal"
    assert finding.message == (
        "dev and prod measure versions on different holdout data: what dev measured "
        "is no evidence of what prod will measure."
    )
