"""`envctl diff` at scale: two specs of 2,000 and of 20,000 packages.

    python bench/diff_bench.py [--runs 7] [--sizes 2000 20000]

Each measurement is the median wall time of a whole process (after one warm-up
run), the way CI runs it: `envctl diff left.yaml right.yaml --format json`. For
scale it prints, beside it, `python -c pass` (the interpreter's own start-up),
`diff -u` of the two files and a tiny pure-Python dict compare (a naive diff that
knows nothing of PEP 440, waivers or positions).

Targets (issue 3): the 2,000-package diff within 20x of `python -c pass`, and
the 20,000-package diff within 10x of the 2,000-package one (linear, not
quadratic).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import envctl_argv, median_seconds  # script-local helper

HEADER = """\
name: {name}
version: 1
image:
  base: python:3.11-slim-bookworm
python: "3.11"
compute:
  cpu: 4
  memory: 8Gi
packages:
"""

# A naive diff: read `name: spec` lines into dicts and compare them.
NAIVE = """
import sys
def read(path):
    out = {}
    for line in open(path):
        if line.startswith("  ") and ":" in line:
            key, _, value = line.strip().partition(": ")
            out[key] = value
    return out
a, b = read(sys.argv[1]), read(sys.argv[2])
print(sum(1 for k in a.keys() | b.keys() if a.get(k) != b.get(k)))
"""


def packages(count: int, *, right: bool) -> list[str]:
    """`count` packages; about 5% differ between the sides the ways real specs do."""
    lines = []
    for i in range(count):
        name = f"pkg-{i:05d}"
        spec = f"=={1 + i % 7}.{i % 13}.{i % 5}"
        if i % 100 == 1 and right:
            spec = f"=={2 + i % 7}.0.0"  # major drift
        elif i % 100 == 2 and right:
            spec = f"=={1 + i % 7}.{i % 13}.{i % 5 + 1}"  # patch drift
        elif i % 100 == 3 and not right:
            spec = f">={1 + i % 7}.0"  # a range in dev, a pin in prod
        elif i % 100 == 4 and right:
            continue  # only on the left
        elif i % 100 == 5 and not right:
            name = f"Pkg_{i:05d}"  # another spelling: not a finding
        lines.append(f'  {name}: "{spec}"')
    return lines


def write_pair(folder: Path, count: int) -> tuple[Path, Path]:
    paths = []
    for name, right in (("left", False), ("right", True)):
        path = folder / f"{name}.yaml"
        text = HEADER.format(name=name) + "\n".join(packages(count, right=right)) + "\n"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]


def findings_count(left: Path, right: Path) -> int:
    proc = subprocess.run(
        [*envctl_argv(), "diff", str(left), str(right), "--format", "json"],
        capture_output=True,
        check=False,
    )
    return len(json.loads(proc.stdout)["comparisons"][0]["findings"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    args = parser.parse_args()
    baseline = median_seconds([sys.executable, "-c", "pass"], runs=args.runs)
    print(f"python -c pass: {baseline:.3f}s (median of {args.runs})")
    print(
        f"{'packages':>8}  {'findings':>8}  {'envctl s':>8}  {'x pass':>7}  "
        f"{'diff -u s':>9}  {'naive py s':>10}"
    )
    envctl_times: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            folder = Path(tmp) / str(size)
            folder.mkdir()
            left, right = write_pair(folder, size)
            seconds = median_seconds(
                [*envctl_argv(), "diff", str(left), str(right), "--format", "json"],
                runs=args.runs,
                ok_codes=(0, 1),
            )
            envctl_times[size] = seconds
            unix = (
                median_seconds(
                    ["diff", "-u", str(left), str(right)], runs=args.runs, ok_codes=(0, 1)
                )
                if shutil.which("diff")
                else float("nan")
            )
            naive = median_seconds(
                [sys.executable, "-c", NAIVE, str(left), str(right)], runs=args.runs
            )
            print(
                f"{size:>8}  {findings_count(left, right):>8}  {seconds:>8.3f}  "
                f"{seconds / baseline:>6.1f}x  {unix:>9.3f}  {naive:>10.3f}"
            )
    sizes = sorted(envctl_times)
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        print(
            f"{large} vs {small} packages: {envctl_times[large] / envctl_times[small]:.1f}x "
            f"for {large / small:.0f}x the packages (target: within 10x)"
        )
    if 2000 in envctl_times:
        print(
            f"2000 packages vs python -c pass: {envctl_times[2000] / baseline:.1f}x "
            "(target: within 20x)"
        )


if __name__ == "__main__":
    main()
