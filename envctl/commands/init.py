"""init: scaffold a project."""

from __future__ import annotations

from pathlib import Path

from envctl.errors import InputError
from envctl.spec.project_file import CONFIG_FILE

CONFIG = """\
# envctl project file. Reference: `envctl schema project`.
stages: [dev, staging, prod]     # the promotion path, in order
environments: environments       # where <env>.yaml specs live
models: {}
#  churn:
#    path: models/churn
#    requires:
#      python: ">=3.11"
#      packages: {scikit-learn: ">=1.4"}
#      data: [internal]
#    serve:
#      command: [python, -m, uvicorn, app:app, --host, 127.0.0.1, --port, "8000"]
#      port: 8000
#      health: /health
policy:
  pin_exact: [prod]              # prod pins every package with ==
  pin_digest: []                 # add prod once your base image is pinned by digest
  severity: {}                   # finding kind -> error | warning | info
"""

SPEC = """\
# yaml-language-server: $schema=../{schema}
name: {name}
version: 1
image:
  base: python:3.11-slim-bookworm
python: "3.11"
packages:
  numpy: "{numpy}"
system_packages: []
data:
  allowed: [{data}]
compute:
  cpu: {cpu}
  memory: {memory}
gates: {gates}
"""

_ENVS = {
    # dev starts within what prod permits (data, CPUs, memory), so the scaffold
    # passes its own `envctl diff dev prod`; a wider dev is a finding to waive.
    "dev": {
        "numpy": ">=1.26",
        "data": "public, internal",
        "cpu": 4,
        "memory": "8Gi",
        "gates": "[]",
    },
    "staging": {
        "numpy": "==1.26.4",
        "data": "public, internal",
        "cpu": 4,
        "memory": "8Gi",
        "gates": "\n  - tests: {paths: [tests]}",
    },
    "prod": {
        "numpy": "==1.26.4",
        "data": "public, internal",
        "cpu": 4,
        "memory": "8Gi",
        "gates": "\n  - tests: {paths: [tests]}\n  - approvals: {required: 1}",
    },
}


def init(*, force: bool = False, root: Path | None = None) -> list[Path]:
    """Write envctl.yaml, environments/*.yaml and the editor schema their modelines
    point at; refuse to overwrite unless `force`."""
    import json

    from envctl.spec.model import json_schema
    from envctl.spec.types import SCHEMA_FILE

    here = root or Path.cwd()
    files = {here / CONFIG_FILE: CONFIG}
    for name, fields in _ENVS.items():
        files[here / "environments" / f"{name}.yaml"] = SPEC.format(
            name=name, schema=SCHEMA_FILE, **fields
        )
    files[here / SCHEMA_FILE] = json.dumps(json_schema(), indent=2) + "\n"
    existing = [p for p in files if p.exists()]
    if existing and not force:
        names = ", ".join(str(p.relative_to(here)) for p in existing)
        raise InputError(f"{names} already exist; use --force to overwrite")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return [p.relative_to(here) for p in files]
