"""docs/tutorial.md, run as written: every command of its `console` blocks, in order,
against real git and the real Docker Engine, its output compared with the doc's.

In a `console` block, a line `$ COMMAND` is run with `bash -c` (a `cd` carries over
to the next command) and the lines after it, up to the next `$ `, are its expected
output, stdout and stderr together. A trailing `# exit N` on the command line is the
expected exit code (default 0). Both sides are normalised before comparing (hashes,
dates, durations, table padding), and a line `...` stands for any number of lines
(Docker build logs, pip downloads). The doc works in /tmp/churn; this test works in
a temporary directory and reads it back as /tmp/churn.

Refresh the doc's outputs from a real run (needs Docker; about 8 minutes):

    python tests/test_tutorial.py --record
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from envctl import engine
from envctl.errors import EngineError
from tests.conftest import serve_registry

REPO_ROOT = Path(__file__).resolve().parent.parent
DOC = REPO_ROOT / "docs" / "tutorial.md"
EXAMPLE = REPO_ROOT / "examples" / "churn"
SCRATCH = "/tmp/churn"  # the doc's working copy of the example
ELLIPSIS = "..."
IMAGE_REPOSITORIES = ("envctl/", "envctl-tests/")
COMMIT_LABEL = "dev.envctl.git-commit"  # on every image envctl builds, inherited by layers
STEP_TIMEOUT = 900.0
CONTAINER_GRACE = 30.0
# Tables wrap at the terminal's width and stdout is block-buffered into a pipe:
# a fixed width, and unbuffered output so stdout and stderr interleave as written.
TERMINAL = {"COLUMNS": "100", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}

IDENTITY = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")

FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\S*)")
EXIT_COMMENT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")
# Normalisation, applied in this order to expected and actual lines alike.
DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
HEX = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{7,}(?![0-9A-Za-z])")
SECONDS = re.compile(r"\d+(?:\.\d+)? ?s\b")
# Docker's layer cache is shared with every other build on the engine.
CACHED_STEPS = re.compile(r"\d+/\d+ steps from cache")
BOX_RUN = re.compile(r"([─━═])\1+")
SPACES = re.compile(r" {2,}")
# Build logs: pip's download lines after "fetching N locked wheels", Docker's
# after "building REF (network: ...)" up to "Successfully tagged REF".
# Build progress whose details depend on the engine's and the wheel cache's state.
BUILD_PROGRESS = re.compile(r"^\s*(step \d+/\d+ .*|wheels: .*|pulling base image .*)$")
LOG_PATH = re.compile(r"\S*/envctl/logs/\S+\.log")
# A gate says when it ran with fewer CPUs than its stage asks: that depends on the host.
CPU_CUT = re.compile(r" \(ran with [0-9.]+ of [0-9.]+ CPUs\)")


@dataclass(frozen=True)
class Step:
    command: str
    exit_code: int
    expected: tuple[str, ...]
    line: int  # index of the `$ ` line in the doc; the expected output follows it


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    lines: tuple[str, ...]
    cwd: Path  # where the next command runs


# ---- reading the doc -----------------------------------------------------------------


def parse_steps(text: str) -> list[Step]:
    """Every command of every `console` block, in document order."""
    lines = text.splitlines()
    steps: list[Step] = []
    for start, end in console_blocks(lines):
        steps.extend(block_steps(lines[start:end], start))
    return steps


def console_blocks(lines: Sequence[str]) -> Iterator[tuple[int, int]]:
    """(first, end) line indexes of each `console` block's body."""
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        fence = match[1]
        end = next((j for j in range(i + 1, len(lines)) if lines[j].rstrip() == fence), None)
        if end is None:
            raise ValueError(f"{DOC.name}:{i + 1}: unclosed code block")
        if match[2] == "console":
            yield i + 1, end
        i = end + 1


def block_steps(body: Sequence[str], first: int) -> list[Step]:
    starts = [i for i, line in enumerate(body) if line.startswith("$ ")]
    if not starts or starts[0] != 0:
        raise ValueError(f"{DOC.name}:{first + 1}: a console block must start with `$ `")
    steps = []
    for k, i in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(body)
        command, exit_code = split_command(body[i][2:])
        steps.append(Step(command, exit_code, tuple(body[i + 1 : end]), first + i))
    return steps


def split_command(text: str) -> tuple[str, int]:
    match = EXIT_COMMENT.search(text)
    if match is None:
        return text.strip(), 0
    return text[: match.start()].strip(), int(match[1])


# ---- comparing -----------------------------------------------------------------------


