"""The trust root and the verified ledger: envctl.yaml's `trust:` section, the
allowed-signers file read at the protected ref, git's signature verdicts, and the
audit of the whole ledger built from one `for-each-ref` pass."""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import methodcaller
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from envctl import registry as reg
from envctl.errors import CheckFailed, ConfigError
from envctl.ledger.protected import protected_specs, write_json
from envctl.registry.state import parse_registry  # the raw view: only the verifier builds it
from envctl.registry.workspace import Workspace

if TYPE_CHECKING:
    from envctl.spec.loading import Environment
    from envctl.spec.project_settings import TrustSettings as Trust
    from envctl.tagtable import RawTag, TagTable
    from envctl.vcs import Signature

_CACHE = "envctl-signatures.json"
_SSH_ARMOR = "-----BEGIN SSH SIGNATURE-----"


@dataclass(frozen=True)
class VerifiedLedger:
    """The registry as stored, and as the rules let it count."""

    registry: reg.Registry
    audit: reg.Audit
    warnings: tuple[str, ...]  # about the trust root itself
    approval_tags: tuple[str, ...] = ()
    tags: Sequence[RawTag] = ()  # as read: what publishing compares with a remote

    @property
    def trusted(self) -> reg.Registry:
        return self.audit.trusted(self.registry)


def trust_config(ws: Workspace) -> Trust | None:
    return ws.project.settings.trust if ws.project else None


def trust_policy(config: Trust | None) -> reg.TrustPolicy:
    if config is None:
        return reg.TrustPolicy()
    return reg.TrustPolicy(
        MappingProxyType(
            {
                stage: reg.StageTrust(frozenset(rule.promoters), frozenset(rule.approvers))
                for stage, rule in config.stages.items()
            }
        )
    )


def is_signed_stage(ws: Workspace, stage: str) -> bool:
    config = trust_config(ws)
    return config is not None and stage in config.stages


def protected_ref(ws: Workspace, config: Trust) -> str | None:
    """The trust ref by its full name (`refs/remotes/origin/main`), or None when the
    clone does not have it. Expanded once per read; a tag never stands for it, and
    an ambiguous name is refused (ConfigError) rather than guessed."""
    from envctl import vcs
    from envctl.errors import InputError

    try:
        return vcs.full_refname(ws.root, config.ref)
    except InputError as exc:
        raise ConfigError(f"trust.ref in envctl.yaml: {exc.message}") from None


def read_signers(ws: Workspace, config: Trust, ref: str | None = None) -> str | None:
    """The allowed-signers file as it is at the protected ref (never the work tree:
    a file changed outside the protected branch must not count), or None."""
    from envctl import vcs
    from envctl.errors import InputError

    ref = ref or protected_ref(ws, config)
    if ref is None:
        return None
    try:
        data = vcs.read_at(ws.root, ref, config.allowed_signers)
    except InputError:
        return None
    return data.decode("utf-8", "replace") if data is not None else None


def read_verified(ws: Workspace) -> VerifiedLedger:
    """Read every tag once, verify the signatures signed stages need, replay."""
    from envctl import vcs

    with _acyclic():
        tags = vcs.read_tag_table(ws.root)
        registry = parse_registry(tags)
    config = trust_config(ws)
    policy = trust_policy(config)
    warnings: list[str] = []
    signatures: dict[str, Signature] = {}
    shadows: list[reg.Violation] = []
    ref = None
    if config is not None and config.stages:
        ref = protected_ref(ws, config)
        signers = read_signers(ws, config, ref) if ref else None
        if signers is None:
            warnings.append(
                f"trust: {config.allowed_signers} not found at {config.ref}; "
                "no event of a signed stage counts"
            )
        signatures = verified(ws, signed_tags(tags, policy), signers or "")
        shadows = shadowing_tags(tags, config.ref, ref)
    specs = protected_specs(ws, registry, policy, ref) if ref is not None else {}
    audit = reg.audit_registry(
        registry, tags, stages=ws.stages, trust=policy, signatures=signatures, specs=specs,
        also=shadows,
    )  # fmt: skip
    approvals = tuple(filter(methodcaller("startswith", reg.APPROVAL_PREFIX), tags.names))
    return VerifiedLedger(registry, audit, tuple(warnings), approvals, tags)


