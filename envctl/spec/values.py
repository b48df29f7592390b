"""Validated scalar values that may reach a Dockerfile, a shell or a comparison.

Everything here is pure. Patterns are deliberately narrow: a value that could
carry a newline, a space or a shell metacharacter into a rendered Dockerfile is
rejected at the spec boundary, not escaped later.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from fractions import Fraction

# fractions and the OCI parsers are imported where they are used: every command
# imports this module, and `status` (envctl.yaml only) uses neither.

_PEP508_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])\Z")
_RUNS = re.compile(r"[-_.]+")
_EXTRAS = re.compile(r"^(?P<name>[^\[\]]+)(\[(?P<extras>[A-Za-z0-9._,-]+)\])?\Z")
_APT_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?\Z")
_PYTHON = re.compile(r"^3\.[0-9]{1,2}(\.[0-9]{1,3})?\Z")
_WORD = re.compile(r"^[a-z][a-z0-9_-]*\Z")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_SAFE_TEXT = re.compile(r"^[^\x00-\x1f\x7f]*\Z")
_SAFE_TOKEN = re.compile(r"^[^\s\x00-\x1f\x7f'\"`$\\;|&<>]+\Z")
_REL_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*\Z")
# RFC 3986 path characters without '@' (userinfo), then at most a query string.
_URL_PATH = re.compile(
    r"^(?P<path>/[A-Za-z0-9._~!$&'()*+,;=:%/-]*)(\?[A-Za-z0-9._~!$&'()*+,;=:%/?-]*)?$"
)

# Kubernetes resource quantities, suffixes case-sensitive:
# <signedNumber>(<binarySI> | <decimalSI> | e<signedInt> | E<signedInt>)
_BINARY_SI = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL_SI = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(?P<binary>[KMGTPE]i)|[eE](?P<exponent>[+-]?[0-9]+)|(?P<decimal>[numkMGTPE]?))$"
)
# What people write instead: `4GB`, `4gb`, `4 Gi`, `4K`, `4KiB`.
_LOOSE_QUANTITY = re.compile(
    r"^(?P<number>[+-]?[0-9.]+)\s*(?P<letter>[KkMmGgTtPpEe])(?P<rest>[iI]?[bB]?)$"
)
_MAX_EXPONENT = 1000
MAX_MEMORY = 2**63 - 1  # what the engine takes (int64 bytes)


def package_key(raw: str) -> str:
    """`Scikit_Learn[Extra]` -> `scikit-learn[extra]`: PEP 503 name, sorted extras."""
    match = _EXTRAS.match(raw.strip())
    if not match or not _PEP508_NAME.match(match["name"]):
        raise ValueError(
            f"{raw!r} is not a valid package name (PEP 508: letters, digits, '.', '_', '-')"
        )
    name = canonical_name(match["name"])
    extras = match["extras"]
    if not extras:
        return name
    parts = sorted({canonical_name(e) for e in extras.split(",") if e})
    return f"{name}[{','.join(parts)}]"


def canonical_name(name: str) -> str:
    """PEP 503's normal form, as `packaging.utils.canonicalize_name` writes it.
    Not imported from there: packaging.utils loads the wheel-tag machinery
    (logging, platform probes) that reading a spec never uses."""
    return _RUNS.sub("-", name).lower()


def package_name(key: str) -> str:
    """The distribution name of a package key, without extras."""
    return key.split("[", 1)[0]


def specifier(raw: object) -> str:
    """A PEP 440 specifier set, normalised. `*` or empty means any version."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raise ValueError(
            f'write the version as a quoted specifier, e.g. "=={raw}"; YAML read a number'
        )
    if not isinstance(raw, str):
        raise ValueError('a package version must be a string such as "==1.26.4"')
    text = raw.strip()
    if text in ("", "*"):
        return "*"
    # Imported here: `status` and `history` read envctl.yaml, which rarely has a specifier.
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        spec = SpecifierSet(text)
    except InvalidSpecifier:
        hint = f' (did you mean "=={text}"?)' if re.match(r"^[0-9][0-9A-Za-z.+!-]*$", text) else ""
        raise ValueError(f"{raw!r} is not a PEP 440 version specifier{hint}") from None
    return str(spec)


