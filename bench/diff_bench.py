"""`envctl diff` at scale: two specs of 2,000 and of 20,000 packages.

    python bench/diff_bench.py [--runs 7] [--sizes 2000 20000]

Each measurement is the wall time of a whole process, the way CI runs it:
`envctl diff left.yaml right.yaml --format json`. For scale it runs, beside it,
`python -c pass` (the interpreter's own start-up), `diff -u` of the two files
and a tiny pure-Python dict compare (a naive diff that knows nothing of PEP 440,
waivers or positions). All of them run interleaved, once per round (after one
warm-up round), so a change of machine load hits each alike; a ratio is the
median of the per-round ratios, shown with their min-max, beside each side's
median time.

Targets (issue 3): the 2,000-package diff within 20x of `python -c pass`, and
the 20,000-package diff within 10x of the 2,000-package one (linear, not
quadratic).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import Measure, Ratio, envctl_argv, process, rounds  # script-local helper

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
    with tempfile.TemporaryDirectory() as tmp:
        pairs = {}
        for size in args.sizes:
            folder = Path(tmp) / str(size)
            folder.mkdir()
            pairs[size] = write_pair(folder, size)
        samples = rounds(measures(pairs), runs=args.runs)
        findings = {size: findings_count(*pair) for size, pair in pairs.items()}
    report(samples, findings, args.runs)


def measures(pairs: dict[int, tuple[Path, Path]]) -> dict[str, Measure]:
    """Everything timed, keyed `what` or `what:size`, run once per round."""
    out = {"pass": process([sys.executable, "-c", "pass"])}
    for size, (left, right) in pairs.items():
        files = [str(left), str(right)]
        out[f"envctl:{size}"] = process(
            [*envctl_argv(), "diff", *files, "--format", "json"], ok_codes=(0, 1)
        )
        if shutil.which("diff"):
            out[f"diff:{size}"] = process(["diff", "-u", *files], ok_codes=(0, 1))
        out[f"naive:{size}"] = process([sys.executable, "-c", NAIVE, *files])
    return out


def report(samples: dict[str, list[float]], findings: dict[int, int], runs: int) -> None:
    base = samples["pass"]
    print(f"python -c pass: {statistics.median(base):.3f}s (median of {runs} interleaved rounds)")
    print(
        f"{'packages':>8}  {'findings':>8}  {'envctl s':>8}  {'x pass [min-max]':>17}  "
        f"{'diff -u s':>9}  {'naive py s':>10}"
    )
    for size in findings:
        ratio = Ratio.of(base, samples[f"envctl:{size}"])
        unix = samples.get(f"diff:{size}")
        print(
            f"{size:>8}  {findings[size]:>8}  {ratio.other_seconds:>8.3f}  {ratio!s:>17}  "
            f"{statistics.median(unix) if unix else float('nan'):>9.3f}  "
            f"{statistics.median(samples[f'naive:{size}']):>10.3f}"
        )
    sizes = sorted(findings)
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        scale = Ratio.of(samples[f"envctl:{small}"], samples[f"envctl:{large}"])
        print(
            f"{large} vs {small} packages: {scale} for {large / small:.0f}x the packages "
            "(target: within 10x)"
        )
    if 2000 in findings:
        print(
            f"2000 packages vs python -c pass: {Ratio.of(base, samples['envctl:2000'])} "
            "(target: within 20x)"
        )


if __name__ == "__main__":
    main()
