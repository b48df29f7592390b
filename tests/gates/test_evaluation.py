"""The evaluate gate's pure parts: reading a labelled set, turning answers into
predictions, choosing scikit-learn's metric for each name, and the verdict."""

from __future__ import annotations

import builtins
import hashlib
from typing import Any

import pytest
from sklearn import metrics as sk

from envctl.errors import InputError
from envctl.gates import answers, checks, evaluation
from envctl.spec.model import validated
from envctl.spec.rules import EVALUATION_METRICS
from envctl.spec.types import EvaluateGate, EvaluationSet

CSV = b"a,b,y\n1,2.5,1\n3,4,0\n5,6,1\n7,8,0\n"


def held(file: str = "eval.csv", **extra: Any) -> EvaluationSet:
    return EvaluationSet(file=file, classification="internal", label="y", **extra)


def gate(**extra: Any) -> EvaluateGate:
    return validated(EvaluateGate, {"data": "hold", "require": {"accuracy": ">= 0.9"}} | extra)


def test_labelled_set_keeps_the_labels_out_of_the_inputs() -> None:
    data = evaluation.labelled_set("hold", held(), CSV)
    assert data.inputs == ([1, 2.5], [3, 4], [5, 6], [7, 8])
    assert data.labels == (1, 0, 1, 0)
    assert data.evidence() == {
        "data": "hold",
        "file": "eval.csv",
        "sha256": hashlib.sha256(CSV).hexdigest(),
        "rows": 4,
    }


def test_labelled_set_jsonl_sends_each_object_without_its_label() -> None:
    raw = b'{"x": 1, "y": "yes"}\n\n{"x": 2, "y": "no"}\n'
    data = evaluation.labelled_set("hold", held("eval.jsonl"), raw)
    assert data.inputs == ({"x": 1}, {"x": 2})
    assert data.labels == ("yes", "no")


def test_labelled_set_pinned_hash_refuses_other_content() -> None:
    pinned = held(sha256=hashlib.sha256(CSV).hexdigest())
    assert len(evaluation.labelled_set("hold", pinned, CSV)) == 4
    with pytest.raises(InputError, match=r"eval.csv has sha256 [0-9a-f]{64}, but the spec pins"):
        evaluation.labelled_set("hold", pinned, CSV.replace(b"7,8,0", b"7,8,1"))


@pytest.mark.parametrize(
    ("file", "raw", "message"),
    [
        (
            "eval.csv",
            None,
            r"^evaluation set hold: eval\.csv does not exist in the project "
            r"\(data\.evaluation\.hold\.file is relative to the project's root\): "
            "add the file there or correct the path$",
        ),
        (
            "eval.csv",
            b"a,b\n1,2\n",
            r"^evaluation set eval\.csv has no column 'y' \(the set's label:\); its header names "
            "a, b: set label: to the column that holds the labels$",
        ),
        ("eval.csv", b"a,y\n1\n", r"eval.csv:2: 1 values, the header names 2"),
        ("eval.csv", b"a,y\n", "has no rows"),
        ("eval.txt", b"a,y\n1,0\n", "write it as .csv or .jsonl"),
        ("eval.jsonl", b'{"x": 1}\n', "eval.jsonl:1: a JSON object with the label 'y'"),
        ("eval.jsonl", b"[1,\n", "eval.jsonl:1: not a JSON object"),
    ],
)
def test_labelled_set_refuses_what_it_cannot_read(
    file: str, raw: bytes | None, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        evaluation.labelled_set("hold", held(file), raw)


def test_a_host_file_missing_on_the_engine_s_host_is_named_as_such() -> None:
    # Not "host:/srv/e.csv does not exist in the project": it was never in it.
    on_host = EvaluationSet(host_file="/srv/e.csv", classification="internal", label="y")
    with pytest.raises(InputError) as raised:
        evaluation.labelled_set("hold", on_host, None)
    assert str(raised.value) == (
        "evaluation set hold: /srv/e.csv is not a file on the engine's host "
        "(data.evaluation.hold.host_file): put it on the host of the engine the stage's "
        "gates run on, or correct the path"
    )


@pytest.mark.parametrize("name", EVALUATION_METRICS)
def test_compute_is_scikit_learns_function(name: str) -> None:
    labels = (1, 0, 1, 1, 0, 0, 1, 0)
    predicted = (1, 0, 0, 1, 0, 1, 1, 0)
    scores = (0.9, 0.2, 0.4, 0.8, 0.3, 0.6, 0.7, 0.1)
    got = evaluation.Predictions(predicted, scores)
    expected = {
        "accuracy": sk.accuracy_score(labels, predicted),
        "balanced_accuracy": sk.balanced_accuracy_score(labels, predicted),
        "precision": sk.precision_score(labels, predicted),
        "recall": sk.recall_score(labels, predicted),
        "f1": sk.f1_score(labels, predicted),
        "f1_macro": sk.f1_score(labels, predicted, average="macro"),
        "roc_auc": sk.roc_auc_score(labels, scores),
        "log_loss": sk.log_loss(labels, scores),
        "mae": sk.mean_absolute_error(labels, predicted),
        "mse": sk.mean_squared_error(labels, predicted),
        "rmse": sk.root_mean_squared_error(labels, predicted),
        "r2": sk.r2_score(labels, predicted),
    }
    assert evaluation.compute([name], labels, got, positive=1) == {name: expected[name]}


def test_compute_text_labels_agree_with_numeric_answers() -> None:
    got = evaluation.Predictions((1, 0, 1.0), None)
    assert evaluation.compute(["accuracy"], ("1", "0", "0"), got, positive=1) == {
        "accuracy": pytest.approx(2 / 3)
    }


def test_compute_positive_class_decides_precision() -> None:
    labels, predicted = ("yes", "no", "no"), evaluation.Predictions(("yes", "yes", "no"), None)
    assert evaluation.compute(["precision"], labels, predicted, positive="yes") == {
        "precision": 0.5
    }
    assert evaluation.compute(["precision"], labels, predicted, positive="no") == {"precision": 1.0}


def test_missing_scikit_learn_is_one_line_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = builtins.__import__

    def no_sklearn(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(InputError) as caught:
        evaluation.sklearn_metrics()
    assert str(caught.value) == (
        "the evaluate gate computes its metrics with scikit-learn, which is not "
        "installed here: pip install 'envctl[evaluate]'"
    )
    assert caught.value.exit_code == 3  # could not check: never a pass


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ({"answers": [{"predictions": [1, 0]}], "error": ""}, "1 answers to 2 requests"),
        ({"answers": [{"p": [1, 0, 1]}, {"p": [0]}], "error": ""}, "answer 1 has no list"),
        (
            {"answers": [{"predictions": [1, 0]}, {"predictions": [0]}], "error": ""},
            "answer 1 has 2 predictions for 3 inputs",
        ),
        ({"answers": [], "error": "POST /predict answered 500"}, "POST /predict answered 500"),
    ],
)
def test_measured_answers_that_break_the_contract_fail(reply: dict[str, Any], message: str) -> None:
    data = evaluation.labelled_set("hold", held(), CSV)
    result = answers.measured(gate(batch=3), data, reply, None)
    assert result.status == "failed"
    assert message in result.summary
    assert result.evidence["sha256"] == data.sha256