def pinned_version(spec: str) -> str | None:
    """The version of an exact `==X` or `===X` pin (no wildcard), else None."""
    if spec.startswith("===") and "," not in spec:
        return spec[3:]
    if spec.startswith("==") and "," not in spec and not spec.endswith(".*"):
        return spec[2:]
    return None


def spec_version(raw: object) -> int:
    """A spec's `version:` is a YAML integer; `"1"`, `"1.0"` and `1.5` are refused,
    not coerced (`envctl check` compares versions as numbers)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    what = {str: "the string ", float: "the number "}.get(type(raw), "")
    raise ValueError(
        "the version must be a whole number without quotes, such as version: 3 "
        f"(YAML read {what}{raw!r})"
    )


def image_ref(raw: str) -> str:
    from envctl.oci import image_ref as refs

    try:
        refs.parse(raw)
    except ValueError:
        raise ValueError(
            f"{raw!r} is not an image reference like 'python:3.11-slim' or "
            "'registry:5000/team/img@sha256:<64 hex>'"
        ) from None
    return raw


def image_digest(ref: str) -> str | None:
    from envctl.oci import image_ref as refs

    try:
        return refs.parse(ref).digest
    except ValueError:
        return None


def apt_package(raw: str) -> str:
    if not _APT_NAME.match(raw):
        raise ValueError(
            f"{raw!r} is not a Debian package name (lowercase letters, digits, '+', '-', '.')"
        )
    return raw


def python_version(raw: object) -> str:
    if isinstance(raw, float):
        raise ValueError(
            f'YAML read this as the number {raw!r}; quote it (python: "3.10" is not python: 3.10)'
        )
    if isinstance(raw, int) and not isinstance(raw, bool):
        raise ValueError(f'write a major.minor version in quotes, e.g. "{raw}.11"')
    if not isinstance(raw, str) or not _PYTHON.match(raw):
        raise ValueError(f'{raw!r} is not a Python version like "3.11" or "3.11.9"')
    return raw


def platform(raw: str) -> str:
    """A platform of envctl's table: one that locks, wheels and the base-image check know."""
    from envctl.oci import platforms

    return platforms.target(raw).name


_SHA256 = re.compile(r"^[0-9a-f]{64}\Z")


def sha256_hex(raw: str) -> str:
    """A sha256 digest in lowercase hex (an optional `sha256:` prefix is dropped)."""
    text = raw.removeprefix("sha256:")
    if not _SHA256.match(text):
        raise ValueError(f"{raw!r} is not a sha256 (64 lowercase hex digits)")
    return text


def word(raw: str, what: str) -> str:
    if not _WORD.match(raw):
        raise ValueError(f"{raw!r} is not a valid {what} (lowercase letters, digits, '_', '-')")
    return raw


def env_key(raw: str) -> str:
    if not _ENV_KEY.match(raw):
        raise ValueError(f"{raw!r} is not an environment variable name")
    return raw


def safe_text(raw: str) -> str:
    if not _SAFE_TEXT.match(raw):
        raise ValueError("control characters and newlines are not allowed here")
    return raw


def safe_token(raw: str) -> str:
    if not _SAFE_TOKEN.match(raw):
        raise ValueError(f"{raw!r} may not contain spaces, quotes or shell characters")
    return raw


def relative_path(raw: str) -> str:
    parts = raw.split("/")
    if not _REL_PATH.match(raw) or ".." in parts:
        raise ValueError(f"{raw!r} must be a relative path inside the project, without '..'")
    return raw


def host_path(raw: str) -> str:
    """An absolute, normalised path on the engine's host (`/srv/eval/churn.csv`)."""
    parts = raw.split("/")
    if not raw.startswith("/") or not _REL_PATH.match(raw[1:]) or {"..", "."} & set(parts):
        raise ValueError(f"{raw!r} must be an absolute path on the engine's host, without '..'")
    return raw


