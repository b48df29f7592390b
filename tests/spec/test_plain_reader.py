"""The plain reader (envctl.spec.plain) against the model (envctl.spec.model).

The invariant: for any document, the plain reader either steps aside (None) or
gives exactly the value the model's validation gives, converted; it never
accepts a document the model refuses. And `canonical()` of the plain value is
the model's own dump, key order included, so every fingerprint stays the same.
Hypothesis mutates real specs (every bundled one and a spec using every field)
one value at a time, with values that are near misses of valid ones.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from envctl.spec import plain, types
from envctl.spec.loading import deep_merge
from envctl.spec.model import Spec as ModelSpec
from envctl.spec.model import StagePolicy as ModelPolicy

ROOT = Path(__file__).resolve().parents[2]

EVERY_FIELD = {
    "name": "prod",
    "version": 3,
    "description": "every field the spec has",
    "image": {
        "base": "registry:5000/team/py@sha256:" + "a" * 64,
        "platform": "linux/arm64",
        "repository": "registry:5000/team/churn",
        "network": "apt",
    },
    "python": "3.11.9",
    "packages": {"NumPy": "==1.26.4", "scikit_learn[extra]": ">=1.4,<2", "torch": "*"},
    "indexes": [
        {"name": "internal", "url": "https://pypi.internal/simple", "explicit": True},
        {"name": "mirror", "url": "https://mirror.internal/simple", "default": True},
    ],
    "sources": {"Torch": {"index": "internal"}},
    "system_packages": ["libgomp1", "curl", "libgomp1"],
    "data": {
        "allowed": ["public", "internal"],
        "sources": ["s3://bucket/churn/*"],
        "evaluation": {
            "holdout": {"file": "data/holdout.csv", "classification": "internal"},
            "big": {
                "host_file": "/srv/data/big.jsonl",
                "label": "y",
                "classification": "public",
                "sha256": "sha256:" + "b" * 64,
            },
        },
    },
    "compute": {
        "cpu": "500m",
        "memory": "8Gi",
        "gpu": {
            "count": 1,
            "vendor": "nvidia",
            "driver": "535.104",
            "cuda": 12.2,
            "capability": ">=8.0",
        },
        "engines": ["spark"],
    },
    "env": {"OMP_NUM_THREADS": 4, "DEBUG": True, "NAME": "x"},
    "runner": "tcp://gpu-runner:2376/",
    "gates": [
        {"tests": {"paths": ["tests/model"], "packages": {"PyTest": "==8.0"}, "timeout": 30}},
        {
            "metrics": {
                "file": "metrics.json",
                "require": {"auc": ">= baseline - 0.01"},
                "baseline": "no_worse",
            }
        },
        {
            "evaluate": {
                "data": "holdout",
                "require": {"accuracy": ">= 0.9", "roc_auc": ">= baseline"},
                "scores": "probability",
                "positive": "yes",
                "claims": "metrics.json",
                "batch": 16,
                "baseline": "no_worse",
                "path": "/v1/predict",
                "inputs": "rows",
                "predictions": "labels",
                "timeout": 60,
                "requires": "warning",
            }
        },
        {
            "http": {
                "path": "/predict",
                "method": "GET",
                "request": "samples/request.json",
                "expect_status": 201,
                "expect_keys": ["p"],
                "timeout": 5,
            }
        },
        {"approvals": {"required": 2}},
        {"command": {"run": "python -m check --fast", "timeout": 9}},
        {
            "vulnerabilities": {
                "fail_on": "critical",
                "unknown": "medium",
                "database": "/srv/osv",
                "max_age": "2d",
                "waivers": [
                    {"id": "CVE-2024-1", "reason": "not reachable", "expires": date(2027, 1, 1)},
                    {"id": "GHSA-x", "package": "numpy", "reason": "fixed upstream"},
                ],
            }
        },
        {
            "load": {
                "path": "/v2/predict",
                "method": "POST",
                "request": "samples/request.json",
                "expect_status": 200,
                "rate": "3000/m",
                "duration": "1s",
                "ready_timeout": "2m",
                "requires": "off",
                "slo": {"p95_ms": ["<= 100", "<= baseline * 1.2"], "error_rate": "<= 0.1%"},
                "timeout": "1s",
                "connections": 64,
                "calibration_p99_ms": 50,
            }
        },
    ],
    "waivers": [{"kind": "package.version", "path": "packages.numpy", "reason": "known"}],
    "policy": {
        "soak": "24h",
        "auto": False,
        "timezone": "Europe/Berlin",
        "windows": [{"days": ["mon", "tue"], "hours": "09:00-17:00"}],
        "freeze": [
            {
                "from": datetime(2026, 12, 24, tzinfo=UTC),
                "until": datetime(2027, 1, 2, 6, 30, tzinfo=timezone(timedelta(hours=1))),
                "reason": "holidays",
            },
            {"from": datetime(2027, 3, 1), "until": datetime(2027, 3, 2, 0, 0, 1)},
        ],
        "live": {
            "url": "http://churn.internal:8000/",
            "metrics": {"path": "/m.json", "require": {"error_rate": "<= 0.02"}, "timeout": 3},
            "rollback": "auto",
        },
    },
}


def _merged(path: Path) -> dict[str, Any]:
    """A spec file's document with its `extends` chain merged, as loading merges it."""
    data = yaml.safe_load(path.read_text())
    parent = data.get("extends")
    if parent is None:
        return dict(data)
    base = _merged(path.parent / (parent if parent.endswith(".yaml") else f"{parent}.yaml"))
    return deep_merge({k: v for k, v in base.items() if k != "policy"}, data)


