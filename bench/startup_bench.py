"""Everyday commands against the interpreter's own start-up, measured in one run.

    python bench/startup_bench.py [--runs 15]

Runs `python -c pass`, `envctl validate`, `show prod`, `list`, `status` and
`diff dev prod` on the bundled
environments/ in interleaved rounds (each once per round), and reports each
command's median wall time and the median of its per-round ratios to `python -c
pass`, with their min and max. Also checks that none of them imported docker or
GitPython.

Two things make the comparison fair to a user's install:
- envctl's modules are compiled to bytecode first (`compileall`), as pip does
  when it installs a wheel. An editable install under PYTHONDONTWRITEBYTECODE=1
  (common in containers and CI) would otherwise compile every module from source
  on every run, and the bench would time the compiler.
- a "stack floor" row imports the libraries every command needs (typer with its
  pydantic parameter adapters, rich's console and tables, PyYAML) and does
  nothing else: no command can start faster than that.
"""

from __future__ import annotations

import argparse
import compileall
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import Ratio, envctl_argv, process, rounds, table

ROOT = Path(__file__).resolve().parent.parent
# What every command imports before it does anything of its own.
STACK = "import typer, typer._adapters, rich.console, rich.table, yaml"


def heavy_imports(args: list[str]) -> str:
    """The heavy modules (docker, GitPython) that `envctl ARGS` imported, if any."""
    code = (
        "import sys, runpy; sys.argv = ['envctl', *sys.argv[1:]];\n"
        "try:\n    runpy.run_module('envctl', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('heavy:', *(m for m in ('docker', 'git') if m in sys.modules), file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    found = [line for line in proc.stderr.splitlines() if line.startswith("heavy:")]
    return found[-1].removeprefix("heavy:").strip() if found else "(no report)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    commands = (["validate"], ["show", "prod"], ["list"], ["status"], ["diff", "dev", "prod"])
    compileall.compile_dir(ROOT / "envctl", quiet=1)
    measures = {
        "python -c pass": process([sys.executable, "-c", "pass"]),
        "stack floor (imports only)": process([sys.executable, "-c", STACK]),
    }
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
        if leaked:
            print(f"WARNING: envctl {' '.join(args)} imported {leaked}")


if __name__ == "__main__":
    main()
