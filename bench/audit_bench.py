"""Auditing the ledger: the pure replay next to the `git for-each-ref` pass it reads.

    python bench/audit_bench.py [--events 5000] [--runs 5] [--signed 300]

Writes a repository (git fast-import) with one model, --events assignment tags
walking each version through dev -> staging -> prod with valid envctl records, and
a registration per version. Then, interleaved per round (bench/_timing.py):

- `for-each-ref`: `vcs.read_tags` (one git call, the whole ledger);
- `audit`: `parse_registry` + `audit_registry` over those tags (pure; target <= 1 s
  for 5,000 events, no signed stage);
- `envctl audit`: the command in a fresh process (start-up, imports, both above).

Signatures are measured apart: --signed tags made with `git tag -s` (SSH key) and
verified by `vcs.verify_tags` (batched `git verify-tag`, which runs ssh-keygen per
tag), reported per tag and extrapolated to --events.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _timing import Ratio, call, envctl_argv, process, rounds  # noqa: E402  (script-local helper)

from envctl import registry as reg  # noqa: E402  (run as a script from anywhere)
from envctl import vcs  # noqa: E402
from envctl.registry.state import parse_registry  # noqa: E402  (the raw view, measured alone)

MODEL = "churn"
STAGES = ["dev", "staging", "prod"]
START = 1_700_000_000
WHO = "bench@example.com"
IDENT = f"Bench Tester <{WHO}>"


def _data(chunks: list[bytes], text: str) -> None:
    raw = text.encode()
    chunks.append(b"data %d\n%s\n" % (len(raw), raw))


def fast_import_stream(events: int) -> bytes:
    versions = max(1, events // len(STAGES))
    out: list[bytes] = []
    for i in range(versions):
        out.append(b"commit refs/heads/main\nmark :%d\n" % (i + 1))
        out.append(f"committer {IDENT} {START + i} +0000\n".encode())
        _data(out, f"train model {i}")
        out.append(b"M 644 inline model.txt\n")
        _data(out, f"weights {i}")
        out.append(f"tag {MODEL}@v1.{i}.0\nfrom :{i + 1}\n".encode())
        out.append(f"tagger {IDENT} {START + i} +0000\n".encode())
        _data(out, f"Registering {MODEL} v1.{i}.0")
    for k in range(1, events + 1):
        stage, version = STAGES[(k - 1) % len(STAGES)], min(versions - 1, (k - 1) // len(STAGES))
        record = reg.promotion_record(
            who_name="Bench Tester", who_email=WHO, when=_when(k),
            from_stage=STAGES[STAGES.index(stage) - 1] if stage != "dev" else None,
            env={"name": stage, "spec_version": 3, "fingerprint": "sha256:" + "ab" * 32},
            image="sha256:" + "cd" * 32,
            gates=[{"kind": "tests", "status": "passed", "summary": "42 passed",
                    "evidence": {"passed": 42}}],
            version=f"v1.{version}.0", model=MODEL, stage=stage, counter=k,
        )  # fmt: skip
        out.append(f"tag {reg.assignment_tag(MODEL, stage, k)}\nfrom :{version + 1}\n".encode())
        out.append(f"tagger {IDENT} {START + versions + k} +0000\n".encode())
        _data(out, reg.format_record(f"{WHO} promotes {MODEL}@v1.{version}.0 to {stage}", record))
    return b"".join(out)


def _when(k: int):  # type: ignore[no-untyped-def]  # bench script: a datetime
    from datetime import datetime, timezone

    return datetime.fromtimestamp(START + k, timezone.utc)


def generate(repo: Path, events: int) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=repo, input=fast_import_stream(events), check=True
    )


def audit(tags: list[vcs.RawTag]) -> reg.Audit:
    result = reg.audit_registry(
        parse_registry(tags),
        tags,
        stages=STAGES,
        trust=reg.TrustPolicy(),
        signatures={},
        specs={},
    )
    if result.violations:
        raise SystemExit(f"bench ledger is not clean: {result.violations[:3]}")
    return result


def signed_repo(workdir: Path, count: int) -> tuple[Path, str]:
    """A repository with `count` SSH-signed tags, and its allowed-signers text."""
    repo, key = workdir / "signed", workdir / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    git = ["git", "-C", str(repo), "-c", "gpg.format=ssh", "-c", f"user.signingkey={key}"]
    ident = ["-c", "user.name=Bench", "-c", f"user.email={WHO}"]
    subprocess.run([*git, *ident, "commit", "-q", "--allow-empty", "-m", "c"], check=True)
    for i in range(count):
        subprocess.run([*git, *ident, "tag", "-s", f"{MODEL}#prod#{i + 1}", "-m", "x"], check=True)
    kind, blob, *_ = key.with_suffix(".pub").read_text().split()
    return repo, f"{WHO} {kind} {blob}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000, help="assignment tags")
    parser.add_argument("--runs", type=int, default=5, help="rounds (median)")
    parser.add_argument("--signed", type=int, default=300, help="signed tags to verify; 0: skip")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="envctl-audit-bench-") as tmp:
        workdir = Path(tmp)
        repo = workdir / "ledger"
        generate(repo, args.events)
        tags = vcs.read_tags(repo)
        samples = rounds(
            {
                "for-each-ref": call(lambda: vcs.read_tags(repo)),
                "audit": call(lambda: audit(tags)),
                "envctl audit": process([*envctl_argv(), "audit"], cwd=repo),
            },
            runs=args.runs,
        )
        ratio = Ratio.of(samples["for-each-ref"], samples["audit"])
        print(f"{args.events} events, {len(tags)} tags, {args.runs} rounds")
        print(f"  for-each-ref  {ratio.base_seconds:.3f} s")
        print(f"  audit (pure)  {ratio.other_seconds:.3f} s  ({ratio} of for-each-ref)")
        total = [a + b for a, b in zip(samples["for-each-ref"], samples["audit"], strict=True)]
        print(f"  read + audit  {statistics.median(total):.3f} s (target <= 1 s)")
        command = Ratio.of(samples["for-each-ref"], samples["envctl audit"])
        print(f"  envctl audit  {command.other_seconds:.3f} s  ({command} of for-each-ref)")
        if args.signed:
            signed, signers = signed_repo(workdir, args.signed)
            raws = vcs.read_tags(signed)
            start = time.perf_counter()
            found = vcs.verify_tags(signed, raws, signers)
            seconds = time.perf_counter() - start
            assert all(s.status == "good" for s in found.values()), found
            per_tag = seconds / len(raws)
            print(
                f"  verify {len(raws)} signed tags  {seconds:.2f} s = {per_tag * 1000:.1f} ms/tag; "
                f"{args.events} signed events would take about {per_tag * args.events:.0f} s"
            )


if __name__ == "__main__":
    main()
