"""Where a spec's problems are reported: the key the user must fix, by file and line."""

from __future__ import annotations

import pytest

from envctl.errors import SpecError
from envctl.spec.loading import read_document
from envctl.spec.model import Spec
from envctl.spec.validation import validate

SPEC = """\
name: staging
version: 1
image:
  base: debian:12
python: "3.11"
data:
  allowed: [internal]
  evaluation:
    holdout: {file: evaluation/holdout.csv, classification: internal, label: y}
gates:
  - command: {run: ["true"]}
  - evaluate: {data: holdot, require: {accuracy: ">= 0.9"}}
"""


def test_an_evaluate_gate_naming_an_undeclared_set_is_reported_at_its_data_key() -> None:
    # A check across keys runs on the whole spec; its error still names the gate's line.
    with pytest.raises(SpecError) as raised:
        validate(Spec, read_document(SPEC.encode(), "staging.yaml"), "staging.yaml")

    assert raised.value.details == (
        "staging.yaml:12:16: gates[1].evaluate.data: 'holdot' is not a set under "
        "data.evaluation (holdout): name one of those, or declare it there",
    )


def test_an_unknown_slo_metric_is_reported_at_its_own_line_once_named() -> None:
    spec = SPEC.replace(
        '  - command: {run: ["true"]}\n',
        "  - load:\n      rate: 5/s\n      duration: 1s\n      slo:\n        p96_ms: '<= 100'\n",
    ).replace("holdot", "holdout")

    with pytest.raises(SpecError) as raised:
        validate(Spec, read_document(spec.encode(), "staging.yaml"), "staging.yaml")

    assert raised.value.details == (
        "staging.yaml:15:9: gates[0].load.slo.p96_ms: 'p96_ms' is not one of p50_ms, p90_ms, "
        "p95_ms, p99_ms, max_ms, mean_ms, error_rate, achieved_rps",
    )


def test_an_slo_rule_that_is_no_threshold_is_reported_at_its_metric_s_line() -> None:
    spec = SPEC.replace(
        '  - command: {run: ["true"]}\n',
        "  - load:\n      rate: 5/s\n      duration: 1s\n      slo:\n        p95_ms: '<== 100'\n",
    ).replace("holdot", "holdout")

    with pytest.raises(SpecError) as raised:
        validate(Spec, read_document(spec.encode(), "staging.yaml"), "staging.yaml")

    assert raised.value.details == (
        "staging.yaml:15:9: gates[0].load.slo.p95_ms: '<== 100' is not a threshold like "
        '">= 0.90", ">= baseline + 0.005" or "<= baseline * 1.10"',
    )
