"""The churn model as a web API.

    python -m uvicorn app:app --host 127.0.0.1 --port 8000   # in this folder

GET /health answers {"status": "ok", "model_version": "v1.2.0"} once the model is
loaded; POST /predict takes {"instances": [[30 numbers], ...]} (the features in
the order of `train.feature_names()`) and answers one prediction per instance.

Every answer carries an `X-Model-Version` header: the version of the model
served. That is envctl's contract for a served model (docs/continuous-training.md,
"What a served model reports"): `envctl check-live` reads it to know which version
it is judging, and waits (exit 5) while the service still runs another one.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel, Field

MODEL_FILE = Path(__file__).resolve().parent / "model.joblib"
MAX_INSTANCES = 1000


def load_bundle(path: Path = MODEL_FILE) -> dict[str, Any]:
    """The bundle train.py wrote: the fitted pipeline, its version and features."""
    bundle: dict[str, Any] = joblib.load(path)
    return bundle


BUNDLE = load_bundle()
N_FEATURES = len(BUNDLE["features"])

app = FastAPI(title="churn", version=BUNDLE["version"])
VERSION_HEADER = "X-Model-Version"


@app.middleware("http")
async def report_version(request: Request, call_next: Any) -> Response:
    """Every answer says which model version gave it (envctl check-live reads it)."""
    response: Response = await call_next(request)
    response.headers[VERSION_HEADER] = BUNDLE["version"]
    return response


class PredictRequest(BaseModel):
    instances: list[list[float]] = Field(min_length=1, max_length=MAX_INSTANCES)


class PredictResponse(BaseModel):
    predictions: list[int]
    probabilities: list[float]  # of class 1 ("benign" in the underlying dataset)
    model_version: str


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "model_version": BUNDLE["version"]}


@app.post("/predict")
def predict(request: PredictRequest) -> PredictResponse:
    for i, row in enumerate(request.instances):
        if len(row) != N_FEATURES:
            raise HTTPException(
                422, f"instances[{i}] has {len(row)} values; the model takes {N_FEATURES}"
            )
        if not all(math.isfinite(v) for v in row):
            raise HTTPException(422, f"instances[{i}] holds a value that is not a finite number")
    x = np.asarray(request.instances, dtype=float)
    model = BUNDLE["model"]
    return PredictResponse(
        predictions=[int(p) for p in model.predict(x)],
        probabilities=[round(float(p), 6) for p in model.predict_proba(x)[:, 1]],
        model_version=BUNDLE["version"],
    )
