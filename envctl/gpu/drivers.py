"""NVIDIA's driver floors per CUDA version, from the vendored table (`cuda_drivers.json`,
with its source and the date it was read), and the version arithmetic around them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

_VERSION = re.compile(r"^\d+(\.\d+)*$")


@dataclass(frozen=True)
class DriverFloor:
    """The least driver that runs CUDA `cuda`: the toolkit's own driver, or (for a
    CUDA version the table lacks) its major's minor-version-compatibility floor."""

    cuda: str
    version: str
    how: Literal["toolkit", "minor-compatibility"]

    @property
    def text(self) -> str:
        if self.how == "toolkit":
            return f"driver >= {self.version}"
        major = self.cuda.split(".", 1)[0]
        return f"driver >= {self.version} (CUDA {major}.x minor-version compatibility)"


@cache
def table() -> dict[str, Any]:
    from importlib import resources  # only when a floor is looked up: spec loading never needs it

    text = resources.files("envctl.gpu").joinpath("cuda_drivers.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def driver_for(cuda: str) -> DriverFloor | None:
    """The driver CUDA `cuda` ("12.4", or "12" when only the major is known) needs;
    None when the table knows neither the version nor its major."""
    data = table()
    if cuda in data["toolkit_driver"]:
        return DriverFloor(cuda, data["toolkit_driver"][cuda], "toolkit")
    major = cuda.split(".", 1)[0]
    if major in data["minor_version_compatibility"]:
        return DriverFloor(cuda, data["minor_version_compatibility"][major], "minor-compatibility")
    return None


def version_key(version: str) -> tuple[int, ...]:
    """`"535.104.05"` -> (535, 104, 5): driver, CUDA and capability versions compare
    numerically part by part."""
    if not _VERSION.match(version):
        raise ValueError(f"{version!r} is not a version like 535.104.05")
    return tuple(int(part) for part in version.split("."))


def at_least(have: str, need: str) -> bool:
    return version_key(have) >= version_key(need)


def floor(text: str, what: str) -> str:
    """`">=535.104"` or `"535.104"` -> `"535.104"`; ValueError for anything else
    (a stage declares the least it has, so only a floor is meaningful)."""
    value = str(text).strip().removeprefix(">=").strip()
    try:
        version_key(value)
    except ValueError:
        raise ValueError(f'{what}: {text!r} is not a floor like ">=535.104"') from None
    return value
