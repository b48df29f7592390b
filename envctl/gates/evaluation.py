"""The evaluate gate's pure parts: the labelled evaluation set, the metrics
computed from the model's answers, and the verdict.

The labels stay here, on the host: only the inputs go to the model (`answers`).
Every metric is scikit-learn's own function, imported when a gate computes one
(`pip install 'envctl[evaluate]'`): everyday commands never load it, and envctl
writes no formula of its own.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from envctl.errors import InputError
from envctl.gates import checks
from envctl.registry.results import FAILED, PASSED, GateResult
from envctl.spec.rules import SCORE_METRICS
from envctl.spec.types import EvaluateGate, EvaluationSet
from envctl.vocabulary import MEASURED

Value = float | int | str  # one cell of a CSV row, or a label


@dataclass(frozen=True)
class LabelledSet:
    """An evaluation set as read: inputs for the model, labels kept from it."""

    name: str
    file: str
    sha256: str
    inputs: tuple[Any, ...]  # CSV: a list of values per row; JSON Lines: an object per line
    labels: tuple[Value, ...]

    def evidence(self) -> dict[str, Any]:
        return {"data": self.name, "file": self.file, "sha256": self.sha256, "rows": len(self)}

    def __len__(self) -> int:
        return len(self.labels)


def _missing(name: str, held: EvaluationSet) -> str:
    if held.host_file is not None:
        return (
            f"evaluation set {name}: {held.host_file} is not a file on the engine's host "
            f"(data.evaluation.{name}.host_file): put it on the host of the engine the "
            "stage's gates run on, or correct the path"
        )
    return (
        f"evaluation set {name}: {held.where} does not exist in the project "
        f"(data.evaluation.{name}.file is relative to the project's root): "
        "add the file there or correct the path"
    )


def labelled_set(name: str, held: EvaluationSet, raw: bytes | None) -> LabelledSet:
    """`raw` (the file's bytes) read as `held` declares it; its hash checked when pinned."""
    if raw is None:
        raise InputError(_missing(name, held))
    digest = hashlib.sha256(raw).hexdigest()
    if held.sha256 is not None and digest != held.sha256:
        raise InputError(
            f"evaluation set {name}: {held.where} has sha256 {digest}, but the spec pins "
            f"{held.sha256}; restore the file or pin its new hash"
        )
    reader = _jsonl_rows if held.where.endswith((".jsonl", ".ndjson")) else _csv_rows
    inputs, labels = reader(raw, held.where, held.label)
    if not labels:
        raise InputError(f"evaluation set {name}: {held.where} has no rows")
    return LabelledSet(name, held.where, digest, tuple(inputs), tuple(labels))


def _csv_rows(raw: bytes, source: str, label: str) -> tuple[list[Any], list[Value]]:
    if not source.endswith(".csv"):
        raise InputError(f"evaluation set {source}: write it as .csv or .jsonl")
    try:
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"evaluation set {source} is not a UTF-8 CSV file: {exc}") from None
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    if label not in header:
        columns = ", ".join(header) or "none"
        raise InputError(
            f"evaluation set {source} has no column {label!r} (the set's label:); its header "
            f"names {columns}: set label: to the column that holds the labels"
        )
    at = header.index(label)
    inputs, labels = [], []
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise InputError(f"{source}:{line}: {len(row)} values, the header names {len(header)}")
        labels.append(_value(row[at]))
        inputs.append([_value(cell) for i, cell in enumerate(row) if i != at])
    return inputs, labels


