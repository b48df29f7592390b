"""Everyday commands against the interpreter's own start-up, measured in one run.

    python bench/startup_bench.py [--runs 15] [--clock cpu|wall] [--instructions]

Runs `python -c pass`, the libraries' own imports, `envctl validate`, `show
prod`, `list`, `status` and `diff dev prod` on the bundled environments/ in
interleaved rounds (each once per round), and reports each one's median time and
the median of its per-round ratios to `python -c pass`, with their min and max.
The clock is the child's CPU time (user + system, from wait4) by default: on a
shared machine it moves less with load than wall time does. `--instructions`
adds one run of each under valgrind's callgrind and reports instructions
executed, which load does not change at all (valgrind must be installed; there
child processes, such as git, are not counted). Also checks that none of the commands
imported docker or GitPython.

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
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import Measure, Ratio, envctl_argv, process, rounds, table

ROOT = Path(__file__).resolve().parent.parent
# What every command imports before it does anything of its own. typer 0.28 and
# later build each parameter's converter with pydantic (typer._adapters), and
# typer's own --help option is converted on every run, so pydantic is in it too.
STACK = "import typer, typer._adapters, rich.console, rich.table, yaml"
# Each library's own import, for the floor it sets.
LIBRARIES = {
    "import typer": "import typer",
    "import pydantic": "import pydantic",
    "import rich.console, rich.table": "import rich.console, rich.table",
    "import yaml": "import yaml",
}
COMMANDS = (["validate"], ["show", "prod"], ["list"], ["status"], ["diff", "dev", "prod"])


def cpu_process(
    argv: Sequence[str], *, cwd: Path | None = None, ok_codes: Sequence[int] = (0,)
) -> Measure:
    """A measure that runs `argv` as a whole process and returns its CPU time
    (user + system, with that of the processes it waited for, such as git)."""

    def run() -> float:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in ok_codes:
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}")
        return usage.ru_utime + usage.ru_stime

    return run


def instructions(argv: Sequence[str], *, cwd: Path | None = None) -> int | None:
    """Instructions `argv` executes (its own process only), by valgrind's callgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    proc = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", proc.stderr)
    return int(found[1]) if found else None


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
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    parser.add_argument("--instructions", action="store_true")
    options = parser.parse_args()
    compileall.compile_dir(ROOT / "envctl", quiet=1)
    argvs: dict[str, tuple[list[str], tuple[int, ...]]] = {
        "python -c pass": ([sys.executable, "-c", "pass"], (0,)),
        **{name: ([sys.executable, "-c", code], (0,)) for name, code in LIBRARIES.items()},
        "stack floor (imports only)": ([sys.executable, "-c", STACK], (0,)),
    }
    for args in COMMANDS:
        # diff exits 1 on the bundled environments: they differ on purpose.
        ok = (0, 1) if args[0] == "diff" else (0,)
        argvs[f"envctl {' '.join(args)}"] = ([*envctl_argv(), *args], ok)
    measure = cpu_process if options.clock == "cpu" else process
    measures = {name: measure(argv, cwd=ROOT, ok_codes=ok) for name, (argv, ok) in argvs.items()}
    samples = rounds(measures, runs=options.runs)
    base = samples.pop("python -c pass")
    print(f"clock: {options.clock} time")
    print(table("python -c pass", [(name, Ratio.of(base, s)) for name, s in samples.items()]))
    if options.instructions:
        print_instructions(argvs)
    for args in COMMANDS:
        leaked = heavy_imports(args)
        if leaked:
            print(f"WARNING: envctl {' '.join(args)} imported {leaked}")


def print_instructions(argvs: dict[str, tuple[list[str], tuple[int, ...]]]) -> None:
    counts = {name: instructions(argv, cwd=ROOT) for name, (argv, _) in argvs.items()}
    base = counts["python -c pass"]
    if base is None:
        print("instructions: valgrind not available")
        return
    print("\ninstructions (callgrind, one run each)")
    for name, count in counts.items():
        shown = f"{count / 1e6:8.0f} M  {count / base:5.1f}x" if count else "       ?"
        print(f"{name.ljust(30)}  {shown}")


if __name__ == "__main__":
    main()