def normalise(lines: Iterable[str]) -> list[str]:
    out = [normalise_line(line) for line in lines]
    while out and not out[-1]:
        out.pop()
    return out


def normalise_line(line: str) -> str:
    line = LOG_PATH.sub("<log>", line)
    line = CPU_CUT.sub("", line)
    line = DATE.sub("<date>", line)
    line = HEX.sub("<hex>", line)
    line = SECONDS.sub("<secs>", line)
    line = CACHED_STEPS.sub("<n>/<n> steps from cache", line)
    line = BOX_RUN.sub(r"\1", line)
    return SPACES.sub(" ", line).rstrip()


def fits(expected: Sequence[str], actual: Sequence[str]) -> bool:
    """`actual` matches `expected`, where a line `...` matches any number of lines."""
    segments = split_on_ellipsis(expected)
    if len(segments) == 1:
        return list(expected) == list(actual)
    head, *middle, tail = segments
    stop = len(actual) - len(tail)
    if stop < len(head) or list(actual[: len(head)]) != head or list(actual[stop:]) != tail:
        return False
    position = len(head)
    for segment in middle:
        found = find_segment(actual, segment, position, stop)
        if found is None:
            return False
        position = found + len(segment)
    return True


def split_on_ellipsis(lines: Sequence[str]) -> list[list[str]]:
    segments: list[list[str]] = [[]]
    for line in lines:
        if line == ELLIPSIS:
            segments.append([])
        else:
            segments[-1].append(line)
    return segments


def find_segment(lines: Sequence[str], segment: Sequence[str], start: int, stop: int) -> int | None:
    """The first index >= start where `segment` lies wholly before `stop`."""
    for i in range(start, stop - len(segment) + 1):
        if list(lines[i : i + len(segment)]) == list(segment):
            return i
    return None


def mismatch(step: Step, outcome: Outcome) -> str | None:
    """Why `outcome` is not what the doc says, or None."""
    expected, actual = normalise(step.expected), normalise(outcome.lines)
    if outcome.exit_code == step.exit_code and fits(expected, actual):
        return None
    diff = "\n".join(difflib.unified_diff(expected, actual, "doc", "actual", lineterm=""))
    return (
        f"docs/tutorial.md:{step.line + 1}: $ {step.command}\n"
        f"exit {outcome.exit_code} (the doc says {step.exit_code})\n"
        + (diff or "output matches; actual output:\n" + "\n".join(outcome.lines))
    )


# ---- running -------------------------------------------------------------------------


def step_environment(base: Mapping[str, str]) -> dict[str, str]:
    """`base` plus a fixed terminal, with this interpreter's envctl and python first.
    Without the identity the tests pin in the environment: the doc sets each
    clone's identity with `git config`, and Bob's clone must be Bob."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}"
    env = {k: v for k, v in base.items() if k not in IDENTITY}
    return {**env, **TERMINAL, "PATH": path}


def run_step(step: Step, *, cwd: Path, env: Mapping[str, str], scratch: Path) -> Outcome:
    """Run one command where the previous one left off; read /tmp/churn as `scratch`."""
    cwd_file = scratch.parent / ".tutorial-cwd"
    command = step.command.replace(SCRATCH, str(scratch))
    script = f'{command}\nrc=$?\npwd > {shlex.quote(str(cwd_file))}\nexit "$rc"\n'
    cwd_file.unlink(missing_ok=True)
    proc = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=STEP_TIMEOUT,
    )
    next_cwd = Path(cwd_file.read_text().strip()) if cwd_file.exists() else cwd
    output = proc.stdout.replace(str(scratch), SCRATCH)
    return Outcome(proc.returncode, tuple(output.splitlines()), next_cwd)


def run_tutorial(
    steps: Iterable[Step], *, env: Mapping[str, str], scratch: Path
) -> Iterator[tuple[Step, Outcome]]:
    """Each step with its outcome, in order, starting at the repository's root."""
    cwd = REPO_ROOT
    for step in steps:
        outcome = run_step(step, cwd=cwd, env=env, scratch=scratch)
        cwd = outcome.cwd
        yield step, outcome


# ---- leaving the engine as it was ----------------------------------------------------


def example_registry(tmp: Path) -> AbstractContextManager[str]:
    """The registry examples/churn/envctl.yaml names, served for the run, so that
    `promote --push` pushes the image and records its digest as a team's would."""
    config = (EXAMPLE / "envctl.yaml").read_text(encoding="utf-8")
    match = re.search(r"^registry: *([^/\s]+)", config, re.M)
    assert match is not None, "examples/churn/envctl.yaml names no registry"
    return serve_registry(match[1], tmp / "registry")


