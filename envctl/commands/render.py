"""render: the Dockerfile `envctl build` would build, without building it."""

from __future__ import annotations

from envctl.build import system_layer
from envctl.build.base_image import missing_system_packages
from envctl.build.plan import dockerfile_for, plan
from envctl.output.build import RenderDocument


def render(operand: str, *, model: str | None = None, probe: bool = False) -> RenderDocument:
    """Without `probe` the Dockerfile starts from envctl's apt layer whenever the
    spec lists system packages and allows it (`image.network: apt`); with it, the
    base image is asked, as `build` does, which packages it already has (and a
    missing one without the opt-in is refused, as `build` refuses it)."""
    the_plan = plan(operand, model=model)
    env = the_plan.env
    packages = env.spec.system_packages
    if probe:
        missing = missing_system_packages(env.spec.image.base, packages)
        if missing and not system_layer.is_allowed(env):
            raise system_layer.refuse_offline(env, missing)
        needed = bool(missing)
    else:
        needed = bool(packages) and system_layer.is_allowed(env)
    return RenderDocument(
        environment=the_plan.env.name,
        image=the_plan.tag,
        fingerprint=the_plan.fingerprint,
        system_install=needed,
        dockerfile=dockerfile_for(the_plan, system_install=needed),
    )
