"""A generated GTO-shaped ledger for the read-path benches: MODELS models, each with
one registration per ten tags (GTO's `NAME@vX.Y.Z`, no #N) and nine assignment
tags per version walking it dev -> staging -> prod three times (`NAME#STAGE#N`),
every one carrying a valid envctl record that names its tag and a pinned image
digest; tagger times equal the records' `when`, one second apart. Written with
`git fast-import` (real annotated tag objects), refs packed (`git pack-refs
--all`, as every clone and `git gc` leave them), in a project whose envctl.yaml
declares the stages and the models."""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from pathlib import Path

from envctl import registry as reg

MODELS = 10
STAGES = ("dev", "staging", "prod")
START = 1_700_000_000
WHO = "bench@example.com"
IDENT = f"Bench Tester <{WHO}>"
PER_VERSION = 9  # assignments per version: dev, staging, prod, three times


def model_names(models: int = MODELS) -> list[str]:
    return [f"model{i}" for i in range(models)]


def project_yaml(models: int = MODELS) -> str:
    lines = ["stages: [dev, staging, prod]", "models:"]
    lines += [f"  {name}: {{path: model}}" for name in model_names(models)]
    return "\n".join(lines) + "\n"


def _data(chunks: list[bytes], text: str) -> None:
    raw = text.encode()
    chunks.append(b"data %d\n%s\n" % (len(raw), raw))


def _project_commit(out: list[bytes], models: int) -> None:
    out.append(b"commit refs/heads/main\nmark :1\n")
    out.append(f"committer {IDENT} {START} +0000\n".encode())
    _data(out, "project")
    out.append(b"M 644 inline envctl.yaml\n")
    _data(out, project_yaml(models))


def _record(model: str, stage: str, k: int, version: str) -> str:
    when = datetime.fromtimestamp(START + k, timezone.utc)
    digest = f"registry.example/{model}@sha256:" + f"{k:064x}"
    record = reg.promotion_record(
        who_name="Bench Tester", who_email=WHO, when=when,
        from_stage=STAGES[STAGES.index(stage) - 1] if stage != "dev" else None,
        env={"name": stage, "spec_version": 3, "fingerprint": "sha256:" + "ab" * 32},
        image={"ref": f"registry.example/{model}:{version}", "id": "sha256:" + "cd" * 32,
               "digest": digest},
        gates=[{"kind": "tests", "status": "passed", "summary": "42 passed",
                "evidence": {"passed": 42}}],
        version=version, model=model, stage=stage, counter=k,
    )  # fmt: skip
    return reg.format_record(f"{WHO} promotes {model}@{version} to {stage}", record)


def _model_tags(out: list[bytes], model: str, versions: int, mark: int) -> int:
    """One model's commits and tags; returns the next free mark."""
    for i in range(versions):
        out.append(b"commit refs/heads/main\nmark :%d\n" % (mark + i))
        out.append(f"committer {IDENT} {START + i} +0000\n".encode())
        _data(out, f"train {model} {i}")
        out.append(b"M 644 inline model.txt\n")
        _data(out, f"{model} weights {i}")
        out.append(f"tag {model}@v1.{i}.0\nfrom :{mark + i}\n".encode())
        out.append(f"tagger {IDENT} {START + i * PER_VERSION} +0000\n".encode())
        _data(out, f"Registering artifact {model} version v1.{i}.0")
    for k in range(1, versions * PER_VERSION + 1):
        i = (k - 1) // PER_VERSION
        stage = STAGES[(k - 1) % len(STAGES)]
        out.append(f"tag {reg.assignment_tag(model, stage, k)}\nfrom :{mark + i}\n".encode())
        out.append(f"tagger {IDENT} {START + k} +0000\n".encode())
        _data(out, _record(model, stage, k, f"v1.{i}.0"))
    return mark + versions


def fast_import_stream(tags: int, models: int = MODELS) -> bytes:
    """About `tags` tags over `models` models (a multiple of 10 per model)."""
    versions = max(1, tags // models // (PER_VERSION + 1))
    out: list[bytes] = []
    _project_commit(out, models)
    mark = 2
    for model in model_names(models):
        mark = _model_tags(out, model, versions, mark)
    return b"".join(out)


def generate(repo: Path, tags: int, models: int = MODELS) -> None:
    """The ledger of about `tags` tags in a new repository at `repo`, refs packed;
    `tags` 0: the project alone, no tag (the start-up floor)."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    stream = fast_import_stream(tags, models) if tags else _project_only(models)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=stream, check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=repo, check=True)
    subprocess.run(["git", "pack-refs", "--all"], cwd=repo, check=True)


def _project_only(models: int) -> bytes:
    out: list[bytes] = []
    _project_commit(out, models)
    return b"".join(out)
