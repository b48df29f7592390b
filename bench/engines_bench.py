"""Getting an image onto a second engine: pull its digest, or build it again?

    python bench/engines_bench.py [--runs 5] [--base envctl-test/debian-python:bookworm]

Starts a second Docker Engine (its own dockerd, as the tests' `engine_b`
fixture does) holding only the base image, and a local registry. One image is
built on the machine's engine from a small Dockerfile (a venv with pip, a few MB
of files) and pushed; then, on the second engine, interleaved (bench/_timing.py):

(a) **pull vs build from scratch**: pull the pushed digest (the image removed
    before each pull; the base layers are there already) against building the
    same Dockerfile and context with the layer cache bypassed;
(b) **reuse vs warm rebuild**: the tag lookup envctl does before building
    (`image_exists`, one GET on the engine socket) against a build of the same
    Dockerfile with every layer cached.

Needs root (dockerd) and Debian's docker-registry; everything started or built
is stopped and removed at the end.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tarfile
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from envctl import engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.daemons
from _timing import Ratio, call, rounds, table

from tests.daemons import load_image, local_registry, second_engine

DOCKERFILE = """FROM {base}
RUN python3 -m venv /opt/venv
RUN mkdir /opt/data && for i in 1 2 3 4 5 6 7 8; do \
    head -c 1048576 /dev/urandom > /opt/data/$i; done
ENV PATH=/opt/venv/bin:$PATH
CMD ["python3", "-c", "print('ok')"]
"""


def context_tar(dockerfile: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile.encode())
        tar.addfile(info, io.BytesIO(dockerfile.encode()))
    return buffer.getvalue()


def on_engine(host: str) -> None:
    os.environ["DOCKER_HOST"] = host
    engine.client.cache_clear()


def measures(context: bytes, pinned: str, tag: str) -> dict[str, dict[str, Callable[[], float]]]:
    def pull() -> None:
        engine.remove_image(pinned, force=True)
        engine.ensure_image(pinned)

    def build_scratch() -> None:
        engine.remove_image(tag, force=True)
        engine.build(context, tag=tag, labels={}, nocache=True)

    def reuse() -> None:
        assert engine.image_exists(tag)

    def build_warm() -> None:
        engine.build(context, tag=tag, labels={})

    return {
        "a": {"pull digest": call(pull), "build from scratch": call(build_scratch)},
        "b": {"reuse (tag lookup)": call(reuse), "rebuild, warm cache": call(build_warm)},
    }


def ratio_rows(samples: dict[str, list[float]]) -> list[tuple[str, Ratio]]:
    base, *others = samples
    return [(name, Ratio.of(samples[base], samples[name])) for name in others]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--base", default="envctl-test/debian-python:bookworm")
    args = parser.parse_args()
    machine = engine.engine_host()
    context = context_tar(DOCKERFILE.format(base=args.base))
    suffix = uuid.uuid4().hex[:8]
    print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}", flush=True)
    with (
        tempfile.TemporaryDirectory() as folder,
        local_registry(Path(folder)) as registry,
        second_engine() as host_b,
    ):
        load_image(machine, host_b, args.base)
        pushed = f"{registry}/bench/engines:{suffix}"
        engine.build(context, tag=pushed, labels={})
        pinned = f"{pushed.rsplit(':', 1)[0]}@{engine.push(pushed)}"
        engine.remove_image(pushed, force=True)
        tag = f"envctl-bench/engines:{suffix}"
        on_engine(host_b)  # every measure runs on the second engine
        for part, pair in measures(context, pinned, tag).items():
            samples = rounds(pair, runs=args.runs)
            rows = ratio_rows(samples)
            baseline = next(iter(pair))
            print(f"\n({part}) on a second engine, {args.runs} interleaved rounds")
            print(table(baseline, rows))
    print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
