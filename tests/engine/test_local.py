"""Which engine envctl talks to: the stdlib fast path and the SDK both follow
DOCKER_HOST, and a remote engine is never answered for by the local socket.

The Docker tests use a second real engine (the `engine_b` fixture) beside the
machine's own, and check each answer came from the one DOCKER_HOST names."""

from __future__ import annotations

import json
import socket
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from envctl import engine
from envctl.engine import connection
from envctl.engine.local import socket_path
from tests.conftest import REPO_ROOT, git
from tests.harness import Invoke

_connects: list[list[Any]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect" and _connects:
        _connects[-1].append(args[1])


sys.addaudithook(_audit)  # audit hooks cannot be removed: it records only inside `connects`


@contextmanager
def connects() -> Iterator[list[Any]]:
    """Every address this process connects a socket to inside the block
    (a unix socket's is its path, a TCP socket's a (host, port) pair)."""
    _connects.append([])
    try:
        yield _connects[-1]
    finally:
        _connects.pop()


@pytest.fixture
def fresh_client() -> Iterator[None]:
    engine.client.cache_clear()
    yield
    engine.client.cache_clear()


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("unix:///var/run/docker.sock", "/var/run/docker.sock"),
        ("unix:///tmp/engine-b/docker.sock", "/tmp/engine-b/docker.sock"),
        ("http+unix:///tmp/engine-b/docker.sock", "/tmp/engine-b/docker.sock"),
        ("tcp://127.0.0.1:2376", None),
        ("ssh://deploy@build-host", None),
        ("npipe:////./pipe/docker_engine", None),
        ("unix://", None),  # the SDK's own reading, not ours to guess
        ("unix://relative.sock", None),
    ],
)
def test_socket_path_is_only_a_unix_socket_docker_host_names(
    host: str, expected: str | None
) -> None:
    assert socket_path(host) == expected


def test_socket_path_follows_docker_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert socket_path() == "/var/run/docker.sock"
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.7:2376")
    assert socket_path() is None
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/user/1000/podman/podman.sock")
    assert socket_path() == "/run/user/1000/podman/podman.sock"


def test_build_against_a_tcp_engine_nobody_runs_never_touches_the_local_socket(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, fresh_client: None
) -> None:
    monkeypatch.chdir(REPO_ROOT / "examples" / "churn")
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")

    with connects() as seen:
        result = invoke("build", "dev")

    assert (result.code, result.out) == (4, "")
    assert result.err == (
        "error: the Docker Engine at tcp://127.0.0.1:1 refused the connection: "
        "start dockerd or set DOCKER_HOST\n"
    )
    assert ("127.0.0.1", 1) in seen
    assert [address for address in seen if isinstance(address, str)] == []


def test_an_ssh_engine_without_paramiko_says_what_to_install(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, fresh_client: None
) -> None:
    monkeypatch.chdir(REPO_ROOT / "examples" / "churn")
    monkeypatch.setenv("DOCKER_HOST", "ssh://deploy@127.0.0.1:1")
    monkeypatch.setattr(connection, "_has_paramiko", lambda: False)

    with connects() as seen:
        result = invoke("build", "dev")

    assert (result.code, result.out) == (4, "")
    assert result.err == (
        "error: the Docker Engine at ssh://deploy@127.0.0.1:1 is reached over ssh, "
        "which needs paramiko: pip install 'envctl[ssh]'\n"
    )
    assert [address for address in seen if isinstance(address, str)] == []


# --- a second real engine ----------------------------------------------------------------


@pytest.mark.docker
def test_image_queries_answer_from_the_engine_docker_host_names(
    base_image: str, on_engine_b: str
) -> None:
    only_on_b = f"envctl-test/only-on-b:{uuid.uuid4().hex[:10]}"
    engine.tag_image(base_image, only_on_b)
    try:
        with connects() as seen:
            present = engine.image_exists(only_on_b)
            attrs = engine.inspect_image(only_on_b)
        b_socket = on_engine_b.removeprefix("unix://")
        assert present
        assert only_on_b in attrs["RepoTags"]
        assert attrs["Id"] == engine.client().images.get(only_on_b).id
        assert set(seen) == {b_socket}  # the fast path, on B's socket only

        with pytest.MonkeyPatch.context() as mp:
            mp.delenv("DOCKER_HOST")
            assert socket_path() == "/var/run/docker.sock"
            assert not engine.image_exists(only_on_b)
    finally:
        engine.remove_image(only_on_b)
    assert not engine.image_exists(only_on_b)


