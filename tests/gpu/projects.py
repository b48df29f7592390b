"""A small project whose stages have GPUs and locks made from tests/gpu/locks."""

from __future__ import annotations

from pathlib import Path

from envctl.build import lockfile
from envctl.spec.loading import load_environment, require_project

LOCKS = Path(__file__).parent / "locks"

SPEC = """name: {name}
version: 1
image:
  base: python:3.11-slim
python: "3.11"
packages:
  torch: "=={torch}"
compute:
  gpu: {gpu}
{extra}"""


def write_stage(
    root: Path, name: str, *, torch: str, gpu: str, lock: str | None, extra: str = ""
) -> None:
    """environments/NAME.yaml, and NAME.lock: the fixture's pins under a header that
    is fresh for the spec (so envctl reads it as it would its own)."""
    folder = root / "environments"
    folder.mkdir(parents=True, exist_ok=True)
    if not (root / "envctl.yaml").exists():
        (root / "envctl.yaml").write_text(
            "stages: [dev, prod]\nmodels:\n  clf: {path: model}\n", encoding="utf-8"
        )
    (folder / f"{name}.yaml").write_text(
        SPEC.format(name=name, torch=torch, gpu=gpu, extra=extra), encoding="utf-8"
    )
    (folder / f"{name}.lock").unlink(missing_ok=True)
    if lock is None:
        return
    env = load_environment(name, require_project(root))
    body = lockfile.read_lock(LOCKS / lock).body
    (folder / f"{name}.lock").write_text(lockfile.header(env.spec) + body, encoding="utf-8")