def quantity(text: str) -> Fraction | None:
    """The exact value of a Kubernetes quantity (`8Gi`, `500m`, `1.5e9`); None if
    `text` is not one."""
    from fractions import Fraction

    match = _QUANTITY.fullmatch(text)
    if not match:
        return None
    value = Fraction(match["number"])
    if match["binary"]:
        return value * _BINARY_SI[match["binary"]]
    if match["exponent"] is None:
        return value * Fraction(10) ** _DECIMAL_SI[match["decimal"]]
    exponent = int(match["exponent"])
    if abs(exponent) > _MAX_EXPONENT:
        raise ValueError(f"{text!r}: the exponent is out of range")
    return value * Fraction(10) ** exponent


def url_path(raw: str) -> str:
    """An absolute URL path on the model's own server (`/predict`, `/health?deep=1`):
    nothing that could name another host or climb out of the path."""
    match = _URL_PATH.fullmatch(raw)
    if not match or raw.startswith("//") or re.search(r"%(?![0-9A-Fa-f]{2})", raw):
        raise ValueError(
            f"{raw!r} is not an absolute URL path like '/predict': start with '/', no scheme, "
            "host, '@', '\\', spaces or control characters; at most a '?query'"
        )
    if ".." in (unquote(part) for part in match["path"].split("/")):
        raise ValueError(f"{raw!r} may not contain '..' segments")
    return raw


def service_url(raw: str) -> str:
    """The base URL of a running service: `http(s)://host[:port][/prefix]`, without
    credentials, query or fragment (the checks' paths are appended to it)."""
    return http_base_url(raw, example="a service URL like 'http://churn.internal:8000'")


def http_base_url(raw: str, *, example: str, no_credentials: bool = True) -> str:
    """`http(s)://host[:port][/prefix]`: no query, fragment, spaces or quotes, and no
    credentials unless the caller refused them itself; the trailing `/` dropped.
    The error names `example`, the URL the caller expects."""
    parts = urlsplit(raw)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or (no_credentials and "@" in parts.netloc)
        or parts.query
        or parts.fragment
        or not _SAFE_TOKEN.match(raw)
    ):
        banned = "credentials, query" if no_credentials else "query"
        raise ValueError(
            f"{raw!r} is not {example}: http or https, a host, no {banned}, fragment, "
            "spaces or quotes"
        )
    try:
        parts.port  # noqa: B018  # reading it validates the port
    except ValueError:
        raise ValueError(f"{raw!r}: the port is not a number from 0 to 65535") from None
    return raw.rstrip("/")


ENGINE_SCHEMES = ("unix", "tcp", "ssh")


def engine_url(raw: str) -> str:
    """A Docker Engine URL a stage's gates run on: `unix:///abs/socket`,
    `tcp://host:port` or `ssh://[user@]host[:port]`. No password, query, fragment,
    spaces or quotes: a spec is read by everyone, credentials come from the
    environment (DOCKER_CERT_PATH, the ssh agent)."""
    parts = urlsplit(raw)
    if parts.scheme not in ENGINE_SCHEMES:
        raise ValueError(
            f"{raw!r} is not a Docker Engine URL: unix:///path/to/docker.sock, "
            "tcp://HOST:PORT or ssh://[USER@]HOST"
        )
    if not _SAFE_TOKEN.match(raw) or parts.query or parts.fragment or parts.password:
        raise ValueError(f"{raw!r}: no password, query, fragment, spaces or quotes")
    if parts.scheme == "unix":
        if parts.netloc or not parts.path.startswith("/"):
            raise ValueError(f"{raw!r}: a unix socket is an absolute path, unix:///path")
        return raw
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{raw!r}: the port is not a number from 0 to 65535") from None
    if not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"{raw!r}: a {parts.scheme} engine is {parts.scheme}://HOST[:PORT]")
    if parts.scheme == "tcp" and port is None:
        raise ValueError(f"{raw!r}: a tcp engine needs its port (2376 with TLS)")
    return raw.rstrip("/")


