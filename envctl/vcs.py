"""Git adapter: the only module that runs git.

Every call is a git plumbing command in a subprocess. GitPython was the first
choice, but envctl needs exactly the plumbing (one `for-each-ref` pass for the
whole registry, `cat-file`, atomic `tag`), and the subprocess form is both faster
to start and free of a second object model. Failures become GitError or
InputError here, message first.
"""

from __future__ import annotations

import base64
import os
import re
import tempfile
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from envctl.errors import GitError, InputError, PushRejected, TagExists, ToolError
from envctl.frozen import made
from envctl.tagtable import (  # RawTag's home was here: `vcs.RawTag` still names it
    RawTag as RawTag,
)
from envctl.tagtable import (
    TagObjects,
    TagTable,
    git_date,
    lightweight,
    load_index,
    save_index,
    unknown,
)
from envctl.tools import Completed, run_tool


def toplevel(path: Path) -> Path:
    """The work tree root of the repository containing `path`."""
    code, out, _ = _git_text(path, "rev-parse", "--show-toplevel", "--git-common-dir")
    top, _, common = out.rstrip("\n").partition("\n")
    if code != 0 or not common:
        raise InputError(f"{path} is not inside a git repository; run git init")
    root = Path(top)
    # Asked in the same call: every reader of the registry needs both.
    _COMMON_DIRS[root] = (path / common).resolve()  # relative to where git ran
    return root


_COMMON_DIRS: dict[Path, Path] = {}


def common_dir(root: Path) -> Path:
    """The git directory shared by every work tree of the repository at `root`
    (`.git` is a file in a linked work tree or a submodule)."""
    known = _COMMON_DIRS.get(root)
    if known is not None:
        return known
    # Relative output is relative to the directory git ran in.
    return (root / run(root, "rev-parse", "--git-common-dir").strip()).resolve()


# No hook and no fsmonitor command runs: the repository may be a checkout of a
# stranger's tag, and the git directory is not what envctl was asked to trust.
_NO_HOOKS = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false")


def _git_bytes(
    root: Path, *args: str, input: bytes | None = None, unset: Collection[str] = ()
) -> Completed:
    # C locale: stderr is matched against git's English messages.
    env = {"LC_ALL": "C", "LANGUAGE": "C"}
    try:
        argv = ["git", *_NO_HOOKS, *args]
        return run_tool(argv, cwd=root, env=env, input=input, fix="install git", unset=unset)
    except ToolError as exc:
        raise GitError(exc.message) from None


