"""approve: an approval of a version for a stage, recorded in git where GTO
never reads it as a stage assignment."""

from __future__ import annotations

from datetime import datetime, timezone

from envctl import registry as reg
from envctl.errors import CheckFailed, UsageError
from envctl.ledger.trust import read_verified, require_signing
from envctl.output.promotion import ApproveDocument
from envctl.registry.workspace import (
    Workspace,
    pick_model,
    require_stage,
    require_version,
    split_ref,
    workspace,
)


def approve(
    operand: str, *, stage: str, push: bool = False, remote: str = "origin"
) -> ApproveDocument:
    from envctl import vcs

    ws = workspace()
    registry = read_verified(ws).trusted
    name, version = split_ref(operand)
    if version is None:
        raise UsageError(f"approve a version: envctl approve {name}@vX.Y.Z --stage {stage}")
    model = pick_model(ws, registry, name)
    found = require_version(registry, model, version)
    require_stage(ws, stage)
    signed = require_signing(ws, stage, "approving")
    user = vcs.head_user(ws.root)
    _refuse_own_version(found.author_email, user.email, f"{model}@{version}")
    tag = reg.approval_tag(model, version, stage, user.email)
    data = {
        "kind": "approval",
        "who": {"name": user.name, "email": user.email},
        "when": datetime.now(timezone.utc).isoformat(),
        "model": model,
        "version": version,
        "stage": stage,
    }
    message = reg.format_record(f"{user.email} approves {model}@{version} for {stage}", data)
    tag_id = None
    if not vcs.tag_exists(ws.root, tag):
        tag_id = vcs.create_annotated_tag(ws.root, tag, found.commit, message, sign=signed)
    if signed:
        _refuse_uncounted(ws, tag, tag_id)
    if push:
        # With its version, all or none: the remote never holds an approval of a
        # version it does not know (pushing a tag it already has is a no-op).
        vcs.push_tags(ws.root, remote, [found.tag, tag])
    return ApproveDocument(tag=tag, approver=user.email, model=model, version=version, stage=stage)


def _refuse_uncounted(ws: Workspace, tag: str, tag_id: str | None) -> None:
    """In a signed stage the approver is whoever signed: an approval that would not
    count (a key not in the signers file, a signer not allowed to approve, or a
    name that is not the signer's) is taken back and refused, not left behind. A
    tag of that name that was already there (`tag_id` None) is not ours to delete."""
    from envctl import vcs

    problems = [v for v in read_verified(ws).audit.violations if v.tag == tag]
    if problems and tag_id is None:
        raise CheckFailed(
            f"{tag} already exists and does not count: {problems[0].message} "
            f"({problems[0].kind}); delete it (git tag -d, and on the remote) and approve again",
            details=[str(p) for p in problems],
        )
    if problems:
        vcs.delete_tag(ws.root, tag, expected=tag_id)
        raise CheckFailed(
            f"this approval would not count: {problems[0].message} ({problems[0].kind}); "
            "check git config user.email and user.signingkey against the allowed signers",
            details=[str(p) for p in problems],
        )


def _refuse_own_version(author: str, approver: str, ref: str) -> None:
    """Four eyes: whoever registered a version cannot approve it (and `promote`
    ignores the promoter's own approval too), so say so now, not at promote time."""
    if author.strip().lower() == approver.strip().lower():
        raise CheckFailed(
            f"{approver} registered {ref} and cannot approve it: an approval must come "
            "from another person (the author's and the promoter's own approvals never count)"
        )
