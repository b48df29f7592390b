"""`envctl import --force` over an existing spec: the import replaces what its
source speaks to (the Python and the packages, with their indexes and routing)
and keeps every other section of the old spec as it was written, comments
included, so data, compute, gates and policy never vanish unlisted."""

from __future__ import annotations

import re
from dataclasses import dataclass

# What an import's source speaks to; every other top-level key is kept.
SPOKEN = ("name", "version", "python", "packages", "indexes", "sources")
_KEY = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_-]*)\s*:")


@dataclass(frozen=True)
class Replaced:
    text: str
    kept: tuple[str, ...]  # old sections carried over unchanged
    dropped: tuple[str, ...]  # old sections the import replaced with nothing


def blocks(text: str) -> list[tuple[str | None, str]]:
    """Top-level (key, text) blocks in order; comments and blank lines above a key
    belong to it; trailing ones to a last (None, text) block."""
    out: list[tuple[str | None, str]] = []
    pending: list[str] = []
    current: tuple[str, list[str]] | None = None
    for line in text.splitlines(keepends=True):
        match = _KEY.match(line)
        if match:
            if current is not None:
                out.append((current[0], "".join(current[1])))
            current, pending = (match["key"], [*pending, line]), []
        elif current is not None and line[:1] in (" ", "\t", "-") and not pending:
            current[1].append(line)
        else:
            pending.append(line)
    if current is not None:
        out.append((current[0], "".join(current[1])))
    if pending:
        out.append((None, "".join(pending)))
    return out


def replace_spec(new: str, old: str, *, python_changed: bool) -> Replaced:
    """`new` (the import's spec) with the old spec's other sections kept; the
    image is kept unless the Python changed (its base names the Python)."""
    from envctl.spec.model import Spec

    old_blocks = {key: body for key, body in blocks(old) if key is not None}
    known = set(Spec.model_fields)  # a key the spec does not know is not kept: it is dropped
    keep = [
        k
        for k in old_blocks
        if k in known and k not in SPOKEN and not (k == "image" and python_changed)
    ]
    out: list[str] = []
    written: set[str] = set()
    for key, body in blocks(new):
        written.add(key or "")
        out.append(old_blocks[key] if key in keep else body)
    for key in keep:
        if key not in written:
            out.append(
                old_blocks[key] if old_blocks[key].endswith("\n") else old_blocks[key] + "\n"
            )
    new_keys = {key for key, _ in blocks(new)}
    dropped = tuple(k for k in old_blocks if (k in SPOKEN or k not in known) and k not in new_keys)
    return Replaced("".join(out), tuple(keep), dropped)
