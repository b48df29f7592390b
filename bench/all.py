"""Every bench in one run, one after the other, with the machine it ran on.

    python bench/all.py [--runs 5] [--only startup audit ...] > bench-run.md

Runs each `bench/*_bench.py` in turn (Docker benches need a running engine and
the base image; the registry bench needs gto, found as $ENVCTL_GTO or on PATH)
and prints a Markdown report: the date, the commit, the CPU count and the load
average before each bench, then that bench's own table. docs/benchmarks.md
quotes one such report, so that its figures come from one run on one machine.
A bench that fails is reported with its exit code and the run goes on.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# Per bench, what keeps one full run under about half an hour on 2 cores.
EXTRA = {
    "registry": [],  # 1k, 5k and 50k tags; gto at 1k only
    "audit": ["--signed", "100"],
    # Docker benches: a round takes from half a minute (build) to two (promote).
    "build": ["--runs", "3"],
    "engines": ["--runs", "3"],
    "promote": ["--runs", "3"],
}


def benches() -> list[str]:
    return sorted(p.name.removesuffix("_bench.py") for p in BENCH.glob("*_bench.py"))


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def commit() -> str:
    proc = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT).returncode != 0
    return proc.stdout.strip() + (" (with uncommitted changes)" if dirty else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="rounds per bench")
    parser.add_argument("--only", nargs="+", choices=benches(), help="these benches only")
    args = parser.parse_args()
    started = datetime.now(timezone.utc)
    print(f"# bench run {started:%Y-%m-%d %H:%M} UTC\n")
    print(f"- commit {commit()}; {platform.python_implementation()} {platform.python_version()}")
    print(f"- {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; {load()}\n")
    failed = 0
    for name in args.only or benches():
        extra = EXTRA.get(name, [])
        runs = [] if "--runs" in extra else ["--runs", str(args.runs)]
        argv = [sys.executable, str(BENCH / f"{name}_bench.py"), *runs, *extra]
        print(f"## {name} (`{' '.join(['python', *argv[1:]]).replace(str(ROOT) + '/', '')}`)\n")
        print(f"{load()} at the start.\n")
        t0 = time.monotonic()
        proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
        print("```text")
        print(proc.stdout.rstrip())
        if proc.returncode != 0:
            failed += 1
            print(proc.stderr.rstrip()[-3000:])
            print(f"(exit {proc.returncode})")
        print("```")
        print(f"\n{time.monotonic() - t0:.0f} s.\n", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
