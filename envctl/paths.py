"""Paths that come from a checkout: followed only while they stay inside it.

A checkout is input from a stranger (a CI job runs envctl on whatever a tag
points at). A symlink committed in it, or a `../`/absolute path written in one
of its files, could make envctl read a host file (an SSH key, a token) and put
its bytes in an image, a log or an error message. Every file envctl reads on a
checkout's say-so goes through `inside`: symlinks resolved, the result checked
against the folders it may come from, and a refusal that names the path and
never shows what is in the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from envctl.errors import InputError

EXCERPT = 60  # characters of a project's own file an error message may show
# CSI and other escape sequences, then any control character left (tabs kept).
_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-_])")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class OutsideError(InputError):
    """A path from the checkout resolves outside the folders it may come from."""


def shown(path: Path) -> str:
    """`path` as the user wrote it, relative to the working directory when below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


def is_inside(path: Path, *roots: Path) -> bool:
    """Whether `path`, with every symlink followed, lies in one of `roots`."""
    target = path.resolve()
    return any(target.is_relative_to(root.resolve()) for root in roots)


def inside(path: Path, *roots: Path, what: str) -> Path:
    """`path` resolved, when it lies in one of `roots`; OutsideError (exit 3)
    naming `path` and `what` it is otherwise. Nothing is read."""
    if not is_inside(path, *roots):
        where = " or ".join(shown(r) for r in roots)
        raise OutsideError(
            f"{shown(path)}: {what} resolves outside {where} (a symlink or a path "
            "leading out of it); refusing to read it"
        )
    return path.resolve()


def read_text_inside(path: Path, *roots: Path, what: str) -> str:
    return inside(path, *roots, what=what).read_text(encoding="utf-8")


def sanitized(text: str) -> str:
    """`text` without terminal escape sequences or control characters, so a
    file's or a tool's words cannot move the cursor or rewrite a line."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """A short, sanitized piece of one line of a project's own file, for an error."""
    clean = sanitized(text.splitlines()[0] if text else "")
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