TINY = """name: tiny
version: 1
image:
  base: {base}
python: "3.11"
packages: {{}}
"""


@pytest.fixture
def tiny_project(git_repo: Path, base_image: str) -> Path:
    """A committed project with one environment of no packages: locks and builds
    with no network at all."""
    (git_repo / "envctl.yaml").write_text("stages: [dev]\n")
    (git_repo / "environments").mkdir()
    (git_repo / "environments" / "tiny.yaml").write_text(TINY.format(base=base_image))
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "tiny")
    return git_repo


@pytest.mark.docker
def test_build_with_docker_host_builds_on_that_engine_only(
    tiny_project: Path, invoke: Invoke, engine_b: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import docker

    assert invoke("lock", "tiny").code == 0
    monkeypatch.setenv("DOCKER_HOST", engine_b)
    engine.client.cache_clear()
    on_a = docker.DockerClient(base_url=connection.DEFAULT_HOST)
    on_b = docker.DockerClient(base_url=engine_b)
    tag = ""
    try:
        result = invoke("build", "tiny", "--format", "json")
        assert result.code == 0, result.err
        built = json.loads(result.out)
        tag = built["image"]
        assert built["cached"] is False
        assert on_b.images.get(tag).id == built["id"]
        assert not on_a.images.list(name=tag.rsplit(":", 1)[0])
        again = invoke("build", "tiny", "--format", "json")
        assert json.loads(again.out)["cached"] is True  # answered by B, where it was built
    finally:
        engine.client.cache_clear()
        if tag:
            on_b.images.remove(tag, force=True)
        on_a.close()
        on_b.close()


def test_socket_connect_is_recorded() -> None:
    """The recorder the tests above rely on sees a unix socket's path."""
    with connects() as seen, socket.socket(socket.AF_UNIX) as sock, pytest.raises(OSError):
        sock.connect("/nonexistent/engine.sock")
    assert seen == ["/nonexistent/engine.sock"]


@contextmanager
def answering(tmp_path: Path, reply: bytes) -> Iterator[list[bytes]]:
    """A unix socket named by DOCKER_HOST that answers every request with `reply`
    and records the requests it read."""
    import threading

    path = tmp_path / "engine.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    requests: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                requests.append(conn.recv(65536))
                conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKER_HOST", f"unix://{path}")
        try:
            yield requests
        finally:
            server.close()


BIG = {"Id": "sha256:" + "a" * 64, "Config": {"Labels": {f"k{i}": "v" * 100 for i in range(2000)}}}


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + json.dumps(BIG).encode(),
         (200, BIG)),
        (b"HTTP/1.1 404 Not Found\r\n\r\n{\"message\": \"No such image\"}", (404, None)),
        (b"HTTP/1.0 500 Internal Server Error\r\n\r\n{}", None),
        (b"HTTP/1.0 200 OK\r\n\r\n[1, 2]", None),
        (b"HTTP/1.0 200 OK\r\n\r\n{not json", None),
        (b"SSH-2.0-OpenSSH_9.2\r\n", None),
        (b"", None),
    ],
)  # fmt: skip
def test_the_fast_path_reads_only_a_plain_answer(
    tmp_path: Path, reply: bytes, expected: Any
) -> None:
    """Anything but a 200 with a JSON object, or a 404, is left to the SDK (None):
    a body larger than one read included."""
    from envctl.engine.local import image_json

    with answering(tmp_path, reply) as requests:
        assert image_json("team/img:1") == expected
    assert requests == [b"GET /images/team%2Fimg%3A1/json HTTP/1.0\r\nHost: localhost\r\n\r\n"]