@contextmanager
def leaves_no_trace(scratch: Path, steps: Sequence[Step], env: Mapping[str, str]) -> Iterator[None]:
    """Remove every image the run built, and fail if an envctl container outlives it."""
    containers = set(engine.owned_containers())
    images = {str(image["Id"]) for image in engine.client().api.images()}
    remove_cached_plain_builds(steps, env)
    leaked: set[str] = set()
    try:
        yield
        leaked = lingering_containers(containers)
    finally:
        failures = remove_run_images(images, run_commits(scratch))
    assert not leaked, f"envctl containers left behind: {sorted(leaked)}"
    assert not failures, "images the run built could not be removed:\n" + "\n".join(failures)


def remove_cached_plain_builds(steps: Sequence[Step], env: Mapping[str, str]) -> None:
    """The doc's first `envctl build ENV` builds: remove an image left with that tag
    by an earlier run (the tag is the spec's and lock's fingerprint, not the commit's)."""
    envs = {m[1] for s in steps if (m := re.fullmatch(r"envctl build (\w+)", s.command))}
    for name in sorted(envs):
        proc = subprocess.run(
            ["envctl", "render", name, "--format", "json"],
            cwd=EXAMPLE,
            env=dict(env),
            capture_output=True,
            text=True,
            check=True,
        )
        ref = re.search(r'"image": "([^"]+)"', proc.stdout)
        assert ref is not None, proc.stdout
        engine.remove_image(ref[1])


def run_commits(scratch: Path) -> set[str]:
    if not (scratch / ".git").exists():
        return set()
    proc = subprocess.run(
        ["git", "rev-list", "--all"], cwd=scratch, capture_output=True, text=True, check=True
    )
    return set(proc.stdout.split())


def remove_run_images(before: set[str], commits: set[str]) -> list[str]:
    """Untag (and so delete) envctl's images made since `before` from one of this
    run's commits, newest first so that layers go before the images under them.
    Images of other runs on the same engine are never touched."""
    failures = []
    for image in sorted(engine.client().api.images(), key=lambda i: -int(i["Created"])):
        labels = image.get("Labels") or {}
        if image["Id"] in before or labels.get(COMMIT_LABEL) not in commits:
            continue
        for tag in image.get("RepoTags") or []:
            if tag.startswith(IMAGE_REPOSITORIES):
                try:
                    engine.remove_image(tag)
                except EngineError as exc:
                    failures.append(str(exc))
    return failures


def lingering_containers(before: set[str]) -> set[str]:
    """envctl containers made since `before` that are still there after a grace
    period (one another run on the same engine made goes away by itself)."""
    deadline = time.monotonic() + CONTAINER_GRACE
    while (new := set(engine.owned_containers()) - before) and time.monotonic() < deadline:
        time.sleep(2)
    return new


# ---- the test ------------------------------------------------------------------------


@pytest.mark.docker
@pytest.mark.usefixtures("base_image")
def test_tutorial_runs_as_written(tmp_path: Path) -> None:
    steps = parse_steps(DOC.read_text(encoding="utf-8"))
    assert len(steps) >= 20, "docs/tutorial.md has lost its console blocks"
    env = step_environment(os.environ)
    scratch = tmp_path / "churn"
    with example_registry(tmp_path), leaves_no_trace(scratch, steps, env):
        for step, outcome in run_tutorial(steps, env=env, scratch=scratch):
            problem = mismatch(step, outcome)
            assert problem is None, problem


@pytest.mark.parametrize(
    ("expected", "actual", "fit"),
    [
        (["a", "...", "z"], ["a", "b", "c", "z"], True),
        (["a", "...", "z"], ["a", "z"], True),
        (["a", "...", "c", "...", "z"], ["a", "b", "c", "d", "z"], True),
        (["a", "...", "c", "...", "z"], ["a", "b", "d", "z"], False),
        (["a", "..."], ["a"], True),
        (["a", "z"], ["a", "b", "z"], False),
        (["a", "...", "a"], ["a"], False),
    ],
)
def test_ellipsis_stands_for_any_number_of_lines(
    expected: list[str], actual: list[str], fit: bool
) -> None:
    assert fits(expected, actual) is fit


