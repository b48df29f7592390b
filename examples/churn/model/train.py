"""Train the churn example's classifier; write model.joblib and metrics.json beside this file.

The data is scikit-learn's bundled Wisconsin breast cancer table (569 rows,
30 numeric features, a binary target), standing in for a churn table: it ships
inside scikit-learn, so training needs no download and no network. The model
is called "churn" because that is the kind of binary classifier it plays; the
features and labels are the dataset's own.

    python model/train.py --version v1.0.0            # the committed model
    python model/train.py --version v1.1.0 --degrade  # one the metrics gate blocks
    python model/train.py --version v0.9.0 --regularization 0.1   # a weaker one (retrain.sh)
    python model/train.py --holdout-out evaluation/holdout.csv    # staging's and prod's exam

The held-out split is never trained on. metrics.json is this script's own
measure of it: a claim. Staging and prod measure each version themselves on
the same rows, committed as evaluation/holdout.csv outside the model's folder
(so no image holds its labels), with envctl's evaluate gate.

Deterministic: a fixed split and solver, so the same versions of numpy, scipy
and scikit-learn give the same model and the same metrics.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
MODEL_FILE = HERE / "model.joblib"
METRICS_FILE = HERE / "metrics.json"
SEED = 42
TEST_SIZE = 0.25

# The --degrade model keeps only the texture and regularity measurements (what a
# hypothetical cheaper real-time feed provides) and drops every size and shape
# feature. It still looks respectable (accuracy about 0.87, f1 about 0.90), and
# still passes the model's own tests, but its accuracy is under prod's 0.90:
# v1.1.0 is trained this way so that staging's metrics gate rightly blocks it.
DEGRADED_FAMILIES = ("texture", "smoothness", "symmetry", "fractal dimension")


def feature_names() -> list[str]:
    return [str(name) for name in load_breast_cancer().feature_names]


def held_out_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, X_test, y_train, y_test): the one split training and tests share."""
    data = load_breast_cancer()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=TEST_SIZE, stratify=data.target, random_state=SEED
    )
    return x_train, x_test, y_train, y_test


def write_holdout(path: Path) -> None:
    """The held-out split as CSV: the 30 features in the API's order, then `label`."""
    _, x_test, _, y_test = held_out_split()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        rows = csv.writer(out, lineterminator="\n")
        rows.writerow([*feature_names(), "label"])
        for features, label in zip(x_test, y_test, strict=True):
            rows.writerow([*(repr(float(v)) for v in features), int(label)])


def build_pipeline(*, degrade: bool, regularization: float = 1.0) -> Pipeline:
    """Scale, then logistic regression (`regularization` is its C: smaller is
    stronger); the input is always all 30 features, so every version serves the
    same API."""
    names = feature_names()
    keep = [
        i
        for i, name in enumerate(names)
        if not degrade or name.split(" ", 1)[1] in DEGRADED_FAMILIES
    ]
    return Pipeline(
        [
            ("features", ColumnTransformer([("keep", "passthrough", keep)])),
            ("scale", StandardScaler()),
            (
                "classify",
                LogisticRegression(C=regularization, max_iter=1000, random_state=SEED),
            ),
        ]
    )


def evaluate(model: Pipeline, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    predicted = model.predict(x)
    scores = model.predict_proba(x)[:, 1]
    return {
        "accuracy": round(float(accuracy_score(y, predicted)), 4),
        "f1": round(float(f1_score(y, predicted)), 4),
        "roc_auc": round(float(roc_auc_score(y, scores)), 4),
    }


def train(
    *, version: str, degrade: bool = False, regularization: float = 1.0
) -> tuple[dict[str, Any], dict[str, float]]:
    """The model bundle (what the API loads) and its held-out metrics."""
    x_train, x_test, y_train, y_test = held_out_split()
    model = build_pipeline(degrade=degrade, regularization=regularization)
    model.fit(x_train, y_train)
    bundle = {
        "model": model,
        "version": version,
        "features": feature_names(),
        "classes": [str(c) for c in load_breast_cancer().target_names],
        "sklearn_version": sklearn.__version__,
    }
    return bundle, evaluate(model, x_test, y_test)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", help="Model version, e.g. v1.0.0 (required to train).")
    parser.add_argument(
        "--degrade",
        action="store_true",
        help="Train on texture/regularity features only: a deliberately worse model.",
    )
    parser.add_argument(
        "--regularization",
        type=float,
        default=1.0,
        help="Inverse regularization strength C of the logistic regression (default 1.0; "
        "0.1 gives a weaker model, accuracy about 0.98).",
    )
    parser.add_argument("--model-out", type=Path, default=MODEL_FILE)
    parser.add_argument("--metrics-out", type=Path, default=METRICS_FILE)
    parser.add_argument(
        "--holdout-out",
        type=Path,
        help="Write the held-out split (features and label) as CSV here, and train nothing.",
    )
    args = parser.parse_args(argv)
    if args.holdout_out is not None:
        write_holdout(args.holdout_out)
        return 0
    if args.version is None:
        parser.error("--version is required to train")
    bundle, metrics = train(
        version=args.version, degrade=args.degrade, regularization=args.regularization
    )
    for out in (args.model_out, args.metrics_out):
        out.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(bundle, args.model_out, compress=3)
    args.metrics_out.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    print(f"{args.version}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
