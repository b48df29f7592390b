"""build: a spec (+ lock [+ model version]) into a tagged, labelled image."""

from __future__ import annotations

from envctl.build.image import BuildResult, build_image
from envctl.progress import Progress


def build(
    operand: str,
    *,
    model: str | None = None,
    push: bool = False,
    on_line: Progress | None = None,
    log: Progress | None = None,
) -> BuildResult:
    """Build (or reuse) the image of `operand`; push it with `push`. `on_line`
    gets one line per step, `log` every line the engine prints."""
    return build_image(operand, model=model, push=push, on_line=on_line, log=log)
