"""Package indexes end to end: `lock` resolves a routed package from a private
PEP 503 index served on 127.0.0.1 (basic auth, credentials in uv's variables),
`build` fetches its wheel from there hash-checked, and the credentials end up
nowhere else: not in the spec, the lock, the Dockerfile, the logs, the JSON or
the image."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from envctl import engine
from envctl.build import lockfile, wheels
from envctl.errors import ExternalError
from envctl.spec.loading import load_environment
from tests.conftest import TEST_BASE_IMAGE, git
from tests.harness import Invoke
from tests.simple_index import SimpleIndex, serve_index

USER = "alice"
PRIVATE = "envctl-private-probe"

SPEC = """name: dev
version: 1
image:
  base: {base}
python: "3.11"
packages:
  {private}: "==1.0.0"
  six: "==1.16.0"
indexes:
  - name: corp-private
    url: {url}
    explicit: true
sources:
  {private}: {{index: corp-private}}
env:
  FRESH: "{fresh}"
"""


@pytest.fixture
def secret() -> str:
    return f"pw-{uuid.uuid4().hex}"


@pytest.fixture
def index(tmp_path: Path, secret: str) -> Iterator[SimpleIndex]:
    with serve_index(tmp_path / "index", {PRIVATE: "1.0.0"}, user=USER, password=secret) as found:
        yield found


@pytest.fixture
def project(
    tmp_path: Path, index: SimpleIndex, secret: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    root = tmp_path / "proj"
    (root / "environments").mkdir(parents=True)
    (root / "envctl.yaml").write_text("stages: [dev]\n", encoding="utf-8")
    (root / "environments" / "dev.yaml").write_text(
        SPEC.format(base=TEST_BASE_IMAGE, private=PRIVATE, url=index.url, fresh=uuid.uuid4().hex),
        encoding="utf-8",
    )
    git(root, "init", "-q", "-b", "main")
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    monkeypatch.setenv("UV_INDEX_CORP_PRIVATE_USERNAME", USER)
    monkeypatch.setenv("UV_INDEX_CORP_PRIVATE_PASSWORD", secret)
    return root


def assert_nowhere(secret: str, *texts: str, folders: tuple[Path, ...] = ()) -> None:
    for text in texts:
        assert secret not in text
        assert f"{USER}:" not in text
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix != ".whl":
                data = path.read_bytes()
                assert secret.encode() not in data, path
                assert f"{USER}:".encode() not in data, path


def test_lock_resolves_a_routed_package_from_the_private_index(
    project: Path, index: SimpleIndex, secret: str, invoke: Invoke, tmp_path: Path
) -> None:
    result = invoke("lock", "dev", "--format", "json")
    assert result.code == 0, result.err
    lock = lockfile.read_lock(project / "environments" / "dev.lock")
    by_name = {e.name: e for e in lock.entries}
    assert by_name[PRIVATE].index == index.url
    assert by_name["six"].index == "https://pypi.org/simple"
    assert (f"/simple/{PRIVATE}/", True) in index.requests
    # The explicit index is asked for the routed package only.
    assert all(path.startswith((f"/simple/{PRIVATE}", "/files/")) for path, _ in index.requests)
    assert json.loads(result.out)["packages"] == 2
    assert_nowhere(secret, result.out, result.err, folders=(project, tmp_path / "cache"))


def test_lock_without_credentials_fails_in_one_line(
    project: Path, invoke: Invoke, secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UV_INDEX_CORP_PRIVATE_PASSWORD")
    result = invoke("lock", "dev")
    assert result.code in (3, 4), result.err
    assert result.err.startswith("error: ")
    assert not (project / "environments" / "dev.lock").exists()
    assert_nowhere(secret, result.out, result.err)


def test_fetch_takes_the_routed_wheel_from_its_index_hash_checked(
    project: Path, index: SimpleIndex, secret: str, invoke: Invoke, tmp_path: Path
) -> None:
    assert invoke("lock", "dev").code == 0
    lock = lockfile.read_lock(project / "environments" / "dev.lock")
    spec = load_environment("dev").spec
    lines: list[str] = []
    fetched = wheels.fetch(
        lock, root=tmp_path / "wheels", on_line=lines.append, indexes=spec.indexes
    )
    assert sorted(w.entry.name for w in fetched) == [PRIVATE, "six"]
    assert index.fetched(PRIVATE)
    private = next(w for w in fetched if w.entry.name == PRIVATE)
    assert private.path.read_bytes() == index.wheels[PRIVATE].read_bytes()
    assert_nowhere(secret, *lines)


def test_fetch_refuses_a_file_the_lock_does_not_list(
    project: Path, index: SimpleIndex, secret: str, invoke: Invoke, tmp_path: Path
) -> None:
    assert invoke("lock", "dev").code == 0
    lock = lockfile.read_lock(project / "environments" / "dev.lock")
    # The index now serves another file under the same name.
    served = index.wheels[PRIVATE]
    served.write_bytes(served.read_bytes() + b"\0")
    spec = load_environment("dev").spec
    with pytest.raises(ExternalError) as raised:
        wheels.fetch(lock, root=tmp_path / "wheels", indexes=spec.indexes)
    assert raised.value.message.startswith("downloading wheels for linux/amd64 failed")
    assert any("hash" in line.lower() for line in raised.value.details)
    assert not list((tmp_path / "wheels" / "sha256").glob("*/*.whl"))
    assert_nowhere(secret, raised.value.message, *raised.value.details)


@pytest.mark.docker
def test_build_and_verify_with_a_private_index_leave_no_credentials(
    project: Path,
    index: SimpleIndex,
    secret: str,
    invoke: Invoke,
    base_image: str,
    tmp_path: Path,
) -> None:
    assert invoke("lock", "dev").code == 0
    built = invoke("build", "dev", "--format", "json")
    assert built.code == 0, built.err
    assert index.fetched(PRIVATE)
    tag = json.loads(built.out)["image"]
    verified = invoke("verify", "dev", "--format", "json")
    assert verified.code == 0, verified.out + verified.err
    rendered = invoke("render", "dev")
    assert rendered.code == 0
    attrs = json.dumps(engine.inspect_image(tag))
    history = json.dumps(engine.client().api.history(tag))  # type: ignore[no-untyped-call]  # docker-py is untyped
    assert_nowhere(
        secret,
        built.out,
        built.err,
        verified.out,
        rendered.out,
        attrs,
        history,
        folders=(project, tmp_path / "cache"),
    )


def test_a_change_of_routing_makes_the_lock_stale(project: Path, invoke: Invoke) -> None:
    assert invoke("lock", "dev").code == 0
    spec = project / "environments" / "dev.yaml"
    spec.write_text(spec.read_text().replace("explicit: true", "explicit: false"))
    assert lockfile.staleness(None, load_environment("dev")) == (
        "environments/dev.lock is stale: run envctl lock dev"
    )
    result = invoke("verify", "dev")
    assert (result.code, result.err) == (
        3,
        "error: environments/dev.lock is stale: run envctl lock dev\n",
    )
