"""Building an image with the classic builder, and reading its JSON log stream:
output lines, steps (and how many the layer cache served), the containers each
step ran in (removed on Ctrl-C), and a failure named by its step."""

from __future__ import annotations

import io
import re
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from envctl.engine.connection import (
    client,
    emit,
    engine_errors,
    first_line,
    progress_line,
)
from envctl.engine.images import base_image_not_found
from envctl.engine.lifecycle import remove_quietly
from envctl.errors import EngineError
from envctl.progress import Progress, clean

LOG_TAIL_LINES = 20

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_RUNNING_IN = re.compile(r"^ ---> Running in ([0-9a-f]{12,64})\s*$")
_NONZERO = re.compile(r"returned a non-zero code: (\d+)")
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class BuildResult:
    image_id: str
    tag: str
    steps: int
    cached_steps: int  # steps the engine reused from its layer cache


class _BuildLog:
    """Follows the classic builder's JSON stream: lines, steps, containers, errors.

    Every line goes to `on_line` (the raw log); each finished step is one concise
    line to `on_step`: `step 3/9 RUN pip install … (cached)` or `(4.2s)`."""

    def __init__(self, on_line: Progress | None, on_step: Progress | None = None) -> None:
        self.on_line = on_line
        self.on_step = on_step
        self.step_started = 0.0
        self.step_cached = False
        self.tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self.partial = ""
        self.step = ""
        self.steps = 0
        self.cached_steps = 0
        self.containers: list[str] = []
        self.image_id = ""
        self.error = ""

    def feed(self, event: Mapping[str, Any]) -> None:
        if "stream" in event:
            self._text(str(event["stream"]))
        elif "error" in event:
            self.flush()
            self.error = str(event["error"])
            self._line(self.error)
        elif "aux" in event and isinstance(event["aux"], Mapping):
            self.image_id = str(event["aux"].get("ID") or self.image_id)
        elif "status" in event:
            self._line(progress_line(event))

    def _text(self, text: str) -> None:
        # One stream event can hold half a line or several lines.
        *complete, self.partial = (self.partial + text).split("\n")
        for line in complete:
            self._line(line.rstrip("\r"))

    def _line(self, line: str) -> None:
        line = clean(line)
        if not line:
            return
        self.tail.append(line)
        if step := _STEP.match(line):
            self.finish_step()
            self.step, self.steps = line, int(step.group(2))
            self.step_started, self.step_cached = time.monotonic(), False
        elif line.strip() == "---> Using cache":
            self.cached_steps += 1
            self.step_cached = True
        elif running := _RUNNING_IN.match(line):
            self.containers.append(running.group(1))
        # Last: on_line may raise (Ctrl-C in a progress callback) and the
        # container just seen must already be known so it can be removed.
        emit(self.on_line, line)

    def flush(self) -> None:
        self._text("\n")

    def finish_step(self) -> None:
        """Report the step in progress as done (a no-op before the first)."""
        step = _STEP.match(self.step)
        if not step or self.on_step is None:
            return
        number, total, instruction = step.groups()
        how = "cached" if self.step_cached else f"{time.monotonic() - self.step_started:.1f}s"
        self.on_step(f"step {number}/{total} {_shorten(instruction, 70)} ({how})")
        self.step = ""

    def failure(self, tag: str) -> EngineError:
        reason = _failure_reason(self.error)
        instruction = self.step.partition(" : ")[2]
        if instruction.upper().startswith("FROM "):
            return base_image_not_found(_from_image(instruction), reason)
        where = f" at {_shorten(self.step)}" if self.step else ""
        return EngineError(f"build of {tag} failed{where}: {reason}", details=tuple(self.tail))


def build(
    context: bytes,
    *,
    tag: str,
    labels: Mapping[str, str],
    buildargs: Mapping[str, str] | None = None,
    network_mode: str = "none",
    dockerfile: str = "Dockerfile",
    nocache: bool = False,
    on_line: Progress | None = None,
    on_step: Progress | None = None,
) -> BuildResult:
    """Build an image from `context`, a tar (optionally gzipped) holding the
    Dockerfile. Every output line goes to `on_line`, one line per finished step
    to `on_step`. A failure raises EngineError naming the failing step, with the
    last lines of output in `details`."""
    log = _BuildLog(on_line, on_step)
    with engine_errors(f"building {tag}"):
        try:
            for event in _build_stream(
                context, tag, labels, buildargs, network_mode, dockerfile, nocache
            ):
                log.feed(event)
            log.flush()
        except KeyboardInterrupt:
            _remove_build_containers(log.containers)
            raise
        if log.error:
            raise log.failure(tag)
        log.finish_step()
        image_id = log.image_id or str(client().images.get(tag).id)
    return BuildResult(image_id, tag, log.steps, log.cached_steps)


def _build_stream(
    context: bytes,
    tag: str,
    labels: Mapping[str, str],
    buildargs: Mapping[str, str] | None,
    network_mode: str,
    dockerfile: str,
    nocache: bool,
) -> Iterator[dict[str, Any]]:
    stream: Iterator[dict[str, Any]] = client().api.build(
        fileobj=io.BytesIO(context),
        custom_context=True,
        encoding="gzip" if context.startswith(_GZIP_MAGIC) else None,
        decode=True,
        rm=True,
        forcerm=True,  # no intermediate containers left behind when a step fails
        pull=False,
        nocache=nocache,
        network_mode=network_mode,
        labels=dict(labels),
        buildargs=dict(buildargs or {}),
        tag=tag,
        dockerfile=dockerfile,
        timeout=None,  # a RUN step may print nothing for longer than any HTTP timeout
    )
    return stream


def _remove_build_containers(container_ids: Iterable[str]) -> None:
    """After Ctrl-C the engine may still hold the step's container; remove it."""
    for container_id in container_ids:
        remove_quietly(container_id)


def _failure_reason(error: str) -> str:
    # The classic builder repeats the whole RUN line in its error; the step already
    # names it, so keep only what is new.
    if exit_code := _NONZERO.search(error):
        return f"exit code {exit_code.group(1)}"
    return first_line(error)


def _from_image(instruction: str) -> str:
    words = [word for word in instruction.split()[1:] if not word.startswith("--")]
    return words[0] if words else instruction


def _shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
