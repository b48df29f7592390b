"""Introspecting reality: the interpreter envctl runs in, or a built image.

`local()` looks at the interpreter the user means (`--python`, the active
virtualenv, or `python3` on PATH): its Python, its installed distributions, the
host's OS release and Debian packages. `image(ref)` runs a small script inside a
fresh container of `ref` (networking off, bounded by a timeout, always removed)
through `envctl.engine`, which is imported only here and only when probing.
"""

from __future__ import annotations

import json
import platform as host_platform
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from envctl.errors import EngineError, InputError
from envctl.oci import platforms

PROBE_TIMEOUT = 60.0
OS_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release")
DPKG_STATUS = "/var/lib/dpkg/status"
VENV_PYTHON = "/opt/venv/bin/python"
LABEL_PREFIX = "dev.envctl."
BASE_NAME_LABEL = "org.opencontainers.image.base.name"
BASE_DIGEST_LABEL = "org.opencontainers.image.base.digest"

# Runs inside the image with whatever Python it has (3.8+): standard library
# only, one JSON document on stdout. dpkg's status file is cut down to the five
# fields we read (name, status, version, source package, architecture) so the
# output stays small.
PROBE_SCRIPT = r"""
import json, platform, sys
from importlib import metadata

def read(path, keep=None):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(l for l in f if keep is None or l.startswith(keep) or l == "\n")
    except OSError:
        return None

dists = []
for d in metadata.distributions():
    try:
        name = d.metadata["Name"]
    except Exception:
        name = None
    if name:
        dists.append([name, d.version])
os_release = read("/etc/os-release") or read("/usr/lib/os-release")
keep = ("Package:", "Status:", "Version:", "Source:", "Architecture:")
status = read("/var/lib/dpkg/status", keep)
json.dump({"python": list(sys.version_info[:3]), "executable": sys.executable,
           "machine": platform.machine(), "distributions": dists,
           "os_release": os_release, "dpkg_status": status}, sys.stdout)
"""

# Prefer the image's venv (where envctl-built images install packages), else python3.
_LAUNCHER = f'if [ -x {VENV_PYTHON} ]; then exec {VENV_PYTHON} -c "$1"; fi; exec python3 -c "$1"'


@dataclass(frozen=True)
class Reality:
    """What a probe found. `None` means the probe could not tell."""

    label: str
    python: str
    executable: str
    distributions: Mapping[str, str]  # canonical name -> version
    os: str | None = None
    platform: str | None = None
    system_packages: tuple[str, ...] | None = None  # "name=version"
    labels: Mapping[str, str] = field(default_factory=dict)
    image_id: str | None = None
    os_release: Mapping[str, str] = field(default_factory=dict)
    dpkg_status: str | None = None  # dpkg's status file, cut to the fields the probe keeps

    @property
    def base_image(self) -> str | None:
        name = self.labels.get(BASE_NAME_LABEL)
        digest = self.labels.get(BASE_DIGEST_LABEL)
        if name and digest and "@" not in name:
            return f"{name}@{digest}"
        return name

    @property
    def spec_version(self) -> int | None:
        raw = self.labels.get(f"{LABEL_PREFIX}spec-version", "")
        return int(raw) if raw.isdigit() else None

    @property
    def fingerprint(self) -> str | None:
        return self.labels.get(f"{LABEL_PREFIX}fingerprint")


# ---- local ------------------------------------------------------------------


def local(python: str | None = None, *, timeout: float = PROBE_TIMEOUT) -> Reality:
    """The interpreter the user means: `python` when given, else the active
    virtualenv (`$VIRTUAL_ENV`), else `python3` on PATH. envctl's own
    interpreter is probed in-process only when it is that one."""
    exe = chosen_interpreter(python)
    if exe is None or is_own_interpreter(exe):
        return _own()
    return _interpreter(exe, timeout)


def chosen_interpreter(python: str | None) -> Path | None:
    """Which interpreter `local` means (None: envctl's own)."""
    import os
    import shutil

    if python is not None:
        path = Path(python).expanduser()
        if path.is_dir():
            path = path / "bin" / "python"
        if not path.is_file():
            raise InputError(f"--python {python}: no interpreter there; give a python executable")
        return path.absolute()
    venv = os.environ.get("VIRTUAL_ENV")
    if venv and (Path(venv) / "bin" / "python").is_file():
        return (Path(venv) / "bin" / "python").absolute()
    found = shutil.which("python3")
    return Path(found).absolute() if found else None


def is_own_interpreter(exe: Path) -> bool:
    """Same environment as the running one: a venv's python is a symlink to the
    base interpreter, so compare the environment (the folder above bin/)."""
    own = Path(sys.executable).absolute()
    return exe == own or exe.parent.parent.resolve() == Path(sys.prefix).resolve()


def _interpreter(exe: Path, timeout: float) -> Reality:
    from envctl.errors import ToolError
    from envctl.tools import run_tool

    try:
        done = run_tool(
            [str(exe), "-I", "-c", PROBE_SCRIPT],
            timeout=timeout,
            fix="give --python a working Python 3.8+ executable",
        )
    except ToolError as exc:
        raise InputError(exc.message) from None
    if not done.ok:
        raise InputError(
            f"probing {exe} failed (exit {done.returncode}): "
            f"{_last_line(done.stderr_text) or 'no output'}; it must be Python 3.8 or newer"
        )
    return replace(reality_from_probe("local", done.stdout_text, {}), executable=str(exe))


