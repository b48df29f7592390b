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

--signed-events N writes a project whose prod is a signed stage (envctl.yaml
`trust:`, the allowed-signers file on main) holding N signed prod events, and
times `envctl audit` as a fresh process cold (no verdict cached in the git
directory) and warm (the second run), beside `git for-each-ref` of the same tags.
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
        out.append(f"tagger {IDENT} {START + k} +0000\n".encode())  # = the record's when
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
    parser.add_argument(
        "--signed-events", type=int, default=0, help="signed prod events for cold/warm audit"
    )
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
        if args.signed_events:
            signed_audit(workdir / "signed-project", args.signed_events)


PROJECT = """stages: [dev, staging, prod]
models:
  churn: {path: model}
trust:
  allowed_signers: allowed_signers
  ref: main
  stages: {prod: {promoters: [%s], approvers: [%s]}}
"""
PROD = 'name: prod\nversion: 1\nimage:\n  base: python:3.11-slim-bookworm\npython: "3.11"\n'


def signed_audit(repo: Path, events: int) -> None:
    """`envctl audit` cold and warm over `events` signed prod events."""
    from envctl.spec.loading import load_environment, require_project

    key = repo.parent / "signed-events-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    kind, blob, *_ = key.with_suffix(".pub").read_text().split()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "envctl.yaml").write_text(PROJECT % (WHO, WHO))
    (repo / "allowed_signers").write_text(f"{WHO} {kind} {blob}\n")
    (repo / "environments").mkdir()
    (repo / "environments" / "prod.yaml").write_text(PROD)
    (repo / "model").mkdir()
    (repo / "model" / "app.py").write_text("ANSWER = 42\n")
    git = ["git", "-C", str(repo), "-c", "user.name=Bench", "-c", f"user.email={WHO}",
           "-c", "gpg.format=ssh", "-c", f"user.signingkey={key}"]  # fmt: skip
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "project"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    subprocess.run([*git, "tag", "-a", f"{MODEL}@v1.0.0", "-m", "v1.0.0"], check=True)
    fingerprint = load_environment(f"prod@{commit}", require_project(repo)).fingerprint
    started = time.perf_counter()
    for n in range(1, events + 1):
        record = reg.promotion_record(
            who_name="Bench", who_email=WHO, when=_when(n), from_stage="staging",
            env={"name": "prod", "spec_version": 1, "fingerprint": fingerprint,
                 "commit": commit},
            image=None, gates=[], version="v1.0.0", model=MODEL, stage="prod", counter=n,
        )  # fmt: skip
        message = reg.format_record(f"{WHO} promotes {MODEL}@v1.0.0 to prod", record)
        name = reg.assignment_tag(MODEL, "prod", n)
        subprocess.run([*git, "tag", "-s", name, "-m", message, commit], check=True)
    made = time.perf_counter() - started
    caches = [
        repo / ".git" / "envctl-signatures.json",
        repo / ".git" / "envctl-protected-specs.json",
    ]

    def cold() -> float:
        for cache in caches:
            cache.unlink(missing_ok=True)
        return process([*envctl_argv(), "audit"], cwd=repo, ok_codes=(0, 1))()

    audit_run = process([*envctl_argv(), "audit"], cwd=repo, ok_codes=(0, 1))
    refs = process(["git", "-C", str(repo), "for-each-ref", "refs/tags"])
    samples = rounds({"for-each-ref": refs, "cold": cold, "warm": audit_run}, runs=1)
    print(f"{events} signed prod events (made with git tag -s in {made:.0f} s)")
    print(f"  git for-each-ref       {samples['for-each-ref'][0]:.3f} s")
    print(f"  envctl audit, cold     {samples['cold'][0]:.2f} s (every signature verified)")
    print(f"  envctl audit, warm     {samples['warm'][0]:.2f} s (verdicts from the git directory)")


if __name__ == "__main__":
    main()
