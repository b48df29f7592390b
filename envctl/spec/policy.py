"""Project policy applied to a spec: `policy.pin_exact`, `policy.pin_digest`."""

from __future__ import annotations

from envctl.spec import values
from envctl.spec.loading import Environment, Project
from envctl.spec.validation import raise_problems
from envctl.spec.yamldoc import Problem


def policy_problems(env: Environment, project: Project) -> list[Problem]:
    policy = project.settings.policy
    problems: list[Problem] = []
    name = env.spec.name
    if name in policy.pin_exact:
        for package, spec in env.spec.packages.items():
            if values.pinned_version(spec) is None:
                problems.append(
                    _at(
                        env,
                        ("packages", package),
                        f"policy pin_exact: {name} must pin {package} exactly "
                        f'(got {spec!r}; write "==X.Y.Z")',
                    )
                )
    if name in policy.pin_digest and values.image_digest(env.spec.image.base) is None:
        problems.append(
            _at(
                env,
                ("image", "base"),
                f"policy pin_digest: {name} must pin its base image by digest "
                f"({env.spec.image.base}@sha256:<digest>)",
            )
        )
    return problems


def check_policy(env: Environment, project: Project) -> None:
    problems = policy_problems(env, project)
    if problems:
        raise_problems(problems, env.source)


def _at(env: Environment, path: tuple[str, ...], message: str) -> Problem:
    pos = env.locate(path)
    line, col = (pos[1], pos[2]) if pos else (None, None)
    return Problem(message, path, line, col)
