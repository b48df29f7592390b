"""A small classifier of the two-moons toy problem, made with torch alone (the data
is generated, so nothing is downloaded in training or in any image)."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

MODEL_FILE = Path(__file__).resolve().parent / "model.pt"


def moons(n: int, *, seed: int, noise: float = 0.15) -> tuple[torch.Tensor, torch.Tensor]:
    """n points of two interleaved half circles, labelled 0 and 1."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=gen)
    angle = torch.rand(n, generator=gen) * math.pi
    upper = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    lower = torch.stack([1 - torch.cos(angle), 0.5 - torch.sin(angle)], dim=1)
    points = torch.where(labels[:, None] == 0, upper, lower)
    return points + noise * torch.randn(n, 2, generator=gen), labels


def network() -> nn.Module:
    return nn.Sequential(
        nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2)
    )


def load(path: Path = MODEL_FILE) -> nn.Module:
    """The trained network on the CPU, whatever device it was trained on.

    A state_dict saved on a GPU holds CUDA tensors; without map_location, loading
    it on a machine without CUDA fails ("Attempting to deserialize object on a
    CUDA device but torch.cuda.is_available() is False")."""
    net = network()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net.eval()


def predict(net: nn.Module, points: list[list[float]]) -> list[int]:
    with torch.no_grad():
        return net(torch.tensor(points, dtype=torch.float32)).argmax(dim=1).tolist()
