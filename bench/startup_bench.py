"""Everyday commands against the interpreter's own start-up, measured in one run.

    python bench/startup_bench.py [--runs 15] [--clock cpu|wall] [--instructions]

Runs `python -c pass`, each library's own import, and the everyday commands
(`list`, `status`, `history`, `image`, `validate`, `show`, `diff dev prod`, and
`status --help`) on a copy of the bundled project in a git repository holding a
small ledger (one model, 3 versions, 9 promotions with records), in interleaved
rounds (each once per round), and reports each one's median time and the median
of its per-round ratios to `python -c pass`, with their min and max, against the
start-up budget: 15× `python -c pass`.
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
- a "stack floor" row imports the libraries every command needs (typer and
  PyYAML; rich and pydantic are each a row of their own, and the budget test,
  tests/cli/test_startup.py, keeps them off the paths that can do without) and
  does nothing else: no command can start faster than that.

An unchanged `envctl build` needs an engine and a built image: bench/build_bench.py
measures it beside the engine's own warm-cache build.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import Measure, Ratio, process, rounds

from envctl.registry import assignment_tag, format_record

ROOT = Path(__file__).resolve().parent.parent
# What every command imports before it does anything of its own (envctl's
# parameters convert without typer's pydantic adapters: envctl.cli.lean_params).
STACK = "import typer, yaml"
# Each library's own import, for the floor it sets. typer._adapters is what
# typer 0.28 and later import to convert a parameter through pydantic.
LIBRARIES = {
    "import typer": "import typer",
    "import typer._adapters (pydantic included)": "import typer._adapters",
    "import pydantic": "import pydantic",
    "import pydantic + one model": "import pydantic\nclass M(pydantic.BaseModel): x: int = 0",
    "import rich.console, rich.table": "import rich.console, rich.table",
    "import yaml": "import yaml",
}
BUDGET = 15.0  # × `python -c pass` (issue 25)
MODEL = "churn"
COMMANDS = (
    ["list"],
    ["status"],
    ["history", MODEL],
    ["image", MODEL, "--stage", "prod"],
    ["validate"],
    ["show", "prod"],
    ["diff", "dev", "prod"],
    ["status", "--help"],
)


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


def heavy_imports(args: list[str], cwd: Path) -> str:
    """The heavy modules (docker, GitPython) that `envctl ARGS` imported, if any."""
    code = (
        "import sys, runpy; sys.argv = ['envctl', *sys.argv[1:]];\n"
        "try:\n    runpy.run_module('envctl', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('heavy:', *(m for m in ('docker', 'git') if m in sys.modules), file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    found = [line for line in proc.stderr.splitlines() if line.startswith("heavy:")]
    return found[-1].removeprefix("heavy:").strip() if found else "(no report)"


IDENT = "Bench Tester <bench@example.com>"
START = 1_700_000_000


def ledger_stream(versions: int = 3) -> bytes:
    """git fast-import input: one commit per version, its registration tag, and
    its promotion through every stage (records as `promote` writes them)."""
    out: list[bytes] = []

    def data(text: str) -> None:
        raw = text.encode()
        out.append(b"data %d\n%s\n" % (len(raw), raw))

    for i in range(versions):
        out.append(b"commit refs/heads/main\nmark :%d\n" % (i + 1))
        out.append(f"committer {IDENT} {START + i} +0000\n".encode())
        data(f"train model {i}")
        out.append(b"M 644 inline model.txt\n")
        data(f"weights {i}")
    n = 0
    for i in range(versions):
        version = f"v1.{i}.0"
        out.append(f"tag {MODEL}@{version}\nfrom :{i + 1}\n".encode())
        out.append(f"tagger {IDENT} {START + 10 * i} +0000\n".encode())
        data(f"Registering artifact {MODEL} version {version}")
        for stage, previous in (("dev", None), ("staging", "dev"), ("prod", "staging")):
            n += 1
            when = START + 10 * i + n
            digest = f"{n:02x}" * 32
            record = {
                "kind": "promotion", "model": MODEL, "version": version, "stage": stage, "n": n,
                "from_stage": previous, "who": {"name": "Bench", "email": "bench@example.com"},
                "when": f"2023-11-14T22:{n:02d}:00+00:00", "bypass": None, "rollback_of": None,
                "image": {"ref": f"envctl/{stage}:{digest[:12]}", "id": f"sha256:{digest}",
                          "digest": f"127.0.0.1:5000/envctl@sha256:{digest}"},
                "gates": [{"kind": "tests", "status": "pass", "evidence": {"passed": 42}}],
            }  # fmt: skip
            out.append(f"tag {assignment_tag(MODEL, stage, n)}\nfrom :{i + 1}\n".encode())
            out.append(f"tagger {IDENT} {when} +0000\n".encode())
            data(format_record(f"Promote {MODEL} {version} to {stage}", record))
    return b"".join(out)


def make_project(folder: Path) -> Path:
    """The bundled envctl.yaml and environments/, in a repository with a ledger."""
    repo = folder / "project"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=ledger_stream(), check=True)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=repo, check=True)
    shutil.copy(ROOT / "envctl.yaml", repo / "envctl.yaml")
    shutil.copytree(ROOT / "environments", repo / "environments")
    return repo


# `python -m envctl`, from the tree named first on the command line.
_LAUNCH = (
    "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
    "runpy.run_module('envctl', run_name='__main__', alter_sys=True)"
)


def envctl_in(tree: Path) -> list[str]:
    """envctl from `tree` (this checkout, or one of an earlier commit)."""
    return [sys.executable, "-c", _LAUNCH, str(tree)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument(
        "--before",
        type=Path,
        help="a checkout of an earlier commit: its commands run in the same rounds, beside",
    )
    options = parser.parse_args()
    if options.before and not (options.before / "envctl" / "__main__.py").is_file():
        parser.error(f"{options.before} holds no envctl package")
    trees = {"": ROOT, **({"before: ": options.before.resolve()} if options.before else {})}
    # What pip does on install, for envctl and for the libraries (a venv made
    # under PYTHONDONTWRITEBYTECODE=1 has none: each run would compile them).
    for tree in trees.values():
        compileall.compile_dir(tree / "envctl", quiet=1)
    compileall.compile_dir(sysconfig.get_paths()["purelib"], quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp))
        argvs = commands(trees, project)
        measure = cpu_process if options.clock == "cpu" else process
        measures = {n: measure(argv, cwd=project, ok_codes=ok) for n, (argv, ok) in argvs.items()}
        samples = rounds(measures, runs=options.runs)
        base = samples.pop("python -c pass")
        print(f"clock: {options.clock} time; budget: {BUDGET:g}× `python -c pass`")
        print(budget_table([(name, Ratio.of(base, s)) for name, s in samples.items()]))
        if options.instructions:
            print_instructions(argvs, project)
        for args in COMMANDS:
            leaked = heavy_imports(args, project)
            if leaked:
                print(f"WARNING: envctl {' '.join(args)} imported {leaked}")


def commands(trees: dict[str, Path], project: Path) -> dict[str, tuple[list[str], tuple[int, ...]]]:
    argvs: dict[str, tuple[list[str], tuple[int, ...]]] = {
        "python -c pass": ([sys.executable, "-c", "pass"], (0,)),
        **{name: ([sys.executable, "-c", code], (0,)) for name, code in LIBRARIES.items()},
        "stack floor (imports only)": ([sys.executable, "-c", STACK], (0,)),
    }
    for args in COMMANDS:
        # diff exits 1 on the bundled environments: they differ on purpose.
        ok = (0, 1) if args[0] == "diff" else (0,)
        for label, tree in trees.items():
            argvs[f"{label}envctl {' '.join(args)}"] = ([*envctl_in(tree), *args], ok)
    return argvs


def budget_table(rows: Sequence[tuple[str, Ratio]]) -> str:
    """One row each: median CPU (or wall) seconds, the median per-round ratio to
    `python -c pass` with its min-max, and whether it is within the budget."""
    width = max(len(name) for name, _ in rows)
    lines = [f"{'measured'.ljust(width)}  median s    ratio  min-max        budget"]
    for name, r in rows:
        verdict = ("met" if r.median <= BUDGET else "NOT met") if "envctl" in name else ""
        lines.append(
            f"{name.ljust(width)}  {r.other_seconds:8.3f}  {r.median:6.1f}x  "
            f"{r.spread().ljust(13)}  {verdict}"
        )
    pairs = rows[0][1].pairs if rows else 0
    base = rows[0][1].base_seconds if rows else 0.0
    lines.append(
        f"base: python -c pass, median {base:.3f} s over the same {pairs} rounds; "
        "ratio: median of the per-round ratios"
    )
    return "\n".join(lines)


def print_instructions(argvs: dict[str, tuple[list[str], tuple[int, ...]]], cwd: Path) -> None:
    counts = {name: instructions(argv, cwd=cwd) for name, (argv, _) in argvs.items()}
    base = counts["python -c pass"]
    if base is None:
        print("instructions: valgrind not available")
        return
    print("\ninstructions (callgrind, one run each; child processes such as git not counted)")
    width = max(len(name) for name in counts)
    for name, count in counts.items():
        shown = f"{count / 1e6:8.0f} M  {count / base:5.1f}x" if count else "       ?"
        print(f"{name.ljust(width)}  {shown}")


if __name__ == "__main__":
    main()
