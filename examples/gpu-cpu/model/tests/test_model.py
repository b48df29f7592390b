"""The model's own tests, run by each stage's tests gate inside its image."""

from __future__ import annotations

import json
from pathlib import Path

from net import load, moons, predict

HERE = Path(__file__).resolve().parent.parent


def test_the_model_loads_on_the_cpu_and_separates_the_moons() -> None:
    net = load()
    assert all(p.device.type == "cpu" for p in net.parameters())
    points, labels = moons(400, seed=3)
    accuracy = (
        sum(a == b for a, b in zip(predict(net, points.tolist()), labels.tolist(), strict=True))
        / 400
    )
    assert accuracy >= 0.95


def test_the_sample_request_is_answered() -> None:
    request = json.loads((HERE / "samples" / "request.json").read_text())
    assert len(predict(load(), request["instances"])) == len(request["instances"])
