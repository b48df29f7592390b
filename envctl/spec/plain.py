"""Reading a spec document that plainly follows every rule, without pydantic.

`read(data)` returns the spec's plain value (envctl.spec.types) when the
document keeps to the plain shape of every field: each value of exactly its
type (a string where a string goes, a whole number where a count goes), every
check passed. Anything else, including every mistake, returns None, and the
caller validates with the model (envctl.spec.model), whose messages name the
problem. So this reader never refuses a spec and never accepts one the model
refuses: it is a fast path, and tests/spec/test_plain_reader.py holds it to the
model's values on every bundled spec and on hypothesis's mutations of them.

Checks that change a value (normalising package names, `gpu: 1`, `"500m"` CPUs)
are the functions below and in envctl.spec.values: the model calls the same
ones, so the two cannot normalise differently.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from envctl.spec import exact, indexes, rates, rules, values
from envctl.spec import types as t
from envctl.spec.yamldoc import AtKeyError
from envctl.vocabulary import GATE_KINDS

_T = TypeVar("_T")
_P = TypeVar("_P", bound=t.Part)


def read(data: Any) -> t.Spec | None:
    """The spec `data` (a merged document) is, or None when the model must decide."""
    try:
        return _spec(data)
    except (exact.Unsure, ValueError, TypeError, LookupError):
        return None


# ---- value checks shared with the model (its Before/After validators) ------


def no_twins(raw: Any) -> Any:
    """Two spellings of one package would silently merge once normalised: refuse."""
    if not isinstance(raw, dict):
        return raw
    seen: dict[str, str] = {}
    for key in raw:
        try:
            name = values.package_key(str(key))
        except ValueError:
            continue  # reported per key by the field's own validation
        if name in seen:
            raise ValueError(f"{key!r} and {seen[name]!r} are the same package ({name}); keep one")
        seen[name] = str(key)
    return {str(k): v for k, v in raw.items()}


def source_keys(raw: Any) -> Any:
    """`sources:` keys are distribution names: normalised, twins refused."""
    if not isinstance(raw, dict):
        return raw
    out: dict[str, Any] = {}
    for key, value in no_twins(raw).items():
        name = values.package_key(key)
        if "[" in name:
            raise ValueError(f"sources.{key}: route the distribution, not an extra")
        out[name] = value
    return out


def gpu_count(raw: Any) -> Any:
    return {"count": raw} if isinstance(raw, int) and not isinstance(raw, bool) else raw


def cuda_version(raw: Any) -> str:
    text = str(raw).strip()
    if not re.fullmatch(r"\d+\.\d+", text):
        raise ValueError(f'cuda: {raw!r} is not a CUDA version like "12.2"')
    return text


def gpu_floor(raw: str, what: str) -> str:
    from envctl.gpu import drivers  # here: a spec without GPU floors needs no driver table

    return f">={drivers.floor(raw, what)}"


def env_values(raw: Any) -> Any:
    """`env:` values are plain scalars, written as strings (booleans lowercase)."""
    if not isinstance(raw, dict):
        return raw
    out: dict[str, str] = {}
    for key, value in raw.items():
        values.env_key(str(key))
        if isinstance(value, (dict, list)) or value is None:
            raise ValueError(f"env.{key} must be a plain value")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        values.safe_text(text)
        out[str(key)] = text
    return out


def command_argv(raw: Any) -> Any:
    """A command written as one string is split as a shell would, without one."""
    return shlex.split(raw) if isinstance(raw, str) else raw


def slo_rules(raw: Any) -> Any:
    """`slo:` metric -> one rule or a list of them, percents made fractions."""
    if not isinstance(raw, dict):
        return raw
    out: dict[str, list[str]] = {}
    for metric, written_rules in raw.items():
        if metric not in rules.LOAD_METRICS:
            raise AtKeyError(f"{metric!r} is not one of {', '.join(rules.LOAD_METRICS)}", (metric,))
        listed = written_rules if isinstance(written_rules, list) else [written_rules]
        if not listed:
            raise AtKeyError("give at least one rule", (metric,))
        out[metric] = [rates.percent_rule(rule) for rule in listed]
        for written, rule in zip(listed, out[metric], strict=True):
            try:
                parsed = rules.parse_rule(rule, metric)
            except ValueError as exc:  # said at the metric's own line, not slo:'s
                raise AtKeyError(str(exc).removeprefix(f"{metric}: "), (metric,)) from None
            rules.check_slo_rule(metric, str(written), parsed)
    return out


def thresholds(raw: dict[str, str]) -> dict[str, str]:
    for metric, rule in raw.items():
        rules.parse_rule(rule, metric)
    return raw


def evaluation_thresholds(raw: dict[str, str]) -> dict[str, str]:
    for metric in raw:
        if metric not in rules.EVALUATION_METRICS:
            raise ValueError(
                f"{metric!r} is not a metric the evaluate gate computes "
                f"({', '.join(rules.EVALUATION_METRICS)})"
            )
    return thresholds(raw)


# ---- plain shapes -----------------------------------------------------------


def _obj(raw: Any, kind: type[t.Part]) -> dict[str, Any]:
    if type(raw) is not dict or not raw.keys() <= kind._names:
        raise exact.Unsure
    return raw


def _choice(raw: Any, options: tuple[str, ...]) -> Any:
    if type(raw) is not str or raw not in options:
        raise exact.Unsure
    return raw


def _strings(raw: Any, least: int = 0) -> dict[str, str]:
    if type(raw) is not dict or len(raw) < least:
        raise exact.Unsure
    return {exact.text(key): exact.text(value) for key, value in raw.items()}


def _take(
    raw: dict[str, Any], fields: dict[str, Callable[[Any], Any]], required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Each field present in `raw` read by its function; the required ones present."""
    if any(name not in raw for name in required):
        raise exact.Unsure
    return {name: fields[name](value) for name, value in raw.items()}


