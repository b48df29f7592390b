"""The model registry as stored in git tags. Pure: raw tag records in, a Registry out.

Tag names follow GTO's grammar verbatim, so gto, gto-action and envctl read the
same registry; unlike GTO, events are ordered by their `#N`, never by tagger time.
Approvals live under `envctl/approval/...`, where GTO never looks.

Layout: `grammar` (tag names: parse, format, validity, SemVer order), `records`
(the JSON block in a tag message), `approvals` (the approval tag scheme),
`ordering` (events in #N order), `state` (the Registry value and `parse_registry`),
`binding` (is a tag read under the name it was written for), `violation` (a broken
rule), `audit` (the ledger replayed: what counts, what violates the rules), `timing`
(when an event counts from, and times that disagree), `rollbacks` (where a stage
may roll back to). Below the gates and the ledger, it also holds the vocabulary
both use: `target` (what a promotion moves where) and `results` (a gate's result,
which the ledger records), and `workspace` (where the registry lives; the one
module here that reads git). Callers use this package's names (`from envctl
import registry as reg`), and `envctl.registry.target`, `.results`, `.workspace`,
`.rollbacks` directly.

`parse_registry` (the registry as stored, nothing verified) is not among them:
only the verifier (`envctl.ledger.trust`) builds it, and every command reads
the ledger through what it returns (an import-linter contract in pyproject.toml).
"""

from __future__ import annotations

from envctl.registry.approvals import (
    APPROVAL_PREFIX,
    ApprovalTag,
    approval_tag,
    approver_slug,
    parse_approval_tag,
)
from envctl.registry.audit import (
    Audit,
    Evidence,
    StageTrust,
    TrustPolicy,
    Verdict,
    audit_registry,
)
from envctl.registry.grammar import (
    Action,
    TagName,
    assignment_tag,
    format_tag_name,
    is_valid_model_name,
    is_valid_stage_name,
    is_valid_version,
    parse_tag_name,
    registration_tag,
    require_version,
    semver_key,
    split_version_ref,
)
from envctl.registry.records import (
    RECORD_MARKER,
    format_record,
    parse_record,
    promotion_record,
    spec_commit,
)
from envctl.registry.state import (
    ApprovalKey,
    Model,
    ModelVersion,
    Registry,
    RegistryWarning,
    StageEvent,
)
from envctl.registry.timing import MAX_SKEW, claimed_time
from envctl.registry.violation import VIOLATION_KINDS, Violation

__all__ = [
    "APPROVAL_PREFIX",
    "MAX_SKEW",
    "RECORD_MARKER",
    "VIOLATION_KINDS",
    "Action",
    "ApprovalKey",
    "ApprovalTag",
    "Audit",
    "Evidence",
    "Model",
    "ModelVersion",
    "Registry",
    "RegistryWarning",
    "StageEvent",
    "StageTrust",
    "TagName",
    "TrustPolicy",
    "Verdict",
    "Violation",
    "approval_tag",
    "approver_slug",
    "assignment_tag",
    "audit_registry",
    "claimed_time",
    "format_record",
    "format_tag_name",
    "is_valid_model_name",
    "is_valid_stage_name",
    "is_valid_version",
    "parse_approval_tag",
    "parse_record",
    "parse_tag_name",
    "promotion_record",
    "registration_tag",
    "require_version",
    "semver_key",
    "spec_commit",
    "split_version_ref",
]
