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
