"""Build speed and size, measured in one run against the real Docker Engine.

    python bench/build_bench.py [--runs 7] [--base envctl-test/debian-python:bookworm]

In a throw-away project FROM the local base image (six, idna, packaging, pyyaml
locked for real with uv), it measures:

- lock time: the bench spec, and the bundled prod spec's package set (ranges
  loosened to `*`, since the bundled pins are illustrative);
- a cold build (empty wheel cache, engine layer cache bypassed) and a warm one
  (tagged image removed, layers kept);
- an unchanged-spec rebuild (`envctl build`, which starts no Docker build) as a
  multiple of `python -c pass`, next to a build of the same rendered Dockerfile
  through the engine with a warm layer cache; these run interleaved, once per
  round, and each ratio is the median of the per-round ratios (with min-max);
- a model-code-only change: how many layers of the new image are the old ones;
- the final image's bytes above base + venv + model code, and that no wheel,
  pip cache or build-stage file is in it.

Everything built is removed at the end.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import Ratio, call, envctl_argv, process, rounds, table

ROOT = Path(__file__).resolve().parent.parent
NAME = "benchbuild"
SPEC = """name: {name}
version: 1
image:
  base: {base}
python: "3.11"
packages:
  six: "==1.16.0"
  idna: "==3.7"
  packaging: "==24.1"
  pyyaml: "==6.0.2"
"""


def git(root: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.com",
            "-c",
            "tag.gpgsign=false",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )


def make_project(root: Path, base: str) -> None:
    (root / "environments").mkdir(parents=True)
    (root / "model").mkdir()
    (root / "envctl.yaml").write_text(f"stages: [{NAME}]\nmodels:\n  m:\n    path: model\n")
    (root / "environments" / f"{NAME}.yaml").write_text(SPEC.format(name=NAME, base=base))
    (root / "model" / "serve.py").write_text("print('v1')\n" + "# padding\n" * 2000)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "bench")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


@contextmanager
def engine_nocache() -> Iterator[None]:
    from envctl import engine

    original = engine.build
    engine.build = functools.partial(original, nocache=True)  # type: ignore[assignment]
    try:
        yield
    finally:
        engine.build = original  # type: ignore[assignment]


def lock_bundled_prod(work: Path) -> tuple[float, int] | str:
    """Lock time for the bundled prod spec's packages, loosened to `*`."""
    from envctl.build import lockfile
    from envctl.spec.loading import load_environment, require_project

    copy = work / "bundled"
    shutil.copytree(ROOT / "environments", copy / "environments")
    shutil.copy(ROOT / "envctl.yaml", copy / "envctl.yaml")
    env = load_environment("prod", require_project(copy))
    loose = env.spec.replace(packages=dict.fromkeys(env.spec.packages, "*"))
    env = type(env)(spec=loose, source=env.source, path=env.path)
    try:
        result = lockfile.lock(require_project(copy), env)
    except Exception as exc:  # report, do not stop the other measurements
        return f"not lockable: {exc}"
    return result.seconds, result.packages


def find_build_leftovers(image: str) -> list[str]:
    from envctl import engine

    script = (
        "find / -xdev \\( -name '*.whl' -o -path '*/.cache/pip' -o -path '/tmp/envctl' "
        "-o -path '/opt/venv/*/site-packages/pip' \\) -print | sort"
    )
    return engine.run(image, ["sh", "-c", script], timeout=120).stdout.split()


def du(image: str, path: str) -> int:
    from envctl import engine

    out = engine.run(image, ["du", "-sb", path], timeout=60).stdout.split()
    return int(out[0]) if out else 0


def layers(image: str) -> list[str]:
    from envctl import engine

    found: list[str] = engine.inspect_image(image)["RootFS"]["Layers"]
    return found


