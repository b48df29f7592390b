"""Rules for the python and os/image areas: interpreter, platform, base image, OS."""

from __future__ import annotations

from collections.abc import Iterator

from envctl.diff.model import Finding, Side, make_finding
from envctl.oci import image_ref


def image_parts(ref: str) -> tuple[str, str | None]:
    """`docker.io/library/python:3.11@sha256:..` -> ("python:3.11", "sha256:..").
    A label that is not a reference is compared as written."""
    try:
        parsed = image_ref.parse(ref)
    except ValueError:
        return ref, None
    return parsed.familiar, parsed.digest


def compare_python(left: Side, right: Side) -> Iterator[Finding]:
    a, b = left.python, right.python
    if not a or not b:
        return
    pa, pb = a.split("."), b.split(".")
    if [int(x) for x in pa[:2]] != [int(x) for x in pb[:2]]:
        yield make_finding(
            left,
            right,
            "python.version",
            "error",
            "python",
            a,
            b,
            f"{left.label} runs Python {a} but {right.label} runs Python {b}: "
            "code, pickled models and compiled packages may not carry over.",
        )
    elif len(pa) > 2 and len(pb) > 2 and int(pa[2]) != int(pb[2]):
        yield make_finding(
            left,
            right,
            "python.version",
            "warning",
            "python",
            a,
            b,
            f"{left.label} runs Python {a} but {right.label} runs Python {b}: only the "
            "patch release differs, usually safe but not what was tested.",
        )


def compare_image(left: Side, right: Side) -> Iterator[Finding]:
    if left.platform and right.platform and left.platform != right.platform:
        yield make_finding(
            left,
            right,
            "image.platform",
            "error",
            "image.platform",
            left.platform,
            right.platform,
            f"{left.label} targets {left.platform} but {right.label} "
            f"targets {right.platform}: compiled packages built for one do not run on "
            "the other.",
        )
    if left.image and right.image:
        yield from _base_image(left, right, left.image, right.image)
    if left.os and right.os and left.os != right.os:
        yield make_finding(
            left,
            right,
            "os.release",
            "warning",
            "os",
            left.os,
            right.os,
            f"{left.label} runs {left.os} but {right.label} runs {right.os}: system "
            "libraries may differ.",
        )


def _base_image(left: Side, right: Side, lref: str, rref: str) -> Iterator[Finding]:
    (lname, ldigest), (rname, rdigest) = image_parts(lref), image_parts(rref)
    path = "image.base"
    if lname != rname:
        yield make_finding(
            left,
            right,
            "image.base",
            "warning",
            path,
            lref,
            rref,
            f"{left.label} builds on {lname} but {right.label} on {rname}: the OS and "
            "system libraries may differ.",
        )
    elif ldigest and rdigest and ldigest != rdigest:
        yield make_finding(
            left,
            right,
            "image.digest",
            "warning",
            path,
            lref,
            rref,
            f"{left.label} and {right.label} both use {lname} but pin different "
            "digests: they are different builds of it.",
        )
    elif bool(ldigest) != bool(rdigest):
        loose, pinned, digest = (left, right, rdigest) if rdigest else (right, left, ldigest)
        yield make_finding(
            left,
            right,
            "image.unpinned",
            "warning",
            path,
            lref,
            rref,
            f"{loose.label} uses the tag {lname} without a digest while {pinned.label} "
            f"pins {str(digest)[:19]}…: the tag can move, so {loose.label} may run a "
            "different build.",
        )
