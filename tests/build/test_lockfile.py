"""lock: uv resolution for the image's platform (real PyPI), staleness, wheel cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envctl.build import lockfile, wheels
from envctl.errors import ExternalError, InputError
from envctl.spec.loading import Environment, load_environment, require_project
from envctl.spec.model import validated
from envctl.spec.types import Spec

SPEC = """name: dev
version: 1
image:
  base: python:3.11-slim
python: "3.11"
packages:
{packages}
"""


def write_project(root: Path, packages: str = '  six: "==1.16.0"') -> None:
    (root / "envctl.yaml").write_text("stages: [dev]\n")
    (root / "environments").mkdir(exist_ok=True)
    (root / "environments" / "dev.yaml").write_text(SPEC.format(packages=packages))


@pytest.fixture
def project(git_repo: Path) -> Path:
    write_project(git_repo)
    return git_repo


def env_of(root: Path) -> Environment:
    return load_environment("dev", require_project(root))


def lock_dev(root: Path, **kwargs: object) -> lockfile.LockResult:
    return lockfile.lock(require_project(root), env_of(root), **kwargs)  # type: ignore[arg-type]


# ---- pure ---------------------------------------------------------------------


def test_parse_lock_reads_entries_hashes_and_header() -> None:
    text = (
        "# envctl-lock format 1: x\n# input-hash: abc\n# python: 3.11\n"
        "# platform: linux/amd64\n"
        "Six==1.16.0 \\\n    --hash=sha256:"
        + "a" * 64
        + " \\\n    --hash=sha256:"
        + "b" * 64
        + "\n    # via -r requirements.in\nidna==3.7 --hash=sha256:"
        + "c" * 64
        + "\n"
    )
    lock = lockfile.parse_lock(text, Path("dev.lock"))
    assert (lock.input_hash, lock.python, lock.platform) == ("abc", "3.11", "linux/amd64")
    assert [(e.name, e.version, len(e.hashes)) for e in lock.entries] == [
        ("six", "1.16.0", 2),
        ("idna", "3.7", 1),
    ]
    assert lock.body.startswith("Six==1.16.0")
    # the header is not part of what gets installed
    other = lockfile.parse_lock(text.replace("abc", "def"), Path("dev.lock"))
    assert other.content_hash == lock.content_hash


def test_parse_lock_reads_via_and_index_annotations() -> None:
    text = (
        "anyio==4.16.0 \\\n    --hash=sha256:" + "a" * 64 + "\n"
        "    # via\n    #   FastAPI\n    #   starlette\n"
        "    # from https://pypi.org/simple\n"
        "torch==2.6.0+cpu\n    # via -r requirements.in\n"
        "    # from https://download.pytorch.org/whl/cpu\n"
        "six==1.16.0\n    # via python-dateutil\n"
    )
    entries = lockfile.parse_lock(text, Path("dev.lock")).entries
    assert [(e.name, e.required_by, e.index) for e in entries] == [
        ("anyio", ("fastapi", "starlette"), "https://pypi.org/simple"),
        ("torch", ("-r requirements.in",), "https://download.pytorch.org/whl/cpu"),
        ("six", ("python-dateutil",), None),  # a lock written before `# from`
    ]


def test_uv_command_asks_for_the_index_annotation() -> None:
    spec = validated(
        Spec, {"name": "dev", "version": 1, "image": {"base": "python:3.11-slim"}, "python": "3.11"}
    )
    cmd = lockfile.uv_command(spec, Path("r.in"), Path("r.lock"), False)
    assert "--emit-index-annotation" in cmd


def test_parse_lock_rejects_unpinned_lines() -> None:
    with pytest.raises(InputError, match="cannot read lock line 'six>=1'"):
        lockfile.parse_lock("six>=1\n", Path("dev.lock"))


def test_input_hash_follows_packages_python_and_platform() -> None:
    base = {
        "name": "dev",
        "version": 1,
        "image": {"base": "x:1"},
        "python": "3.11",
        "packages": {"six": "==1.16.0"},
    }
    spec = validated(Spec, base)
    assert lockfile.input_hash(spec) == lockfile.input_hash(
        validated(Spec, {**base, "version": 2, "env": {"A": "1"}})
    )
    for change in (
        {"python": "3.12"},
        {"packages": {"six": "==1.17.0"}},
        {"image": {"base": "x:1", "platform": "linux/arm64"}},
    ):
        assert lockfile.input_hash(validated(Spec, {**base, **change})) != lockfile.input_hash(spec)


def test_lock_target_refuses_a_platform_outside_the_table() -> None:
    assert lockfile.lock_target("linux/arm64").uv_platform == "aarch64-manylinux_2_28"
    with pytest.raises(InputError) as info:
        lockfile.lock_target("linux/s390x")  # e.g. from an old lock's header
    assert info.value.message == (
        "'linux/s390x' is not a platform envctl can lock for; use one of linux/amd64, linux/arm64"
    )


def test_resolution_error_names_package_and_platform() -> None:
    spec = validated(
        Spec, {"name": "dev", "version": 1, "image": {"base": "x:1"}, "python": "3.11"}
    )
    stderr = (
        "error: No solution found when resolving dependencies\n  cause: Because "
        "psycopg2==2.9.9 has no usable wheels and you require psycopg2==2.9.9, we can "
        "conclude that your requirements are unsatisfiable.\n"
    )
    err = lockfile.resolution_error(stderr, spec)
    assert isinstance(err, InputError) and err.exit_code == 3
    assert err.message.startswith("psycopg2 has no wheel for Python 3.11 on linux/amd64")
    assert isinstance(lockfile.resolution_error("error: network down", spec), ExternalError)


# ---- real resolution (PyPI) ------------------------------------------------------


def test_lock_writes_hashed_lock_with_header(project: Path) -> None:
    result = lock_dev(project)
    text = (project / "environments" / "dev.lock").read_text()
    assert result.changed and result.packages == 1
    assert text.startswith("# envctl-lock format 1")
    assert f"# input-hash: {lockfile.input_hash(env_of(project).spec)}\n" in text
    assert "six==1.16.0 \\\n    --hash=sha256:" in text
    assert "    # from https://pypi.org/simple\n" in text
    assert "--hash=sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254" in text
    assert sorted(p.name for p in (project / "environments").iterdir()) == ["dev.lock", "dev.yaml"]


def test_the_index_annotation_never_carries_credentials(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An index URL with a token in it (how private indexes are often given to uv):
    # the lock names the index, never the secret.
    monkeypatch.setenv("UV_INDEX_URL", "https://envctl:s3cret-token@pypi.org/simple")
    lock_dev(project)
    text = (project / "environments" / "dev.lock").read_text()
    assert "    # from https://pypi.org/simple\n" in text
    assert "s3cret" not in text and "envctl:" not in text


def test_lock_again_is_unchanged_and_fresh(project: Path) -> None:
    lock_dev(project)
    assert lock_dev(project).changed is False
    assert lockfile.staleness(require_project(project), env_of(project)) is None


def test_lock_resolves_transitive_dependencies(git_repo: Path) -> None:
    write_project(git_repo, '  python-dateutil: "==2.9.0.post0"')
    lock_dev(git_repo)
    lock = lockfile.read_lock(git_repo / "environments" / "dev.lock")
    assert lock.versions()["python-dateutil"] == "2.9.0.post0"
    assert "six" in lock.versions()
    assert all(entry.hashes for entry in lock.entries)


def test_lock_keeps_versions_unless_upgraded(git_repo: Path) -> None:
    write_project(git_repo, '  six: "==1.16.0"\n  idna: "<4"')
    path = git_repo / "environments" / "dev.lock"
    lock_dev(git_repo)
    # pretend an older idna was locked before: uv keeps it as a preference
    old = (
        "idna==3.6 \\\n    --hash=sha256:"
        + "c8727a4e39e4e5e0d7f2d1a3b6b2f71b6f28b3dbe09a8b4b3e0b0f5b2a3ef3ab\n"
    )
    text = path.read_text()
    start = text.index("idna==")
    end = text.index("six==")
    path.write_text(text[:start] + old + text[end:])
    lock_dev(git_repo)
    assert lockfile.read_lock(path).versions()["idna"] == "3.6"
    lock_dev(git_repo, upgrade=["idna"])
    assert lockfile.read_lock(path).versions()["idna"] != "3.6"


def test_staleness_after_spec_change(project: Path) -> None:
    lock_dev(project)
    spec = project / "environments" / "dev.yaml"
    spec.write_text(spec.read_text().replace("1.16.0", "1.17.0"))
    env = env_of(project)
    assert lockfile.staleness(require_project(project), env) == (
        "environments/dev.lock is stale: run envctl lock dev"
    )
    with pytest.raises(InputError, match=r"dev\.lock is stale: run envctl lock dev"):
        lockfile.require_fresh(require_project(project), env)


def test_missing_lock_is_not_stale_but_build_requires_one(project: Path) -> None:
    env = env_of(project)
    assert lockfile.staleness(require_project(project), env) is None
    with pytest.raises(InputError, match=r"dev\.lock is missing: run envctl lock dev"):
        lockfile.require_fresh(require_project(project), env)


def test_check_reports_stale_lock(project: Path) -> None:
    from envctl.commands.check import check

    lock_dev(project)
    spec = project / "environments" / "dev.yaml"
    spec.write_text(spec.read_text().replace("1.16.0", "1.17.0"))
    report = check()
    assert [(f.kind, f.message) for f in report.findings] == [
        ("lock-stale", "environments/dev.lock is stale: run envctl lock dev")
    ]


def test_lock_without_wheel_for_platform_is_exit_3(git_repo: Path) -> None:
    write_project(git_repo, '  psycopg2: "==2.9.9"')
    with pytest.raises(InputError) as info:
        lock_dev(git_repo)
    assert info.value.exit_code == 3
    assert info.value.message.startswith("psycopg2 has no wheel for Python 3.11 on linux/amd64")
    assert not (git_repo / "environments" / "dev.lock").exists()


def test_failed_relock_keeps_the_old_lock(project: Path) -> None:
    lock_dev(project)
    path = project / "environments" / "dev.lock"
    before = path.read_text()
    write_project(project, '  psycopg2: "==2.9.9"')
    with pytest.raises(InputError):
        lock_dev(project)
    assert path.read_text() == before


def test_cli_lock_json(project: Path) -> None:
    import json

    from typer.testing import CliRunner

    from envctl.cli import _register
    from envctl.cli.app import app

    _register()
    result = CliRunner().invoke(app, ["lock", "dev", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["lock"], data["packages"], data["platform"]) == (
        "environments/dev.lock",
        1,
        "linux/amd64",
    )


# ---- wheel cache ---------------------------------------------------------------------


def test_fetch_downloads_verifies_and_reuses(project: Path, tmp_path: Path) -> None:
    lock_dev(project)
    lock = lockfile.read_lock(project / "environments" / "dev.lock")
    root = tmp_path / "wheels"
    lines: list[str] = []
    (wheel,) = wheels.fetch(lock, root=root, on_line=lines.append)
    assert wheel.path.name == "six-1.16.0-py2.py3-none-any.whl"
    assert hashlib.sha256(wheel.path.read_bytes()).hexdigest() == wheel.sha256
    assert wheel.path.parent == root / "sha256" / wheel.sha256
    assert lines  # pip's output was streamed
    assert [p.name for p in root.iterdir()] == ["sha256"]  # no temp dirs left
    lines.clear()
    assert wheels.fetch(lock, root=root, on_line=lines.append) == [wheel]
    assert lines == []  # second time: no download at all


def test_fetch_rejects_a_lock_whose_hash_matches_nothing(project: Path, tmp_path: Path) -> None:
    lock_dev(project)
    path = project / "environments" / "dev.lock"
    text = path.read_text()
    bad = "".join(
        line
        if "--hash" not in line
        else line[: line.index("sha256:") + 7]
        + "0" * 64
        + (" \\\n" if line.rstrip().endswith("\\") else "\n")
        for line in text.splitlines(keepends=True)
    )
    path.write_text(bad)
    with pytest.raises(ExternalError, match="downloading wheels for linux/amd64 failed"):
        wheels.fetch(lockfile.read_lock(path), root=tmp_path / "w")
    assert not (tmp_path / "w" / "sha256").exists()


# ---- a lock from a checkout stays inside it ---------------------------------------------

CANARY = "CANARY-host-file-71c2"


@pytest.fixture
def host_file(tmp_path: Path) -> Path:
    secret = tmp_path / "host" / "token.txt"
    secret.parent.mkdir()
    secret.write_text(f"{CANARY}\n# input-hash: x\n")
    return secret


def test_a_lock_linked_to_a_host_file_is_refused_by_name(project: Path, host_file: Path) -> None:
    (project / "environments" / "dev.lock").symlink_to(host_file)
    for attempt in (
        lambda: lockfile.require_fresh(require_project(project), env_of(project)),
        lambda: lockfile.staleness(require_project(project), env_of(project)),
        lambda: lock_dev(project),
    ):
        with pytest.raises(InputError) as caught:
            attempt()
        assert caught.value.message.startswith("environments/dev.lock: lock resolves outside "), (
            caught.value.message
        )
        assert CANARY not in caught.value.message


def test_cli_build_with_a_linked_lock_prints_no_byte_of_the_target(
    project: Path, host_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from envctl.cli import _register
    from envctl.cli.app import run

    (project / "environments" / "dev.lock").symlink_to(host_file)
    _register()
    codes = [run(["build", "dev"]), run(["render", "dev"]), run(["check"])]
    captured = capsys.readouterr()
    assert codes == [3, 3, 3]
    assert CANARY not in captured.out + captured.err
    assert "environments/dev.lock: lock resolves outside" in captured.err


@pytest.mark.parametrize(
    "line",
    ["-r {host}", "--requirement={host}", "-c {host}", "-e {host}", "--index-url http://x/"],
)
def test_a_lock_holds_no_pip_options(host_file: Path, line: str) -> None:
    text = f"six==1.16.0\n{line.format(host=host_file)}\n"
    with pytest.raises(InputError, match=r"dev\.lock: a lock holds no pip options") as caught:
        lockfile.parse_lock(text, Path("dev.lock"))
    assert CANARY not in caught.value.message


def test_a_lock_version_with_escape_sequences_is_refused_and_not_echoed_raw() -> None:
    text = "six==1.16.0\x1b[2J\x1b]0;owned\x07 --hash=sha256:" + "a" * 64 + "\n"
    with pytest.raises(InputError) as caught:
        lockfile.parse_lock(text, Path("dev.lock"))
    message = caught.value.message
    assert message.startswith("dev.lock: six has no valid version in lock line 'six==1.16.0")
    assert "\x1b" not in message and "\x07" not in message


def test_a_lock_error_quotes_at_most_a_short_excerpt() -> None:
    with pytest.raises(InputError) as caught:
        lockfile.parse_lock("six>=1" + "x" * 500 + "\n", Path("dev.lock"))
    quoted = caught.value.message.split("'")[1]
    assert len(quoted) <= 60


def test_pip_output_reaches_the_terminal_without_escape_sequences(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    noisy = "import sys; print('Collecting six\\x1b[2J\\x1b]0;owned\\x07'); sys.exit(1)"
    monkeypatch.setattr(wheels, "pip_command", lambda *a: [sys.executable, "-c", noisy])
    lock = lockfile.parse_lock(
        "# python: 3.11\n# platform: linux/amd64\nsix==1.16.0 --hash=sha256:" + "a" * 64 + "\n",
        Path("dev.lock"),
    )
    lines: list[str] = []
    with pytest.raises(ExternalError) as caught:
        wheels.fetch(lock, root=tmp_path / "w", on_line=lines.append)
    assert lines == ["Collecting six"]
    assert caught.value.message == "downloading wheels for linux/amd64 failed: Collecting six"
    assert all("\x1b" not in d for d in caught.value.details)


_NAMES = st.from_regex(r"[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,6})?", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            _NAMES,
            st.lists(_NAMES, max_size=4, unique=True),
            st.one_of(
                st.none(), st.sampled_from(["https://pypi.org/simple", "https://x.test/whl/cu121"])
            ),
        ),
        min_size=1,
        max_size=6,
        unique_by=lambda entry: entry[0],
    )
)
def test_annotations_round_trip_in_uv_s_layout(
    entries: list[tuple[str, list[str], str | None]],
) -> None:
    """Whatever uv writes under a pin (one `# via`, a `# via` list, `# from`), the
    reader gives back the same requirers and index, for every entry."""
    blocks = []
    for name, via, index in entries:
        lines = [f"{name}==1.0 \\", "    --hash=sha256:" + "a" * 64]
        if len(via) == 1:
            lines.append(f"    # via {via[0]}")
        elif via:
            lines += ["    # via", *(f"    #   {v}" for v in via)]
        if index:
            lines.append(f"    # from {index}")
        blocks.append("\n".join(lines) + "\n")
    parsed = lockfile.parse_lock("".join(blocks), Path("dev.lock")).entries
    assert [(e.name, list(e.required_by), e.index) for e in parsed] == entries
