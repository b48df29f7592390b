"""diff: compare two environments, or every consecutive pair of stages.

Operands: an environment name (`prod`), `name@REV` / `name@vN`, a spec file path,
`local` (this interpreter) or `image:REF` (a built image, probed with networking
off). A spec compared with `local`/`image:` is checked against what is really
installed: its pins, and its lock (`<env>.lock`) when one is there and fresh.

JSON output: `envctl.output.diff.DiffDocument` (`envctl schema --output diff`), built as
plain data (envctl.output.plain_diff).
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Literal

from envctl import diff as core
from envctl.errors import (
    CheckFailed,
    ConfigError,
    InputError,
    SpecError,
    UnknownNameError,
    UsageError,
)
from envctl.output.plain_diff import DiffComparison, DiffDocument, DiffOperand, DiffSummary
from envctl.spec.loading import (
    Environment,
    Project,
    display_path,
    find_project,
    load_environment,
    require_project,
)
from envctl.spec.project_settings import CONFIG_FILE

if TYPE_CHECKING:
    from envctl import registry as reg
    from envctl.output.diff import ImageChanges, StageImageSide
    from envctl.probe import Reality
    from envctl.supply.components import Component
    from envctl.supply.vulndb import Database
    from envctl.vocabulary import FailOn

LOCAL = "local"
IMAGE_PREFIX = "image:"
OperandKind = Literal["spec", "local", "image"]


@dataclass(frozen=True)
class Loaded:
    """One operand: its Side, plus the Environment when it is a spec."""

    side: core.Side
    kind: OperandKind
    env: Environment | None = None
    note: str | None = None  # shown with the comparison, e.g. which interpreter `local` is
    gpu_note: str | None = None  # what nvidia-smi said; shown where GPUs are in play


@dataclass(frozen=True)
class Comparison:
    left: Loaded
    right: Loaded
    findings: tuple[core.Finding, ...]
    notes: tuple[str, ...] = ()
    images: ImageChanges | None = None  # --images: the two stages' images compared

    @property
    def summary(self) -> dict[str, int]:
        return core.counts(self.findings)

    def blocking(self, threshold: str) -> list[core.Finding]:
        return list(core.iter_blocking(self.findings, threshold))

    def item(self) -> DiffComparison:
        return DiffComparison(
            left=_operand(self.left),
            right=_operand(self.right),
            findings=[f.item() for f in self.findings],
            summary=DiffSummary(**self.summary),
            notes=list(self.notes),
            images=self.images,
        )


@dataclass(frozen=True)
class DiffReport:
    comparisons: tuple[Comparison, ...]

    def blocking(self, threshold: str) -> list[core.Finding]:
        return [f for c in self.comparisons for f in c.blocking(threshold)]

    def failure(self, fail_on: str) -> CheckFailed | None:
        """The exit-1 error when a finding at or above `fail_on` is not waived."""
        blocking = self.blocking(fail_on)
        if not blocking:
            return None
        pairs = ", ".join(
            f"{c.left.side.label} → {c.right.side.label}"
            for c in self.comparisons
            if c.blocking(fail_on)
        )
        noun = "finding" if len(blocking) == 1 else "findings"
        return CheckFailed(
            f"{len(blocking)} {noun} at or above {fail_on} in {pairs}; "
            "fix them, or waive them in the spec with a reason"
        )

    def document(self, fail_on: FailOn) -> DiffDocument:
        return DiffDocument(
            fail_on=fail_on,
            failed=bool(self.blocking(fail_on)),
            comparisons=[c.item() for c in self.comparisons],
        )


def _operand(loaded: Loaded) -> DiffOperand:
    side = loaded.side
    return DiffOperand(
        name=side.label,
        kind=loaded.kind,
        version=side.version,
        fingerprint=side.fingerprint,
        file=side.file,
    )


def diff(
    operands: list[str],
    *,
    path: bool = False,
    python: str | None = None,
    today: date | None = None,
    images: bool = False,
    model: str | None = None,
) -> DiffReport:
    """Compare two operands, or (`path=True`) each consecutive pair of stages.
    `python` is the interpreter `local` means (default: the active virtualenv).
    `images`: the operands are stages, and the images they run now (`model`'s,
    from the ledger) are compared too: their SBOMs' packages and findings."""
    project = find_project()
    pairs = _stage_pairs(operands, project) if path else [_two(operands)]
    if model is not None and not images:
        raise UsageError("--model names whose images --images compares; give --images too")
    overrides = _overrides(project)
    loaded: dict[str, Loaded] = {}
    for operand in dict.fromkeys(o for pair in pairs for o in pair):
        loaded[operand] = load_operand(operand, project, python=python)
    comparisons = tuple(
        compare_loaded(loaded[a], loaded[b], project, overrides=overrides, today=today)
        for a, b in pairs
    )
    if images:
        comparisons = _with_images(comparisons, pairs, model)
    return DiffReport(comparisons)


