"""verify: does an image hold what the spec and its lock say? Through the diff engine.

The spec side carries the lock, so every locked distribution is checked at its
exact version; the image side is what a probe found (networking off). Every
finding that is not waived is drift, whatever its severity: verify is a
statement of equality, not of compatibility.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from envctl.build import lockfile
from envctl.errors import CheckFailed, EngineError
from envctl.output.build import LabelDifference, VerifyDocument, VerifyFinding
from envctl.spec.loading import load_environment, require_project

if TYPE_CHECKING:
    from envctl.diff import Finding

# Content labels only: an image carries no stage name or spec version, since
# every stage with the same content runs the same image.
LABEL_CHECKS = ("fingerprint", "lock-hash", "python", "platform")


@dataclass(frozen=True)
class VerifyReport:
    environment: str
    image: str
    image_id: str | None
    findings: tuple[Finding, ...]
    labels: dict[str, dict[str, str | None]]  # label -> {"expected", "found"} when they differ

    @property
    def drift(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.waived is None)

    @property
    def ok(self) -> bool:
        return not self.drift

    def drifted_packages(self) -> list[str]:
        return sorted(
            {f.path.removeprefix("packages.") for f in self.drift if f.path.startswith("packages.")}
        )

    def summary(self) -> str:
        names = self.drifted_packages()
        what = f"; packages: {', '.join(names)}" if names else ""
        return (
            f"{self.image} does not match {self.environment}: {len(self.drift)} difference(s){what}"
        )

    def failure(self) -> CheckFailed | None:
        """The exit-1 error when the image drifted from spec and lock."""
        return None if self.ok else CheckFailed(self.summary())

    def text(self) -> str:
        if self.ok:
            return f"ok: {self.image} matches {self.environment} (spec and lock)"
        lines = [f"{f.severity:<8} {f.kind:<22} {f.path}: {f.message}" for f in self.drift]
        lines += [
            f"note     label {k}: image has {v['found']}, spec+lock give {v['expected']}"
            for k, v in self.labels.items()
        ]
        return "\n".join(lines)

    def document(self) -> VerifyDocument:
        return VerifyDocument(
            environment=self.environment,
            image=self.image,
            image_id=self.image_id,
            ok=self.ok,
            drifted_packages=self.drifted_packages(),
            findings=[_finding(f) for f in self.findings],
            labels={k: LabelDifference(**v) for k, v in self.labels.items()},
        )


def _finding(f: Finding) -> VerifyFinding:
    return VerifyFinding(
        kind=f.kind,
        severity=f.severity,
        path=f.path,
        spec=f.left,
        image=f.right,
        message=f.message,
        waived=f.waived,
    )


def verify(operand: str, *, image: str | None = None, model: str | None = None) -> VerifyReport:
    """Probe `image` (default: the image `envctl build` makes for `operand`) and
    compare it with the spec and its lock."""
    from envctl import diff, engine, probe
    from envctl.build.plan import plan

    project = require_project()
    env = load_environment(operand, project)
    lock = lockfile.require_fresh(project, env)
    the_plan = plan(operand, model=model)
    ref = image or the_plan.tag
    if not engine.image_exists(ref):
        hint = f"run envctl build {operand}" if image is None else "build or pull it first"
        raise EngineError(f"image {ref} is not in the engine: {hint}")
    reality = probe.image(ref)
    spec_side = diff.Side.from_environment(env, locked=lock.versions())
    findings = diff.compare(
        spec_side, diff.reality_side(reality), severity_overrides=project.config.policy.severity
    )
    expected = the_plan.labels()
    return VerifyReport(
        env.name,
        ref,
        reality.image_id,
        tuple(findings),
        label_differences(expected, reality.labels),
    )


def label_differences(
    expected: dict[str, str], found: dict[str, str] | Any
) -> dict[str, dict[str, str | None]]:
    """dev.envctl.* labels that differ: not drift by themselves (an image built
    from an older spec version can hold the same packages), but worth showing."""
    out: dict[str, dict[str, str | None]] = {}
    for name in LABEL_CHECKS:
        key = f"dev.envctl.{name}"
        if expected.get(key) != found.get(key):
            out[name] = {"expected": expected.get(key), "found": found.get(key)}
    return out