def _bundled() -> list[dict[str, Any]]:
    files = sorted(ROOT.glob("environments/*.yaml")) + sorted(
        ROOT.glob("examples/*/environments/*.yaml")
    )
    assert len(files) >= 8
    return [_merged(path) for path in files if not path.name.startswith("_")]


CORPUS = [*_bundled(), EVERY_FIELD]


def _model(data: Any) -> ModelSpec | None:
    try:
        return ModelSpec.model_validate(data)
    except ValidationError:
        return None


def _agree(data: Any) -> types.Spec | None:
    """The invariant, checked on `data`; the plain value when the reader took it."""
    fast = plain.read(data)
    model = _model(data)
    if model is None:
        assert fast is None, f"the plain reader accepted what the model refuses: {data!r}"
        return None
    if fast is None:
        return None
    assert fast == types.from_model(model)
    assert json.dumps(fast.canonical()) == json.dumps(model.canonical())
    assert fast.fingerprint() == model.fingerprint()
    if model.policy is not None:
        assert fast.policy is not None
        assert fast.policy.to_json(exclude_defaults=True) == model.policy.model_dump(
            mode="json", exclude_defaults=True, by_alias=True
        )
    return fast


@pytest.mark.parametrize(
    "data", CORPUS, ids=lambda d: f"{d['name']}-{len(json.dumps(d, default=str))}"
)
def test_every_bundled_spec_is_read_plainly_and_as_the_model_reads_it(data: dict[str, Any]) -> None:
    assert _agree(data) is not None, "the plain reader stepped aside on a valid spec"


def test_a_spec_with_every_field_is_read_plainly() -> None:
    spec = _agree(EVERY_FIELD)
    assert spec is not None
    assert spec.packages == {"numpy": "==1.26.4", "scikit-learn[extra]": "<2,>=1.4", "torch": "*"}
    assert spec.compute.cpu == 0.5
    assert spec.compute.gpu.cuda == "12.2"
    assert spec.env == {"OMP_NUM_THREADS": "4", "DEBUG": "true", "NAME": "x"}
    assert spec.gates[5].command is not None
    assert spec.gates[5].command.run == ["python", "-m", "check", "--fast"]


