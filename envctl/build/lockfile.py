"""Locks: a spec's packages resolved for the image (not the host) with sha256 hashes.

`envctl lock ENV` runs uv's resolver (`uv pip compile --generate-hashes`) for the
spec's Python version and the image's platform, and writes `<env>.lock` beside
the spec, atomically. The lock's first lines record a hash of the resolver's
inputs (packages, Python, platform) so `staleness` can tell, without the
network, that a spec changed after its lock was written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from envctl import paths
from envctl.errors import ExternalError, InputError
from envctl.oci import platforms
from envctl.spec import indexes
from envctl.spec.loading import Environment, Project, display_path
from envctl.spec.types import Spec
from envctl.tools import Completed, run_tool

if TYPE_CHECKING:
    from envctl import gpu
    from envctl.output.build import LockDocument

LOCK_FORMAT = 1
_HEADER = "# envctl-lock"
_REQ_LINE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>\S+)")
_HASH = re.compile(r"--hash=sha256:(?P<hex>[0-9a-f]{64})")
_HEADER_FIELD = re.compile(r"^# (?P<key>[a-z-]+): (?P<value>\S+)$")
_FROM = re.compile(r"^\s*# from (?P<url>\S+)\s*$")


@dataclass(frozen=True)
class LockEntry:
    name: str  # canonical (PEP 503) name
    version: str
    hashes: tuple[str, ...]  # sha256 hex digests of every acceptable file
    # From uv's annotations: the packages that require this one (`# via`; a
    # requirements file as "-r FILE"), and the index it was resolved from
    # (`# from URL`, written since locks ask uv for it; None in older locks).
    required_by: tuple[str, ...] = ()
    index: str | None = None


@dataclass(frozen=True)
class Lock:
    path: Path
    input_hash: str | None
    python: str | None
    platform: str | None
    entries: tuple[LockEntry, ...]
    body: str  # the requirements part: what pip installs with --require-hashes

    @property
    def content_hash(self) -> str:
        """Identity of what gets installed: the resolved body, not the header."""
        return hashlib.sha256(self.body.encode()).hexdigest()

    def versions(self) -> dict[str, str]:
        return {e.name: e.version for e in self.entries}

    def gpu_stack(self) -> gpu.Stack:
        """The CUDA stack this lock installs (envctl.gpu reads it from the pins)."""
        from envctl import gpu

        return gpu.read_stack(
            gpu.Pin(e.name, e.version, e.required_by, e.index) for e in self.entries
        )


@dataclass(frozen=True)
class LockResult:
    environment: str
    path: Path
    packages: int
    changed: bool
    seconds: float
    input_hash: str
    python: str
    platform: str

    def document(self) -> LockDocument:
        # Imported here: `diff` reads locks and never prints this document.
        from envctl.output.build import LockDocument

        return LockDocument(
            environment=self.environment,
            lock=display_path(self.path),
            packages=self.packages,
            changed=self.changed,
            seconds=round(self.seconds, 3),
            input_hash=self.input_hash,
            python=self.python,
            platform=self.platform,
        )


# ---- pure parts --------------------------------------------------------------


def lock_target(platform: str) -> platforms.Platform:
    """The platform table's entry for a spec's or a lock header's platform."""
    try:
        return platforms.target(platform)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def input_hash(spec: Spec) -> str:
    """Hash of what the resolver sees: packages, Python, platform."""
    data = {
        "format": LOCK_FORMAT,
        "packages": dict(sorted(spec.packages.items())),
        "python": spec.python,
        "platform": spec.image.platform,
    }
    # Only when present, so the locks of specs without indexes stay fresh.
    if spec.indexes:
        data["indexes"] = [index.to_json() for index in spec.indexes]
    if spec.sources:
        data["sources"] = {k: v.index for k, v in sorted(spec.sources.items())}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def requirements_input(spec: Spec) -> str:
    """The resolver input: one PEP 508 requirement per line."""
    lines = [
        name if specifier == "*" else f"{name}{specifier}"
        for name, specifier in sorted(spec.packages.items())
    ]
    return "".join(f"{line}\n" for line in lines)