def memory_bytes(raw: object) -> int:
    """`8Gi`, `8192Mi`, `8G`, `512M`, or a number of bytes -> bytes."""
    if isinstance(raw, bool):
        raise ValueError('memory must be a quantity such as "8Gi"')
    from fractions import Fraction

    text = str(raw).strip()
    value = Fraction(raw) if isinstance(raw, int) else quantity(text)
    if value is None:
        raise ValueError(
            f'{raw!r} is not a memory quantity like "8Gi", "512Mi" or "16G"{_did_you_mean(text)}'
        )
    if value < 0:
        raise ValueError("memory must not be negative")
    if value.denominator != 1:
        milli = ' ("m" is milli)' if text.endswith("m") else ""
        raise ValueError(f"{raw!r} is not a whole number of bytes{milli}{_did_you_mean(text)}")
    if value > MAX_MEMORY:
        raise ValueError(f"{raw!r} is more memory than an engine can take")
    return int(value)


def _did_you_mean(text: str) -> str:
    """`4GB` -> `; did you mean "4Gi" or "4G"?` (units are case-sensitive)."""
    match = _LOOSE_QUANTITY.fullmatch(text)
    if not match:
        return ""
    letter = match["letter"].upper()
    binary = f"{match['number']}{letter}i"
    decimal = f"{match['number']}{'k' if letter == 'K' else letter}"
    choices = [binary] if match["rest"][:1] in ("i", "I") else [binary, decimal]
    valid = [c for c in choices if c != text and _QUANTITY.fullmatch(c)]
    return f"; did you mean {' or '.join(map(json.dumps, valid))}?" if valid else ""


def format_bytes(value: int) -> str:
    """Bytes -> the largest binary unit that divides it exactly (`8Gi`)."""
    for unit, size in reversed(_BINARY_SI.items()):
        if value and value % size == 0:
            return f"{value // size}{unit}"
    return str(value)


def cpu_count(raw: object) -> float:
    """`4`, `0.5` or Kubernetes-style `500m` -> cores."""
    if isinstance(raw, bool):
        raise ValueError('cpu must be a number of cores such as 4 or "500m"')
    if isinstance(raw, (int, float)):
        value = float(raw)
    elif isinstance(raw, str) and re.match(r"^[0-9]+m$", raw.strip()):
        value = int(raw.strip()[:-1]) / 1000
    else:
        raise ValueError(f'{raw!r} is not a number of cores such as 4, 0.5 or "500m"')
    if value <= 0:
        raise ValueError("cpu must be greater than 0")
    return value


_DURATION = re.compile(r"^(?P<n>[0-9]{1,6})(?P<unit>[mhdw])\Z")
_DURATION_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60}


def duration_seconds(raw: object) -> int:
    """`24h`, `30m`, `2d`, `1w` -> seconds (a stage policy's soak time)."""
    match = _DURATION.fullmatch(str(raw).strip()) if isinstance(raw, str) else None
    if match is None:
        raise ValueError(f'{raw!r} is not a duration like "24h", "30m", "2d" or "1w"')
    return int(match["n"]) * _DURATION_UNITS[match["unit"]]


def format_duration(seconds: int) -> str:
    """Seconds -> the largest unit that divides it exactly (`86400` -> `1d`)."""
    for unit, size in _DURATION_UNITS.items():
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds // 60}m"


_HOURS = re.compile(r"^(?P<a>[0-2][0-9]):(?P<b>[0-5][0-9])-(?P<c>[0-2][0-9]):(?P<d>[0-5][0-9])\Z")


def hour_range(raw: str) -> tuple[int, int]:
    """`"09:00-17:30"` -> (540, 1050): minutes of the day, the end excluded; `24:00`
    ends at midnight. A range runs forward within one day."""
    match = _HOURS.fullmatch(raw.strip())
    if match is None:
        raise ValueError(f'{raw!r} is not an hour range like "09:00-17:00"')
    start = int(match["a"]) * 60 + int(match["b"])
    end = int(match["c"]) * 60 + int(match["d"])
    if start >= 24 * 60 or end > 24 * 60 or start >= end:
        raise ValueError(
            f"{raw!r}: the start must come before the end within one day (00:00 to 24:00); "
            "split a night window into two"
        )
    return start, end


def time_zone(raw: str) -> str:
    """An IANA time zone name that this machine's zoneinfo knows (`Europe/Berlin`)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{raw!r} is not an IANA time zone such as Europe/Berlin or UTC") from None
    return raw
