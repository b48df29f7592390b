"""The GPU stack a lock needs, read statically from its pins: for each package with a
GPU build, the CUDA runtime (major.minor), cuDNN and compute capability it needs,
and the CUDA libraries the lock installs.

Evidence, most explicit first: a `+cuXYZ` / `+cpu` / `+rocmX.Y` local version, the
CUDA libraries a package depends on (`nvidia-*-cuNN`, unsuffixed `nvidia-cuda-*`
with `cuda-toolkit`), whose toolkit component versions (the CUDA runtime's,
NVRTC's) are the CUDA version, then the index the wheel came from (`…/whl/cu121`). What the
evidence does not say stays None ("unknown"): nothing is inferred from a
framework's version. A wheel's minimum compute capability is not in any lock
(it is in the compiled kernels), so it is unknown unless a local version says it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from envctl.gpu.drivers import DriverFloor, driver_for, version_key

Build = Literal["cuda", "cpu", "rocm"]

_LOCAL_CUDA = re.compile(r"^cu(?P<major>\d+)(?P<minor>\d)$")
_INDEX_BUILD = re.compile(r"/whl/(?:nightly/|test/)?(?P<build>cu\d+|cpu|rocm[\d.]+)(?:/|$)")
_CUDA_LIBRARY = re.compile(
    r"^nvidia-(cu[a-z]*|cuda-[a-z]+|nccl|nvjitlink|nvtx|nvshmem|npp|nvjpeg|nvcomp)(-cu(?P<major>\d+))?$"
)
# Toolkit components whose own version is the CUDA version (12.4.127 is CUDA 12.4).
_TOOLKIT_VERSIONED = ("nvidia-cuda-runtime", "cuda-toolkit", "nvidia-cuda-nvrtc")
_CUDNN = "nvidia-cudnn"


@dataclass(frozen=True)
class Pin:
    """One locked package: what envctl's lock says of it."""

    name: str  # canonical
    version: str
    required_by: tuple[str, ...] = ()  # canonical names; "-r FILE" for a direct requirement
    index: str | None = None


@dataclass(frozen=True)
class Need:
    """What one package's build needs of the GPU stack; None: unknown."""

    package: str
    version: str
    build: Build
    cuda: str | None  # "12.4"; "12" when only the major is known
    cudnn: str | None
    capability: str | None  # least compute capability, e.g. "8.0"
    evidence: str

    @property
    def driver(self) -> DriverFloor | None:
        return driver_for(self.cuda) if self.build == "cuda" and self.cuda else None

    @property
    def summary(self) -> str:
        if self.build != "cuda":
            return f"{self.package} {self.version}: {self.build} build ({self.evidence})"
        cuda = f"CUDA {self.cuda}" if self.cuda else "CUDA (version unknown)"
        driver = self.driver
        parts = [cuda, driver.text if driver else "driver unknown"]
        parts.append(f"cuDNN {self.cudnn}" if self.cudnn else "cuDNN unknown")
        cap = f">= {self.capability}" if self.capability else "unknown"
        parts.append(f"compute capability {cap}")
        return f"{self.package} {self.version}: {', '.join(parts)} ({self.evidence})"


@dataclass(frozen=True)
class Stack:
    """Every package of a lock with a GPU (or explicitly CPU) build, and the CUDA
    libraries the lock installs."""

    needs: tuple[Need, ...]
    libraries: tuple[Pin, ...]

    def need(self, package: str) -> Need | None:
        return next((n for n in self.needs if n.package == package), None)

    @property
    def gpu_needs(self) -> tuple[Need, ...]:
        return tuple(n for n in self.needs if n.build != "cpu")


def is_cuda_library(name: str) -> bool:
    return name == "cuda-toolkit" or bool(_CUDA_LIBRARY.match(name))


def read_stack(pins: Iterable[Pin]) -> Stack:
    """The GPU stack of a lock's pins (pure)."""
    pins = tuple(pins)
    libraries = {p.name: p for p in pins if is_cuda_library(p.name)}
    lock_cuda, lock_cudnn = _versions(libraries.values())
    needs = [
        need
        for pin in pins
        if pin.name not in libraries
        for need in [_need(pin, _libraries_of(pin, libraries), lock_cuda, lock_cudnn)]
        if need is not None
    ]
    needs += _unclaimed(pins, libraries, lock_cuda, lock_cudnn)
    return Stack(tuple(needs), tuple(sorted(libraries.values(), key=lambda p: p.name)))


def read_installed(distributions: Mapping[str, str]) -> Stack:
    """The stack of an interpreter's installed distributions (versions, no graph)."""
    return read_stack(Pin(name, version) for name, version in sorted(distributions.items()))


