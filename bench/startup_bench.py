"""Everyday commands against the interpreter's own start-up, measured in one run.

    python bench/startup_bench.py [--runs 15]

Runs `envctl validate`, `show prod` and `list` on the bundled environments/ and
reports each median wall time as a multiple of `python -c pass`. Also checks
that none of them imported docker or GitPython.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import envctl_argv, median_seconds, table

ROOT = Path(__file__).resolve().parent.parent


def heavy_imports(args: list[str]) -> list[str]:
    code = (
        "import sys, runpy; sys.argv = ['envctl', *sys.argv[1:]];\n"
        "try:\n    runpy.run_module('envctl', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(' '.join(m for m in ('docker', 'git') if m in sys.modules), file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return proc.stderr.strip().splitlines()[-1:] if proc.stderr.strip() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    baseline = median_seconds([sys.executable, "-c", "pass"], runs=runs)
    rows = [("python -c pass", baseline, 1.0)]
    for args in (["validate"], ["show", "prod"], ["list"]):
        seconds = median_seconds([*envctl_argv(), *args], runs=runs, cwd=ROOT)
        rows.append((f"envctl {' '.join(args)}", seconds, seconds / baseline))
        leaked = heavy_imports(args)
        if leaked and leaked[0]:
            print(f"WARNING: envctl {' '.join(args)} imported {leaked[0]}")
    print(table(rows))


if __name__ == "__main__":
    main()
