"""The strict YAML reader: merge keys follow YAML's rules, duplicates stay errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from envctl.errors import SpecError
from envctl.spec import yamldoc
from envctl.spec.loading import load_environment

BASE = "base: &base {cpu: 2, memory: 8Gi}\nother: &other {cpu: 8, gpu: 1}\n"

# id, document, expected value of `prod`
MERGES: list[tuple[str, str, dict[str, Any]]] = [
    ("override-after", "prod:\n  <<: *base\n  cpu: 4\n", {"cpu": 4, "memory": "8Gi"}),
    ("override-before", "prod:\n  cpu: 4\n  <<: *base\n", {"cpu": 4, "memory": "8Gi"}),
    ("flow", "prod: {<<: *base, cpu: 4}\n", {"cpu": 4, "memory": "8Gi"}),
    ("first-source-wins", "prod:\n  <<: [*base, *other]\n", {"cpu": 2, "memory": "8Gi", "gpu": 1}),
    ("order-of-sources", "prod:\n  <<: [*other, *base]\n", {"cpu": 8, "memory": "8Gi", "gpu": 1}),
    (
        "explicit-beats-every-source",
        "prod:\n  <<: [*base, *other]\n  gpu: 0\n  cpu: 1\n",
        {"cpu": 1, "memory": "8Gi", "gpu": 0},
    ),
    ("two-merge-keys", "prod:\n  <<: *base\n  <<: *other\n", {"cpu": 2, "memory": "8Gi", "gpu": 1}),
]


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for _, t, e in MERGES], ids=[i for i, _, _ in MERGES]
)
def test_parse_merge_key_semantics(text: str, expected: dict[str, Any]) -> None:
    doc = yamldoc.parse(BASE + text)
    assert doc.problems == []
    assert doc.data["prod"] == expected


def test_parse_merge_keeps_pyyaml_key_order() -> None:
    doc = yamldoc.parse(BASE + "prod:\n  zone: a\n  <<: *base\n  cpu: 4\n")
    assert list(doc.data["prod"]) == ["cpu", "memory", "zone"]


def test_parse_positions_point_at_the_explicit_key_not_the_merged_one() -> None:
    doc = yamldoc.parse(BASE + "prod:\n  <<: *base\n  cpu: 4\n")
    assert doc.positions[("prod", "cpu")] == (5, 3)
    assert doc.positions[("prod", "memory")] == (1, 22)  # from the anchor


@pytest.mark.parametrize(
    ("text", "line", "first"),
    [
        ("prod:\n  <<: *base\n  cpu: 4\n  cpu: 5\n", 6, 5),
        ("prod:\n  cpu: 4\n  <<: *base\n  cpu: 5\n", 6, 4),
    ],
    ids=["after-merge", "around-merge"],
)
def test_parse_explicit_duplicate_is_still_an_error(text: str, line: int, first: int) -> None:
    doc = yamldoc.parse(BASE + text)
    assert [p.render("f.yaml") for p in doc.problems] == [
        f"f.yaml:{line}:3: prod.cpu: duplicate key 'cpu' (first defined on line {first}); keep one"
    ]


def test_load_environment_overrides_a_merged_key(tmp_path: Path) -> None:
    spec = tmp_path / "prod.yaml"
    spec.write_text(
        "name: prod\nversion: 1\nimage: {base: python:3.11-slim}\npython: '3.11'\n"
        "env:\n  <<: &shared {A: '1', B: '2'}\n  B: '3'\n"
    )
    assert load_environment(str(spec)).spec.env == {"A": "1", "B": "3"}


def test_load_environment_reports_a_bad_override_at_its_line(tmp_path: Path) -> None:
    spec = tmp_path / "prod.yaml"
    spec.write_text(
        "name: prod\nversion: 1\nimage: {base: python:3.11-slim}\npython: '3.11'\n"
        "compute:\n  <<: {cpu: 2}\n  cpu: lots\n"
    )
    with pytest.raises(SpecError) as info:
        load_environment(str(spec))
    assert info.value.message.startswith(f"{spec}:7:3: compute.cpu: 'lots' is not a number")
