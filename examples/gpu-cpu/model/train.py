"""Train the moons classifier on the GPU when there is one (dev), else on the CPU,
and write model.pt (a state_dict) and metrics.json (held-out accuracy).

    python train.py [--epochs 300]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from net import MODEL_FILE, moons, network


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=300)
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    x, y = (t.to(device) for t in moons(2000, seed=1))
    net = network().to(device)
    optimiser = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(args.epochs):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        optimiser.step()
    test_x, test_y = (t.to(device) for t in moons(500, seed=2))
    with torch.no_grad():
        accuracy = (net(test_x).argmax(dim=1) == test_y).float().mean().item()
    # Saved as trained: on dev's GPU these are CUDA tensors (net.load maps them).
    torch.save(net.state_dict(), MODEL_FILE)
    metrics = {"accuracy": round(accuracy, 4), "device": device}
    Path(MODEL_FILE.with_name("metrics.json")).write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()