def _git_text(root: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    proc = _git_bytes(root, *args, input=input.encode() if input is not None else None)
    return (
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


def run(root: Path, *args: str, check: bool = True, input: str | None = None) -> str:
    """Run one git command in `root` and return stdout."""
    code, out, err = _git_text(root, *args, input=input)
    if check and code != 0:
        raise GitError(f"git {' '.join(args[:2])} failed: {_error_line(err)}")
    return out


def resolve_commit(root: Path, rev: str) -> str:
    code, out, _ = _git_text(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if code != 0:
        raise InputError(f"git revision {rev!r} not found in {root}; check `git log`")
    return out.strip()


def read_at(root: Path, rev: str, relpath: str) -> bytes | None:
    """Contents of `relpath` at commit `rev`, or None if the file did not exist there."""
    commit = resolve_commit(root, rev)
    proc = _git_bytes(root, "cat-file", "blob", f"{commit}:{relpath}")
    return proc.stdout if proc.returncode == 0 else None


def full_refname(root: Path, name: str) -> str | None:
    """The one ref `name` stands for, by its full name, or None when there is none.
    A short name is expanded as git expands it (refs/NAME, refs/heads/NAME,
    refs/remotes/NAME, refs/remotes/NAME/HEAD) but never to a tag: a ref that
    decides trust must not be one anyone who pushes tags can create. Two
    candidates that both exist are refused (InputError): git would only warn."""
    if name.startswith("refs/"):
        candidates = [name]
    else:
        candidates = [f"refs/{name}", f"refs/heads/{name}", f"refs/remotes/{name}"]
        candidates.append(f"refs/remotes/{name}/HEAD")
    out = run(root, "for-each-ref", "--format=%(refname)", *candidates, check=False)
    found = [ref for ref in candidates if ref in out.splitlines()]
    if len(found) > 1:
        raise InputError(
            f"the ref {name!r} is ambiguous ({', '.join(found)}); "
            "name it in full in envctl.yaml (e.g. refs/remotes/origin/main)"
        )
    return found[0] if found else None


def is_ancestor(root: Path, commit: str, rev: str) -> bool:
    """Whether `commit` is `rev` or in its history (False for an unknown commit)."""
    if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit):
        return False
    return _git_bytes(root, "merge-base", "--is-ancestor", commit, rev).returncode == 0


def file_commits(root: Path, relpath: str, rev: str = "HEAD") -> list[str]:
    """Commits that changed `relpath`, newest first (following renames is not needed:
    environment files are addressed by name)."""
    out = run(root, "log", "--format=%H", rev, "--", relpath, check=False)
    return out.split()


def is_repo(path: Path) -> bool:
    return _git_bytes(path, "rev-parse", "--is-inside-work-tree").returncode == 0


# --- tags: the registry's storage ------------------------------------------------


@dataclass(frozen=True)
class GitUser:
    name: str
    email: str


# No field can hold NUL (git forbids it in names and messages), so NUL separates
# fields and a fixed field count separates records: one pass, no escaping.
_TAG_FIELDS = (
    "%(refname)", "%(objecttype)", "%(objectname)", "%(*objecttype)", "%(*objectname)",
    "%(taggername)", "%(taggeremail)", "%(taggerdate:raw)", "%(tag)", "%(contents)",
)  # fmt: skip
_TAG_FORMAT = "".join(f"{field}%00" for field in _TAG_FIELDS)
_LOCK_RETRIES = 5
_HOOK_LINES = 3  # of a hook's output, shown with git's error


def _error_line(data: bytes | str) -> str:
    """What went wrong, from git's stderr: its first `fatal:`/`error:` line (later
    lines are advice, such as "Please make sure you have the correct access
    rights / and the repository exists."), after what a hook printed before it
    (the reason a hook refused); without such a line, every line joined."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for at, line in enumerate(lines):
        prefix, colon, rest = line.partition(": ")
        if colon and prefix in ("fatal", "error") and rest:
            before = [ln for ln in lines[:at] if not ln.startswith(("hint:", "warning:"))]
            said = "; ".join(before[-_HOOK_LINES:])
            return f"{rest} ({said})" if said else rest
    return "; ".join(lines) or "no output"


def read_tags(root: Path) -> list[RawTag]:
    """Every tag of the repository with its target and tagger, in one git call."""
    return [_raw_tag(fields) for fields in _tag_fields(root, "refs/tags")]


def _tag_fields(root: Path, *patterns: str) -> list[list[str]]:
    """The `_TAG_FIELDS` of each ref `patterns` match, in one git call."""
    proc = _git_bytes(root, "for-each-ref", f"--format={_TAG_FORMAT}", *patterns)
    if proc.returncode != 0:
        raise GitError(f"git for-each-ref failed in {root}: {_error_line(proc.stderr)}")
    return _split_records(proc.stdout.decode("utf-8", "replace"))


def parse_tag_records(text: str) -> list[RawTag]:
    """Parse `for-each-ref --format=_TAG_FORMAT` output (each record ends in NUL + LF)."""
    return [_raw_tag(fields) for fields in _split_records(text)]


def _split_records(text: str) -> list[list[str]]:
    parts = text.split("\0")
    width = len(_TAG_FIELDS)
    if len(parts) % width != 1:
        raise GitError("git for-each-ref gave output envctl cannot read; check the git version")
    return [parts[i : i + width] for i in range(0, len(parts) - 1, width)]


# --- the tag index: each tag object's fields, read from git once -----------------
#
# Everything `_TAG_FORMAT` reads but the ref name comes from the tag object itself
# (its type, target, tagger, date, `tag` header and message), and a git object never
# changes: so it is kept per object id in the git directory (envctl.tagtable), and a
# read lists the refs with their object ids only (git then opens no tag object) and
# asks git for the fields of the objects it has not seen. Parsed fields only, never
# a verdict.

_INDEX = "envctl-tag-index"
_FULL_READ = 256  # more new tag objects than this: one pass over every tag instead
# Three lines per ref (no field holds a newline: git refuses control characters in
# ref names), so one split of the output gives the three columns.
_LISTING = "--format=%(objectname)%0a%(objecttype)%0a%(refname:lstrip=2)"


def read_tags_indexed(root: Path) -> list[RawTag]:
    """What `read_tags` returns, each tag object's fields read from the index when
    git gave them before (two cheap git calls instead of parsing every object)."""
    return list(read_tag_table(root))


def read_tag_table(root: Path) -> TagTable:
    """Every tag, as `read_tags` reads them, in a table whose RawTags are made when
    first asked for; each tag object's fields come from the index when git gave
    them before."""
    names, kinds, oids = _list_tags(root)
    path = common_dir(root) / _INDEX
    objects = load_index(path) or TagObjects.from_fields(())
    at = objects.positions(oids)
    new = [f"refs/tags/{names[i]}" for i in _annotated(at, kinds)]
    if len(new) > _FULL_READ:
        return _read_all(root, path)
    if new:
        read = {f[0].lstrip("\n"): f for f in _tag_fields(root, *new)}
        if any(ref not in read for ref in new):
            # A ref gone since it was listed, or one whose name did not come back
            # as itself (not UTF-8): one pass over every tag.
            return _read_all(root, path)
        objects = objects.merged(TagObjects.from_fields(read[ref][1:] for ref in new))
        at = objects.positions(oids)
        if _annotated(at, kinds):  # a ref moved to another object between the two calls
            return _read_all(root, path)
        save_index(path, objects, at)
    return TagTable.listed(names, kinds, oids, objects, at)


def _annotated(at: list[int], kinds: list[str]) -> list[int]:
    """The positions of the annotated tags whose object is not at hand."""
    return [i for i in unknown(at) if kinds[i] == "tag"]


def _read_all(root: Path, path: Path) -> TagTable:
    """Every tag's fields in one pass; the index rewritten with them."""
    fields = _tag_fields(root, "refs/tags")
    names = [f[0].lstrip("\n").removeprefix("refs/tags/") for f in fields]
    kinds, oids = [f[1] for f in fields], [f[2] for f in fields]
    objects = TagObjects.from_fields(f[1:] for f in fields)
    save_index(path, objects, range(len(objects)))
    return TagTable.listed(names, kinds, oids, objects, objects.positions(oids))


def _list_tags(root: Path) -> tuple[list[str], list[str], list[str]]:
    """The name, object type and object id of each tag, in three columns."""
    proc = _git_bytes(root, "for-each-ref", _LISTING, "refs/tags")
    if proc.returncode != 0:
        raise GitError(f"git for-each-ref failed in {root}: {_error_line(proc.stderr)}")
    parts = proc.stdout.decode("utf-8", "replace").split("\n")
    if len(parts) % 3 != 1:
        raise GitError("git for-each-ref gave output envctl cannot read; check the git version")
    return parts[2:-1:3], parts[1:-1:3], parts[0:-1:3]


def _raw_tag(fields: list[str]) -> RawTag:
    ref, kind, oid = fields[:3]
    name = ref.lstrip("\n").removeprefix("refs/tags/")
    if kind != "tag":  # lightweight: %(contents) would be the commit's message
        return lightweight(name, kind, oid)
    _, oid, target_kind, target, tagger, email, date, header, message = fields[1:]
    commit = target if target_kind == "commit" else ""
    return made(
        RawTag, name=name, object_type="tag", object_id=oid, target_type=target_kind,
        commit=commit, tagger_name=tagger, tagger_email=email.strip("<>"), date=git_date(date),
        message=message, header=header,
    )  # fmt: skip


def tag_exists(root: Path, name: str) -> bool:
    proc = _git_bytes(root, "rev-parse", "--verify", "--quiet", f"refs/tags/{name}")
    return proc.returncode == 0


def create_annotated_tag(
    root: Path, name: str, commit: str, message: str, *, sign: bool = False
) -> str:
    """Create annotated tag `name` on `commit` with `message` kept verbatim; return the
    tag object id. Never overwrites: git creates the ref only if it does not exist
    (under the ref lock), so of two racing writers exactly one wins and the other
    gets TagExists. With `sign`, git signs it (`git tag -s`, per gpg.format and
    user.signingkey)."""
    text = message if message.endswith("\n") else message + "\n"
    for attempt in range(_LOCK_RETRIES):
        proc = _git_bytes(
            root, "tag", "-s" if sign else "-a", "--cleanup=verbatim", "-F", "-", name,
            f"{commit}^{{commit}}",
            input=text.encode(),
        )  # fmt: skip
        if proc.returncode == 0 or _written_anyway(root, name, commit, text):
            return run(root, "rev-parse", f"refs/tags/{name}").strip()
        detail = _error_line(proc.stderr)
        if "already exists" in detail or tag_exists(root, name):
            raise TagExists(name)
        if "cannot lock ref" not in detail:
            raise GitError(f"git tag {name} failed: {detail}")
        # The other writer holds the lock and may still fail; look again shortly.
        time.sleep(0.05 * (attempt + 1))
    raise GitError(f"git tag {name} failed: the ref stayed locked; retry")


def _written_anyway(root: Path, name: str, commit: str, text: str) -> bool:
    """git killed (or failing) after it wrote the ref: the tag is there, on our
    commit, with our message (it holds a timestamp, so no one else's is equal)."""
    if not tag_exists(root, name):
        return False
    target = run(root, "rev-parse", f"refs/tags/{name}^{{commit}}", check=False).strip()
    return target == resolve_commit(root, commit) and tag_message(root, name) == text.rstrip("\n")


def delete_tag(root: Path, name: str, *, expected: str | None = None) -> bool:
    """Delete tag `name`; with `expected` (a tag object id) only if it still is that
    object, so cleanup never removes a tag someone else wrote. False if absent."""
    if not tag_exists(root, name):
        return False
    old = [expected] if expected else []
    proc = _git_bytes(root, "update-ref", "-d", f"refs/tags/{name}", *old)
    if proc.returncode != 0:
        raise GitError(f"git could not delete tag {name}: {_error_line(proc.stderr)}")
    return True


def push_tag(root: Path, remote: str, name: str) -> None:
    """Push one tag. PushRejected if the remote already has a different tag of that
    name (another promotion won); GitError for anything else."""
    ref = f"refs/tags/{name}"
    proc = _git_bytes(root, "push", "--porcelain", remote, f"{ref}:{ref}")
    if proc.returncode == 0:
        return
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("!") and "(already exists)" in line:
            raise PushRejected(name, remote)
    raise GitError(f"git push {remote} {name} failed: {_error_line(proc.stderr)}")


def fetch_tags(root: Path, remote: str) -> None:
    """Fetch every tag of `remote`. Never clobbers a local tag that differs (git
    refuses; that is a GitError naming the tag) and never prunes local-only tags."""
    proc = _git_bytes(root, "fetch", "--no-tags", remote, "refs/tags/*:refs/tags/*")
    if proc.returncode != 0:
        text = proc.stderr.decode("utf-8", "replace")
        clobbered = re.findall(r"\[rejected\]\s+(\S+)\s+->.*would clobber", text)
        if clobbered:
            raise GitError(
                f"{remote} has other tags of the same names as local ones "
                f"({', '.join(clobbered)}); "
                f"run envctl sync --remote {remote} to renumber the local ones"
            )
        raise GitError(f"git fetch {remote} tags failed: {_error_line(proc.stderr)}")


def head_user(root: Path) -> GitUser:
    """Who git will record as tagger (git config user.name/email, or GIT_COMMITTER_*)."""
    proc = _git_bytes(root, "var", "GIT_COMMITTER_IDENT")
    text = proc.stdout.decode("utf-8", "replace").strip()
    match = re.fullmatch(r"(.*?) ?<(.*)> \d+ [+-]\d{4}", text)
    if proc.returncode != 0 or match is None or not match[2]:
        raise GitError("git has no user identity; run git config user.name and user.email")
    return GitUser(match[1], match[2])


# --- signatures: git's own tag signing (SSH or OpenPGP) ----------------------------

SignatureStatus = Literal["good", "unknown", "bad", "none"]


@dataclass(frozen=True)
class Signature:
    """A tag's signature as git verified it. good: it verifies and the allowed-signers
    file names its key (`principals`); unknown: a key the file does not name; bad: it
    does not verify (the tag was edited, or the key's options refuse it); none: unsigned."""

    status: SignatureStatus
    principals: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class AllowedSigner:
    principals: tuple[str, ...]  # lower-cased
    key: bytes  # the public key blob


_SSH_BEGIN, _SSH_END = "-----BEGIN SSH SIGNATURE-----", "-----END SSH SIGNATURE-----"
_PGP_BEGIN = "-----BEGIN PGP SIGNATURE-----"
_KEY_TYPE = re.compile(r"(ssh-|ecdsa-|sk-)\S+")
_VERIFY_CHUNK = 400  # tag names per `git verify-tag` call: far below argv limits
# Who judges a signature is fixed, whatever the environment says: the programs git
# runs to verify are set on the command line (which wins over every config file),
# and the variables that would add configuration after it are removed.
_VERIFIERS = ("-c", "gpg.ssh.program=ssh-keygen", "-c", "gpg.openpgp.program=gpg")
VERIFIER = "git verify-tag; gpg.ssh.program=ssh-keygen; gpg.openpgp.program=gpg; env cleaned"
_CONFIG_VARIABLES = re.compile(r"GIT_CONFIG($|_)")


def _config_from_environment() -> list[str]:
    """GIT_CONFIG_COUNT/KEY_n/VALUE_n, GIT_CONFIG_PARAMETERS, GIT_CONFIG_GLOBAL,
    GIT_CONFIG_SYSTEM, ...: every variable by which the environment configures git."""
    return [name for name in os.environ if _CONFIG_VARIABLES.match(name)]


def parse_allowed_signers(text: str) -> list[AllowedSigner]:
    """git's `gpg.ssh.allowedSignersFile` format: `principals [options] keytype key`.
    Lines envctl cannot read are skipped (git skips them too)."""
    found = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        at = next((i for i, f in enumerate(fields) if i and _KEY_TYPE.fullmatch(f)), None)
        if at is None or at + 1 >= len(fields):
            continue
        try:
            key = base64.b64decode(fields[at + 1], validate=True)
        except ValueError:
            continue
        principals = tuple(p.strip().lower() for p in fields[0].split(",") if p.strip())
        found.append(AllowedSigner(principals, key))
    return found


def ssh_signature_key(message: str) -> bytes | None:
    """The public key blob inside an armored SSH signature (the SSHSIG format:
    magic, version, then the key as an SSH string), or None."""
    start, end = message.rfind(_SSH_BEGIN), message.rfind(_SSH_END)
    if start < 0 or end < start:
        return None
    try:
        blob = base64.b64decode("".join(message[start + len(_SSH_BEGIN) : end].split()))
    except ValueError:
        return None
    if blob[:6] != b"SSHSIG" or len(blob) < 14:
        return None
    size = int.from_bytes(blob[10:14], "big")
    key = blob[14 : 14 + size]
    return key if len(key) == size else None


def signing_key(root: Path) -> str | None:
    """git's `user.signingkey`, or None when git has none configured."""
    out = run(root, "config", "--get", "user.signingkey", check=False).strip()
    return out or None


def verify_tags(root: Path, tags: list[RawTag], allowed_signers: str) -> dict[str, Signature]:
    """Each tag's signature, verified by git against `allowed_signers` (the text of
    an allowed-signers file). SSH-signed tags are verified in batches, one
    `git verify-tag` per _VERIFY_CHUNK tags; OpenPGP-signed ones one by one."""
    signers = parse_allowed_signers(allowed_signers)
    found: dict[str, Signature] = {}
    ssh: dict[str, tuple[str, ...]] = {}
    for tag in tags:
        if tag.object_type != "tag":
            found[tag.name] = Signature("none", detail="lightweight tag")
        elif _PGP_BEGIN in tag.message:
            found[tag.name] = _verify_openpgp(root, tag.name)
        elif (key := ssh_signature_key(tag.message)) is None:
            found[tag.name] = Signature("none", detail="not signed")
        elif not (who := tuple(p for s in signers if s.key == key for p in s.principals)):
            found[tag.name] = Signature("unknown", detail="signed by a key not in allowed_signers")
        else:
            ssh[tag.name] = who
    if ssh:
        good = _verify_ssh_batch(root, list(ssh), allowed_signers)
        for name, who in ssh.items():
            found[name] = (
                Signature("good", who)
                if name in good
                else Signature("bad", detail="signature does not verify (edited, or key refused)")
            )
    return found


def _verify_ssh_batch(root: Path, names: list[str], allowed_signers: str) -> set[str]:
    """Names of the tags whose signature verifies. `git verify-tag --format` prints a
    tag only when its signature verified with a principal of the file."""
    good: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="envctl-signers-") as tmp:
        path = Path(tmp) / "allowed_signers"
        path.write_text(allowed_signers, encoding="utf-8")
        for i in range(0, len(names), _VERIFY_CHUNK):
            refs = [f"refs/tags/{n}" for n in names[i : i + _VERIFY_CHUNK]]
            proc = _git_bytes(
                root, *_VERIFIERS, "-c", f"gpg.ssh.allowedSignersFile={path}",
                "-c", "gpg.format=ssh", "verify-tag", "--format=%(refname)", *refs,
                unset=_config_from_environment(),
            )  # fmt: skip
            out = proc.stdout.decode("utf-8", "replace").splitlines()
            good |= {line.removeprefix("refs/tags/") for line in out if line}
    return good


def _verify_openpgp(root: Path, name: str) -> Signature:
    """OpenPGP: git asks gpg, whose keyring is the trust root; the principal is the
    signing uid's email, counted only when gpg trusts the key fully or ultimately."""
    proc = _git_bytes(
        root, *_VERIFIERS, "verify-tag", "--raw", f"refs/tags/{name}",
        unset=_config_from_environment(),
    )  # fmt: skip
    raw = proc.stderr.decode("utf-8", "replace")
    good = re.search(r"^\[GNUPG:\] GOODSIG \S+ .*<([^>]+)>", raw, re.MULTILINE)
    trusted = re.search(r"^\[GNUPG:\] TRUST_(FULLY|ULTIMATE)", raw, re.MULTILINE)
    if proc.returncode == 0 and good and trusted:
        return Signature("good", (good[1].strip().lower(),))
    if good:
        return Signature("unknown", detail="OpenPGP key not trusted in gpg's keyring")
    return Signature("bad", detail="OpenPGP signature does not verify")


@dataclass(frozen=True)
class RemoteTag:
    """A tag as `git ls-remote` shows it: the tag object and, for an annotated
    tag, the commit it points at ("" when the remote did not say)."""

    name: str
    object_id: str
    commit: str


def remote_tags(root: Path, remote: str) -> dict[str, RemoteTag]:
    """Every tag of `remote` by name, without fetching anything."""
    proc = _git_bytes(root, "ls-remote", "--tags", remote)
    if proc.returncode != 0:
        raise GitError(f"git ls-remote {remote} failed: {_error_line(proc.stderr)}")
    objects: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        oid, _, ref = line.partition("\t")
        name = ref.removeprefix("refs/tags/")
        if name.endswith("^{}"):
            peeled[name[:-3]] = oid
        else:
            objects[name] = oid
    return {n: RemoteTag(n, oid, peeled.get(n, oid)) for n, oid in objects.items()}


def push_tags(root: Path, remote: str, names: list[str]) -> None:
    """Push tags all or none (`--atomic`): the remote never holds a part of them.
    PushRejected if the remote already has a different tag of one of these names."""
    refs = [f"refs/tags/{name}:refs/tags/{name}" for name in names]
    proc = _git_bytes(root, "push", "--atomic", "--porcelain", remote, *refs)
    if proc.returncode == 0:
        return
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("!") and "(already exists)" in line:
            name = line.split("\t")[1].split(":")[0].removeprefix("refs/tags/")
            raise PushRejected(name, remote)
    raise GitError(f"git push {remote} {' '.join(names)} failed: {_error_line(proc.stderr)}")


def tag_message(root: Path, name: str) -> str:
    """The message of annotated tag `name` ("" for a lightweight tag)."""
    proc = _git_bytes(root, "for-each-ref", "--format=%(contents)", f"refs/tags/{name}")
    if proc.returncode != 0:
        raise GitError(f"git for-each-ref {name} failed: {_error_line(proc.stderr)}")
    return proc.stdout.decode("utf-8", "replace").rstrip("\n")


def uncommitted(root: Path, relpath: str) -> list[str]:
    """Changed, staged or untracked files under `relpath` (ignored files aside),
    as `git status --porcelain` lines."""
    out = run(root, "status", "--porcelain", "--untracked-files=all", "--", relpath or ".")
    return [line for line in out.splitlines() if line.strip()]


def head_commit(root: Path) -> str | None:
    code, out, _ = _git_text(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    return out.strip() if code == 0 else None