def _own() -> Reality:
    """The interpreter envctl runs in, read in-process."""
    from importlib import metadata

    pairs = ((d.metadata["Name"], d.version) for d in metadata.distributions())
    status = _read_text(DPKG_STATUS)
    return Reality(
        label="local",
        python=".".join(str(n) for n in sys.version_info[:3]),
        executable=sys.executable,
        distributions=normalise_distributions(pairs),
        os=os_name(_first_text(OS_RELEASE_FILES)) or _kernel_name(),
        platform=platforms.of_machine(host_platform.machine()),
        system_packages=parse_dpkg_status(status) if status is not None else None,
    )


def _kernel_name() -> str | None:
    name = host_platform.system()
    return f"{name} {host_platform.release()}" if name else None


def _read_text(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _first_text(paths: Iterable[str]) -> str | None:
    return next((text for text in map(_read_text, paths) if text is not None), None)


# ---- image ------------------------------------------------------------------


def image(ref: str, *, timeout: float = PROBE_TIMEOUT) -> Reality:
    """Probe image `ref` by running PROBE_SCRIPT in it with networking off."""
    from envctl import engine

    attrs = engine.inspect_image(ref)
    result = engine.run(
        ref,
        [_LAUNCHER, "envctl-probe", PROBE_SCRIPT],
        timeout=timeout,
        entrypoint=["/bin/sh", "-c"],
        network_disabled=True,
    )
    if result.timed_out:
        raise EngineError(f"probing image {ref} timed out after {timeout:g}s")
    if result.exit_code != 0:
        raise EngineError(
            f"probing image {ref} failed (exit {result.exit_code}): "
            f"{_last_line(result.stderr) or 'no output'}; "
            "the image needs /bin/sh and python3 (or /opt/venv/bin/python)"
        )
    return reality_from_probe(f"image:{ref}", result.stdout, attrs)


def reality_from_probe(label: str, stdout: str, attrs: Mapping[str, Any]) -> Reality:
    """Parse the probe's JSON output plus the engine's inspect data."""
    try:
        data = json.loads(stdout)
        python = ".".join(str(int(n)) for n in data["python"])
        pairs = [(str(name), str(version)) for name, version in data["distributions"]]
    except (ValueError, KeyError, TypeError):
        raise EngineError(
            f"the probe in {label} printed something that is not its "
            f"report: {_last_line(stdout) or 'nothing'}"
        ) from None
    config = attrs.get("Config") or {}
    status = data.get("dpkg_status")
    return Reality(
        label=label,
        python=python,
        executable=str(data.get("executable") or ""),
        distributions=normalise_distributions(pairs),
        os=os_name(data.get("os_release")),
        platform=_image_platform(attrs) or platforms.of_machine(str(data.get("machine", ""))),
        system_packages=parse_dpkg_status(status) if isinstance(status, str) else None,
        labels={str(k): str(v) for k, v in (config.get("Labels") or {}).items()},
        image_id=str(attrs.get("Id") or "") or None,
        os_release=parse_os_release(str(data.get("os_release") or "")),
        dpkg_status=status if isinstance(status, str) else None,
    )


def _image_platform(attrs: Mapping[str, Any]) -> str | None:
    os_, arch, variant = attrs.get("Os"), attrs.get("Architecture"), attrs.get("Variant")
    if not os_ or not arch:
        return None
    return f"{os_}/{arch}" + (f"/{variant}" if variant else "")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


# ---- parsing (pure) -----------------------------------------------------------


def normalise_distributions(pairs: Iterable[tuple[str | None, str]]) -> dict[str, str]:
    """PEP 503 names. The first of duplicates wins, as it does on sys.path."""
    out: dict[str, str] = {}
    for name, version in pairs:
        if name:
            out.setdefault(canonicalize_name(name), version)
    return out


def parse_os_release(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            out[key] = value.strip().strip("\"'")
    return out


def os_name(text: str | None) -> str | None:
    """`Debian GNU/Linux 12 (bookworm)` from an os-release file."""
    if not text:
        return None
    fields = parse_os_release(text)
    name = fields.get("PRETTY_NAME")
    if name:
        return name
    parts = [fields.get("NAME"), fields.get("VERSION_ID")]
    return " ".join(p for p in parts if p) or None


def parse_dpkg_status(text: str) -> tuple[str, ...]:
    """Installed Debian packages as sorted `name=version` from dpkg's status file."""
    return tuple(sorted(f"{name}={version}" for name, version in dpkg_installed(text)))


def dpkg_installed(text: str) -> list[tuple[str, str]]:
    """(name, version) of every installed package in text of dpkg's status format:
    the status file itself, or `dpkg-query -f` output written in that format."""
    found: list[tuple[str, str]] = []
    for paragraph in text.split("\n\n"):
        fields = dict(_field(line) for line in paragraph.splitlines() if ":" in line)
        name, version = fields.get("Package"), fields.get("Version")
        if name and version and fields.get("Status", "").endswith(" installed"):
            found.append((name, version))
    return found


def _field(line: str) -> tuple[str, str]:
    key, _, value = line.partition(":")
    return key.strip(), value.strip()
