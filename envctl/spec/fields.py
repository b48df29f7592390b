"""The field types and base class that envctl.yaml and the environment spec share.

Their own module so that reading envctl.yaml (`envctl status`, `history`) does
not define the environment spec's two dozen models: a pydantic class costs its
field collection at import even when its validator is built on first use.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from envctl.spec import values
from envctl.spec.plain import no_twins


class Strict(BaseModel):
    # Validators are built on first use: `envctl status` reads envctl.yaml and
    # never pays for the environment spec's.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


ImageRef = Annotated[str, AfterValidator(values.image_ref)]
Platform = Annotated[str, AfterValidator(values.platform)]
PythonVersion = Annotated[str, BeforeValidator(values.python_version)]
Classification = Annotated[str, AfterValidator(lambda v: values.word(v, "data classification"))]
Engine = Annotated[str, AfterValidator(lambda v: values.word(v, "engine name"))]
SafeToken = Annotated[str, AfterValidator(values.safe_token)]
SafeText = Annotated[str, AfterValidator(values.safe_text)]
RelPath = Annotated[str, AfterValidator(values.relative_path)]
UrlPath = Annotated[str, AfterValidator(values.url_path)]
AptName = Annotated[str, AfterValidator(values.apt_package)]
Memory = Annotated[
    int,
    BeforeValidator(values.memory_bytes),
    PlainSerializer(values.format_bytes, return_type=str),
    Field(json_schema_extra={"type": "string", "examples": ["8Gi", "512Mi"]}),
]
Cpu = Annotated[float, BeforeValidator(values.cpu_count)]


PackageKey = Annotated[str, AfterValidator(values.package_key)]
Specifier = Annotated[str, BeforeValidator(values.specifier)]


Packages = Annotated[dict[PackageKey, Specifier], BeforeValidator(no_twins)]