def _part(
    kind: type[_P],
    raw: Any,
    fields: dict[str, Callable[[Any], Any]],
    required: tuple[str, ...] = (),
) -> _P:
    """The part `kind` that `raw` is: a mapping of its own keys, each read by its function."""
    return kind(**_take(_obj(raw, kind), fields, required))


def _optional(read: Callable[[Any], _T]) -> Callable[[Any], _T | None]:
    return lambda raw: None if raw is None else read(raw)


def _checked(check: Callable[[str], str]) -> Callable[[Any], str]:
    return lambda raw: check(exact.text(raw))


def _positive(raw: Any) -> int:
    return exact.integer(raw, 1)


_safe_token = _checked(values.safe_token)
_safe_text = _checked(values.safe_text)
_rel_path = _checked(values.relative_path)
_url_path = _checked(values.url_path)
_classification = _checked(lambda v: values.word(v, "data classification"))
_requires = _optional(lambda raw: _choice(raw, ("error", "warning", "off")))
_method = lambda raw: _choice(raw, ("GET", "POST"))  # noqa: E731
_baseline = _optional(lambda raw: _choice(raw, ("no_worse",)))


def _date(raw: Any) -> date | None:
    if raw is not None and type(raw) is not date:
        raise exact.Unsure
    return raw


def _datetime(raw: Any) -> datetime:
    if type(raw) is not datetime:
        raise exact.Unsure
    return raw


def _reason(raw: Any) -> str:
    text = _safe_text(raw)
    if len(text) < 3:
        raise exact.Unsure
    return text


def _float(raw: Any) -> float:
    if type(raw) is not float and type(raw) is not int:
        raise exact.Unsure
    return float(raw)


def _as_float(convert: Callable[[Any], float]) -> Callable[[Any], float]:
    return lambda raw: _float(convert(raw))


def _packages(raw: Any) -> dict[str, str]:
    twins = no_twins(raw)
    if type(twins) is not dict:
        raise exact.Unsure
    return {
        values.package_key(key): exact.text(values.specifier(spec)) for key, spec in twins.items()
    }


# ---- the spec's parts, as the model has them --------------------------------


