"""Reading the model registry: `envctl status`, `history`, `image` and `audit` beside
their two floors, and `gto show`, on GTO-shaped registries of 1k, 5k and 50k tags.

    python bench/registry_bench.py [--sizes 1000,5000,50000] [--runs 5] [--gto-size 1000]
                                   [--clock cpu|wall]

Each size is a repository made by bench/_ledger.py: 10 models, one registration
per ten tags and nine assignment tags per version (dev -> staging -> prod, three
times), every assignment with a valid envctl record, refs packed. Per size, in
interleaved rounds (bench/_timing.py; one untimed warm-up round first, which
also fills the tag index as any earlier envctl command would have):

- floor 1: `git for-each-ref` of every tag's name, type, target, tagger, date,
  `tag` header and message (what envctl needs from each tag, in one git call);
- floor 2: `envctl status --format json` in the same project with no tags (start-up);
- `envctl status --format json`, `history model0 --format json`, `image model0
  --stage prod --format json`, `audit` (every event judged), and `status` with
  the tag index removed before each run (what the first read of a clone pays).

Each is a fresh process. The clock is the process's CPU time (user + system,
with the git processes it waited for) by default: on a shared machine it moves
less with load than wall time does. The ratios are medians of per-round ratios
with their min-max.

With --baseline TREE, `status` and `audit` of the envctl source tree TREE
(`python -m envctl` with PYTHONPATH=TREE; `git archive REV | tar -x -C TREE`)
run in the same rounds, and their ratio to this tree's is reported. Both read
the same repository, so a TREE whose tag index has another format (before
`envctl-tag-index v2`) makes each side rebuild the index on every run: compare
such trees on separate copies of a repository instead.

At --gto-size, `gto show --json` ($ENVCTL_GTO, `gto` on PATH or
/tmp/gto-venv/bin/gto) runs too, and every model's stages are compared with
envctl's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _ledger import generate, model_names  # noqa: E402  (script-local helper)
from _timing import Measure, Ratio, envctl_argv, process, rounds  # noqa: E402

FLOOR_FORMAT = (
    "%(refname)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)%00"
    "%(taggername)%00%(taggeremail)%00%(taggerdate:raw)%00%(tag)%00%(contents)%00"
)
FLOOR = f"--format={FLOOR_FORMAT}"
JSON = ("--format", "json")
INDEX = Path(".git") / "envctl-tag-index"


def find_gto() -> str | None:
    candidates = [os.environ.get("ENVCTL_GTO"), shutil.which("gto"), "/tmp/gto-venv/bin/gto"]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def cpu_process(
    argv: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Measure:
    """A measure that runs `argv` as a whole process and returns its CPU time
    (user + system, with that of the processes it waited for, such as git)."""
    ok_codes = (0,)

    def run() -> float:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) not in ok_codes:
            raise SystemExit(f"{' '.join(argv)} exited {os.waitstatus_to_exitcode(status)}")
        return usage.ru_utime + usage.ru_stime

    return run


def without_index(measure: Measure, repo: Path) -> Measure:
    def run() -> float:
        (repo / INDEX).unlink(missing_ok=True)
        return measure()

    return run


def wall_process(
    argv: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Measure:
    if env is None:
        return process(argv, cwd=cwd)
    command = ["env", *(f"{k}={v}" for k, v in env.items() if k == "PYTHONPATH"), *argv]
    return process(command, cwd=cwd)


def measures(repo: Path, empty: Path, args: argparse.Namespace) -> dict[str, Measure]:
    timed = cpu_process if args.clock == "cpu" else wall_process
    envctl = envctl_argv()
    status = timed([*envctl, "status", "--format", "json"], cwd=repo)
    before = {}
    if args.baseline:
        env = {**os.environ, "PYTHONPATH": str(Path(args.baseline).resolve())}
        old = [sys.executable, "-m", "envctl"]
        before = {
            "status, baseline": timed([*old, "status", *JSON], cwd=repo, env=env),
            "audit, baseline": timed([*old, "audit"], cwd=repo, env=env),
        }
    return {
        **before,
        "for-each-ref": timed(["git", "for-each-ref", FLOOR, "refs/tags"], cwd=repo),
        "status, no tags": timed([*envctl, "status", "--format", "json"], cwd=empty),
        "status": status,
        "history": timed([*envctl, "history", "model0", "--format", "json"], cwd=repo),
        "image": timed([*envctl, "image", "model0", "--stage", "prod", *JSON], cwd=repo),
        "audit": timed([*envctl, "audit"], cwd=repo),
        "status, no index": without_index(status, repo),
    }


def envctl_stages(repo: Path) -> dict[str, dict[str, str]]:
    out = subprocess.run([*envctl_argv(), "status", "--format", "json"], cwd=repo, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    return {
        m["model"]: {s: e["version"] for s, e in m["stages"].items() if e}
        for m in json.loads(out)["models"]
    }


def gto_show(gto: str, repo: Path, timeout: float) -> tuple[float | None, str]:
    """Wall seconds of one `gto show --json` and whether it agrees with envctl."""
    start = time.perf_counter()
    try:
        proc = subprocess.run([gto, "show", "--json"], cwd=repo, capture_output=True, text=True,
                              timeout=timeout, check=True)  # fmt: skip
    except subprocess.TimeoutExpired:
        return None, "n/a"
    seconds = time.perf_counter() - start
    shown = json.loads(proc.stdout)
    theirs = {m: {s: v for s, v in shown[m]["stage"].items() if v} for m in model_names()}
    return seconds, "yes" if theirs == envctl_stages(repo) else f"NO {theirs}"


def baseline_note(tags: int, samples: dict[str, list[float]]) -> str:
    status = Ratio.of(samples["status, baseline"], samples["status"])
    audit = Ratio.of(samples["audit, baseline"], samples["audit"])
    return (
        f"{tags:,} tags, the baseline in the same rounds: `status` {status.base_seconds:.3f} s "
        f"(now {status.median:.2f}× of it [{status.low:.2f}-{status.high:.2f}]), `audit` "
        f"{audit.base_seconds:.3f} s (now {audit.median:.2f}× [{audit.low:.2f}-{audit.high:.2f}])"
    )


def git_version() -> str:
    out = subprocess.run(["git", "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split()[-1]


HEADER = (
    "| tags | for-each-ref | status, no tags | `status` | × for-each-ref | × no tags "
    "| `history` | `image` | `audit` | `status`, no index |"
)


def exact(r: Ratio) -> str:
    return f"{r.median:.2f}× [{r.low:.2f}-{r.high:.2f}]"


def row(size: int, tags: int, samples: dict[str, list[float]]) -> str:
    base = samples["for-each-ref"]
    start = samples["status, no tags"]
    status = Ratio.of(base, samples["status"])
    startup = Ratio.of(start, samples["status"])

    def cell(name: str) -> str:
        r = Ratio.of(base, samples[name])
        return f"{r.other_seconds:.3f} s ({r.median:.1f}×)"

    return (
        f"| {tags:,} | {status.base_seconds:.3f} s | {startup.base_seconds:.3f} s "
        f"| {status.other_seconds:.3f} s | {exact(status)} | {exact(startup)} | {cell('history')} "
        f"| {cell('image')} | {cell('audit')} | {cell('status, no index')} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000,50000", help="tags per repository")
    parser.add_argument("--runs", type=int, default=5, help="rounds per size (median)")
    parser.add_argument("--gto-size", type=int, default=1000, help="the size gto runs at; 0: none")
    parser.add_argument("--gto-timeout", type=float, default=600.0, help="seconds per gto run")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    parser.add_argument("--keep", action="store_true", help="keep the generated repositories")
    parser.add_argument(
        "--baseline", help="another envctl source tree (envctl/ compiled) to run beside this one"
    )
    args = parser.parse_args()
    gto = find_gto()
    workdir = Path(tempfile.mkdtemp(prefix="envctl-registry-bench-"))
    python = sys.version.split()[0]
    load = os.getloadavg()[0]
    print(f"git {git_version()}, python {python}, gto {gto or 'not found'}, clock {args.clock}, "
          f"{args.runs} rounds, load average {load:.1f}, repos in {workdir}")  # fmt: skip
    empty = workdir / "no-tags"
    generate(empty, 0)
    rows, notes = [HEADER, "|" + "---|" * 10], []
    for size in (int(s) for s in args.sizes.split(",")):
        repo = workdir / f"repo-{size}"
        generate(repo, size)
        tags = len(subprocess.run(["git", "for-each-ref", "refs/tags"], cwd=repo, check=True,
                                  capture_output=True).stdout.splitlines())  # fmt: skip
        samples = rounds(measures(repo, empty, args), runs=args.runs)
        rows.append(row(size, tags, samples))
        print(rows[-1], flush=True)
        if args.baseline:
            notes.append(baseline_note(tags, samples))
            print(notes[-1], flush=True)
        if gto and size == args.gto_size:
            seconds, agree = gto_show(gto, repo, args.gto_timeout)
            shown = f"{seconds:.2f} s" if seconds is not None else f"> {args.gto_timeout:.0f} s"
            notes.append(f"{tags:,} tags: `gto show --json` {shown} (wall, one run); "
                         f"same stages as envctl for every model: {agree}")  # fmt: skip
            print(notes[-1], flush=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}\n")
    print("\n".join([*rows, "", *notes]))
    if not args.keep:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
