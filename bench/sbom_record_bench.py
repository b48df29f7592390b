"""What recording an image's SBOM adds to a promotion.

    python bench/sbom_record_bench.py [IMAGE] [--registry HOST:PORT] [--runs 5]

Times, in this process, the steps a promotion adds: making the SBOM of IMAGE
(default: the base image; one probe container with networking off, then the
CycloneDX document),
and with --registry (a registry on 127.0.0.1 the engine may push to) pushing it
beside the image as an OCI referrer, the image itself pushed once beforehand.
A stage that runs the very image the previous stage tested pays neither: its
record copies the previous stage's SBOM entry.
"""

from __future__ import annotations

import argparse
import statistics
import time

from envctl import engine, referrers
from envctl.supply import sbom


def timed(runs: int, step: object) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        step()  # type: ignore[operator]  # a zero-argument callable
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "image", nargs="?", default="envctl-test/debian-python:bookworm", help="an image here"
    )
    parser.add_argument("--registry", default=None)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    made = sbom.of_image(args.image)
    print(f"{args.image}: {len(made.sbom.components)} components, {len(made.text)} bytes")
    make = timed(args.runs, lambda: sbom.of_image(args.image))
    print(
        f"probe + CycloneDX document: median {statistics.median(make):.2f} s "
        f"(min {min(make):.2f}, max {max(make):.2f}) over {args.runs} runs"
    )
    if args.registry:
        ref = f"{args.registry}/bench/sbom:latest"
        engine.tag_image(args.image, ref)
        pushed = f"{args.registry}/bench/sbom@{engine.push(ref)}"
        media = sbom.MEDIA_TYPES[made.format]
        push = timed(args.runs, lambda: referrers.push(pushed, made.text.encode(), media, None))
        print(
            f"referrer push (blob present after the first run): median "
            f"{statistics.median(push):.3f} s (first {push[0]:.3f}, max {max(push):.3f})"
        )


if __name__ == "__main__":
    main()
