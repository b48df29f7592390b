"""Parameter conversion without pydantic, for the values that cannot fail.

typer 0.28 and later convert every parameter value through a pydantic
`TypeAdapter` (typer._adapters), built on first use: even `envctl status --help`
converts typer's own help flag that way, so every run imported pydantic and
built adapters (about 300 M instructions, 8× `python -c pass`, before a command
did anything). This module gives a command's parameters a converter that does
what typer's adapters do for the values envctl's options take (a string, a
path, an enum member, a flag, a plain integer, a list of those) with typer's
own pydantic-free helpers, and hands every other value, and every value that
does not convert cleanly, to typer's pydantic converter: so what a valid
command line yields is the same, and every usage error is typer's own message.

Only typer releases with this converter layer (typer._coercion, 0.28 and
later) are touched; on older ones `lean()` does nothing, as they need nothing.
tests/cli/test_lean_params.py checks the results against typer's converter.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

try:  # typer >= 0.28
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_choice, coerce_cli_path, routes_to_path
    from typer.core import _TyperParameter
except ImportError:  # pragma: no cover - older typer converts with click's types
    RuntimeParam = None  # type: ignore[assignment,misc]

_Click = Any  # click's Context and Parameter (see plain_help)
_INTEGER = re.compile(r"-?[0-9]+")


class _NotPlain(Exception):
    """The value is not one the lean converter is sure about: ask typer."""


def lean(params: list[_Click]) -> None:
    """Give each typer parameter without a converter yet the lean one."""
    if RuntimeParam is None:  # pragma: no cover
        return
    for param in params:
        if isinstance(param, _TyperParameter) and param._runtime_param is None:
            descriptor = param.type_descriptor
            param._runtime_param = _LeanParam(
                parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
            )


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class _LeanParam(RuntimeParam):
        def _coerce_value(self, value: Any, param: _Click, ctx: _Click) -> Any:
            try:
                return _convert(self.annotation, value, self.parameter_info, param, ctx)
            except _NotPlain:
                pass
            except Exception:  # typer says why, in its own words
                pass
            typer_own = build_runtime_param(param.type_descriptor)
            object.__setattr__(param, "_runtime_param", typer_own)
            return typer_own._coerce_value(value, param=param, ctx=ctx)


def _convert(annotation: Any, value: Any, info: Any, param: _Click, ctx: _Click) -> Any:
    if info.parser is not None or getattr(info, "click_type", None) is not None:
        raise _NotPlain
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        values = value if isinstance(value, (list, tuple)) else [value]
        return [_convert(item, one, info, param, ctx) for one in values]
    if get_origin(annotation) is not None:
        raise _NotPlain
    if annotation is str and isinstance(value, str):
        return value
    if annotation is bool and isinstance(value, bool):
        return value
    if annotation is int and not info.clamp:
        return _within(_integer(value), info.min, info.max)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return coerce_cli_choice(
            value, choices=list(annotation), case_sensitive=info.case_sensitive, ctx=ctx
        )
    if isinstance(value, str) and routes_to_path(annotation, info):
        path_type = info.path_type
        if path_type is None and isinstance(annotation, type) and issubclass(annotation, Path):
            path_type = annotation
        if path_type is Path and value and "\0" not in value:
            value = Path(value)  # what pydantic's Path validator makes of a string
        return coerce_cli_path(value, info, path_type=path_type, param=param, ctx=ctx)
    raise _NotPlain


def _integer(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    raise _NotPlain


def _within(number: int, low: float | None, high: float | None) -> int:
    if (low is not None and number < low) or (high is not None and number > high):
        raise _NotPlain  # typer's converter words the error
    return number
