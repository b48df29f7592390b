"""Turn a YAML document into a validated model, or one SpecError listing every problem."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any, TypeVar

from envctl.errors import Location, SpecError
from envctl.spec import indexes
from envctl.spec.yamldoc import AtKeyError, Document, Path, Problem, format_path

if TYPE_CHECKING:  # pydantic is imported by validate(): raise_problems needs none of it
    from pydantic import BaseModel

M = TypeVar("M", bound="BaseModel")


def validate(model: type[M], doc: Document, source: str) -> M:
    """Validate `doc` against `model`; raise SpecError with all problems at once."""
    from pydantic import ValidationError

    problems = list(doc.problems)
    result: M | None = None
    if doc.data is not None and not isinstance(doc.data, dict):
        problems.append(
            Problem(f"the document is a {type(doc.data).__name__}, not a mapping of keys", (), 1, 1)
        )
    elif doc.data is not None:
        try:
            result = model.model_validate(doc.data)
        except ValidationError as exc:
            problems.extend(_problem(model, doc, err) for err in exc.errors())
    if problems or result is None:
        raise_problems(problems, source)
    assert result is not None
    return result


def raise_problems(problems: list[Problem], source: str) -> None:
    lines = [p.render(source) for p in _dedupe(problems)]
    if not lines:
        lines = [f"{source}: invalid"]
    count = f" ({len(lines)} problems)" if len(lines) > 1 else ""
    first = _dedupe(problems)[0] if problems else None
    location = (
        Location(first.file or source, first.line, first.column, format_path(first.path) or None)
        if first
        else Location(source)
    )
    raise SpecError(lines[0] + count, details=lines, location=location)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[Any, ...]] = set()
    out: list[Problem] = []
    for p in sorted(problems, key=lambda p: (p.line or 0, p.column or 0)):
        key = (p.message, p.path, p.line)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _problem(model: type[BaseModel], doc: Document, err: Any) -> Problem:
    loc: Path = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        known = _known_keys(model, loc[:-1])
        near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]!r}?" if near else f"; known keys: {', '.join(known)}"
        return doc.problem(f"unknown key {key!r}{hint}", loc)
    if kind == "missing":
        return doc.problem(f"required key {loc[-1]!r} is missing", loc)
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, AtKeyError):
        loc = (*loc, *cause.path)
    message = indexes.redact(str(err["msg"]).removeprefix("Value error, "))
    if kind in ("dict_type", "list_type", "string_type", "int_type", "float_type", "bool_type"):
        message = f"{message} (got {type(err.get('input')).__name__}: {err.get('input')!r})"
    return doc.problem(message, loc)


def _known_keys(model: type[BaseModel], loc: Path) -> list[str]:
    """Field names of the model found at `loc` (walking nested models, lists, dicts)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None or part not in fields:
            return []
        current = _inner_model(fields[part].annotation)
    fields = getattr(current, "model_fields", None)
    return sorted(fields) if fields else []


def _inner_model(annotation: Any) -> Any:
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