@contextmanager
def _acyclic() -> Iterator[None]:
    """Python's cycle collector paused: reading the ledger makes tens of thousands
    of objects, none in a reference cycle, and the collector's passes over them
    (each pass over all the older ones, as the heap grows) found nothing and cost
    a tenth of the read."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def stage_environment(ws: Workspace, stage: str) -> Environment:
    """The spec a promotion into `stage` is decided on: the work tree's, except for a
    signed stage, whose spec (gates, policy) is the one at the trust ref; neither
    the work tree nor the version's commit can change a signed stage's gates."""
    from envctl import vcs
    from envctl.spec.loading import load_environment

    project = ws.project
    config = trust_config(ws)
    if config is None or stage not in config.stages:
        return load_environment(stage, project)
    ref = protected_ref(ws, config)
    if ref is None:
        raise ConfigError(
            f"{stage} is a signed stage: its spec is read at {config.ref}, which this clone "
            "does not have; fetch it (git fetch)"
        )
    return load_environment(f"{stage}@{vcs.resolve_commit(ws.root, ref)}", project)


def shadowing_tags(tags: TagTable, name: str, ref: str | None) -> list[reg.Violation]:
    """Tags named like the trust ref (`origin/main`): envctl never reads them for
    trust, but a tool that expands short names as git does would."""
    short = {name, *(ref.removeprefix(p) for p in ("refs/remotes/", "refs/heads/", "refs/") if ref)}
    message = f"a tag named like the trust ref; trust is read at {ref or name}, never at this tag"
    return [
        reg.Violation(tag, "trust-ref-shadow", None, message) for tag in tags.names if tag in short
    ]


def verified(ws: Workspace, tags: list[RawTag], signers: str) -> dict[str, Signature]:
    """git's verdict on each tag's signature. A tag object never changes, so an SSH
    verdict is kept per (verifier, signers file, tag object) in the git directory
    and git is asked only about tags it has not judged against this signers file
    with this verifier. Only verdicts taken here, with the verifier fixed
    (vcs.VERIFIER), are kept. OpenPGP verdicts are not kept: they depend on gpg's
    keyring."""
    from envctl import vcs

    path = vcs.common_dir(ws.root) / _CACHE
    key = hashlib.sha256(f"{vcs.VERIFIER}\0{signers}".encode()).hexdigest()
    known = _load_cache(path, key)
    todo = [t for t in tags if t.object_id not in known]
    fresh = vcs.verify_tags(ws.root, todo, signers) if todo else {}
    found = {t.name: known.get(t.object_id) or fresh[t.name] for t in tags}
    keep = {t.object_id: fresh[t.name] for t in todo if _SSH_ARMOR in t.message}
    if keep:
        _save_cache(path, key, {**known, **keep})
    return found


def _load_cache(path: Path, key: str) -> dict[str, Signature]:
    from envctl.vcs import Signature

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["tags"] if data.get("signers") == key else {}
        return {
            oid: Signature(status, tuple(principals), detail)
            for oid, (status, principals, detail) in entries.items()
            if status in ("good", "unknown", "bad", "none")
        }
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}  # absent or damaged: verify again


def _save_cache(path: Path, key: str, entries: dict[str, Signature]) -> None:
    data = {
        "signers": key,
        "tags": {oid: [s.status, list(s.principals), s.detail] for oid, s in entries.items()},
    }
    write_json(path, data)


def signed_tags(tags: TagTable, policy: reg.TrustPolicy) -> list[RawTag]:
    """The tags whose signature matters: events of signed stages and their approvals."""
    found = []
    for i, tag in enumerate(tags.names):
        name = reg.parse_tag_name(tag)
        approval = reg.parse_approval_tag(tag) if name is None else None
        stage = name.stage if name is not None else approval.stage if approval else None
        if stage is not None and policy.is_signed(stage):
            found.append(tags[i])
    return found


def require_signing(ws: Workspace, stage: str, role: str) -> bool:
    """Whether events for `stage` must be signed; if so, that git can sign them and
    the trust root can be read. Refuses before anything is written."""
    from envctl import vcs

    config = trust_config(ws)
    if config is None or stage not in config.stages:
        return False
    if vcs.signing_key(ws.root) is None:
        raise CheckFailed(
            f"{stage} is a signed stage: {role} needs a signing key; run "
            "git config gpg.format ssh && git config user.signingkey ~/.ssh/id_ed25519.pub "
            "(see docs/trust.md)"
        )
    if read_signers(ws, config, protected_ref(ws, config)) is None:
        raise ConfigError(
            f"{stage} is a signed stage but {config.allowed_signers} is not found at "
            f"{config.ref}; fetch it (git fetch) or fix envctl.yaml's trust: section"
        )
    return True