@pytest.mark.parametrize(
    ("line", "normalised"),
    [
        (
            "envctl/prod:c0dbe1eafc0a  sha256:0954db73a73e  456.4 MB",
            "envctl/prod:<hex> sha256:<hex> 456.4 MB",
        ),
        ("(built in 36.4s, 5/10 steps from cache)", "(built in <secs>, <n>/<n> steps from cache)"),
        ("#4    2026-11-26T03:55:54  assign   dev", "#4 <date> assign dev"),
        ("v1.0.0 (2026-11-26 03:55,   ", "v1.0.0 (<date>,"),
        ("━━━━━━━━╇━━━━━━━━━━━━━━╇━━━", "━╇━╇━"),
        (
            "accuracy 0.986 >= 0.9; 10 passed (unchanged, 1.6 s)",
            "accuracy 0.986 >= 0.9; 10 passed (unchanged, <secs>)",
        ),
        ("  passed  tests: 10 passed (ran with 2 of 8 CPUs)", " passed tests: 10 passed"),
    ],
)
def test_variable_parts_are_normalised(line: str, normalised: str) -> None:
    assert normalise_line(line) == normalised


def test_steps_carry_their_exit_code_and_output() -> None:
    text = "x\n```console\n$ envctl diff dev prod   # exit 1\nrow 1\nrow 2\n$ ls\n```\n"
    assert parse_steps(text) == [
        Step("envctl diff dev prod", 1, ("row 1", "row 2"), 2),
        Step("ls", 0, (), 5),
    ]


def test_build_progress_is_elided_when_recording() -> None:
    lines = [
        "  wheels: fetching 21 of 21 (the rest are cached)",
        "  wheels: 21 ready, 21 fetched (40.1 MB), 0 from the cache",
        "  building envctl/prod:c0dbe1eafc0a (network: none)",
        "  step 1/10 FROM x (0.0s)",
        "  step 2/10 RUN y (cached)",
        "envctl/prod:c0dbe1eafc0a  built",
        "build log: /root/.cache/envctl/logs/20261201T150344-12672-build-prod.log",
    ]
    assert elide_build_logs(lines) == [
        ELLIPSIS,
        "  building envctl/prod:c0dbe1eafc0a (network: none)",
        ELLIPSIS,
        "envctl/prod:c0dbe1eafc0a  built",
        "build log: /root/.cache/envctl/logs/20261201T150344-12672-build-prod.log",
    ]
    assert normalise_line(lines[-1]) == "build log: <log>"


# ---- recording -----------------------------------------------------------------------


def elide_build_logs(lines: Iterable[str]) -> list[str]:
    """Output as the doc shows it: each run of build progress lines is one `...`."""
    out: list[str] = []
    for line in lines:
        if BUILD_PROGRESS.match(line):
            if not out or out[-1] != ELLIPSIS:
                out.append(ELLIPSIS)
            continue
        out.append(line.rstrip())
    return out


def recorded(text: str, runs: Sequence[tuple[Step, Outcome]]) -> str:
    """`text` with each step's expected output replaced by its actual output."""
    lines = text.splitlines()
    for step, outcome in reversed(runs):
        start = step.line + 1
        lines[start : start + len(step.expected)] = elide_build_logs(outcome.lines)
    return "\n".join(lines) + "\n"


def pinned_identity(home: Path) -> dict[str, str]:
    """What tests/conftest.py's autouse fixture pins, for a run outside pytest."""
    return {
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Ada Tester",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada Tester",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
        "NO_COLOR": "1",
    }


def record() -> int:
    """Run the doc's commands and write their real output into it."""
    text = DOC.read_text(encoding="utf-8")
    steps = parse_steps(text)
    with tempfile.TemporaryDirectory(prefix="envctl-tutorial-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        env = step_environment({**os.environ, **pinned_identity(home)})
        scratch = Path(tmp) / "churn"
        runs: list[tuple[Step, Outcome]] = []
        with example_registry(Path(tmp)), leaves_no_trace(scratch, steps, env):
            for step, outcome in run_tutorial(steps, env=env, scratch=scratch):
                print(f"exit {outcome.exit_code}: $ {step.command}", file=sys.stderr)
                runs.append((step, outcome))
    DOC.write_text(recorded(text, runs), encoding="utf-8")
    wrong = [f"{s.command}: exit {o.exit_code}" for s, o in runs if o.exit_code != s.exit_code]
    for line in wrong:
        print(f"exit code differs from the doc's: {line}", file=sys.stderr)
    return 1 if wrong else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Refresh docs/tutorial.md from a real run.")
    parser.add_argument(
        "--record", action="store_true", help="rewrite the doc's output blocks (needs Docker)"
    )
    if not parser.parse_args(argv).record:
        parser.print_help()
        return 2
    return record()


if __name__ == "__main__":
    raise SystemExit(main())
