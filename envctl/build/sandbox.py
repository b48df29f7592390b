"""Rendering a template someone else wrote: sandboxed, and bounded.

Jinja's sandbox keeps a template away from Python's internals; it does not stop
a template from running forever, recursing until the interpreter gives up, or
rendering half a gigabyte. A project's templates come from its checkout, so each
render has a budget: wall time, call depth (macros, recursive loops) and output
size. Overrunning any of them is one line naming the template (exit 3).

Time is enforced twice: every sandboxed call and every output chunk checks the
deadline, and in the main thread a timer signal interrupts a loop that neither
calls nor writes anything.
"""

from __future__ import annotations

import contextvars
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jinja2.sandbox import SandboxedEnvironment

from envctl.errors import InputError

if TYPE_CHECKING:
    import jinja2
    from jinja2.runtime import Context

MAX_SECONDS = 10.0
MAX_DEPTH = 64  # nested sandboxed calls: macros calling macros, recursive loops
MAX_OUTPUT = 1 << 20  # characters; a Dockerfile is a few kilobytes


class LimitExceededError(Exception):
    """Raised inside a render; `rendered` turns it into an InputError."""


@dataclass
class Budget:
    seconds: float = MAX_SECONDS
    depth: int = MAX_DEPTH
    output: int = MAX_OUTPUT
    deadline: float = 0.0
    calls: int = 0  # current nesting
    written: int = 0
    expired: bool = field(default=False)

    def check_time(self) -> None:
        if self.expired or time.monotonic() > self.deadline:
            self.expired = True
            raise LimitExceededError(f"rendering took longer than {self.seconds:g}s")

    def check_size(self, size: int) -> None:
        if size > self.output:
            raise LimitExceededError(f"output is larger than {self.output} characters")


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "envctl_render_budget", default=None
)


class BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox with the running render's budget applied to every call
    and to the operators that can build large values (`*`, `+`, `**`)."""

    intercepted_binops = frozenset({"*", "+", "**"})

    # Jinja's own signature: the dunder names let keyword arguments called
    # `self` or `context` pass through to the callee.
    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _BUDGET.get()
        if budget is None:
            return super().call(__context, __obj, *args, **kwargs)
        budget.check_time()
        if budget.calls >= budget.depth:
            raise LimitExceededError(f"calls nest deeper than {budget.depth} (recursion?)")
        budget.calls += 1
        try:
            return super().call(__context, __obj, *args, **kwargs)
        finally:
            budget.calls -= 1

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = _BUDGET.get()
        if budget is not None:
            budget.check_time()
            budget.check_size(_result_size(operator, left, right))
        return super().call_binop(context, operator, left, right)


def _result_size(operator: str, left: Any, right: Any) -> int:
    """An upper bound on the size of `left OP right`, before computing it."""
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                return len(seq) * max(times, 0)
    if operator == "+" and isinstance(left, (str, list, tuple)) and hasattr(right, "__len__"):
        return len(left) + len(right)
    if operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
        return abs(left).bit_length() * right // 4  # about the digits it would print
    return 0


def rendered(
    template: jinja2.Template, context: Mapping[str, Any], name: str, budget: Budget | None = None
) -> str:
    """`template` rendered with `context` within `budget` (the default limits);
    InputError naming `name` when a limit is exceeded."""
    budget = budget or Budget()
    budget.deadline = time.monotonic() + budget.seconds
    token = _BUDGET.set(budget)
    try:
        with _alarm(budget):
            return _collect(template.generate(dict(context)), budget)
    except LimitExceededError as exc:
        raise InputError(f"template {name}: {exc}; simplify the template") from None
    except RecursionError:
        raise InputError(f"template {name}: recursion too deep; simplify the template") from None
    finally:
        _BUDGET.reset(token)


def _collect(chunks: Iterator[str], budget: Budget) -> str:
    out: list[str] = []
    for chunk in chunks:
        budget.written += len(chunk)
        budget.check_size(budget.written)
        budget.check_time()
        out.append(chunk)
    return "".join(out)


@contextmanager
def _alarm(budget: Budget) -> Iterator[None]:
    """A timer signal that interrupts the render when its time is up. Only the
    main thread receives signals, and a timer already set is not replaced;
    otherwise the per-call and per-chunk checks remain."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getitimer(signal.ITIMER_REAL)[0] > 0  # someone else's timer: leave it be
    ):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        budget.expired = True
        raise LimitExceededError(f"rendering took longer than {budget.seconds:g}s")

    previous: Callable[..., Any] | int | None = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, budget.seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
