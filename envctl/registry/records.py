"""Promotion records in tag messages: a summary line for humans (and GTO), then a
versioned marker and a JSON block that only envctl reads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

RECORD_MARKER = "envctl-record: v1"
_MARKER_RE = re.compile(r"^envctl-record:[^\n]*$", re.MULTILINE)
_JSON = json.JSONDecoder()


def format_record(summary: str, data: Mapping[str, Any]) -> str:
    """A tag message: one summary line, a blank line, the marker, then `data` as JSON."""
    line = " ".join(summary.split()) or "envctl record"
    body = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
    return f"{line}\n\n{RECORD_MARKER}\n{body}\n"


def parse_record(message: str) -> dict[str, Any] | None:
    """The data block of an envctl tag message; None for free text (GTO's messages),
    another record version, or a damaged block. Text after the JSON (a signature) is
    ignored."""
    markers = list(_MARKER_RE.finditer(message))
    if not markers or markers[-1].group().strip() != RECORD_MARKER:
        return None
    rest = message[markers[-1].end() :].lstrip()
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
) -> dict[str, Any]:
    """The v1 data of an assignment tag; `env` holds name, spec_version, fingerprint,
    `image` ref, id, digest, content_fingerprint, reused_from and differences, each
    gate holds name, kind, result and evidence."""
    return {
        "kind": "promotion",
        "who": {"name": who_name, "email": who_email},
        "when": when.isoformat(),
        "from_stage": from_stage,
        "env": dict(env),
        "image": dict(image) if isinstance(image, Mapping) else image,
        "gates": [dict(gate) for gate in gates],
        "bypass": {"reason": bypass} if bypass is not None else None,
        "rollback_of": rollback_of,
    }