def _need(
    pin: Pin, deps: tuple[Pin, ...], lock_cuda: Mapping[str, str], lock_cudnn: Mapping[str, str]
) -> Need | None:
    local = pin.version.partition("+")[2]
    stated = _build_word(local)
    if stated is not None and stated[0] != "cuda":
        return Need(pin.name, pin.version, stated[0], None, None, None, f"local version +{local}")
    if stated is None and not deps:
        return None  # no GPU build that the lock can show
    dep_cuda, dep_cudnn = _versions(deps)
    majors = sorted({_major(d.name) for d in deps} - {None}, key=str)
    major = stated[1].split(".")[0] if stated else (majors[0] if majors else None)
    indexed = _index_cuda(pin)
    cuda: str | None
    if stated:
        cuda, evidence = stated[1], f"local version +{local}"
    elif cuda := _pick(dep_cuda, major):
        evidence = _dep_evidence(deps)
    elif indexed and (major is None or indexed.startswith(f"{major}.")):
        cuda, evidence = indexed, f"index {pin.index}"
    else:
        cuda = _pick(lock_cuda, major) or major
        evidence = _dep_evidence(deps) + (f"; the lock's CUDA runtime is {cuda}" if cuda else "")
    cudnn = _pick(dep_cudnn, major) or _pick(lock_cudnn, major)
    return Need(pin.name, pin.version, "cuda", cuda, cudnn, None, evidence)


def _index_cuda(pin: Pin) -> str | None:
    """The CUDA version a build index names (`…/whl/cu121` -> "12.1"). It is read only
    for a package that requires CUDA libraries: such an index also serves packages
    (filelock, sympy) that have no GPU build at all."""
    match = _INDEX_BUILD.search(pin.index or "")
    found = _build_word(match["build"]) if match else None
    return found[1] if found and found[0] == "cuda" else None


def _build_word(word: str) -> tuple[Build, str] | None:
    if word == "cpu":
        return "cpu", ""
    if word.startswith("rocm"):
        return "rocm", ""
    match = _LOCAL_CUDA.match(word)
    if match:
        return "cuda", f"{int(match['major'])}.{match['minor']}"
    return None


def _libraries_of(pin: Pin, libraries: Mapping[str, Pin]) -> tuple[Pin, ...]:
    return tuple(lib for lib in libraries.values() if pin.name in lib.required_by)


def _versions(libs: Iterable[Pin]) -> tuple[dict[str, str], dict[str, str]]:
    """CUDA major -> "major.minor" from toolkit-versioned components, and CUDA major
    -> cuDNN "major.minor", among `libs`."""
    cuda: dict[str, str] = {}
    cudnn: dict[str, str] = {}
    ordered = sorted(libs, key=lambda p: _rank(p.name))
    for lib in ordered:
        base = re.sub(r"-cu\d+$", "", lib.name)
        release = ".".join(lib.version.split("+")[0].split(".")[:2])
        if base in _TOOLKIT_VERSIONED:
            cuda.setdefault(release.split(".")[0], release)
        elif base == _CUDNN and (major := _major(lib.name)):
            cudnn.setdefault(major, release)
    return cuda, cudnn


def _rank(name: str) -> int:
    base = re.sub(r"-cu\d+$", "", name)
    return _TOOLKIT_VERSIONED.index(base) if base in _TOOLKIT_VERSIONED else len(_TOOLKIT_VERSIONED)


def _major(name: str) -> str | None:
    match = re.search(r"-cu(\d+)$", name)
    return match.group(1) if match else None


def _pick(by_major: Mapping[str, str], major: str | None) -> str | None:
    if major is not None:
        return by_major.get(major)
    if len(by_major) == 1:  # unsuffixed libraries (cuda-toolkit 13): the one CUDA there is
        return next(iter(by_major.values()))
    return None


def _dep_evidence(deps: tuple[Pin, ...]) -> str:
    first = min(deps, key=lambda p: (_rank(p.name), p.name))
    return f"requires {first.name} {first.version}"


def _unclaimed(
    pins: tuple[Pin, ...],
    libraries: Mapping[str, Pin],
    lock_cuda: Mapping[str, str],
    lock_cudnn: Mapping[str, str],
) -> list[Need]:
    """CUDA libraries no non-library package requires (pinned directly, or an
    installed set without a graph): one need for them all, named by the runtime."""
    claimed = _claimed(pins, libraries)
    orphans = [lib for name, lib in libraries.items() if name not in claimed]
    if not orphans:
        return []
    head = min(orphans, key=lambda p: (_rank(p.name), p.name))
    majors = sorted({m for p in orphans if (m := _major(p.name))}, key=version_key)
    major = majors[-1] if majors else None
    cuda = _pick(lock_cuda, major) or major
    cudnn = _pick(lock_cudnn, major)
    evidence = f"CUDA libraries no other package requires ({len(orphans)})"
    return [Need(head.name, head.version, "cuda", cuda, cudnn, None, evidence)]


def _claimed(pins: tuple[Pin, ...], libraries: Mapping[str, Pin]) -> set[str]:
    consumers = {p.name for p in pins if p.name not in libraries}
    claimed: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, lib in libraries.items():
            if name not in claimed and any(r in consumers or r in claimed for r in lib.required_by):
                claimed.add(name)
                changed = True
    return claimed