def project_input(spec: Spec) -> str:
    """The resolver input for a spec with indexes: a pyproject.toml whose
    `[[tool.uv.index]]` and `[tool.uv.sources]` are the spec's (no credentials:
    uv reads them from UV_INDEX_<NAME>_USERNAME/_PASSWORD)."""
    requirements = requirements_input(spec).splitlines()
    lines = [
        "[project]",
        'name = "envctl-lock"',
        'version = "0"',
        f'requires-python = "=={spec.python}.*"',
        "dependencies = [",
        *(f"  {json.dumps(line)}," for line in requirements),
        "]",
    ]
    if spec.sources:
        lines.append("[tool.uv.sources]")
        for package, source in sorted(spec.sources.items()):
            lines.append(f"{json.dumps(package)} = {{ index = {json.dumps(source.index)} }}")
    for index in spec.indexes:
        lines += [
            "[[tool.uv.index]]",
            f"name = {json.dumps(index.name)}",
            f"url = {json.dumps(index.url)}",
            f"explicit = {str(index.explicit).lower()}",
            f"default = {str(index.default).lower()}",
        ]
    return "".join(f"{line}\n" for line in lines)


def header(spec: Spec) -> str:
    return (
        f"{_HEADER} format {LOCK_FORMAT}: written by `envctl lock {spec.name}`; "
        "do not edit\n"
        f"# input-hash: {input_hash(spec)}\n"
        f"# python: {spec.python}\n"
        f"# platform: {spec.image.platform}\n"
    )


def parse_lock(text: str, path: Path) -> Lock:
    fields: dict[str, str] = {}
    body_lines: list[str] = []
    in_header = True
    for line in text.splitlines(keepends=True):
        if in_header and line.startswith("#"):
            match = _HEADER_FIELD.match(line.rstrip("\n"))
            if match:
                fields[match["key"]] = match["value"]
            continue
        in_header = False
        body_lines.append(line)
    body = "".join(body_lines)
    return Lock(
        path,
        fields.get("input-hash"),
        fields.get("python"),
        fields.get("platform"),
        parse_entries(body, path),
        body,
    )


def parse_entries(body: str, path: Path) -> tuple[LockEntry, ...]:
    """Entries of a hashed requirements file (`name==version \\` + `--hash=` lines),
    with the `# via` / `# from` annotations uv writes below each."""
    from envctl.spec.values import canonical_name  # not packaging.utils: see there

    logical = body.replace("\\\n", " ")
    entries: list[LockEntry] = []
    for line in logical.splitlines():
        text = line.split(" #", 1)[0].strip()
        origin = _FROM.match(line)
        if origin and entries:  # uv's --emit-index-annotation: below its entry
            entries[-1] = dataclasses.replace(entries[-1], index=origin["url"].rstrip("/"))
            continue
        if not text or text.startswith("#"):
            if entries:
                entries[-1] = _annotated(entries[-1], line.strip())
            continue
        if text.startswith("-"):
            # -r/-c/-e/--index-url...: pip would follow them (to a host file, an
            # index); a lock envctl wrote names every package itself.
            raise InputError(
                f"{display_path(path)}: a lock holds no pip options ({paths.excerpt(text)!r}); "
                "re-create it with envctl lock"
            )
        match = _REQ_LINE.match(text)
        if not match:
            raise InputError(
                f"{display_path(path)}: cannot read lock line {paths.excerpt(text)!r}; "
                "re-create it with envctl lock"
            )
        if not _is_version(match["version"]):
            raise InputError(
                f"{display_path(path)}: {match['name']} has no valid version in lock line "
                f"{paths.excerpt(text)!r}; re-create it with envctl lock"
            )
        hashes = tuple(m["hex"] for m in _HASH.finditer(text))
        entries.append(LockEntry(str(canonical_name(match["name"])), match["version"], hashes))
    return tuple(entries)


def _is_version(text: str) -> bool:
    """A PEP 440 version: what reaches pip, labels and messages is never free text."""
    from packaging.version import InvalidVersion, Version

    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def _annotated(entry: LockEntry, comment: str) -> LockEntry:
    """`entry` with one annotation line read: `# via a`, `# via` + `#   a` lines,
    `# from URL`; any other comment changes nothing."""
    from envctl.spec.values import canonical_name  # not packaging.utils: see there

    if comment.startswith("#   "):  # an item of a `# via` list: the name is all there is
        item = comment[4:].strip()
    else:
        word, _, rest = comment.removeprefix("#").strip().partition(" ")
        if word == "from" and rest.strip():
            return replace(entry, index=rest.strip())
        if word != "via" or not rest.strip():
            return entry
        item = rest.strip()
    source = item if item.startswith("-") else str(canonical_name(item.split()[0]))
    return replace(entry, required_by=(*entry.required_by, source))


