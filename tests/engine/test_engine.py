"""The engine adapter against a real Docker Engine (marker `docker`), plus the
unreachable-engine translation, which needs no engine at all."""

from __future__ import annotations

import ast
import errno
import io
import json
import re
import signal
import socket
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from envctl import engine
from envctl.errors import EXIT_EXTERNAL, EngineError

TEST_LABEL = "dev.envctl.test"
RUNNING_IN = re.compile(r"Running in ([0-9a-f]+)")


@pytest.fixture
def uid() -> str:
    """A unique suffix, so tests running at the same time never share names."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def fresh_client() -> Iterator[None]:
    """The client is cached per process; a test that changes DOCKER_HOST must not
    see (or leave behind) another test's client."""
    engine.client.cache_clear()
    yield
    engine.client.cache_clear()


def context_tar(dockerfile: str, files: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in {"Dockerfile": dockerfile.encode(), **(files or {})}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def container_exists(container_id: str) -> bool:
    found = engine.client().api.containers(all=True, filters={"id": container_id})
    return bool(found)


def step_containers(lines: list[str]) -> list[str]:
    return [match.group(1) for line in lines if (match := RUNNING_IN.search(line))]


# --- run ------------------------------------------------------------------------------


@pytest.mark.docker
def test_run_reports_the_image_python(base_image: str) -> None:
    result = engine.run(
        base_image, ["python3", "-c", "import sys; print(sys.version_info[:2])"], timeout=60
    )

    assert (result.exit_code, result.timed_out, result.stderr) == (0, False, "")
    major, minor = ast.literal_eval(result.stdout.strip())
    assert major == 3
    assert minor >= 9


@pytest.mark.docker
def test_run_has_only_loopback_and_no_route(base_image: str) -> None:
    probe = (
        "import socket\n"
        "print(sorted(l.split(':')[0].strip() for l in open('/proc/net/dev').readlines()[2:]))\n"
        "s = socket.socket()\n"
        "s.settimeout(5)\n"
        "try:\n"
        "    s.connect(('192.0.2.1', 80))\n"  # TEST-NET-1: never routed anywhere
        "    print('connected')\n"
        "except OSError as exc:\n"
        "    print(exc.errno)\n"
    )
    result = engine.run(base_image, ["python3", "-c", probe], timeout=60)

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["['lo']", str(errno.ENETUNREACH)]


@pytest.mark.docker
def test_run_reports_a_nonzero_exit_with_both_streams(base_image: str) -> None:
    result = engine.run(base_image, ["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=60)

    assert result == engine.RunResult(exit_code=3, stdout="out\n", stderr="err\n", timed_out=False)
    assert not result.ok


@pytest.mark.docker
def test_run_kills_and_removes_a_container_past_its_timeout(base_image: str, uid: str) -> None:
    result = engine.run(
        base_image,
        ["sh", "-c", "echo started; exec sleep 600"],
        timeout=2,
        labels={TEST_LABEL: uid},
    )

    assert result.timed_out
    assert not result.ok
    assert result.exit_code == engine.KILLED_EXIT_CODE
    assert result.stdout == "started\n"
    assert engine.owned_containers({TEST_LABEL: uid}) == []


@pytest.mark.docker
def test_run_removes_its_container_on_ctrl_c(base_image: str, uid: str) -> None:
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 1.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            engine.run(base_image, ["sleep", "600"], timeout=300, labels={TEST_LABEL: uid})
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    assert engine.owned_containers({TEST_LABEL: uid}) == []


@pytest.mark.docker
def test_run_on_a_missing_image_says_so_and_leaves_nothing(docker_engine: object, uid: str) -> None:
    image = f"envctl-test/absent-{uid}:nope"

    with pytest.raises(EngineError) as caught:
        engine.run(image, ["true"], timeout=60, labels={TEST_LABEL: uid})

    assert caught.value.message == (
        f"image {image} is not present in the engine; build or pull it first"
    )
    assert caught.value.exit_code == EXIT_EXTERNAL
    assert engine.owned_containers({TEST_LABEL: uid}) == []


@pytest.mark.docker
def test_run_copies_archives_in_before_starting(base_image: str) -> None:
    files = io.BytesIO()
    with tarfile.open(fileobj=files, mode="w") as tar:
        info = tarfile.TarInfo("envctl-in/hello.txt")
        data = b"hello from the host\n"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))

    result = engine.run(
        base_image,
        ["cat", "hello.txt"],
        timeout=60,
        archives={"/tmp": files.getvalue()},
        workdir="/tmp/envctl-in",
    )

    assert (result.exit_code, result.stdout) == (0, "hello from the host\n")


# --- services -------------------------------------------------------------------------

HTTP_CLIENT = """
import time, urllib.request
for _ in range(300):
    try:
        with urllib.request.urlopen('http://127.0.0.1:8000/') as response:
            print(response.status)
            break
    except OSError:
        time.sleep(0.1)
"""


@pytest.mark.docker
def test_service_answers_http_inside_its_own_network_namespace(base_image: str, uid: str) -> None:
    server = ["python3", "-m", "http.server", "8000", "--bind", "127.0.0.1"]

    with engine.service(base_image, server, labels={TEST_LABEL: uid}) as svc:
        assert engine.is_running(svc)
        answer = engine.exec_in(svc, ["python3", "-c", HTTP_CLIENT], timeout=120)

    assert (answer.exit_code, answer.stdout) == (0, "200\n"), answer.stderr
    assert not engine.is_running(svc)
    assert engine.owned_containers({TEST_LABEL: uid}) == []


@pytest.mark.docker
def test_exec_past_its_timeout_is_reported(base_image: str, uid: str) -> None:
    with engine.service(base_image, ["sleep", "600"], labels={TEST_LABEL: uid}) as svc:
        result = engine.exec_in(svc, ["sleep", "600"], timeout=2)

    assert result.timed_out
    assert engine.owned_containers({TEST_LABEL: uid}) == []


@pytest.mark.docker
def test_service_is_removed_when_the_block_raises(base_image: str, uid: str) -> None:
    with (
        pytest.raises(RuntimeError, match="gate blew up"),
        engine.service(base_image, ["sleep", "600"], labels={TEST_LABEL: uid}),
    ):
        raise RuntimeError("gate blew up")

    assert engine.owned_containers({TEST_LABEL: uid}) == []


# --- build ----------------------------------------------------------------------------


@pytest.mark.docker
def test_build_labels_the_image_and_reuses_layers(base_image: str, uid: str) -> None:
    tag = f"envctl-test/engine-build:{uid}"
    context = context_tar(f"FROM {base_image}\nRUN echo {uid} > /built.txt\n")
    labels = {TEST_LABEL: uid, "dev.envctl.env": "test"}
    lines: list[str] = []
    try:
        first = engine.build(context, tag=tag, labels=labels, on_line=lines.append)
        again = engine.build(context, tag=tag, labels=labels)
        attrs = engine.inspect_image(tag)
        built = engine.copy_from_image(tag, "/built.txt")
    finally:
        engine.remove_image(tag)

    assert lines[0] == f"Step 1/{first.steps} : FROM {base_image}"
    assert first.image_id == again.image_id == attrs["Id"]
    assert attrs["Config"]["Labels"] == labels
    assert (first.cached_steps, again.cached_steps) == (0, again.steps - 1)
    with tarfile.open(fileobj=io.BytesIO(built)) as tar:
        member = tar.extractfile("built.txt")
        assert member is not None
        assert member.read() == f"{uid}\n".encode()
    assert not engine.image_exists(tag)


@pytest.mark.docker
def test_build_failure_names_the_step_and_leaves_no_containers(base_image: str, uid: str) -> None:
    tag = f"envctl-test/engine-fail:{uid}"
    context = context_tar(f"FROM {base_image}\nRUN echo about-to-fail-{uid} && exit 7\n")
    lines: list[str] = []

    with pytest.raises(EngineError) as caught:
        engine.build(context, tag=tag, labels={TEST_LABEL: uid}, on_line=lines.append)

    error = caught.value
    assert error.message == (
        f"build of {tag} failed at Step 2/3 : RUN echo about-to-fail-{uid} && exit 7: exit code 7"
    )
    assert error.exit_code == EXIT_EXTERNAL
    assert f"about-to-fail-{uid}" in error.details
    assert len(error.details) <= engine.LOG_TAIL_LINES
    started = step_containers(lines)
    assert started, lines
    assert [cid for cid in started if container_exists(cid)] == []
    assert not engine.image_exists(tag)


@pytest.mark.docker
def test_build_from_a_base_image_that_cannot_be_had(docker_engine: object, uid: str) -> None:
    base = f"envctl-test/absent-{uid}:nope"
    context = context_tar(f"FROM {base}\nRUN true\n")

    with pytest.raises(engine.BaseImageNotFoundError) as caught:
        engine.build(context, tag=f"envctl-test/engine-nobase:{uid}", labels={})

    message = caught.value.message
    assert message.startswith(f"base image {base} is not present and cannot be pulled: ")
    assert message.endswith("; docker load/import it or pin one your engine can reach")
    assert "\n" not in message
    assert caught.value.exit_code == EXIT_EXTERNAL


@pytest.mark.docker
def test_build_interrupted_removes_the_step_container(base_image: str, uid: str) -> None:
    tag = f"envctl-test/engine-interrupt:{uid}"
    context = context_tar(f"FROM {base_image}\nRUN echo {uid} && sleep 600\n")
    lines: list[str] = []

    def interrupt_when_running(line: str) -> None:
        lines.append(line)
        if RUNNING_IN.search(line):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        engine.build(context, tag=tag, labels={}, on_line=interrupt_when_running)

    started = step_containers(lines)
    assert len(started) == 1
    assert not container_exists(started[0])
    assert not engine.image_exists(tag)


# --- images ---------------------------------------------------------------------------


@pytest.mark.docker
def test_ensure_image_keeps_a_present_image_and_rejects_an_absent_one(
    base_image: str, uid: str
) -> None:
    engine.ensure_image(base_image)
    absent = f"envctl-test/absent-{uid}:nope"

    with pytest.raises(engine.BaseImageNotFoundError) as caught:
        engine.ensure_image(absent)

    assert caught.value.message.startswith(f"base image {absent} is not present and cannot be")


@pytest.mark.docker
def test_missing_things_are_not_errors_to_remove_but_are_to_inspect(
    docker_engine: object, uid: str
) -> None:
    engine.remove_image(f"envctl-test/absent-{uid}:nope")
    engine.remove_container(f"envctl-absent-{uid}")

    with pytest.raises(EngineError, match=r"^image envctl-test/absent-\w+:nope is not present"):
        engine.inspect_image(f"envctl-test/absent-{uid}:nope")


@pytest.mark.docker
def test_push_to_an_unreachable_registry_is_an_engine_error(base_image: str, uid: str) -> None:
    ref = f"127.0.0.1:1/envctl-test/push-{uid}:t"  # nothing listens on port 1
    engine.tag_image(base_image, ref)
    try:
        with pytest.raises(EngineError) as caught:
            engine.push(ref)
    finally:
        engine.remove_image(ref)

    assert caught.value.message.startswith(f"pushing {ref} failed: ")
    assert "connection refused" in caught.value.message
    assert engine.image_exists(base_image)


# --- an engine that is not there ------------------------------------------------------


def test_no_engine_at_docker_host_is_one_line_with_exit_4(
    monkeypatch: pytest.MonkeyPatch, fresh_client: None
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")

    with pytest.raises(EngineError) as caught:
        engine.client()

    assert caught.value.message == (
        "no Docker Engine at unix:///nonexistent.sock: start dockerd or set DOCKER_HOST"
    )
    assert caught.value.exit_code == EXIT_EXTERNAL
    assert caught.value.__suppress_context__


def test_an_engine_socket_nobody_listens_on_is_refused(
    monkeypatch: pytest.MonkeyPatch, fresh_client: None, tmp_path: Path
) -> None:
    path = tmp_path / "d.sock"
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(path))  # bound, never listening: connect() is refused
        monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")

        with pytest.raises(EngineError) as caught:
            engine.image_exists("anything")

    assert caught.value.message == (
        f"the Docker Engine at unix://{path} refused the connection: "
        "start dockerd or set DOCKER_HOST"
    )
    assert caught.value.exit_code == EXIT_EXTERNAL


@pytest.mark.docker
def test_image_queries_on_a_local_socket_skip_the_sdk(base_image: str) -> None:
    """The cached-build check answers without importing docker, and agrees with it."""
    code = (
        "import json, sys\nfrom envctl import engine\n"
        f"print(json.dumps([engine.image_exists({base_image!r}), "
        "engine.image_exists('envctl-absent/none:0'), "
        f"engine.inspect_image({base_image!r})['Id'], 'docker' in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    exists, absent, image_id, imported = json.loads(proc.stdout)
    assert (exists, absent, imported) == (True, False, False)
    assert image_id == engine.client().images.get(base_image).id


def test_image_query_without_an_engine_still_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    engine.client.cache_clear()
    try:
        with pytest.raises(EngineError) as info:
            engine.image_exists("anything:1")
    finally:
        engine.client.cache_clear()
    assert info.value.exit_code == 4
    assert str(info.value).startswith("no Docker Engine at unix:///nonexistent/docker.sock")
