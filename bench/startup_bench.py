"""Everyday commands against the interpreter's own start-up, measured in one run.

    python bench/startup_bench.py [--runs 15]

Runs `python -c pass`, `envctl validate`, `show prod`, `list`, `status` and
`diff dev prod` on the bundled
environments/ in interleaved rounds (each once per round), and reports each
command's median wall time and the median of its per-round ratios to `python -c
pass`, with their min and max. Also checks that none of them imported docker or
GitPython.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import Ratio, envctl_argv, process, rounds, table

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
    commands = (["validate"], ["show", "prod"], ["list"], ["status"], ["diff", "dev", "prod"])
    measures = {"python -c pass": process([sys.executable, "-c", "pass"])}
    for args in commands:
        # diff exits 1 on the bundled environments: they differ on purpose.
        ok = (0, 1) if args[0] == "diff" else (0,)
        measures[f"envctl {' '.join(args)}"] = process(
            [*envctl_argv(), *args], cwd=ROOT, ok_codes=ok
        )
    samples = rounds(measures, runs=runs)
    base = samples.pop("python -c pass")
    print(table("python -c pass", [(name, Ratio.of(base, s)) for name, s in samples.items()]))
    for args in commands:
        leaked = heavy_imports(args)
        if leaked and leaked[0]:
            print(f"WARNING: envctl {' '.join(args)} imported {leaked[0]}")


if __name__ == "__main__":
    main()