def test_the_model_s_converted_value_is_what_a_plain_read_gives() -> None:
    model = ModelPolicy.model_validate(EVERY_FIELD["policy"])
    spec = types.from_model(model)
    assert isinstance(spec, types.StagePolicy)
    assert spec.freeze[0].start == datetime(2026, 12, 24, tzinfo=UTC)


# ---- mutations -------------------------------------------------------------

NEAR_VALUES = [
        "", " ", "x", "prod", "Prod", "3.11", "3.1x", "3", "500m", "0.5", "8Gi", "8GB", "-1",
        "==1.0", "1.0", "*", ">= 0.9", ">= baseline", "<= 10%", "<= 0.1%", "<= 5", "none",
        "apt", "GET", "PUT", "auto", "manual", "linux/amd64", "windows/amd64", "12.2", ">=535",
        "535", "tests", "/predict", "predict", "../x", "a\nb", "24h", "1s", "50/s", "0/s",
        "09:00-17:00", "25:00-26:00", "UTC", "Mars/Base", "unix:///run/x.sock", "http://x:1",
        "python:3.11-slim", "no_worse", "error", "mon", "holdout", "public", "secret",
        "tcp://h:1", "sha256:" + "c" * 64, "libgomp1", "Bad_Pkg!", "ab", "abc", "1/m", "true",
        "1", "yes", "internal", "mirror", "numpy", "torch", "8.0", "roc_auc", "scores",
]  # fmt: skip
NEAR = st.sampled_from(NEAR_VALUES)
# Values one step from valid ones: a count where a flag goes, a float where a count does.
EDGE_VALUES = [
    0, 1, -1, 2, 3, 99, 100, 599, 600, 10_000, 10_001, 1.0, 0.5, 0.0, -0.5, float("inf"),
    True, False, None, [], {}, ["x"], {"x": 1}, date(2027, 1, 1), datetime(2027, 1, 1),
    datetime(2027, 1, 1, tzinfo=UTC),
]  # fmt: skip
EDGES = st.sampled_from(EDGE_VALUES)
SCALARS = st.one_of(
    EDGES,
    NEAR,
    st.integers(-3, 20_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(NEAR, inner, max_size=3)),
    max_leaves=4,
)


def _paths(data: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*here, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*here, index))
    return found


def _values_at_keys(key: Any) -> list[Any]:
    """Every value the corpus has under `key`: a mutation that is often valid."""
    out = []
    for doc in CORPUS:
        for path in _paths(doc):
            if path and path[-1] == key:
                value: Any = doc
                for part in path:
                    value = value[part]
                out.append(value)
    return out


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    changed = copy.deepcopy(data)
    parent = changed
    for part in path[:-1]:
        parent = parent[part]
    if value is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return changed


_DELETE = object()


@pytest.mark.parametrize("path", _paths(EVERY_FIELD)[1:], ids=lambda p: ".".join(map(str, p)))
def test_every_single_change_of_the_full_spec_is_read_as_the_model_reads_it(
    path: tuple[Any, ...],
) -> None:
    """Each value of the spec with every field, deleted or replaced by each value
    one step from a valid one: exhaustive, so no boundary is left to chance."""
    for value in [_DELETE, *EDGE_VALUES, *NEAR_VALUES]:
        _agree(_set(EVERY_FIELD, path, value))


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    # Half the time the spec with every field: most rules apply only there.
    data = copy.deepcopy(draw(st.one_of(st.just(EVERY_FIELD), st.sampled_from(CORPUS))))
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        if not path:
            continue
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        action = draw(st.sampled_from(["value", "borrow", "delete", "add"]))
        if action == "delete":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(NEAR)] = draw(VALUES)
        elif action == "borrow" and _values_at_keys(key):
            parent[key] = copy.deepcopy(draw(st.sampled_from(_values_at_keys(key))))
        else:
            parent[key] = draw(st.one_of(EDGES, NEAR, VALUES))
    return data


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_a_mutated_spec_is_read_as_the_model_reads_it_or_left_to_the_model(data: Any) -> None:
    _agree(data)
