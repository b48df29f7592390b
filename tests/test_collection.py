"""Every test file is collected: a test that never runs proves nothing.

pytest's default `norecursedirs` skips folders named `build`; that hid
tests/build/ for 149 commits. This runs pytest's own collection, as CI does,
and compares the files it collected with every tests/**/test_*.py on disk.
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT


def _collected_files() -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return {line.split("::", 1)[0] for line in proc.stdout.splitlines() if "::" in line}


def test_collection_every_test_file_on_disk_is_collected() -> None:
    on_disk = {
        path.relative_to(REPO_ROOT).as_posix()
        for path in (REPO_ROOT / "tests").rglob("test_*.py")
        if not any(part.startswith(".") or part == "__pycache__" for part in path.parts)
    }
    collected = _collected_files()
    assert "tests/build/test_image.py" in on_disk  # the folder pytest skipped by default
    assert on_disk - collected == set(), "test files pytest never collects"