def shared_prefix(a: list[str], b: list[str]) -> int:
    count = 0
    for left, right in zip(a, b, strict=False):
        if left != right:
            break
        count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--base",
        default=os.environ.get("ENVCTL_TEST_BASE_IMAGE", "envctl-test/debian-python:bookworm"),
    )
    args = parser.parse_args()

    from envctl import engine
    from envctl.build import lockfile, recipe, wheels
    from envctl.build import plan as build_plan
    from envctl.build.image import build_image
    from envctl.spec.loading import load_environment, require_project

    results: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="envctl-build-bench-"))
    project = work / "proj"
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")  # a cold wheel cache
    made: list[str] = []
    try:
        make_project(project, args.base)
        os.chdir(project)
        bundled = lock_bundled_prod(work)
        results["lock_bundled_prod"] = (
            {"seconds": round(bundled[0], 3), "packages": bundled[1]}
            if isinstance(bundled, tuple)
            else bundled
        )
        env = load_environment(NAME, require_project())
        locked = lockfile.lock(require_project(), env)
        results["lock_bench_spec_seconds"] = round(locked.seconds, 3)
        git(project, "add", "-A")
        git(project, "commit", "-qm", "lock")

        # A cold build builds: an image of the same content left by an earlier run (the
        # bench project is the same every time) would make it a cache hit.
        stale = build_plan.plan(NAME).tag
        if engine.image_exists(stale):
            engine.remove_image(stale, force=True)
        with engine_nocache():
            cold, first = timed(lambda: build_image(NAME))
        if first.cached:
            raise SystemExit("the cold build found its image already built: nothing was measured")
        made.append(first.image)
        results["cold_build_seconds"] = round(cold, 2)
        engine.client().api.remove_image(first.image, noprune=True)
        warm, second = timed(lambda: build_image(NAME))
        results["warm_build_seconds"] = round(warm, 2)
        results["warm_build_cached_steps"] = f"{second.cached_steps}/{second.steps}"

        the_plan = build_plan.plan(NAME)
        dockerfile = build_plan.dockerfile_for(the_plan, system_install=False)
        context = recipe.context_tar(
            recipe.context_files(
                dockerfile, the_plan.lock, [w.path for w in wheels.fetch(the_plan.lock)], None
            )
        )
        warm_tag = f"envctl-bench/{NAME}:warm"
        made.append(warm_tag)
        samples = rounds(
            {
                "python -c pass": process([sys.executable, "-c", "pass"]),
                "envctl build (unchanged spec, CLI)": process(
                    [*envctl_argv(), "build", NAME], cwd=project
                ),
                "envctl build (unchanged spec, in-process)": call(lambda: build_image(NAME)),
                "engine build, same Dockerfile, warm cache": call(
                    lambda: engine.build(context, tag=warm_tag, labels={})
                ),
            },
            runs=args.runs,
        )
        base = samples.pop("python -c pass")
        rebuild = {name: Ratio.of(base, seconds) for name, seconds in samples.items()}
        results["rebuild"] = {name: r.to_json() for name, r in rebuild.items()}

        git(project, "tag", "-a", "m@v1.0.0", "-m", "v1")
        v1 = build_image(NAME, model="m@v1.0.0")
        made.append(v1.image)
        (project / "model" / "serve.py").write_text("print('v2')\n" + "# padding\n" * 2000)
        git(project, "commit", "-qam", "model change")
        git(project, "tag", "-a", "m@v1.0.1", "-m", "v2")
        model_seconds, v2 = timed(lambda: build_image(NAME, model="m@v1.0.1"))
        made.append(v2.image)
        old, new = layers(v1.image), layers(v2.image)
        results["model_change"] = {
            "seconds": round(model_seconds, 2),
            "steps": v2.steps,
            "cached_steps": v2.cached_steps,
            "layers": len(new),
            "layers_reused": shared_prefix(old, new),
            "base_layers": len(layers(args.base)),
        }

        base_size = int(engine.inspect_image(args.base)["Size"])
        venv = du(v2.image, "/opt/venv")
        model = du(v2.image, "/opt/model")
        final = int(engine.inspect_image(v2.image)["Size"])
        results["size"] = {
            "final": final,
            "base": base_size,
            "venv": venv,
            "model": model,
            "above_base_venv_model": final - base_size - venv - model,
        }
        extra = sorted(set(find_build_leftovers(v2.image)) - set(find_build_leftovers(args.base)))
        results["build_leftovers_in_final_image"] = extra
    finally:
        os.chdir(ROOT)
        for image in made:
            engine.remove_image(image, force=True)
        shutil.rmtree(work, ignore_errors=True)

    print(table("python -c pass", list(rebuild.items())))
    print(json.dumps({k: v for k, v in results.items() if k != "rebuild"}, indent=2))


if __name__ == "__main__":
    main()