def _image(raw: Any) -> t.Image:
    return _part(
        t.Image,
        raw,
        {
            "base": _checked(values.image_ref),
            "platform": _checked(values.platform),
            "repository": _optional(_checked(values.image_ref)),
            "network": lambda v: _choice(v, ("none", "apt")),
        },
        ("base",),
    )


def _index(raw: Any) -> t.PackageIndex:
    return _part(
        t.PackageIndex,
        raw,
        {
            "name": _checked(indexes.index_name),
            "url": _checked(indexes.index_url),
            "explicit": exact.flag,
            "default": exact.flag,
        },
        ("name", "url"),
    )


def _source(raw: Any) -> t.Source:
    return _part(t.Source, raw, {"index": _checked(indexes.index_name)}, ("index",))


def _evaluation_set(raw: Any) -> t.EvaluationSet:
    held = _part(
        t.EvaluationSet,
        raw,
        {
            "file": _optional(_rel_path),
            "host_file": _optional(_checked(values.host_path)),
            "label": _safe_token,
            "classification": _classification,
            "sha256": _optional(_checked(values.sha256_hex)),
        },
        ("classification",),
    )
    if (held.file is None) == (held.host_file is None):
        raise exact.Unsure
    return held


def _evaluation_sets(raw: Any) -> dict[str, t.EvaluationSet]:
    if type(raw) is not dict:
        raise exact.Unsure
    return {
        values.word(exact.text(name), "evaluation set name"): _evaluation_set(held)
        for name, held in raw.items()
    }


def _data(raw: Any) -> t.Data:
    data = _part(
        t.Data,
        raw,
        {
            "allowed": lambda v: exact.listed(v, _classification),
            "sources": lambda v: exact.listed(v, _safe_token),
            "evaluation": _evaluation_sets,
        },
    )
    if any(held.classification not in data.allowed for held in data.evaluation.values()):
        raise exact.Unsure
    return data


def _gpu(raw: Any) -> t.Gpu:
    return _part(
        t.Gpu,
        gpu_count(raw),
        {
            "count": lambda v: exact.integer(v, 0),
            "vendor": lambda v: _choice(v, ("nvidia", "amd")),
            "driver": _optional(lambda v: gpu_floor(exact.text(v), "driver")),
            "cuda": _optional(cuda_version),
            "capability": _optional(lambda v: gpu_floor(exact.text(v), "capability")),
        },
        ("count",),
    )


def _compute(raw: Any) -> t.Compute:
    return _part(
        t.Compute,
        raw,
        {
            "cpu": _optional(_as_float(values.cpu_count)),
            "memory": _optional(lambda v: exact.integer(values.memory_bytes(v))),
            "gpu": _gpu,
            "engines": lambda v: exact.listed(v, _checked(lambda e: values.word(e, "engine name"))),
        },
    )


def _tests_gate(raw: Any) -> t.TestsGate:
    return _part(
        t.TestsGate,
        raw,
        {
            "paths": lambda v: exact.listed(v, _rel_path),
            "packages": _packages,
            "timeout": _positive,
        },
    )


def _metrics_gate(raw: Any) -> t.MetricsGate:
    return _part(
        t.MetricsGate,
        raw,
        {"file": _rel_path, "require": lambda v: thresholds(_strings(v)), "baseline": _baseline},
        ("file", "require"),
    )


def _positive_class(raw: Any) -> str | int:
    if type(raw) is not str and type(raw) is not int:
        raise exact.Unsure
    return raw


def _evaluate_gate(raw: Any) -> t.EvaluateGate:
    gate = _part(
        t.EvaluateGate,
        raw,
        {
            "data": exact.text,
            "require": lambda v: evaluation_thresholds(_strings(v, 1)),
            "baseline": _baseline,
            "path": _url_path,
            "batch": lambda v: exact.integer(v, 1, 10_000),
            "inputs": _safe_token,
            "predictions": _safe_token,
            "scores": _optional(_safe_token),
            "positive": _positive_class,
            "claims": _optional(_rel_path),
            "timeout": _positive,
            "requires": _requires,
        },
        ("data", "require"),
    )
    if gate.scores is None and any(m in rules.SCORE_METRICS for m in gate.require):
        raise exact.Unsure
    return gate