def test_measured_refuses_a_claim_its_answers_do_not_earn() -> None:
    data = evaluation.labelled_set("hold", held(), CSV)
    reply = {"answers": [{"predictions": [1, 0, 0, 0]}], "error": ""}
    result = answers.measured(
        gate(claims="metrics.json"), data, reply, None, claimed={"accuracy": 0.99}
    )
    assert result.status == "failed"
    assert result.summary == (
        "measured on hold (4 rows): accuracy 0.75 is not >= 0.9; "
        "metrics.json claims accuracy 0.99, measured 0.75"
    )
    row = result.evidence["metrics"][0]
    assert (row["value"], row["claimed"], result.evidence["basis"]) == (0.75, 0.99, "measured")


def test_measured_baseline_no_worse_than_the_champions_measured_value() -> None:
    data = evaluation.labelled_set("hold", held(), CSV)
    reply = {"answers": [{"predictions": [1, 0, 1, 1]}], "error": ""}
    spec = gate(baseline="no_worse", require={"accuracy": ">= 0.5"})
    champion = checks.Baseline({"accuracy": 1.0}, "v1.0.0", "record")
    result = answers.measured(spec, data, reply, champion)
    assert result.summary.endswith("accuracy 0.75 is worse than 1 (v1.0.0, now in the stage)")
    passed = answers.measured(spec, data, reply, checks.Baseline({"accuracy": 0.7}, "v1.0.0"))
    assert passed.status == "passed"
    assert passed.summary == "measured on hold (4 rows): accuracy 0.75 >= 0.5"
    again = evaluation.rejudged(spec, passed, champion)
    assert (again.status, again.evidence["baseline_version"]) == ("failed", "v1.0.0")


def test_recorded_measured_values_are_read_by_data_name() -> None:
    record = {
        "gates": [
            {"kind": "metrics", "evidence": {"file": "m.json", "metrics": [
                {"metric": "accuracy", "value": 0.99}]}},
            {"kind": "evaluate", "evidence": {"data": "hold", "metrics": [
                {"metric": "accuracy", "value": 0.91}]}},
        ]
    }  # fmt: skip
    assert checks.recorded_values(record, "hold", kind="evaluate", key="data") == {"accuracy": 0.91}
    assert checks.recorded_values(record, "other", kind="evaluate", key="data") == {}
    assert checks.recorded_values({"gates": ["junk", 3, None]}, "hold") == {}


def test_inputs_archive_holds_the_inputs_only() -> None:
    import io
    import json
    import tarfile

    data = evaluation.labelled_set("hold", held(), CSV)
    with tarfile.open(fileobj=io.BytesIO(answers.inputs_archive(data))) as tar:
        member = tar.extractfile(answers.INPUTS_NAME)
        assert member is not None
        assert json.loads(member.read()) == [[1, 2.5], [3, 4], [5, 6], [7, 8]]


def test_a_champion_measured_on_other_data_is_named_with_its_hash() -> None:
    data = evaluation.labelled_set("hold", held(), CSV)
    reply = {"answers": [{"predictions": [1, 0, 1, 0]}], "error": ""}
    spec = gate(baseline="no_worse")
    same = checks.Baseline({"accuracy": 0.9}, "v1.0.0", "record", data.sha256)
    other = checks.Baseline({"accuracy": 0.9}, "v1.0.0", "record", "f" * 64)
    assert "baseline_sha256" not in answers.measured(spec, data, reply, same).evidence
    assert answers.measured(spec, data, reply, other).evidence["baseline_sha256"] == "f" * 64


def test_recorded_sha256_is_the_named_set_s() -> None:
    record = {"gates": [
        "junk",
        {"kind": "evaluate", "evidence": {"data": "other", "sha256": "a" * 64}},
        {"kind": "evaluate", "evidence": {"data": "hold", "sha256": "b" * 64}},
    ]}  # fmt: skip
    assert evaluation.recorded_sha256(record, "hold") == "b" * 64
    assert evaluation.recorded_sha256(record, "none") is None
    assert evaluation.recorded_sha256(None, "hold") is None
