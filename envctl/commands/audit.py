"""audit: the whole ledger replayed offline; every violation listed."""

from __future__ import annotations

from envctl import registry as reg
from envctl.errors import CheckFailed
from envctl.ledger.trust import read_verified, trust_config
from envctl.output.promotion import AuditDocument, AuditViolation
from envctl.registry.workspace import pick_model, workspace


def audit(name: str | None = None) -> AuditDocument:
    """Every rule broken in the ledger (of one model, or all). Reads only local tags:
    fetch first to audit what a remote holds."""
    ws = workspace()
    ledger = read_verified(ws)
    registry = ledger.registry
    model = pick_model(ws, registry, name) if name else None
    violations = [v for v in ledger.audit.violations if model is None or v.model == model]
    events = [e for m in registry.models.values() if model in (None, m.name) for e in m.events]
    approvals = [
        tag for tag in ledger.approval_tags if model is None or tag.startswith(_prefix(model))
    ]
    config = trust_config(ws)
    return AuditDocument(
        model=model,
        signed_stages=sorted(config.stages) if config else [],
        events=len(events),
        approvals=len(approvals),
        clean=not violations,
        violations=[
            AuditViolation(tag=v.tag, kind=v.kind, model=v.model, message=v.message)
            for v in violations
        ],
        warnings=[*ledger.warnings, *(str(w) for w in registry.warnings)],
    )


def failure(result: AuditDocument) -> CheckFailed | None:
    """The exit-1 error when the ledger breaks a rule."""
    if result.clean:
        return None
    return CheckFailed(
        f"audit found {len(result.violations)} violation(s) in {result.events} events "
        f"and {result.approvals} approvals"
    )


def _prefix(model: str) -> str:
    return f"{reg.APPROVAL_PREFIX}{model.replace(':', '=')}/"