# ---- --images: what two stages run, from their SBOMs ---------------------------


def _with_images(
    comparisons: tuple[Comparison, ...], pairs: list[tuple[str, str]], model: str | None
) -> tuple[Comparison, ...]:
    from envctl.ledger.trust import read_verified
    from envctl.registry.workspace import pick_model, workspace

    ws = workspace()
    counted = read_verified(ws).trusted
    for stage in dict.fromkeys(o for pair in pairs for o in pair):
        if stage not in ws.stages:
            raise UsageError(
                f"--images compares what two stages run: {stage!r} is not a stage "
                f"({', '.join(ws.stages)})"
            )
    name = pick_model(ws, counted, model)
    database = _database_if_any()
    sides: dict[str, tuple[StageImageSide, list[Component]]] = {}
    for stage in dict.fromkeys(o for pair in pairs for o in pair):
        sides[stage] = _stage_side(counted, name, stage)
    return tuple(
        replace(c, images=_image_changes(name, sides[a], sides[b], database))
        for c, (a, b) in zip(comparisons, pairs, strict=True)
    )


def _stage_side(
    counted: reg.Registry, model: str, stage: str
) -> tuple[StageImageSide, list[Component]]:
    """The image `stage` runs (the digest its record names, else the image id) and
    its SBOM's components, read from the image (pulled when not here)."""
    from envctl.output.diff import StageImageSide
    from envctl.promotion.handoff import fetch_running_image, running_image
    from envctl.supply import sbom

    event, ref = running_image(counted, model, stage)
    fetch_running_image(event, ref)
    made = sbom.of_image(ref)
    side = StageImageSide(stage=stage, version=event.version or "", image=ref)
    return side, list(made.sbom.components)


def _database_if_any() -> Database | None:
    """envctl's database when there is one: diff reports, it does not gate, so
    without one the findings are left out (`database: null`), not an error; a
    damaged one is still exit 3."""
    from envctl.supply import vulndb

    if not (vulndb.default_path() / vulndb.INDEX).is_file():
        return None
    return vulndb.open_database()


def _image_changes(
    model: str,
    left: tuple[StageImageSide, list[Component]],
    right: tuple[StageImageSide, list[Component]],
    database: Database | None,
) -> ImageChanges:
    from envctl.output.diff import ImageChanges, PackageChange
    from envctl.supply import changes, matching

    only_left: list[matching.Finding] = []
    only_right: list[matching.Finding] = []
    if database is not None:
        only_left, only_right = changes.finding_changes(
            matching.match(left[1], database).findings,
            matching.match(right[1], database).findings,
        )
    return ImageChanges(
        model=model,
        left=left[0],
        right=right[0],
        same_image=left[0].image == right[0].image,
        packages=[
            PackageChange(
                ecosystem=c.ecosystem,
                name=c.name,
                change=c.change,
                left=c.left,
                right=c.right,
            )
            for c in changes.package_changes(left[1], right[1])
        ],
        database=database.info() if database is not None else None,
        only_left=[f.to_json() for f in only_left],
        only_right=[f.to_json() for f in only_right],
    )


def _two(operands: list[str]) -> tuple[str, str]:
    if len(operands) != 2:
        raise UsageError(
            f"give two environments to compare (got {len(operands)}), e.g. "
            "`envctl diff dev prod`, or use --path for every stage"
        )
    return operands[0], operands[1]


def _stage_pairs(operands: list[str], project: Project | None) -> list[tuple[str, str]]:
    if operands:
        raise UsageError("--path compares the stages of envctl.yaml; give no environments with it")
    project = project or require_project()
    stages = [s for s in project.settings.stages if project.spec_path(s).is_file()]
    if len(stages) < 2:
        raise InputError(
            f"--path needs specs for at least two stages of "
            f"{', '.join(project.settings.stages)}; found {', '.join(stages) or 'none'} "
            f"in {project.settings.environments}/"
        )
    return list(itertools.pairwise(stages))


def _overrides(project: Project | None) -> Mapping[str, str]:
    if project is None:
        return {}
    overrides = project.settings.policy.severity
    for kind in overrides:
        problem = core.unknown_kind(kind)
        if problem:
            raise ConfigError(
                f"{display_path(project.root / CONFIG_FILE)}: policy.severity: {problem}"
            )
    return overrides


# ---- operands ---------------------------------------------------------------


def load_operand(operand: str, project: Project | None, *, python: str | None = None) -> Loaded:
    if operand == LOCAL:
        from envctl import probe

        reality = probe.local(python)
        note = f"local is {reality.executable} (Python {reality.python})"
        side, gpu_note = _with_host_gpus(core.reality_side(reality))
        return Loaded(side, "local", note=note, gpu_note=gpu_note)
    if operand.startswith(IMAGE_PREFIX):
        return Loaded(core.reality_side(_probe_image(operand)), "image")
    try:
        env = load_environment(operand, project)
    except UnknownNameError as exc:
        raise _with_local_hint(operand, exc) from None
    _check_waivers(env)
    return Loaded(core.Side.from_environment(env), "spec", env)


