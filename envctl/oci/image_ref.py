"""Image references, `[host[:port]/]path[:tag][@sha256:hex]`: the one parser.

Pure. Which first component is a registry host follows Docker's rule: it is one
when more components follow and it has a `.` or a `:`, is `localhost`, or has
an upper-case letter (paths are lower case). `team/img` is a path on Docker Hub;
`registry:5000/team/img` names a host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")
_HOST = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?")
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")


@dataclass(frozen=True)
class ImageRef:
    path: str  # "team/img": lower-case components joined by "/"
    host: str | None = None  # "registry:5000"
    tag: str | None = None
    digest: str | None = None  # "sha256:<64 hex>"

    @property
    def repository(self) -> str:
        """Host and path: what an image is tagged into."""
        return f"{self.host}/{self.path}" if self.host else self.path

    @property
    def familiar(self) -> str:
        """`docker.io/library/python` -> `python:latest`: Docker Hub's host and
        `library/` dropped and the implied tag made explicit; no digest."""
        if self.host is None or self.host in DOCKER_HUB:
            name = self.path.removeprefix("library/")
        else:
            name = self.repository
        return f"{name}:{self.tag or 'latest'}"

    def __str__(self) -> str:
        tag = f":{self.tag}" if self.tag else ""
        digest = f"@{self.digest}" if self.digest else ""
        return f"{self.repository}{tag}{digest}"


def parse(raw: str) -> ImageRef:
    """The parts of `raw`; ValueError when it is not a reference."""
    rest, at, digest = raw.partition("@")
    name, tag = rest, None
    head, colon, tail = rest.rpartition(":")
    if colon and "/" not in tail:  # else that colon belongs to a host's port
        name, tag = head, tail
    first, slash, remainder = name.partition("/")
    host, path = (first, remainder) if slash and is_host(first) else (None, name)
    if not (
        (host is None or _HOST.fullmatch(host))
        and all(_COMPONENT.fullmatch(part) for part in path.split("/"))
        and (tag is None or _TAG.fullmatch(tag))
        and (not at or _DIGEST.fullmatch(digest))
    ):
        raise ValueError(f"{raw!r} is not an image reference")
    return ImageRef(path, host, tag, digest if at else None)


def is_host(component: str) -> bool:
    """Does the first of several components name a registry host (Docker's rule)?"""
    return (
        "." in component
        or ":" in component
        or component == "localhost"
        or component != component.lower()
    )
