"""Threshold rules (`>= 0.90`, `<= baseline * 1.10`) and the names they may use:
plain functions, shared by the spec's model, its plain reader and the gates."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from envctl.spec.yamldoc import AtKeyError

# The metrics the evaluate gate computes, each with scikit-learn's own function
# (envctl.gates.evaluation); those marked scores need the model's score per input.
EVALUATION_METRICS: tuple[str, ...] = (
    "accuracy", "balanced_accuracy", "precision", "recall", "f1", "f1_macro",
    "roc_auc", "log_loss", "mae", "mse", "rmse", "r2",
)  # fmt: skip
SCORE_METRICS: tuple[str, ...] = ("roc_auc", "log_loss")
# What a load run measures, each a name an SLO rule may use.
LOAD_METRICS: tuple[str, ...] = (
    "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms", "error_rate", "achieved_rps",
)  # fmt: skip


def compares(require: dict[str, str], baseline: str | None) -> bool:
    """Whether threshold rules read the champion's values: a baseline, or a relative rule."""
    return baseline is not None or any(
        parse_rule(rule).relative is not None for rule in require.values()
    )


_OPS = (">=", "<=", "==", "!=", ">", "<")


@dataclass(frozen=True)
class MetricRule:
    """`>= 0.90` (absolute: `threshold`), or relative to the version now in the stage
    (the champion): `>= baseline + 0.005` (`relative` "+", `margin` 0.005),
    `<= baseline * 1.10` (`relative` "*", `margin` 1.1), `>= baseline - 0.01`."""

    op: str
    threshold: float | None = None
    relative: Literal["+", "*"] | None = None
    margin: float = 0.0

    def bound(self, baseline: float) -> float:
        return baseline * self.margin if self.relative == "*" else baseline + self.margin

    @property
    def text(self) -> str:
        if self.relative is None:
            return f"{self.op} {self.threshold:g}"
        if self.relative == "*":
            return f"{self.op} baseline * {self.margin:g}"
        if self.margin == 0:
            return f"{self.op} baseline"
        sign = "-" if self.margin < 0 else "+"
        return f"{self.op} baseline {sign} {abs(self.margin):g}"


_RELATIVE = re.compile(r"baseline(?:\s*(?P<sign>[-+*])\s*(?P<number>\S+))?")


def check_slo_rule(metric: str, written: str, rule: MetricRule) -> None:
    """Refuse SLO rules that parse but cannot mean what was written: a percent of a
    latency or a rate (it was silently read as a fraction), and an error rate above 1
    (`"<= 5"` allows every request to fail: a fraction, not a percent)."""
    if metric != "error_rate" and written.strip().endswith("%"):
        raise AtKeyError(
            f"{written!r}: only error_rate takes a percent; write {metric} in its own unit",
            (metric,),
        )
    if metric == "error_rate" and rule.threshold is not None and rule.threshold > 1:
        meant = (
            "at most 100%"
            if written.strip().endswith("%")
            else f'"{rule.op} {rule.threshold:g}%" or "{rule.op} {rule.threshold / 100:g}"'
        )
        raise AtKeyError(
            f"{written!r}: error_rate is a fraction of the requests (0 to 1): write {meant}",
            (metric,),
        )


def parse_rule(rule: str, metric: str = "metric") -> MetricRule:
    """`">= 0.90"`, `">= baseline + 0.005"`, `"<= baseline * 1.10"` -> a MetricRule."""
    text = str(rule).strip()
    for op in _OPS:
        if not text.startswith(op):
            continue
        rest = text[len(op) :].strip()
        match = _RELATIVE.fullmatch(rest)
        try:
            number = float(match["number"] or 0) if match else float(rest)
        except ValueError:
            break
        if not math.isfinite(number):
            break
        if match is None:
            return MetricRule(op, threshold=number)
        if match["sign"] == "*":
            if number <= 0:
                raise ValueError(f"{metric}: {rule!r}: a factor of the baseline is above 0")
            return MetricRule(op, relative="*", margin=number)
        return MetricRule(op, relative="+", margin=-number if match["sign"] == "-" else number)
    raise ValueError(
        f'{metric}: {rule!r} is not a threshold like ">= 0.90", ">= baseline + 0.005" '
        'or "<= baseline * 1.10"'
    )