def _with_host_gpus(side: core.Side) -> tuple[core.Side, str]:
    """`local`'s GPUs as nvidia-smi reports them (none without nvidia-smi)."""
    from envctl.gpu import host

    reading = host.read_host()
    if not reading.known:
        return side, reading.note
    gpus = reading.gpus
    facts = (
        core.GpuFacts(gpus.count, "nvidia", gpus.driver, None, gpus.capability, measured=True)
        if gpus
        else core.GpuFacts(0, measured=True)
    )
    return replace(side, gpu=facts), reading.note


def _probe_image(operand: str) -> Reality:
    from envctl import probe

    ref = operand.removeprefix(IMAGE_PREFIX)
    if not ref:
        raise UnknownNameError(
            f"{operand!r}: give an image after 'image:', e.g. image:envctl/prod:1a2b3c4d5e6f"
        )
    return probe.image(ref)


def _with_local_hint(operand: str, exc: UnknownNameError) -> UnknownNameError:
    """`locl` is more likely a typo of `local` than of an environment name."""
    if difflib.get_close_matches(operand, [LOCAL], n=1, cutoff=0.75):
        return UnknownNameError(
            f"unknown environment {operand!r}; did you mean 'local' "
            "(the interpreter envctl runs in)?"
        )
    if operand.startswith(("img:", "image=", "docker:")):
        return UnknownNameError(
            f"unknown environment {operand!r}; did you mean "
            f"'image:{operand.split(':', 1)[-1].split('=', 1)[-1]}'?"
        )
    return exc


def _check_waivers(env: Environment) -> None:
    for index, waiver in enumerate(env.spec.waivers):
        problem = core.unknown_kind(waiver.kind)
        if problem:
            pos = env.locate(("waivers", index, "kind"))
            where = f"{pos[0]}:{pos[1]}:{pos[2]}" if pos else env.source
            raise SpecError(f"{where}: waivers[{index}].kind: {problem}")


# ---- comparing --------------------------------------------------------------


def compare_loaded(
    left: Loaded,
    right: Loaded,
    project: Project | None,
    *,
    overrides: Mapping[str, str],
    today: date | None = None,
) -> Comparison:
    notes = [loaded.note for loaded in (left, right) if loaded.note]
    lside, rside = left.side, right.side
    if left.env is not None and right.kind != "spec":
        lside = _with_lock(lside, left.env, project, notes)
    if right.env is not None and left.kind != "spec":
        rside = _with_lock(rside, right.env, project, notes)
    gpu_notes = [loaded.gpu_note for loaded in (left, right)]
    lside, rside = with_gpu_stacks(lside, left.env, rside, right.env, project, notes, gpu_notes)
    findings = core.compare(lside, rside, severity_overrides=overrides, today=today)
    return Comparison(left, right, tuple(findings), tuple(notes))


def with_gpu_stacks(
    left: core.Side,
    left_env: Environment | None,
    right: core.Side,
    right_env: Environment | None,
    project: Project | None,
    notes: list[str],
    said: list[str | None],
) -> tuple[core.Side, core.Side]:
    """Both sides with the CUDA stack their locks install (a spec's side) and, where
    GPUs are in play, a note of what each needs or why that is unknown."""
    from envctl.build import lockfile

    sides = []
    for side, env in ((left, left_env), (right, right_env)):
        if env is not None:
            stack, why = lockfile.gpu_stack(project, env)
            side = replace(side, gpu_stack=stack)
            said.append(why)
        sides.append(side)
    if any(_uses_gpus(s) for s in sides):
        notes += [why for why in said if why]
        notes += [
            f"{s.label}: {need.summary}"
            for s in sides
            if s.gpu_stack is not None
            for need in s.gpu_stack.gpu_needs
        ]
    return sides[0], sides[1]


def _uses_gpus(side: core.Side) -> bool:
    return bool(
        (side.gpu is not None and side.gpu.count)
        or (side.gpu_stack is not None and side.gpu_stack.gpu_needs)
    )


def _with_lock(
    side: core.Side, env: Environment, project: Project | None, notes: list[str]
) -> core.Side:
    """Reality is checked against the lock too, when the lock capability is
    installed and the spec has a fresh lock; otherwise against its pins only."""
    try:
        from envctl.build import lockfile
    except ImportError:  # pragma: no cover - lockfile ships with envctl now
        return side
    try:
        path = lockfile.lock_path(project, env)
    except InputError:
        return side
    if not path.is_file():
        notes.append(
            f"{env.label} has no lock ({display_path(path)}); installed "
            "packages were checked against the spec's pins only"
        )
        return side
    stale = lockfile.staleness(project, env)
    if stale:
        notes.append(f"{stale}; installed packages were checked against the spec's pins only")
        return side
    lock = lockfile.read_lock(path, lockfile.lock_bound(project, path))
    return replace(side, locked=lock.versions())
