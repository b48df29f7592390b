"""envctl.yaml (envctl/spec/project_file.py) through the spec error machinery."""

from __future__ import annotations

from pathlib import Path

import pytest

from envctl.errors import SpecError
from envctl.spec.loading import load_config

SERVE = """\
models:
  churn:
    path: model
    serve:
      command: [python, serve.py]
      health: {health}
"""


def test_serve_health_is_an_absolute_url_path(tmp_path: Path) -> None:
    path = tmp_path / "envctl.yaml"
    path.write_text(SERVE.format(health="/health?ready=1"))
    serve = load_config(path).models["churn"].serve
    assert serve is not None and serve.health == "/health?ready=1"


@pytest.mark.parametrize(
    ("health", "message"),
    [
        ('"@169.254.169.254/latest/meta-data"', "is not an absolute URL path like '/predict'"),
        ("http://example.com/health", "is not an absolute URL path"),
        ("/../health", "may not contain '..' segments"),
    ],
)
def test_serve_health_refused_at_its_position(tmp_path: Path, health: str, message: str) -> None:
    path = tmp_path / "envctl.yaml"
    path.write_text(SERVE.format(health=health))
    with pytest.raises(SpecError) as info:
        load_config(path)
    assert info.value.exit_code == 3
    assert info.value.message.startswith(f"{path}:6:7: models.churn.serve.health: ")
    assert message in info.value.message


TRUST = """\
stages: [dev, prod]
trust:
  allowed_signers: {path}
  stages:
    {stage}:
      promoters: [{who}]
"""


def test_trust_names_signed_stages_and_principals(tmp_path: Path) -> None:
    path = tmp_path / "envctl.yaml"
    path.write_text(TRUST.format(path=".envctl/allowed_signers", stage="prod", who="Ann@X.org"))
    trust = load_config(path).trust
    assert trust is not None
    assert (trust.ref, trust.allowed_signers) == ("origin/main", ".envctl/allowed_signers")
    assert trust.stages["prod"].promoters == ["ann@x.org"]
    assert trust.stages["prod"].approvers == []


@pytest.mark.parametrize(
    ("path", "stage", "who", "message"),
    [
        ("../signers", "prod", "a@x", "must be a path from the repository root"),
        ("signers", "prod", "alice", "'alice' is not a principal"),
        ("signers", "qa", "a@x", "trust names unknown stages: qa"),
    ],
)
def test_trust_refuses_bad_values(
    tmp_path: Path, path: str, stage: str, who: str, message: str
) -> None:
    file = tmp_path / "envctl.yaml"
    file.write_text(TRUST.format(path=path, stage=stage, who=who))
    with pytest.raises(SpecError) as info:
        load_config(file)
    assert message in info.value.message
