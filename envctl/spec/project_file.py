"""The project file `envctl.yaml`: stage order, models, policy."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from envctl.spec import values
from envctl.spec.fields import (
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
from envctl.spec.project_settings import CONFIG_FILE as CONFIG_FILE
from envctl.spec.project_settings import DEFAULT_STAGES, MODEL_NAME, principal, repo_path
from envctl.vocabulary import Severity

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


Principal = Annotated[str, AfterValidator(principal)]


class StageTrust(Strict):
    """Who may write a signed stage's events: signer principals (emails)."""

    promoters: list[Principal] = Field(
        min_length=1, description="Who may promote (or roll back) into the stage."
    )
    approvers: list[Principal] = Field(
        default_factory=list, description="Whose approvals count for the stage."
    )


class Trust(Strict):
    """Signed stages: their events count only when signed by an allowed principal."""

    allowed_signers: Annotated[str, AfterValidator(repo_path)] = Field(
        description="git's allowed_signers file (principals are emails), from the repository root."
    )
    ref: Annotated[str, AfterValidator(values.safe_token)] = Field(
        "origin/main",
        description=(
            "The protected ref the signers file and signed stages' specs are read at; a short "
            "name expands to one branch or remote-tracking branch (never a tag), or is refused."
        ),
    )
    stages: dict[StageName, StageTrust] = Field(
        default_factory=dict, description="Stage -> who may promote and approve; signed stages."
    )


class ProjectConfig(Strict):
    stages: list[StageName] = Field(default_factory=lambda: list(DEFAULT_STAGES), min_length=1)
    environments: RelPath = "environments"
    registry: Annotated[str, AfterValidator(values.safe_token)] | None = Field(
        None, description="Image registry to push to, e.g. 127.0.0.1:5000/team."
    )
    models: dict[str, Model] = Field(default_factory=dict)
    policy: Policy = Field(default_factory=lambda: Policy())
    trust: Trust | None = Field(None, description="Signed stages and who may sign their events.")

    @field_validator("models")
    @classmethod
    def _model_names(cls, raw: dict[str, Model]) -> dict[str, Model]:
        for name in raw:
            if not MODEL_NAME.match(name):
                raise ValueError(f"{name!r} is not a model name (letters, digits, '-', '_')")
        return raw

    @model_validator(mode="after")
    def _unique_stages(self) -> ProjectConfig:
        if len(set(self.stages)) != len(self.stages):
            raise ValueError("stages must not repeat")
        unknown = sorted(set(self.trust.stages) - set(self.stages)) if self.trust else []
        if unknown:
            raise ValueError(f"trust names unknown stages: {', '.join(unknown)}")
        return self
