"""Approval tags: `envctl/approval/NAME/VERSION/STAGE/SLUG`. No `#` and no `@`, so
GTO's regex can never read them as registry events (tests/test_gto_compat.py)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from envctl.errors import InputError
from envctl.registry.grammar import is_valid_model_name, is_valid_stage_name, is_valid_version

APPROVAL_PREFIX = "envctl/approval/"
_SLUG_RE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


@dataclass(frozen=True)
class ApprovalTag:
    model: str
    version: str
    stage: str
    slug: str


def approver_slug(email: str) -> str:
    """Readable and collision-free: `a.b@x` and `a-b@x` must not share a tag name."""
    normal = email.strip().lower()
    readable = re.sub(r"[^a-z0-9]+", "-", normal).strip("-")[:40].strip("-") or "approver"
    return f"{readable}-{hashlib.sha256(normal.encode()).hexdigest()[:8]}"


def approval_tag(model: str, version: str, stage: str, email: str) -> str:
    if not (is_valid_model_name(model) and is_valid_version(version)):
        raise InputError(f"cannot approve {model}@{version}: not a valid model name and version")
    if not is_valid_stage_name(stage):
        raise InputError(f"cannot approve for stage {stage!r}: not a valid stage name")
    model_part = model.replace(":", "=")
    return f"{APPROVAL_PREFIX}{model_part}/{version}/{stage}/{approver_slug(email)}"


def parse_approval_tag(tag: str) -> ApprovalTag | None:
    """Split from the right: stage names never contain '.', versions always do, so the
    last version-shaped segment separates model from stage even when both hold '/'."""
    if not tag.startswith(APPROVAL_PREFIX):
        return None
    *head, slug = tag[len(APPROVAL_PREFIX) :].split("/")
    where = [i for i, part in enumerate(head) if is_valid_version(part)]
    if not where or not _SLUG_RE.fullmatch(slug):
        return None
    model = "/".join(head[: where[-1]]).replace("=", ":")
    stage = "/".join(head[where[-1] + 1 :])
    if not (is_valid_model_name(model) and is_valid_stage_name(stage)):
        return None
    return ApprovalTag(model, head[where[-1]], stage, slug)
