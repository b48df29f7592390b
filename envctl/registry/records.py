"""Promotion records in tag messages: a summary line for humans (and GTO), then a
versioned marker and a JSON block that only envctl reads."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

RECORD_MARKER = "envctl-record: v1"
_MARKER_START = "envctl-record:"
_JSON = json.JSONDecoder()


def text_or_none(value: Any) -> str | None:
    """A record field that should be text: the text, or None (absent, empty, other)."""
    return value if isinstance(value, str) and value else None


def format_record(summary: str, data: Mapping[str, Any]) -> str:
    """A tag message: one summary line, a blank line, the marker, then `data` as JSON."""
    line = " ".join(summary.split()) or "envctl record"
    body = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
    return f"{line}\n\n{RECORD_MARKER}\n{body}\n"


def has_record_marker(message: str) -> bool:
    """Whether the message holds an `envctl-record:` line (well-formed or not)."""
    return _last_marker(message) >= 0


def _last_marker(message: str) -> int:
    """Where the last line starting with `envctl-record:` starts, or -1 (a plain
    search: every status reads every record, and a regex scan costs twice as much)."""
    at = message.rfind(_MARKER_START)
    while at > 0 and message[at - 1] != "\n":
        at = message.rfind(_MARKER_START, 0, at)
    return at


def record_problems(data: Mapping[str, Any], kind: str) -> list[str]:
    """What is wrong with the fields of a v1 record of `kind` ("promotion" or
    "approval"): a record anyone may have edited is trusted only field by field."""
    problems = [] if data.get("kind") == kind else [f"kind is not {kind!r}"]
    who = data.get("who")
    if not (isinstance(who, dict) and _is_text(who.get("name")) and _is_text(who.get("email"))):
        problems.append("who is not {name, email}")
    when = data.get("when")
    if not (isinstance(when, str) and _is_iso_date(when)):
        problems.append("when is not an ISO 8601 time")
    if kind == "approval":
        problems += [
            f"{k} is not text" for k in ("model", "version", "stage") if not _is_text(data.get(k))
        ]
        return problems
    if not _is_optional_text(data.get("from_stage")):
        problems.append("from_stage is not text or null")
    if not _is_optional_text(data.get("rollback_of")):
        problems.append("rollback_of is not text or null")
    if not _is_optional_text(data.get("version")):
        problems.append("version is not text or null")
    if not _is_optional_text(data.get("model")) or not _is_optional_text(data.get("stage")):
        problems.append("model or stage is not text")
    n = data.get("n")
    if n is not None and not (isinstance(n, int) and not isinstance(n, bool) and n > 0):
        problems.append("n is not a positive integer")
    bypass = data.get("bypass")
    if bypass is not None and not (isinstance(bypass, dict) and _is_text(bypass.get("reason"))):
        problems.append("bypass is not {reason}")
    cause = data.get("cause")
    if cause is not None and not (isinstance(cause, dict) and _is_text(cause.get("reason"))):
        problems.append("cause is not {reason, ...}")
    gpu = data.get("gpu_bypass")
    if gpu is not None and not (isinstance(gpu, dict) and _is_text(gpu.get("reason"))):
        problems.append("gpu_bypass is not {reason, ...}")
    gates = data.get("gates")
    if not (isinstance(gates, list) and all(_is_gate(g) for g in gates)):
        problems.append("gates is not a list of {kind, status}")
    return problems


def record_email(data: Mapping[str, Any]) -> str | None:
    """The record's `who.email`, lower-cased, when it is text."""
    who = data.get("who")
    email = who.get("email") if isinstance(who, dict) else None
    return email.strip().lower() if isinstance(email, str) else None


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_optional_text(value: object) -> bool:
    return value is None or isinstance(value, str)


def _is_iso_date(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_gate(gate: object) -> bool:
    return isinstance(gate, dict) and _is_text(gate.get("kind")) and _is_text(gate.get("status"))


def parse_record(message: str) -> dict[str, Any] | None:
    """The data block of an envctl tag message; None for free text (GTO's messages),
    another record version, or a damaged block. Text after the JSON (a signature) is
    ignored."""
    at = _last_marker(message)
    if at < 0:
        return None
    end = message.find("\n", at)
    end = len(message) if end < 0 else end
    if message[at:end].strip() != RECORD_MARKER:
        return None
    rest = message[end:].lstrip()
    try:
        data, _ = _JSON.raw_decode(rest)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def promotion_record(
    *,
    who_name: str,
    who_email: str,
    when: datetime,
    from_stage: str | None,
    env: Mapping[str, Any],
    image: Mapping[str, Any] | str | None,
    gates: Iterable[Mapping[str, Any]],
    bypass: str | None = None,
    rollback_of: str | None = None,
    cause: Mapping[str, Any] | None = None,
    gpu_bypass: Mapping[str, Any] | None = None,
    version: str | None = None,
    model: str | None = None,
    stage: str | None = None,
    counter: int | None = None,
) -> dict[str, Any]:
    """The v1 data of an assignment tag; `env` holds name, spec_version, fingerprint,
    `image` ref, id, digest, content_fingerprint, reused_from and differences, each
    gate holds name, kind, result and evidence. `version` names the version assigned:
    a commit registered as two versions does not say which one on its own.
    `model`, `stage` and `counter` (written as `n`) name the tag the record is
    written for, so that a signature over the record covers the name it is read
    under (a signed event copied under another name does not count). `cause`,
    only when given: why a rollback was made (`reason`) and what showed it
    (`checks`, ...). `gpu_bypass`, only when given: the gates ran without the
    stage's GPUs and the promoter accepted it (`gpus`, `reason`, `engine_said`)."""
    named = {
        key: value
        for key, value in (("model", model), ("stage", stage), ("n", counter), ("version", version))
        if value is not None
    }
    data: dict[str, Any] = {
        "kind": "promotion",
        **named,
        "who": {"name": who_name, "email": who_email},
        "when": when.isoformat(),
        "from_stage": from_stage,
        "env": dict(env),
        "image": dict(image) if isinstance(image, Mapping) else image,
        "gates": [dict(gate) for gate in gates],
        "bypass": {"reason": bypass} if bypass is not None else None,
        "rollback_of": rollback_of,
    }
    if cause is not None:
        data["cause"] = dict(cause)
    if gpu_bypass is not None:
        data["gpu_bypass"] = dict(gpu_bypass)
    return data


def spec_commit(record: Mapping[str, Any] | None) -> str | None:
    """The commit a promotion record says its stage spec was read at, when it says."""
    env = record.get("env") if record is not None else None
    commit = env.get("commit") if isinstance(env, dict) else None
    return commit if isinstance(commit, str) and commit else None
