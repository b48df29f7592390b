"""render: the Dockerfile `envctl build` would build, without building it."""

from __future__ import annotations

from envctl.build.base_image import missing_system_packages
from envctl.build.plan import dockerfile_for, plan
from envctl.output.build import RenderDocument


def render(operand: str, *, model: str | None = None, probe: bool = False) -> RenderDocument:
    """Without `probe` the system-package layer is rendered whenever the spec
    lists system packages (the online path); with it, the base image is asked,
    as `build` does, which packages it already has."""
    the_plan = plan(operand, model=model)
    packages = the_plan.env.spec.system_packages
    needed = (
        bool(missing_system_packages(the_plan.env.spec.image.base, packages))
        if probe
        else bool(packages)
    )
    return RenderDocument(
        environment=the_plan.env.name,
        image=the_plan.tag,
        fingerprint=the_plan.fingerprint,
        system_install=needed,
        dockerfile=dockerfile_for(the_plan, system_install=needed),
    )
