"""The stage-order rule and the default version of a promotion. Pure."""

from __future__ import annotations

from envctl import registry as reg
from envctl.errors import InputError
from envctl.registry.target import Target


def default_version(registry: reg.Registry, model: str, from_stage: str | None) -> str:
    found = registry.model(model)
    if from_stage is None:
        latest = found.latest if found else None
        if latest is None:
            raise InputError(f"{model} has no registered version; envctl register {model} v1.0.0")
        return latest.version
    event = found.stages.get(from_stage) if found else None
    if event is None or event.version is None:
        raise InputError(
            f"no version of {model} is in {from_stage}; name one: "
            f"envctl promote {model}@vX.Y.Z --stage ..."
        )
    return event.version


def order_problem(registry: reg.Registry, target: Target) -> str:
    if target.from_stage is None:
        return "ok"
    found = registry.model(target.model)
    entered = found is not None and any(
        e.stage == target.from_stage
        and e.version == target.version
        and e.action is reg.Action.ASSIGN
        for e in found.events
    )
    if entered:
        return "ok"
    return (
        f"{target.model}@{target.version} has not entered {target.from_stage}, "
        f"the stage before {target.stage}"
    )
