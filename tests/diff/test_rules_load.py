"""The service-level rules: the stages' load gates compared (staging against prod)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from envctl.diff import KINDS, Side, compare
from tests.diff.test_comparison import side

PROD_LOAD = {
    "rate": "50/s",
    "duration": "30s",
    "slo": {"p95_ms": "<= 100", "p99_ms": ["<= 250", "<= baseline * 1.2"], "error_rate": "<= 0.1%"},
}


def _gates(**load: Any) -> dict[str, Any]:
    return {"gates": [{"tests": {}}, {"load": {**PROD_LOAD, **load}}]}


def _diff(tmp_path: Path, left: dict[str, Any], right: dict[str, Any]) -> list[Any]:
    return compare(side(tmp_path, "staging", left), side(tmp_path, "prod", right))


CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str, str | None, str | None]]]] = [
    ("the same load", _gates(), []),
    (
        "a stricter staging",
        _gates(
            rate="60/s",
            slo={
                "p95_ms": "<= 80",
                "p99_ms": "<= 200",
                "error_rate": "<= 0",
                "achieved_rps": ">= 45",
            },
        ),
        [],
    ),
    (
        "a lower rate",
        _gates(rate="10/s"),
        [("load.rate", "warning", "gates.load.rate", "10/s", "50/s")],
    ),
    (
        "a shorter run",
        _gates(duration="5s"),
        [("load.duration", "warning", "gates.load.duration", "5s", "30s")],
    ),
    (
        "a looser p95 and no error bound",
        _gates(slo={"p95_ms": "<= 200", "p99_ms": "<= 250"}),
        [
            ("load.slo", "warning", "gates.load.slo.error_rate", None, "0.001"),
            ("load.slo", "warning", "gates.load.slo.p95_ms", "200", "100"),
        ],
    ),
    (
        "a gated stage without prod's load gate",
        {"gates": [{"tests": {}}]},
        [("load.missing", "warning", "gates.load", None, None)],
    ),
    ("a stage that gates nothing (dev)", {}, []),
    (
        "another path",
        _gates(path="/other"),
        [("load.missing", "warning", "gates.load", None, None)],
    ),
]


@pytest.mark.parametrize(("left", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_staging_loading_less_than_prod_is_a_warning(
    tmp_path: Path, left: dict[str, Any], expected: list[tuple[str, ...]]
) -> None:
    findings = _diff(tmp_path, left, _gates())

    assert [(f.kind, f.severity, f.path, f.left, f.right) for f in findings] == expected


def test_the_finding_says_both_rates_and_points_at_both_files(tmp_path: Path) -> None:
    (finding,) = _diff(tmp_path, _gates(rate="10/s"), _gates())

    assert finding.message == (
        "staging loads /predict at 10/s but prod at 50/s: a version that holds "
        "staging's rate may not hold prod's."
    )
    assert finding.area == "service level"
    assert finding.left_pos is not None and finding.left_pos[0].endswith("staging.yaml")
    assert finding.right_pos is not None and finding.right_pos[0].endswith("prod.yaml")


def test_more_load_in_the_source_is_no_finding_in_either_direction_s_favour(
    tmp_path: Path,
) -> None:
    """prod asking less than staging is not staging failing to mirror prod."""
    assert _diff(tmp_path, _gates(), _gates(rate="10/s", duration="5s")) == []


def test_a_probed_image_has_no_gates_to_compare(tmp_path: Path) -> None:
    spec = side(tmp_path, "prod", _gates())
    reality = Side(label="image", installed={})

    assert [f for f in compare(reality, spec) if f.kind.startswith("load.")] == []


def test_every_load_kind_is_covered() -> None:
    covered = {kind for case in CASES for kind, *_ in case[2]}

    assert covered == {k for k in KINDS if k.startswith("load.")}
