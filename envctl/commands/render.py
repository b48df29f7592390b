"""render: the Dockerfile `envctl build` would build, without building it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from envctl.build.base_image import missing_system_packages
from envctl.build.plan import dockerfile_for, plan


@dataclass(frozen=True)
class Rendered:
    environment: str
    image: str
    fingerprint: str
    system_install: bool
    dockerfile: str

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "environment": self.environment,
            "image": self.image,
            "fingerprint": self.fingerprint,
            "system_install": self.system_install,
            "dockerfile": self.dockerfile,
        }


def render(operand: str, *, model: str | None = None, probe: bool = False) -> Rendered:
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
    return Rendered(
        the_plan.env.name,
        the_plan.tag,
        the_plan.fingerprint,
        needed,
        dockerfile_for(the_plan, system_install=needed),
    )
