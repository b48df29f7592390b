"""The compatibility gate: does the target environment satisfy the model's declared
requirements (pure: a Requires and a Spec in, plain sentences out), and what does
the diff from the previous stage's environment say?"""

from __future__ import annotations

from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from envctl.registry.target import Target
from envctl.spec import values
from envctl.spec.loading import Environment, Project, load_environment
from envctl.spec.project_file import Requires
from envctl.spec.types import Spec


def unmet_requirements(requires: Requires, spec: Spec) -> list[str]:
    return [
        *_python(requires, spec),
        *_packages(requires, spec),
        *_data(requires, spec),
        *_compute(requires, spec),
    ]


def _python(requires: Requires, spec: Spec) -> list[str]:
    if requires.python is None or _allows(requires.python, spec.python):
        return []
    return [f"the model needs Python {requires.python}; {spec.name} has {spec.python}"]


def _packages(requires: Requires, spec: Spec) -> list[str]:
    out = []
    by_name = {values.package_name(k): v for k, v in spec.packages.items()}
    for key, wanted in requires.packages.items():
        name = values.package_name(key)
        have = by_name.get(name)
        if have is None:
            out.append(f"the model needs {name} {wanted}; {spec.name} does not have it")
            continue
        pinned = values.pinned_version(have)
        if wanted != "*" and pinned is not None and not _allows(wanted, pinned):
            out.append(f"the model needs {name}{wanted}; {spec.name} pins {name}{have}")
    return out


def _data(requires: Requires, spec: Spec) -> list[str]:
    missing = [c for c in requires.data if c not in spec.data.allowed]
    if not missing:
        return []
    return [
        f"the model reads {', '.join(missing)} data at inference; {spec.name} allows only "
        f"{', '.join(spec.data.allowed) or 'none'}"
    ]


def _compute(requires: Requires, spec: Spec) -> list[str]:
    out = []
    have = spec.compute
    if requires.cpu is not None and have.cpu is not None and have.cpu < requires.cpu:
        out.append(f"the model needs {requires.cpu:g} cpu; {spec.name} has {have.cpu:g}")
    if requires.memory is not None and have.memory is not None and have.memory < requires.memory:
        out.append(
            f"the model needs {values.format_bytes(requires.memory)} memory; "
            f"{spec.name} has {values.format_bytes(have.memory)}"
        )
    if requires.gpu > have.gpu.count:
        out.append(f"the model needs {requires.gpu} GPU(s); {spec.name} has {have.gpu.count}")
    missing = [e for e in requires.engines if e not in have.engines]
    if missing:
        out.append(f"the model needs {', '.join(missing)}; {spec.name} does not provide it")
    return out


def _allows(specifier: str, version: str) -> bool:
    if specifier == "*":
        return True
    try:
        return SpecifierSet(specifier).contains(Version(version), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return False


def compatibility(
    project: Project, target: Target, env: Environment
) -> tuple[list[str], list[dict[str, Any]]]:
    """The model's requirements against the target env, and every finding of the
    diff from the previous stage's env (only unwaived errors block)."""
    from envctl import diff
    from envctl.build import lockfile

    model = project.config.models.get(target.model)
    unmet = unmet_requirements(model.requires, env.spec) if model else []
    if target.from_stage is None:
        return unmet, []
    previous = load_environment(target.from_stage, project)
    # Each side with the CUDA its lock installs: a GPU build bound for a stage
    # without GPUs, or for an older driver, is refused here as in `envctl diff`.
    findings = diff.compare(
        diff.Side.from_environment(previous, gpu_stack=lockfile.gpu_stack(project, previous)[0]),
        diff.Side.from_environment(env, gpu_stack=lockfile.gpu_stack(project, env)[0]),
        severity_overrides=project.config.policy.severity,
    )
    return unmet, [{**f.to_json(), "blocks": f.blocks("error")} for f in findings]