# ---- files ----------------------------------------------------------------------


def lock_path(project: Project | None, env: Environment) -> Path:
    """`<env>.lock` beside the spec file (environments/ for project names)."""
    if env.path is not None:
        return env.path.with_suffix(".lock")
    if project is None:
        raise InputError(f"{env.label}: no lock location for a spec read from git")
    return project.env_dir / f"{env.name}.lock"


def lock_bound(project: Project | None, path: Path) -> Path:
    """Where a lock may resolve to: its project, else the folder of its spec."""
    return project.root if project is not None else path.parent


def read_lock_text(path: Path, bound: Path) -> str:
    """The lock at `path`, which (symlinks followed) must lie inside `bound`: a
    lock linked to a host file is refused by name, never read or quoted."""
    try:
        return paths.read_text_inside(path, bound, what="lock")
    except FileNotFoundError:
        raise InputError(
            f"{display_path(path)} does not exist: run envctl lock {path.stem}"
        ) from None
    except UnicodeDecodeError:
        raise InputError(
            f"{display_path(path)} is not UTF-8 text; re-create it with envctl lock {path.stem}"
        ) from None


def read_lock(path: Path, bound: Path | None = None) -> Lock:
    return parse_lock(read_lock_text(path, bound or path.parent), path)


def staleness(project: Project | None, env: Environment) -> str | None:
    """Why the lock of `env` does not match its spec, or None when it does.

    A spec without a lock file is not reported: projects that never build images
    need no locks. `require_fresh` is the strict form used by build.
    """
    path = lock_path(project, env)
    if not path.is_file():
        return None
    return _stale_reason(read_lock(path, lock_bound(project, path)), env)


def _stale_reason(lock: Lock, env: Environment) -> str | None:
    if lock.input_hash == input_hash(env.spec):
        return None
    return f"{display_path(lock.path)} is stale: run envctl lock {env.name}"


def gpu_stack(project: Project | None, env: Environment) -> tuple[gpu.Stack | None, str | None]:
    """The CUDA stack `env`'s lock installs; None and why when no fresh lock says it."""
    try:
        path = lock_path(project, env)
    except InputError:
        return None, None
    if not path.is_file():
        return None, f"{env.label} has no lock ({display_path(path)}): the CUDA it needs is unknown"
    lock = read_lock(path)
    stale = _stale_reason(lock, env)
    if stale:
        return None, f"{stale}; the CUDA it needs was not read from it"
    return lock.gpu_stack(), None


def require_fresh(project: Project | None, env: Environment) -> Lock:
    """The lock of `env`; InputError (exit 3) when it is missing or stale."""
    path = lock_path(project, env)
    if not path.is_file():
        raise InputError(f"{display_path(path)} is missing: run envctl lock {env.name}")
    lock = read_lock(path, lock_bound(project, path))
    reason = _stale_reason(lock, env)
    if reason:
        raise InputError(reason)
    return lock


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file in the same folder + os.replace: an interrupted
    write leaves the old file (or none), never half of one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---- resolving ---------------------------------------------------------------------


def lock(
    project: Project | None, env: Environment, *, upgrade: list[str] | bool = False
) -> LockResult:
    """Resolve `env`'s packages with uv and write its lock atomically."""
    spec = env.spec
    path = lock_path(project, env)
    previous = read_lock_text(path, lock_bound(project, path)) if path.is_file() else None
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="envctl-lock-") as tmp:
        body = _compile(spec, Path(tmp), previous, upgrade)
    text = header(spec) + body
    changed = text != previous
    if changed:
        write_atomic(path, text)
    parsed = parse_lock(text, path)
    return LockResult(
        env.name,
        path,
        len(parsed.entries),
        changed,
        time.perf_counter() - started,
        input_hash(spec),
        spec.python,
        spec.image.platform,
    )