def _jsonl_rows(raw: bytes, source: str, label: str) -> tuple[list[Any], list[Value]]:
    inputs, labels = [], []
    for line, text in enumerate(raw.decode("utf-8", "replace").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except (ValueError, RecursionError):
            raise InputError(f"{source}:{line}: not a JSON object") from None
        if not isinstance(row, dict) or label not in row:
            raise InputError(f"{source}:{line}: a JSON object with the label {label!r} expected")
        labels.append(_label(row.pop(label), f"{source}:{line}"))
        inputs.append(row)
    return inputs, labels


def _value(cell: str) -> Value:
    """A CSV cell as the number it spells (an integral one as an int), else the text."""
    try:
        number = float(cell)
    except ValueError:
        return cell
    if not math.isfinite(number):
        return cell
    return int(number) if number.is_integer() and "." not in cell and "e" not in cell else number


def _label(raw: Any, where: str) -> Value:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise InputError(f"{where}: a label is a number or a string")
    return raw


# ---- answers -> predictions ----------------------------------------------------------


@dataclass(frozen=True)
class Predictions:
    values: tuple[Value, ...]
    scores: tuple[float, ...] | None


def predictions(gate: EvaluateGate, answers: Sequence[Any], sizes: Sequence[int]) -> Predictions:
    """One prediction (and score) per input from the answers to each batch, whose
    sizes were `sizes`; an answer that does not keep the contract is refused (ValueError)."""
    if len(answers) != len(sizes):
        raise ValueError(f"{len(answers)} answers to {len(sizes)} requests")
    values: list[Value] = []
    scores: list[float] = []
    for number, (answer, size) in enumerate(zip(answers, sizes, strict=True), start=1):
        got = _column(answer, gate.predictions, size, number)
        values.extend(_label(v, f"answer {number}") for v in got)
        if gate.scores is not None:
            scores.extend(_score(v, number) for v in _column(answer, gate.scores, size, number))
    return Predictions(tuple(values), tuple(scores) if gate.scores is not None else None)


def _column(answer: Any, key: str, size: int, number: int) -> list[Any]:
    got = answer.get(key) if isinstance(answer, dict) else None
    if not isinstance(got, list):
        raise ValueError(f"answer {number} has no list {key!r}")
    if len(got) != size:
        raise ValueError(f"answer {number} has {len(got)} {key} for {size} inputs")
    return got


def _score(raw: Any, number: int) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise ValueError(f"answer {number}: a score is a finite number, not {raw!r}")
    return float(raw)


# ---- metrics (scikit-learn) ----------------------------------------------------------


def sklearn_metrics() -> Any:
    """scikit-learn's metrics module, or the one line that says what to install."""
    try:
        from sklearn import metrics
    except ImportError:
        raise InputError(
            "the evaluate gate computes its metrics with scikit-learn, which is not "
            "installed here: pip install 'envctl[evaluate]'"
        ) from None
    return metrics


def compute(
    names: Sequence[str],
    labels: Sequence[Value],
    got: Predictions,
    *,
    positive: Value,
) -> dict[str, float]:
    """Each named metric of the predictions against the labels, by scikit-learn
    (ValueError where it cannot compute one, e.g. f1 of three classes)."""
    metrics = sklearn_metrics()
    y_true, y_pred = _comparable(labels, got.values)
    pos = _text(positive) if any(isinstance(y, str) for y in y_true) else positive
    computed: dict[str, float] = {}
    for name in names:
        if name in SCORE_METRICS:
            assert got.scores is not None  # the spec requires scores: for these
            is_positive = [1 if y == pos else 0 for y in y_true]
            computed[name] = float(_SCORED[name](metrics)(is_positive, list(got.scores)))
        else:
            computed[name] = float(_LABELLED[name](metrics, pos)(y_true, y_pred))
    return computed


Metric = Callable[[list[Any], list[Any]], Any]

_LABELLED: Mapping[str, Callable[[Any, Value], Metric]] = {
    "accuracy": lambda m, _: m.accuracy_score,
    "balanced_accuracy": lambda m, _: m.balanced_accuracy_score,
    "precision": lambda m, p: lambda t, y: m.precision_score(t, y, pos_label=p, zero_division=0),
    "recall": lambda m, p: lambda t, y: m.recall_score(t, y, pos_label=p, zero_division=0),
    "f1": lambda m, p: lambda t, y: m.f1_score(t, y, pos_label=p, zero_division=0),
    "f1_macro": lambda m, _: lambda t, y: m.f1_score(t, y, average="macro", zero_division=0),
    "mae": lambda m, _: m.mean_absolute_error,
    "mse": lambda m, _: m.mean_squared_error,
    "rmse": lambda m, _: m.root_mean_squared_error,
    "r2": lambda m, _: m.r2_score,
}
_SCORED: Mapping[str, Callable[[Any], Metric]] = {
    "roc_auc": lambda m: m.roc_auc_score,
    "log_loss": lambda m: m.log_loss,
}


def _comparable(labels: Sequence[Value], values: Sequence[Value]) -> tuple[list[Any], list[Any]]:
    """Labels and predictions of one type: numbers stay numbers (1 == 1.0); where
    either side holds text, both sides are compared as text ("1" and 1 agree)."""
    if all(isinstance(v, (int, float)) for v in (*labels, *values)):
        return list(labels), list(values)
    return [_text(v) for v in labels], [_text(v) for v in values]


def _text(value: Value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---- verdict -------------------------------------------------------------------------


def verdict(
    gate: EvaluateGate,
    data: Mapping[str, Any],
    measured: Mapping[str, float],
    baseline: checks.Baseline | None,
    *,
    claimed: Mapping[str, Any] | None = None,
) -> GateResult:
    """The measured metrics against the gate's thresholds and the champion's
    recorded (measured) values, as the metrics gate judges claimed ones. `data` is
    the set's evidence (`LabelledSet.evidence`): name, file, sha256, rows."""
    rows, failures = checks.judge_metrics(
        gate.require,
        measured,
        baseline.values if baseline is not None and baseline.version is not None else None,
        no_worse=gate.baseline == "no_worse",
        source=str(data["file"]),
        baseline_version=baseline.version if baseline is not None else None,
    )
    for row in rows:
        claim = checks.finite_number(claimed.get(row["metric"])) if claimed is not None else None
        if claim is not None:
            row["claimed"] = claim
    evidence: dict[str, Any] = {"basis": MEASURED, **data, "metrics": rows}
    evidence["baseline_version"] = baseline.version if baseline is not None else None
    if baseline is not None and baseline.source is not None:
        evidence["baseline_source"] = baseline.source
    if baseline is not None and baseline.data_sha256 not in (None, data["sha256"]):
        # The champion was measured on another version of the set: say so, and
        # which, rather than let two numbers from two exams look comparable.
        evidence["baseline_sha256"] = baseline.data_sha256
    if gate.claims is not None:
        evidence["claims_file"] = gate.claims
    where = f"on {data['data']} ({data['rows']} rows)"
    if failures:
        notes = [_claim_note(r, gate.claims) for r in rows if not r["passed"]]
        why = "; ".join([*failures, *(n for n in notes if n)])
        return GateResult("evaluate", FAILED, f"measured {where}: {why}", evidence)
    shown = ", ".join(checks.shown(r) for r in rows)
    return GateResult("evaluate", PASSED, f"measured {where}: {shown}", evidence)


def _claim_note(row: Mapping[str, Any], file: str | None) -> str:
    claim = row.get("claimed")
    if claim is None or row.get("value") is None:
        return ""
    return f"{file or 'the model'} claims {row['metric']} {claim:g}, measured {row['value']:g}"


def rejudged(gate: EvaluateGate, result: GateResult, baseline: checks.Baseline) -> GateResult:
    """A passed evaluation judged again against another champion's recorded values
    (the ledger changed while it ran): the measured values are in its evidence."""
    rows = result.evidence.get("metrics") or []
    values = {r["metric"]: r["value"] for r in rows if r.get("value") is not None}
    claims = {r["metric"]: r["claimed"] for r in rows if r.get("claimed") is not None}
    data = {key: result.evidence[key] for key in ("data", "file", "sha256", "rows")}
    again = verdict(gate, data, values, baseline, claimed=claims or None)
    return GateResult(
        "evaluate", again.status, again.summary, {**result.evidence, **again.evidence}
    )


def recorded_sha256(record: Mapping[str, Any] | None, name: str) -> str | None:
    """The hash of set `name` as an assignment record's evaluate gate measured on it."""
    gates = record.get("gates") if record else None
    for gate in gates if isinstance(gates, list) else ():
        if not isinstance(gate, dict) or gate.get("kind") != "evaluate":
            continue
        evidence = gate.get("evidence")
        if isinstance(evidence, dict) and evidence.get("data") == name:
            sha256 = evidence.get("sha256")
            return sha256 if isinstance(sha256, str) else None
    return None
