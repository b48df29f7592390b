#!/usr/bin/env python3
"""Render compose.yaml and deployment.yaml with one promoted image.

    envctl image churn --stage prod | python3 render.py --out rendered/
    python3 render.py registry.example.com/team/churn@sha256:<64 hex> --out rendered/

The image must be pinned by digest (REPO@sha256:...): a tag can move after the
promotion, a digest cannot. Standard library only, so a deploy job needs
nothing but python3.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATES = ("compose.yaml", "deployment.yaml")
PLACEHOLDER = "{{IMAGE}}"
# REPO[:TAG]@sha256:HEX; the repository may carry a registry host and port.
PINNED = re.compile(r"^[a-z0-9][a-z0-9._:/-]*(?::[\w][\w.-]{0,127})?@sha256:[0-9a-f]{64}$")


def pinned_reference(text: str) -> str:
    """The one REPO@sha256:... in `text`, or SystemExit saying what is wrong."""
    words = text.split()
    if len(words) != 1:
        raise SystemExit(f"render.py: expected one image reference, got {len(words)}")
    ref = words[0]
    if not PINNED.match(ref):
        raise SystemExit(
            f"render.py: {ref} is not pinned by digest; "
            "give REPO@sha256:<64 hex> (envctl image MODEL --stage STAGE prints one)"
        )
    return ref


def render(template: str, ref: str) -> str:
    if PLACEHOLDER not in template:
        raise SystemExit(f"render.py: a template has no {PLACEHOLDER} to replace")
    return template.replace(PLACEHOLDER, ref)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", help="REPO@sha256:...; read from stdin if omitted")
    parser.add_argument("--out", type=Path, default=Path("rendered"), help="output folder")
    args = parser.parse_args(argv)
    ref = pinned_reference(args.image if args.image is not None else sys.stdin.read())
    args.out.mkdir(parents=True, exist_ok=True)
    for name in TEMPLATES:
        (args.out / name).write_text(render((HERE / name).read_text(), ref))
        print(args.out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