def _compile(spec: Spec, work: Path, previous: str | None, upgrade: list[str] | bool) -> str:
    if not spec.packages:
        return ""
    if spec.indexes:
        # Routing (sources) exists only in a project file: uv reads the indexes
        # and sources from the pyproject.toml it compiles.
        requirements = work / "pyproject.toml"
        requirements.write_text(project_input(spec), encoding="utf-8")
    else:
        requirements = work / "requirements.in"
        requirements.write_text(requirements_input(spec), encoding="utf-8")
    output = work / "requirements.lock"
    if previous is not None:
        # uv keeps the versions already in the output file unless told to upgrade.
        output.write_text(previous, encoding="utf-8")
    proc = _run_uv(uv_command(spec, requirements, output, upgrade), work, spec)
    if not proc.ok:
        raise resolution_error(proc.stderr_text, spec)
    return output.read_text(encoding="utf-8")


def uv_command(
    spec: Spec, requirements: Path, output: Path, upgrade: list[str] | bool
) -> list[str]:
    import uv

    # Relative paths (uv runs in their folder) keep temp names out of the lock's
    # "# via -r requirements.in" annotations, so an unchanged resolution is byte-equal.
    cmd = [
        uv.find_uv_bin(),
        "pip",
        "compile",
        requirements.name,
        "--output-file",
        output.name,
        "--generate-hashes",
        "--python-version",
        spec.python,
        "--python-platform",
        lock_target(spec.image.platform).uv_platform,
        "--no-header",
        # `# from URL` under each pin: the index a wheel came from, which the wheel
        # fetch follows (specs with indexes:) and which says, e.g., which CUDA
        # build of torch it is (envctl.gpu); older locks simply lack it.
        "--emit-index-annotation",
        "--only-binary",
        ":all:",
        "--quiet",
    ]
    if not spec.indexes:
        # No uv.toml/pyproject.toml is discovered, in the folder or above it (a
        # shared /tmp): the resolver's settings come from the host's UV_*
        # variables or an explicit UV_CONFIG_FILE, never from a file someone put
        # there. With indexes, the compiled pyproject.toml that envctl writes in
        # its own fresh folder is the configuration (uv reads [tool.uv] indexes and
        # sources only from it), and discovery stops at that nearest file.
        cmd.append("--no-config")
    if upgrade is True:
        cmd.append("--upgrade")
    elif upgrade:
        for package in upgrade:
            cmd += ["--upgrade-package", package]
    return cmd


def _run_uv(cmd: list[str], cwd: Path, spec: Spec) -> Completed:
    # uv would try to download a managed interpreter for --python-version when the
    # host lacks it; resolving needs none, so never let it reach for the network.
    env = {"UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1"}
    if not spec.indexes:
        env["UV_NO_CONFIG"] = "1"  # as --no-config above
    # The indexes' credentials, handed on by name (never written to a file).
    env |= indexes.credential_environment([index.name for index in spec.indexes])
    return run_tool(cmd, cwd=cwd, env=env, fix="reinstall envctl (uv is a dependency)")


_NO_WHEEL = re.compile(r"Because (?P<pkg>[A-Za-z0-9._-]+)(==\S+)? has no usable wheels")
_NOT_FOUND = re.compile(r"Because (?P<pkg>[A-Za-z0-9._-]+) was not found in the package registry")
_NO_VERSION = re.compile(r"Because there is no version of (?P<what>[^ ]+)")


def resolution_error(stderr: str, spec: Spec) -> InputError | ExternalError:
    """Translate uv's explanation into one line naming the package and platform."""
    target = f"Python {spec.python} on {spec.image.platform}"
    stderr = indexes.redact(stderr)
    lines = [paths.sanitized(line) for line in stderr.splitlines() if line.strip()]
    if match := _NO_WHEEL.search(stderr):
        return InputError(
            f"{match['pkg']} has no wheel for {target} (envctl installs wheels "
            "only); pick a version that publishes one",
            details=lines,
        )
    if match := _NOT_FOUND.search(stderr):
        return InputError(f"{match['pkg']} is not on the package index", details=lines)
    if match := _NO_VERSION.search(stderr):
        return InputError(
            f"no version of {match['what']} fits {target} and the other requirements", details=lines
        )
    if "No solution found" in stderr:
        cause = next((ln.strip() for ln in lines if "cause:" in ln or "Because" in ln), "")
        return InputError(f"the packages cannot be resolved for {target}: {cause}", details=lines)
    last = lines[-1] if lines else "no output"
    return ExternalError(f"uv pip compile failed: {last}", details=lines)
