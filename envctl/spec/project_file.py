"""The project file `envctl.yaml`: stage order, models, policy."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from envctl.spec import values
from envctl.spec.model import (
    Classification,
    Cpu,
    Engine,
    Memory,
    Packages,
    RelPath,
    SafeText,
    Strict,
    UrlPath,
)

CONFIG_FILE = "envctl.yaml"
Severity = Literal["error", "warning", "info"]
StageName = Annotated[str, AfterValidator(lambda v: values.word(v, "stage name"))]


class Requires(Strict):
    """What a model needs from any environment it runs in."""

    python: str | None = Field(None, description='PEP 440 specifier, e.g. ">=3.11".')
    packages: Packages = Field(default_factory=dict)
    data: list[Classification] = Field(default_factory=list)
    cpu: Cpu | None = None
    memory: Memory | None = None
    gpu: int = Field(0, ge=0)
    engines: list[Engine] = Field(default_factory=list)

    @field_validator("python", mode="before")
    @classmethod
    def _python(cls, raw: object) -> object:
        if raw is None:
            return None
        if isinstance(raw, (int, float)):
            values.python_version(raw)  # raises with the "quote it" hint
        text = str(raw).strip()
        if text[:1].isdigit():
            return f"=={values.python_version(text)}.*"
        return values.specifier(text)


class Serve(Strict):
    """How the model is served as a web API inside its image."""

    command: list[SafeText] = Field(min_length=1)
    port: int = Field(8000, ge=1, le=65535)
    health: UrlPath = "/health"


class Model(Strict):
    path: RelPath = Field(description="Folder holding the model's code (copied into images).")
    requires: Requires = Field(default_factory=lambda: Requires())
    serve: Serve | None = None


class Policy(Strict):
    pin_exact: list[StageName] = Field(
        default_factory=list, description="Environments whose packages must all be pinned with ==."
    )
    pin_digest: list[StageName] = Field(
        default_factory=list, description="Environments whose base image must be pinned by digest."
    )
    severity: dict[str, Severity] = Field(
        default_factory=dict, description="Finding kind -> severity override."
    )


class ProjectConfig(Strict):
    stages: list[StageName] = Field(
        default_factory=lambda: ["dev", "staging", "prod"], min_length=1
    )
    environments: RelPath = "environments"
    registry: Annotated[str, AfterValidator(values.safe_token)] | None = Field(
        None, description="Image registry to push to, e.g. 127.0.0.1:5000/team."
    )
    models: dict[str, Model] = Field(default_factory=dict)
    policy: Policy = Field(default_factory=lambda: Policy())

    @field_validator("models")
    @classmethod
    def _model_names(cls, raw: dict[str, Model]) -> dict[str, Model]:
        import re

        for name in raw:
            if not re.match(r"^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$", name):
                raise ValueError(f"{name!r} is not a model name (letters, digits, '-', '_')")
        return raw

    @model_validator(mode="after")
    def _unique_stages(self) -> ProjectConfig:
        if len(set(self.stages)) != len(self.stages):
            raise ValueError("stages must not repeat")
        return self
