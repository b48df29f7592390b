"""Package indexes: names, URLs, where their credentials come from, and the
redaction that keeps credentials out of everything envctl prints or stores.

A spec names its indexes (`indexes:`) and routes packages to them (`sources:`),
as uv does with `[[tool.uv.index]]` and `[tool.uv.sources]`. Credentials are
never part of a spec: they are read at lock and fetch time from uv's own
variables, `UV_INDEX_<NAME>_USERNAME` / `UV_INDEX_<NAME>_PASSWORD` (NAME upper
case, every other character `_`), so one set of variables serves uv and envctl.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from envctl.spec.values import http_base_url

PYPI_URL = "https://pypi.org/simple"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")
# `scheme://user:password@` or `scheme://token@` in any text: the part to hide.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s@'\"<>]+)@")


def index_name(raw: str) -> str:
    """uv's rule for index names: letters, digits, `-`, `_`, `.`."""
    if not _NAME.match(raw):
        raise ValueError(
            f"{raw!r} is not an index name (letters, digits, '-', '_' and '.', "
            "starting with a letter or digit)"
        )
    return raw


def index_url(raw: str) -> str:
    """An index URL: http(s), a host, no credentials (they come from the
    environment), no query or fragment; the trailing `/` dropped."""
    parts = urlsplit(raw)
    if "@" in parts.netloc:
        raise ValueError(
            f"{redact(raw)!r}: an index URL holds no credentials; set "
            "UV_INDEX_<NAME>_USERNAME and UV_INDEX_<NAME>_PASSWORD in the environment"
        )
    return http_base_url(
        raw,
        example="an index URL like 'https://download.pytorch.org/whl/cu128'",
        no_credentials=False,  # refused above, with how to pass them instead
    )


def credential_variables(name: str) -> tuple[str, str]:
    """uv's variables for index `name`: (username, password)."""
    key = re.sub(r"[^A-Z0-9]", "_", name.upper())
    return f"UV_INDEX_{key}_USERNAME", f"UV_INDEX_{key}_PASSWORD"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


def credentials(name: str, environ: Mapping[str, str] | None = None) -> Credentials | None:
    """The index's credentials from the environment, or None when it has none."""
    environ = os.environ if environ is None else environ
    user_var, password_var = credential_variables(name)
    user, password = environ.get(user_var, ""), environ.get(password_var, "")
    if not user and not password:
        return None
    return Credentials(user, password)


def credential_environment(
    names: list[str], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The variables of `names` that are set, to hand on to uv explicitly."""
    environ = os.environ if environ is None else environ
    out: dict[str, str] = {}
    for name in names:
        for variable in credential_variables(name):
            if environ.get(variable):
                out[variable] = environ[variable]
    return out


def with_credentials(url: str, found: Credentials | None) -> str:
    """`url` with `user:password@` for a tool that reads it from its own
    environment variables (pip's PIP_INDEX_URL); never printed or stored."""
    if found is None:
        return url
    parts = urlsplit(url)
    userinfo = quote(found.username, safe="") + ":" + quote(found.password, safe="")
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))


def redact(text: str) -> str:
    """Every `scheme://userinfo@` in `text` shown as `scheme://****@` (a token is
    often the whole userinfo), except an ssh user, which is a login name and
    never a credential (`ssh://deploy@host`)."""
    return _USERINFO.sub(_redacted, text)


def _redacted(match: re.Match[str]) -> str:
    scheme, userinfo = match["scheme"], match["userinfo"]
    if scheme.lower() in ("ssh://", "git+ssh://") and ":" not in userinfo:
        return match[0]
    return f"{scheme}****@"


def has_userinfo(text: str) -> bool:
    return _USERINFO.search(text) is not None


def same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")