def _http_gate(raw: Any) -> t.HttpGate:
    return _part(
        t.HttpGate,
        raw,
        {
            "path": _url_path,
            "method": _method,
            "request": _optional(_rel_path),
            "expect_status": lambda v: exact.integer(v, 100, 599),
            "expect_keys": lambda v: exact.listed(v, exact.text),
            "timeout": _positive,
        },
    )


def _approvals_gate(raw: Any) -> t.ApprovalsGate:
    return _part(t.ApprovalsGate, raw, {"required": _positive})


def _command_gate(raw: Any) -> t.CommandGate:
    return _part(
        t.CommandGate,
        raw,
        {"run": lambda v: exact.listed(command_argv(v), _safe_text, 1), "timeout": _positive},
        ("run",),
    )


_RATING = ("low", "medium", "high", "critical")


def _vulnerability_waiver(raw: Any) -> t.VulnerabilityWaiver:
    return _part(
        t.VulnerabilityWaiver,
        raw,
        {
            "id": _safe_token,
            "package": _optional(_safe_token),
            "reason": _reason,
            "expires": _date,
        },
        ("id", "reason"),
    )


def _vulnerabilities_gate(raw: Any) -> t.VulnerabilitiesGate:
    return _part(
        t.VulnerabilitiesGate,
        raw,
        {
            "fail_on": lambda v: _choice(v, _RATING),
            "unknown": lambda v: _choice(v, _RATING),
            "database": _optional(exact.text),
            "max_age": lambda v: exact.integer(values.duration_seconds(v)),
            "waivers": lambda v: exact.listed(v, _vulnerability_waiver),
        },
    )


def _slo(raw: Any) -> dict[str, list[str]]:
    if type(raw) is not dict or not raw:
        raise exact.Unsure
    for key, written in raw.items():
        exact.text(key)
        for rule in written if type(written) is list else [written]:
            exact.text(rule)
    return {metric: exact.listed(listed, exact.text) for metric, listed in slo_rules(raw).items()}


def _load_gate(raw: Any) -> t.LoadGate:
    seconds = _as_float(rates.seconds)
    gate = _part(
        t.LoadGate,
        raw,
        {
            "path": _url_path,
            "method": _method,
            "request": _optional(_rel_path),
            "expect_status": lambda v: exact.integer(v, 100, 599),
            "rate": _as_float(rates.rate_per_second),
            "duration": seconds,
            "slo": _slo,
            "timeout": seconds,
            "ready_timeout": seconds,
            "connections": lambda v: exact.integer(v, 1, 10_000),
            "calibration_p99_ms": _above_zero,
            "requires": _requires,
        },
        ("rate", "duration", "slo"),
    )
    if round(gate.rate * gate.duration) < 1:
        raise exact.Unsure
    return gate


def _above_zero(raw: Any) -> float:
    value = _float(raw)
    if not value > 0:
        raise exact.Unsure
    return value


_GATES: dict[str, Callable[[Any], Any]] = {
    "tests": _tests_gate,
    "metrics": _metrics_gate,
    "http": _http_gate,
    "approvals": _approvals_gate,
    "command": _command_gate,
    "vulnerabilities": _vulnerabilities_gate,
    "load": _load_gate,
    "evaluate": _evaluate_gate,
}


def _gate(raw: Any) -> t.Gate:
    fields = _take(_obj(raw, t.Gate), {k: _optional(_GATES[k]) for k in GATE_KINDS})
    if sum(value is not None for value in fields.values()) != 1:
        raise exact.Unsure
    return t.Gate(**fields)


def _waiver(raw: Any) -> t.Waiver:
    return _part(
        t.Waiver,
        raw,
        {"kind": exact.text, "path": _optional(exact.text), "reason": _reason, "expires": _date},
        ("kind", "reason"),
    )


