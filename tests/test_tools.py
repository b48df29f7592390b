"""run_tool against real subprocesses: output, exit codes, missing programs, timeouts."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from envctl.errors import EXIT_EXTERNAL, ToolError
from envctl.tools import isolated, run_tool

PY = sys.executable


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_run_tool_captures_output_and_passes_cwd_env_and_input(tmp_path: Path) -> None:
    code = (
        "import os, sys; data = sys.stdin.read(); "
        "print(os.getcwd(), os.environ['ENVCTL_T'], data); print('warn', file=sys.stderr)"
    )
    done = run_tool([PY, "-c", code], cwd=tmp_path, env={"ENVCTL_T": "x"}, input=b"in")

    assert done.ok and done.returncode == 0
    assert done.stdout_text == f"{tmp_path} x in\n"
    assert done.stderr_text == "warn\n"
    assert done.argv == (PY, "-I", "-c", code)


def test_run_tool_keeps_the_rest_of_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVCTL_KEPT", "yes")
    code = "import os; print(os.environ['ENVCTL_KEPT'], os.environ['ENVCTL_ADDED'])"

    done = run_tool([PY, "-c", code], env={"ENVCTL_ADDED": "too"})

    assert done.stdout_text == "yes too\n"


def test_run_tool_leaves_out_the_variables_named_in_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVCTL_TEST_DROPPED", "x")
    monkeypatch.setenv("ENVCTL_TEST_KEPT", "y")
    code = "import os; print(os.environ.get('ENVCTL_TEST_DROPPED'), os.environ['ENVCTL_TEST_KEPT'])"
    proc = run_tool([PY, "-c", code], unset=["ENVCTL_TEST_DROPPED"])
    assert proc.stdout_text == "None y\n"


def test_run_tool_reports_a_non_zero_exit_without_raising() -> None:
    done = run_tool([PY, "-c", "import sys; print('no', file=sys.stderr); sys.exit(3)"])

    assert (done.ok, done.returncode, done.stderr_text) == (False, 3, "no\n")


def test_run_tool_missing_program_is_one_line_with_what_to_do() -> None:
    with pytest.raises(ToolError) as caught:
        run_tool(["envctl-no-such-program"], fix="install it")

    assert caught.value.message == (
        "envctl-no-such-program is not installed or not on PATH; install it"
    )
    assert caught.value.exit_code == EXIT_EXTERNAL


def test_run_tool_unrunnable_file_names_the_reason(tmp_path: Path) -> None:
    script = tmp_path / "tool"
    script.write_text("#!/bin/sh\n", encoding="utf-8")
    script.chmod(0o644)

    with pytest.raises(ToolError, match=r"^cannot run tool: Permission denied; fix it$"):
        run_tool([str(script)], fix="fix it")


def test_run_tool_timeout_stops_the_program(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    code = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    started = time.monotonic()

    with pytest.raises(ToolError, match=r"^python\S* did not finish within 3s and was stopped"):
        run_tool([PY, "-c", code], timeout=3)

    assert time.monotonic() - started < 30
    assert not is_running(int(pidfile.read_text()))


def test_run_tool_streams_merged_lines_in_order() -> None:
    code = "import sys; print('a', flush=True); print('b', file=sys.stderr, flush=True); print('c')"
    lines: list[str] = []

    done = run_tool([PY, "-c", code], on_line=lines.append)

    assert lines == ["a", "b", "c"]
    assert (done.stdout_text, done.stderr) == ("a\nb\nc\n", b"")


def test_run_tool_streaming_timeout_stops_the_program() -> None:
    code = "import time; print('started', flush=True); time.sleep(60)"
    lines: list[str] = []

    with pytest.raises(ToolError, match="did not finish within 3s"):
        run_tool([PY, "-c", code], on_line=lines.append, timeout=3)

    assert lines == ["started"]


def test_run_tool_interrupt_kills_and_reaps_the_program() -> None:
    code = "import os, time; print(os.getpid(), flush=True); time.sleep(60)"
    pids: list[int] = []

    def interrupt(line: str) -> None:
        pids.append(int(line))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_tool([PY, "-c", code], on_line=interrupt)

    assert len(pids) == 1 and not is_running(pids[0])


def plant(folder: Path, canary: Path) -> None:
    """Modules a Python started in `folder` would import if it trusted `folder`."""
    touch = f"open({str(canary)!r}, 'a').write(__name__ + '\\n')\n"
    (folder / "pip").mkdir()
    (folder / "pip" / "__init__.py").write_text(touch)
    (folder / "pip" / "__main__.py").write_text(touch)
    for name in ("sitecustomize.py", "usercustomize.py", "json.py", "envctl_probe.py"):
        (folder / name).write_text(touch)
    (folder / "evil.pth").write_text(f"import os; {touch}")


def test_python_in_a_planted_folder_imports_none_of_its_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout, canary = tmp_path / "checkout", tmp_path / "outside" / "canary"
    checkout.mkdir()
    canary.parent.mkdir()
    plant(checkout, canary)
    monkeypatch.setenv("PYTHONPATH", str(checkout))
    monkeypatch.setenv("PYTHONSTARTUP", str(checkout / "sitecustomize.py"))
    monkeypatch.setenv("PYTHONUSERBASE", str(checkout))
    monkeypatch.chdir(checkout)
    code = "import json, sys; print(json.__file__); print(sys.flags.isolated)"

    as_cwd = run_tool([PY, "-m", "pip", "--version"], cwd=checkout)
    inherited = run_tool([PY, "-c", code])

    assert as_cwd.ok, as_cwd.stderr_text
    assert "site-packages" in as_cwd.stdout_text
    assert inherited.stdout_text.splitlines()[1] == "1"
    assert not inherited.stdout_text.startswith(str(checkout))
    assert not canary.exists()


def test_run_tool_without_cwd_runs_in_an_empty_folder_outside_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code = "import os; print(os.getcwd()); print(os.listdir('.'))"

    done = run_tool([PY, "-c", code])

    folder, listing = done.stdout_text.splitlines()
    assert listing == "[]"
    assert not Path(folder).is_relative_to(tmp_path)
    assert not Path(folder).exists()  # removed once the program ended


def test_run_tool_removes_python_variables_and_keeps_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/checkout")
    monkeypatch.setenv("ENVCTL_KEPT", "yes")
    code = "import os; print(sorted(k for k in os.environ if k.startswith('PYTHON')))"

    done = run_tool(["/bin/sh", "-c", f'{PY} -c "{code}"; echo $ENVCTL_KEPT'])

    assert done.stdout_text == "[]\nyes\n"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([PY, "-m", "pip"], [PY, "-I", "-m", "pip"]),
        (["/usr/bin/python3.11", "-c", "x"], ["/usr/bin/python3.11", "-I", "-c", "x"]),
        ([PY, "-I", "-c", "x"], [PY, "-I", "-c", "x"]),
        (["git", "status"], ["git", "status"]),
        (["/opt/uv", "pip", "compile"], ["/opt/uv", "pip", "compile"]),
    ],
)
def test_isolated_adds_dash_i_to_python_only(argv: list[str], expected: list[str]) -> None:
    assert isolated(argv) == expected


def test_python_ignores_a_pip_module_file_in_its_folder(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "pip.py").write_text(f"open({str(canary)!r}, 'w').write('pip.py')\n")

    done = run_tool([PY, "-m", "pip", "--version"], cwd=checkout)

    assert done.ok and "site-packages" in done.stdout_text
    assert not canary.exists()
