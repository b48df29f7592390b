"""Staging -> prod: promote the image staging tested, or build prod's own?

    python bench/promote_bench.py [--runs 3]

Copies examples/churn into a temporary git repository, registers churn@v1.0.0,
promotes it into staging (building staging's image once) and records an approval
for prod. Then, interleaved (bench/_timing.py), times the whole
`envctl promote churn@v1.0.0 --stage prod` as a fresh process, gates included
(tests, metrics, http, approvals), two ways:

- **reused**: prod's image content is staging's, so prod runs the very image
  staging tested; nothing is built;
- **rebuilt**: before the run, prod.yaml gains `env: {BENCH_ROUND: "N"}` (a new N
  each run), so prod's content differs from staging's and its image is built.
  Docker's layer cache still holds the base and venv layers, as on the machine
  that built staging's image: only the layers from `env` on are built, plus the
  tests gate's layer on top.

Each run's record is checked (reused from staging, or built with differences)
and its prod tag deleted, so the next run promotes again. Needs Docker and the
base image (.ci/docker-up); removes the images it built, and only those.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import Measure, Ratio, envctl_argv, process, rounds, table

from envctl import engine

CHURN = Path(__file__).resolve().parent.parent / "examples" / "churn"
COMMIT_LABEL = "dev.envctl.git-commit"
BOB = {"GIT_COMMITTER_NAME": "Bob", "GIT_COMMITTER_EMAIL": "bob@example.com"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def envctl(cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(
        [*envctl_argv(), *args], cwd=cwd, capture_output=True, text=True, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"envctl {' '.join(args)} exited {proc.returncode}: {proc.stderr[-800:]}")


def churn_in_staging(folder: Path) -> Path:
    """examples/churn in its own repository (no registry), churn@v1.0.0 in staging
    and approved for prod by a second person."""
    project = folder / "churn"
    shutil.copytree(CHURN, project)
    config = project / "envctl.yaml"
    config.write_text(
        "".join(
            line
            for line in config.read_text().splitlines(keepends=True)
            if not line.startswith("registry:")
        )
    )
    git(project, "init", "-q", "-b", "main")
    git(project, "config", "user.name", "Ada Tester")
    git(project, "config", "user.email", "ada@example.com")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "churn v1.0.0")
    envctl(project, "register", "churn", "v1.0.0")
    reason = "bench: staging is where the measured promotions start"
    envctl(project, "promote", "churn@v1.0.0", "--stage", "staging", "--force", "--reason", reason)
    envctl(project, "approve", "churn@v1.0.0", "--stage", "prod", env=BOB)
    return project


def prod_record(project: Path) -> tuple[str, dict[str, object]]:
    (tag,) = git(project, "tag", "-l", "churn#prod#*").split()
    message = git(project, "tag", "-l", "--format=%(contents)", tag)
    image: dict[str, object] = json.loads(message.split("envctl-record: v1", 1)[1])["image"]
    return tag, image


def promotion(project: Path, prepare: Callable[[], None], *, reused: bool) -> Measure:
    """`prepare`, then a timed prod promotion; its record is checked and its tag
    deleted (untimed)."""
    timed = process([*envctl_argv(), "promote", "churn@v1.0.0", "--stage", "prod"], cwd=project)

    def run() -> float:
        prepare()
        seconds = timed()
        tag, image = prod_record(project)
        git(project, "tag", "-d", tag)
        if (image.get("reused_from") == "staging") is not reused:
            raise SystemExit(f"{tag}: expected reused={reused}, the record says {image}")
        return seconds

    return run


def measures(project: Path) -> dict[str, Measure]:
    spec = project / "environments" / "prod.yaml"
    original = spec.read_text()
    rebuilds = iter(range(1, 1000))

    def same_content() -> None:
        spec.write_text(original)

    def new_content() -> None:
        spec.write_text(original + f'env:\n  BENCH_ROUND: "{next(rebuilds)}"\n')

    return {
        "reused": promotion(project, same_content, reused=True),
        "rebuilt": promotion(project, new_content, reused=False),
    }


def remove_images_of(project: Path) -> None:
    """The images this run built (labelled with one of its commits), newest first."""
    commits = set(git(project, "rev-list", "--all").split())
    ours = [
        image
        for image in engine.client().api.images()
        if (image.get("Labels") or {}).get(COMMIT_LABEL) in commits
    ]
    for image in sorted(ours, key=lambda i: -int(i["Created"])):
        engine.remove_image(str(image["Id"]), force=True)


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average: {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="envctl-promote-bench-") as folder:
        project = Path(folder) / "churn"
        try:
            churn_in_staging(Path(folder))
            print("churn@v1.0.0 in staging; timing staging -> prod", flush=True)
            samples = rounds(measures(project), runs=args.runs)
        finally:
            if (project / ".git").exists():
                remove_images_of(project)
    print(f"\nenvctl promote churn@v1.0.0 --stage prod, {args.runs} interleaved rounds")
    print(table("reused", [("rebuilt", Ratio.of(samples["reused"], samples["rebuilt"]))]))
    print("samples (s): " + json.dumps({k: [round(s, 2) for s in v] for k, v in samples.items()}))
    print(f"load average: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
