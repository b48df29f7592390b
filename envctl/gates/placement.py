"""Where a stage's gates run: its `runner:` (else envctl's own engine), what that
engine is, and whether it gives the stage's GPUs.

A gate is evidence only if it ran the way the stage runs, so a stage with GPUs
whose gate engine has none is refused before any gate runs, unless the promoter
accepts running without them (`--accept-no-gpu REASON`), which is recorded as a
bypass. The engine's URL, ID and name go into each image gate's evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from envctl.errors import EngineError, GateFailed, UsageError
from envctl.gates.runners import PYTHON
from envctl.registry.results import GateResult

if TYPE_CHECKING:
    from envctl.engine import EngineInfo
    from envctl.spec.types import Spec

ACCEPT_NO_GPU = "--accept-no-gpu"
PROBE_COMMAND = (PYTHON, "-c", "")  # every model image runs it


@dataclass(frozen=True)
class GpuBypass:
    """The stage's GPUs were not given and the promoter accepted it, saying why."""

    asked: int
    reason: str
    refusal: str  # the engine's own words

    def to_json(self) -> dict[str, Any]:
        return {"gpus": self.asked, "reason": self.reason, "engine_said": self.refusal}


@dataclass(frozen=True)
class GateEngine:
    """The engine a stage's gates run on, as they ran there."""

    url: str
    id: str
    name: str
    runner: bool  # named by the stage's `runner:`; else envctl's own (DOCKER_HOST)
    gpu_bypass: GpuBypass | None = None

    @classmethod
    def of(cls, info: EngineInfo, *, runner: bool) -> GateEngine:
        return cls(info.url, info.id, info.name, runner)

    def evidence(self) -> dict[str, Any]:
        return {"url": self.url, "id": self.id, "name": self.name, "runner": self.runner}

    def shown(self) -> str:
        """`gpu-host (5AAF:BVFW:536K) at ssh://deploy@gpu-host`."""
        return f"{self.name or 'unnamed'} ({self.id[:14] or 'no id'}) at {self.url}"


def accepted_reason(reason: str | None) -> str | None:
    """The --accept-no-gpu reason, stripped; a blank one is a usage error."""
    if reason is None:
        return None
    if not reason.strip():
        raise UsageError(f"{ACCEPT_NO_GPU} needs a reason: it is recorded as a bypass")
    return reason.strip()


def reach(spec: Spec) -> GateEngine:
    """The engine the stage's gates run on, asked who it is. Call it inside
    `engine.engine_at(spec.runner)`. An unreachable runner is one line naming the
    stage and the URL (exit 4), before anything is built or run there."""
    from envctl import engine

    try:
        info = engine.engine_info()
    except EngineError as exc:
        if spec.runner is None:
            raise
        raise EngineError(f"{spec.name}'s runner: {exc.message}") from None
    return GateEngine.of(info, runner=spec.runner is not None)


def with_gpus(
    where: GateEngine, spec: Spec, count: int, image: str, *, accept: str | None
) -> GateEngine:
    """`where`, once it is known to give the stage's `count` GPUs to `image`'s
    containers; else refused (exit 1) naming the stage, the count and the flag, or,
    with `accept`, carrying the recorded bypass (the gates then run without GPUs)."""
    if count <= 0:
        return where
    from envctl import engine

    refusal = engine.gpu_refusal(image, PROBE_COMMAND, count)
    return gpu_verdict(where, spec.name, count, refusal, accept=accept)


def gpu_verdict(
    where: GateEngine, stage: str, count: int, refusal: str | None, *, accept: str | None
) -> GateEngine:
    """The decision on the engine's answer (pure): `refusal` None means it gave them."""
    if refusal is None:
        return where
    if accept is None:
        gpus = f"{count} GPU{'s' if count > 1 else ''}"
        raise GateFailed(
            f"{stage} declares {gpus} but its gate engine {where.url} gives none "
            f"({refusal}); run {stage}'s gates where GPUs are (runner:), or promote with "
            f'{ACCEPT_NO_GPU} "REASON" to run them without GPUs, recorded as a bypass'
        )
    return GateEngine(
        where.url, where.id, where.name, where.runner, GpuBypass(count, accept, refusal)
    )


def ran_on(result: GateResult, where: GateEngine | None) -> GateResult:
    """`result` naming the engine its containers ran on, and the GPU bypass if any.
    Only gates that ran containers under the stage's limits carry them."""
    if where is None or "limits" not in result.evidence:
        return result
    evidence = {**result.evidence, "engine": where.evidence()}
    bypass = where.gpu_bypass
    if bypass is None:
        return replace(result, evidence=evidence)
    gpus = f"{bypass.asked} GPU{'s' if bypass.asked > 1 else ''}"
    return replace(
        result,
        summary=f"{result.summary} (ran without the stage's {gpus}: accepted)",
        evidence={**evidence, "gpu_bypass": bypass.to_json()},
    )
