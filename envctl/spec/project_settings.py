"""envctl.yaml as plain data, for the commands that only read the ledger.

`status`, `history` and `image` need the stage order, the model names, the image
registry and the trust section, `list`, `validate` and `diff` the stage order
and the policy; defining and running the pydantic models of
envctl.yaml (envctl.spec.project_file) costs them more than the rest of their
start-up. `settings()` checks a document with the same rules, in plain Python,
and answers only when every value passes them; anything it is not sure of
(another type, an unknown key, a value a rule refuses) answers None, and the
caller validates with the models, whose messages are the ones a user sees.
So a document this module accepts is one the models accept
(tests/spec/test_project_settings.py checks both on generated documents).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from envctl.spec import exact, values

if TYPE_CHECKING:
    from envctl.spec.project_file import ProjectConfig

CONFIG_FILE = "envctl.yaml"
DEFAULT_STAGES = ("dev", "staging", "prod")
MODEL_NAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$")
SEVERITIES = ("error", "warning", "info")


class StageTrustSettings(NamedTuple):
    promoters: tuple[str, ...]
    approvers: tuple[str, ...]


class TrustSettings(NamedTuple):
    allowed_signers: str
    ref: str
    stages: Mapping[str, StageTrustSettings]


class PolicySettings(NamedTuple):
    pin_exact: tuple[str, ...] = ()
    pin_digest: tuple[str, ...] = ()
    severity: Mapping[str, str] = MappingProxyType({})  # finding kind -> severity


class ProjectSettings(NamedTuple):
    """What reading the ledger and the specs needs from envctl.yaml (named
    tuples: defined without the generated code a dataclass costs at import)."""

    stages: tuple[str, ...]
    environments: str
    registry: str | None
    models: tuple[str, ...]  # the declared model names
    trust: TrustSettings | None
    policy: PolicySettings = PolicySettings()


def settings(data: object) -> ProjectSettings | None:
    """The settings of a valid document, or None when the models must decide."""
    try:
        return _project(data)
    except (exact.Unsure, ValueError, TypeError, ArithmeticError):
        return None


def settings_of(config: ProjectConfig) -> ProjectSettings:
    """The same settings, from a document the models validated."""
    trust = config.trust
    policy = config.policy
    return ProjectSettings(
        stages=tuple(config.stages),
        environments=config.environments,
        registry=config.registry,
        models=tuple(config.models),
        trust=None
        if trust is None
        else TrustSettings(
            trust.allowed_signers,
            trust.ref,
            MappingProxyType(
                {
                    stage: StageTrustSettings(tuple(rule.promoters), tuple(rule.approvers))
                    for stage, rule in trust.stages.items()
                }
            ),
        ),
        policy=PolicySettings(
            tuple(policy.pin_exact),
            tuple(policy.pin_digest),
            MappingProxyType(dict(policy.severity)),
        ),
    )


# ---- the rules (envctl.spec.project_file states them as models) -------------------


def principal(raw: str) -> str:
    text = raw.strip().lower()
    if not re.fullmatch(r"[^\s@,]+@[^\s@,]+", text):
        raise ValueError(f"{raw!r} is not a principal: an email as in allowed_signers")
    return text


def repo_path(raw: str) -> str:
    parts = raw.split("/")
    if not raw or raw.startswith("/") or ".." in parts or "" in parts or re.search(r"\s", raw):
        raise ValueError(f"{raw!r} must be a path from the repository root, without '..'")
    return raw


def _project(data: object) -> ProjectSettings:
    doc = _mapping(data, {"stages", "environments", "registry", "models", "policy", "trust"})
    stages = tuple(exact.listed(doc.get("stages", list(DEFAULT_STAGES)), _stage))
    if not stages or len(set(stages)) != len(stages):
        raise exact.Unsure
    environments = values.relative_path(exact.text(doc.get("environments", "environments")))
    registry = doc.get("registry")
    if registry is not None:
        registry = values.safe_token(exact.text(registry))
    models = _mapping(doc.get("models", {}))
    for name, model in models.items():
        if not MODEL_NAME.match(exact.text(name)):
            raise exact.Unsure
        _model(model)
    policy = _policy(doc.get("policy", {}))
    trust = None if doc.get("trust") is None else _trust(doc["trust"])
    if trust is not None and not set(trust.stages) <= set(stages):
        raise exact.Unsure
    return ProjectSettings(stages, environments, registry, tuple(models), trust, policy)


def _model(data: object) -> None:
    model = _mapping(data, {"path", "requires", "serve"})
    values.relative_path(exact.text(model["path"]) if "path" in model else _missing())
    if "requires" in model:
        _requires(model["requires"])
    if model.get("serve") is not None:
        serve = _mapping(model["serve"], {"command", "port", "health"})
        if not exact.listed(serve["command"] if "command" in serve else _missing(), _safe_text):
            raise exact.Unsure
        port = exact.integer(serve.get("port", 8000))
        if not 1 <= port <= 65535:
            raise exact.Unsure
        values.url_path(exact.text(serve.get("health", "/health")))


def _requires(data: object) -> None:
    requires = _mapping(data, {"python", "packages", "data", "cpu", "memory", "gpu", "engines"})
    python = requires.get("python")
    if python is not None:
        text = exact.text(python).strip()
        _ = values.python_version(text) if text[:1].isdigit() else values.specifier(text)
    packages = _mapping(requires.get("packages", {}))
    _no_twins(packages)
    for key, spec in packages.items():
        values.package_key(exact.text(key))
        values.specifier(exact.text(spec))
    exact.listed(
        requires.get("data", []), lambda v: values.word(exact.text(v), "data classification")
    )
    exact.listed(requires.get("engines", []), lambda v: values.word(exact.text(v), "engine name"))
    if requires.get("cpu") is not None:
        values.cpu_count(_number_or_text(requires["cpu"]))
    if requires.get("memory") is not None:
        values.memory_bytes(_number_or_text(requires["memory"]))
    if exact.integer(requires.get("gpu", 0)) < 0:
        raise exact.Unsure


def _policy(data: object) -> PolicySettings:
    policy = _mapping(data, {"pin_exact", "pin_digest", "severity"})
    pin_exact = tuple(exact.listed(policy.get("pin_exact", []), _stage))
    pin_digest = tuple(exact.listed(policy.get("pin_digest", []), _stage))
    severity = _mapping(policy.get("severity", {}))
    for kind, gravity in severity.items():
        exact.text(kind)
        if type(gravity) is not str or gravity not in SEVERITIES:
            raise exact.Unsure
    return PolicySettings(pin_exact, pin_digest, MappingProxyType(dict(severity)))


def _trust(data: object) -> TrustSettings:
    trust = _mapping(data, {"allowed_signers", "ref", "stages"})
    signers = repo_path(exact.text(trust["allowed_signers"]) if "allowed_signers" in trust else "")
    ref = values.safe_token(exact.text(trust.get("ref", "origin/main")))
    stages: dict[str, StageTrustSettings] = {}
    for stage, rule in _mapping(trust.get("stages", {})).items():
        rules = _mapping(rule, {"promoters", "approvers"})
        promoters = tuple(exact.listed(rules.get("promoters", []), _principal))
        if not promoters:
            raise exact.Unsure
        approvers = tuple(exact.listed(rules.get("approvers", []), _principal))
        stages[_stage(stage)] = StageTrustSettings(promoters, approvers)
    return TrustSettings(signers, ref, MappingProxyType(stages))


# ---- exact types only: a value the models would coerce is theirs to judge ---------


def _mapping(data: object, keys: set[str] | None = None) -> dict[str, Any]:
    if type(data) is not dict or any(type(k) is not str for k in data):
        raise exact.Unsure
    if keys is not None and not set(data) <= keys:
        raise exact.Unsure
    return data


def _number_or_text(data: object) -> object:
    if type(data) not in (int, float, str):
        raise exact.Unsure
    return data


def _missing() -> str:
    raise exact.Unsure


def _stage(data: object) -> str:
    return values.word(exact.text(data), "stage name")


def _safe_text(data: object) -> str:
    return values.safe_text(exact.text(data))


def _principal(data: object) -> str:
    return principal(exact.text(data))


def _no_twins(packages: dict[str, Any]) -> None:
    seen: set[str] = set()
    for key in packages:
        name = values.package_key(exact.text(key))
        if name in seen:
            raise exact.Unsure
        seen.add(name)
