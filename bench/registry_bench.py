"""Reading the model registry: envctl vs `gto show`, on the same generated repositories.

    python bench/registry_bench.py [--sizes 5000,50000] [--runs 5] [--gto-timeout 600]

For each size N it writes a repository (git fast-import: real annotated tag objects)
holding one model with N/10 registered versions and N assignment tags `model#STAGE#k`
cycling dev/staging/prod, each carrying an envctl record, tagger times 1 s apart so
gto's time ordering is also correct. It then times:

- envctl in process: `vcs.read_tags` + `registry.parse_registry` (median of --runs);
- envctl cold: the same in a fresh interpreter, start-up and imports included
  (median of --runs), which is what `gto show` is compared with;
- `gto show --json` (--gto-runs runs, each capped at --gto-timeout seconds), and checks
  that gto and envctl agree on the version in each stage.

The three run interleaved, once per round (in-process, cold, gto; gto only in the
first --gto-runs rounds), so a change of machine load hits them alike; gto/cold
is the median of the per-round ratios, with their min-max.

gto is $ENVCTL_GTO, `gto` on PATH or /tmp/gto-venv/bin/gto; without it those columns
say "n/a".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))
from _timing import Ratio  # noqa: E402  (script-local helper)

from envctl import vcs  # noqa: E402  (run as a script from anywhere)
from envctl.registry import assignment_tag, format_record  # noqa: E402
from envctl.registry.state import parse_registry  # noqa: E402  (the raw view, measured alone)

MODEL = "churn"
STAGES = ("dev", "staging", "prod")
START = 1_700_000_000
IDENT = "Bench Tester <bench@example.com>"
COLD = (
    "import sys; from pathlib import Path; from envctl import vcs; "
    "from envctl.registry import state; "
    "r = state.parse_registry(vcs.read_tags(Path(sys.argv[1]))); "
    "print(len(r.model(sys.argv[2]).events))"
)


def find_gto() -> str | None:
    candidates = [os.environ.get("ENVCTL_GTO"), shutil.which("gto"), "/tmp/gto-venv/bin/gto"]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def _data(chunks: list[bytes], text: str) -> None:
    raw = text.encode()
    chunks.append(b"data %d\n%s\n" % (len(raw), raw))


def fast_import_stream(assignments: int) -> bytes:
    """Commits, one registration tag per commit, then `assignments` assignment tags."""
    versions = max(1, assignments // 10)
    out: list[bytes] = []
    for i in range(versions):
        out.append(b"commit refs/heads/main\nmark :%d\n" % (i + 1))
        out.append(f"committer {IDENT} {START + i} +0000\n".encode())
        _data(out, f"train model {i}")
        out.append(b"M 644 inline model.txt\n")
        _data(out, f"weights {i}")
    for i in range(versions):
        out.append(f"tag {MODEL}@v1.{i}.0\nfrom :{i + 1}\n".encode())
        out.append(f"tagger {IDENT} {START + i} +0000\n".encode())
        _data(out, f"Registering artifact {MODEL} version v1.{i}.0")
    for k in range(1, assignments + 1):
        stage = STAGES[(k - 1) % len(STAGES)]
        version = min(versions - 1, (k - 1) * versions // assignments)
        record = {
            "kind": "promotion", "from_stage": STAGES[STAGES.index(stage) - 1],
            "who": {"name": "Bench Tester", "email": "bench@example.com"},
            "env": {"name": stage, "spec_version": 3, "fingerprint": "sha256:" + "ab" * 32},
            "image": "sha256:" + "cd" * 32, "bypass": None, "rollback_of": None,
            "gates": [{"name": "tests", "result": "pass", "evidence": {"passed": 42}}],
        }  # fmt: skip
        out.append(f"tag {assignment_tag(MODEL, stage, k)}\nfrom :{version + 1}\n".encode())
        out.append(f"tagger {IDENT} {START + versions + k} +0000\n".encode())
        _data(out, format_record(f"Promote {MODEL} v1.{version}.0 to {stage}", record))
    return b"".join(out)


def generate(repo: Path, assignments: int) -> float:
    start = time.perf_counter()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=repo, input=fast_import_stream(assignments),
        check=True,
    )  # fmt: skip
    return time.perf_counter() - start


def read_in_process(repo: Path) -> dict[str, str | None]:
    registry = parse_registry(vcs.read_tags(repo))
    model = registry.model(MODEL)
    assert model is not None and not registry.warnings, registry.warnings[:3]
    return {s: e.version for s, e in model.stages.items()}


def run_gto(gto: str, repo: Path, timeout: float) -> tuple[float | None, dict[str, str]]:
    """Seconds and stages of one `gto show --json`; None if it timed out."""
    start = time.perf_counter()
    try:
        proc = subprocess.run([gto, "show", "--json"], cwd=repo, capture_output=True,
                              text=True, timeout=timeout, check=True)  # fmt: skip
    except subprocess.TimeoutExpired:
        return None, {}
    return time.perf_counter() - start, json.loads(proc.stdout)[MODEL]["stage"]


@dataclass
class Timings:
    warm: list[float] = field(default_factory=list)
    cold: list[float] = field(default_factory=list)
    gto: list[float] = field(default_factory=list)
    gto_timed_out: bool = False
    gto_stages: dict[str, str] = field(default_factory=dict)
    ours: dict[str, str | None] = field(default_factory=dict)


def time_rounds(gto: str | None, repo: Path, args: argparse.Namespace) -> Timings:
    """In-process, cold and gto once per round; gto in the first --gto-runs
    rounds only, and never again once it has timed out."""
    out = Timings()
    for i in range(max(args.runs, args.gto_runs if gto else 0)):
        if i < args.runs:
            start = time.perf_counter()
            out.ours = read_in_process(repo)
            out.warm.append(time.perf_counter() - start)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", COLD, str(repo), MODEL], cwd=ROOT, check=True,
                           capture_output=True)  # fmt: skip
            out.cold.append(time.perf_counter() - start)
        if gto and i < args.gto_runs and not out.gto_timed_out:
            seconds, stages = run_gto(gto, repo, args.gto_timeout)
            if seconds is None:
                out.gto_timed_out = True
            else:
                out.gto.append(seconds)
                out.gto_stages = stages
    return out


COLUMNS = ("assignments", "tags", "envctl s", "cold s", "gto show s", "gto/cold [min-max]", "agree")
WIDTHS = (11, 7, 9, 7, 11, 20, 6)


def row(*cells: str) -> str:
    return " ".join(cell.rjust(width) for cell, width in zip(cells, WIDTHS, strict=True))


def git_version() -> str:
    out = subprocess.run(["git", "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split()[-1]


def compare(gto: str | None, t: Timings, args: argparse.Namespace) -> tuple[str, str, str]:
    """(gto seconds, gto/cold ratio [min-max], agreement) cells for one repository."""
    if gto is None:
        return "n/a", "n/a", "n/a"
    if t.gto_timed_out and not t.gto:
        cold = statistics.median(t.cold)
        return f"> {args.gto_timeout:.0f}", f"> {args.gto_timeout / cold:.0f}x", "n/a"
    ratio = Ratio.of(t.cold, t.gto)
    agree = {s: v for s, v in t.gto_stages.items() if v} == t.ours
    cell = f"{ratio.median:.0f}x [{ratio.low:.0f}-{ratio.high:.0f}]"
    return f"{ratio.other_seconds:.2f}", cell, "yes" if agree else f"NO {t.gto_stages}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="5000,50000", help="assignment tags per repository")
    parser.add_argument("--runs", type=int, default=5, help="envctl runs per size (median)")
    parser.add_argument("--gto-runs", type=int, default=1, help="gto runs per size (median)")
    parser.add_argument("--gto-timeout", type=float, default=600.0, help="seconds per gto run")
    parser.add_argument("--keep", action="store_true", help="keep the generated repositories")
    args = parser.parse_args()
    gto = find_gto()
    workdir = Path(tempfile.mkdtemp(prefix="envctl-registry-bench-"))
    python = sys.version.split()[0]
    print(f"git {git_version()}, python {python}, gto {gto or 'not found'}, repos in {workdir}")
    rows = [row(*COLUMNS)]
    for size in (int(s) for s in args.sizes.split(",")):
        repo = workdir / f"repo-{size}"
        made = generate(repo, size)
        tags = len(vcs.read_tags(repo))
        timings = time_rounds(gto, repo, args)
        warm, cold = statistics.median(timings.warm), statistics.median(timings.cold)
        print(f"{size}: {tags} tags made in {made:.1f}s; envctl {warm:.3f}s, cold {cold:.3f}s")
        gto_cells = compare(gto, timings, args)
        print(f"{size}: gto show {gto_cells[0]}s", flush=True)
        rows.append(row(f"{size:,}", f"{tags:,}", f"{warm:.3f}", f"{cold:.3f}", *gto_cells))
    print("\n".join(rows))
    if not args.keep:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