def _window(raw: Any) -> t.Window:
    return _part(
        t.Window,
        raw,
        {
            "days": lambda v: exact.listed(v, lambda d: _choice(d, t.WEEKDAYS), 1),
            "hours": _checked(_hours),
        },
    )


def _hours(raw: str) -> str:
    values.hour_range(raw)
    return raw


def _freeze(raw: Any) -> t.Freeze:
    if type(raw) is not dict or not raw.keys() <= {"from", "until", "reason"} or "from" not in raw:
        raise exact.Unsure
    own = {"start" if key == "from" else key: value for key, value in raw.items()}
    freeze = t.Freeze(
        **_take(
            own,
            {"start": _datetime, "until": _datetime, "reason": _optional(_safe_text)},
            ("start", "until"),
        )
    )
    if (freeze.start.tzinfo is None) != (freeze.until.tzinfo is None):
        raise exact.Unsure
    if freeze.until <= freeze.start:
        raise exact.Unsure
    return freeze


def _live_metrics(raw: Any) -> t.LiveMetrics:
    return _part(
        t.LiveMetrics,
        raw,
        {
            "path": _url_path,
            "require": lambda v: thresholds(_strings(v, 1)),
            "timeout": _positive,
        },
        ("require",),
    )


def _live_checks(raw: Any) -> t.LiveChecks:
    return _part(
        t.LiveChecks,
        raw,
        {
            "url": _optional(_checked(values.service_url)),
            "metrics": _optional(_live_metrics),
            "rollback": lambda v: _choice(v, ("auto", "manual")),
        },
    )


def _policy(raw: Any) -> t.StagePolicy:
    policy = _part(
        t.StagePolicy,
        raw,
        {
            "soak": _optional(lambda v: exact.integer(values.duration_seconds(v))),
            "auto": exact.flag,
            "timezone": _optional(_checked(values.time_zone)),
            "windows": lambda v: exact.listed(v, _window),
            "freeze": lambda v: exact.listed(v, _freeze),
            "live": _optional(_live_checks),
        },
    )
    if (policy.windows or policy.freeze) and policy.timezone is None:
        raise exact.Unsure
    return policy


def _env(raw: Any) -> dict[str, str]:
    if type(raw) is not dict:
        raise exact.Unsure
    return _strings(env_values(raw))


def _sources(raw: Any) -> dict[str, t.Source]:
    keyed = source_keys(raw)
    if type(keyed) is not dict:
        raise exact.Unsure
    return {key: _source(value) for key, value in keyed.items()}


def _spec(raw: Any) -> t.Spec:
    spec = _part(
        t.Spec,
        raw,
        {
            "name": _checked(lambda v: values.word(v, "environment name")),
            "version": lambda v: exact.integer(values.spec_version(v), 1),
            "extends": _optional(_safe_token),
            "description": _optional(_safe_text),
            "image": _image,
            "python": lambda v: exact.text(values.python_version(v)),
            "packages": _packages,
            "indexes": lambda v: exact.listed(v, _index),
            "sources": _sources,
            "system_packages": lambda v: exact.listed(v, _checked(values.apt_package)),
            "data": _data,
            "compute": _compute,
            "env": _env,
            "runner": _optional(_checked(values.engine_url)),
            "gates": lambda v: exact.listed(v, _gate),
            "waivers": lambda v: exact.listed(v, _waiver),
            "policy": _optional(_policy),
        },
        ("name", "version", "image", "python"),
    )
    _check_routing(spec)
    for gate in spec.gates:
        if gate.evaluate is not None and gate.evaluate.data not in spec.data.evaluation:
            raise exact.Unsure
    return spec


def _check_routing(spec: t.Spec) -> None:
    names = [index.name for index in spec.indexes]
    if len(set(names)) != len(names) or sum(index.default for index in spec.indexes) > 1:
        raise exact.Unsure
    declared = {values.package_name(key) for key in spec.packages}
    for package, source in spec.sources.items():
        if source.index not in names or package not in declared:
            raise exact.Unsure
