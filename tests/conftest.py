"""Shared fixtures: real git with a pinned identity, a real Docker Engine behind a marker."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import pytest
from hypothesis import settings

from tests.harness import Invoke, Result

# Property tests judge correctness, not speed: a loaded 2-core CI machine must not
# turn a slow example into a failure (timings belong to bench/, never to tests).
settings.register_profile("envctl", deadline=None)
settings.load_profile("envctl")

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_BASE_IMAGE = os.environ.get("ENVCTL_TEST_BASE_IMAGE", "envctl-test/debian-python:bookworm")


def xdist_worker() -> bool:
    """True in a pytest-xdist worker (`pytest -n N`, as .ci/run runs the tests)."""
    return "PYTEST_XDIST_WORKER" in os.environ


def run_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """XDG_CACHE_HOME for the whole run, shared by xdist's workers (one basetemp
    each, under the run's own) as one user's commands share ~/.cache: a wheel is
    downloaded once per run. envctl's cache entries are written by rename."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if xdist_worker() else base) / "cache"


@pytest.fixture(autouse=True)
def _git_identity(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every test sees the same git identity and no user/system git config."""
    home = tmp_path_factory.getbasetemp() / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ada Tester")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ada@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Ada Tester")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "ada@example.com")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(run_cache(tmp_path_factory)))


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def git_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty real git repository, made the current directory."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Ada Tester")
    git(repo, "config", "user.email", "ada@example.com")
    git(repo, "config", "commit.gpgsign", "false")
    git(repo, "config", "tag.gpgsign", "false")
    monkeypatch.chdir(repo)
    return repo


# The end-to-end runs take minutes each (docs/tutorial.md, examples/churn/retrain.sh,
# the deploy example): collected first, longest first, so that with
# `-n 2 --dist loadfile --no-loadscope-reorder` (.ci/run) the two longest start at
# once on different workers, and the other files fill the time that is left.
LONGEST_FIRST = (
    "tests/test_tutorial.py",
    "tests/test_retrain_example.py",
    "tests/test_deploy_example.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


def docker_required() -> bool:
    return os.environ.get("ENVCTL_REQUIRE_DOCKER") == "1"


# Every image envctl builds carries labels under this prefix (content, owner, purpose).
ENVCTL_LABEL_KEYS = ("dev.envctl.fingerprint", "dev.envctl.owner")


def _envctl_image_ids(client: object) -> set[str]:
    ids: set[str] = set()
    for key in ENVCTL_LABEL_KEYS:
        ids.update(str(i.id) for i in client.images.list(all=True, filters={"label": key}))  # type: ignore[attr-defined]  # docker's client, untyped here
    return ids


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[object]:
    """A real Docker Engine client, or a skip (a failure when ENVCTL_REQUIRE_DOCKER=1).

    Images are content-addressed, so the session keeps what it builds (a test
    that builds content another test built reuses it, as users' machines do) and
    removes, once at the end, every envctl image that was not there before it.
    A test that must see a fresh build gives its image unique content. Under
    pytest-xdist the workers keep every image, since one worker's end is not the
    run's: the controller removes them after the last worker (pytest_sessionfinish)."""
    from envctl import engine
    from envctl.errors import EngineError

    try:
        client = engine.client()
        client.ping()
    except EngineError as exc:
        if docker_required():
            pytest.fail(f"Docker is required (ENVCTL_REQUIRE_DOCKER=1) but: {exc}")
        pytest.skip(f"no Docker Engine: {exc}")
    before = _envctl_image_ids(client)
    yield client
    if not keep_images() and not xdist_worker():
        _remove_images_made_since(before)


def keep_images() -> bool:
    """ENVCTL_TEST_KEEP_IMAGES=1: several test runs share one engine; none removes images."""
    return os.environ.get("ENVCTL_TEST_KEEP_IMAGES") == "1"


_IMAGES_BEFORE_RUN = pytest.StashKey[set[str]]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under pytest-xdist, the controller notes the envctl images there before
    any worker starts (without an engine there is nothing to clean up)."""
    from envctl import engine
    from envctl.errors import EngineError

    if getattr(session.config.option, "dist", "no") == "no" or xdist_worker() or keep_images():
        return
    with suppress(EngineError):
        session.stash[_IMAGES_BEFORE_RUN] = _envctl_image_ids(engine.client())


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist, the controller removes the run's images once every
    worker has finished (the workers' docker_engine fixtures keep them)."""
    before = session.stash.get(_IMAGES_BEFORE_RUN, None)
    if before is not None:
        _remove_images_made_since(before)


def _remove_images_made_since(before: set[str]) -> None:
    from envctl import engine
    from envctl.errors import EngineError

    client = engine.client()
    made = _envctl_image_ids(client) - before
    images = [client.images.get(i) for i in made]
    # Newest first: test layers and model images are children of older ones.
    for image in sorted(images, key=lambda i: i.attrs.get("Created", ""), reverse=True):
        # Already gone with a child, or in use by another session's container.
        with suppress(EngineError):
            engine.remove_image(str(image.id), force=True)


@pytest.fixture(scope="session")
def base_image(docker_engine: object) -> str:
    """The local python3 + venv base image made by .ci/docker-up."""
    from envctl import engine

    if not engine.image_exists(TEST_BASE_IMAGE):
        message = f"base image {TEST_BASE_IMAGE} is missing; run .ci/docker-up"
        if docker_required():
            pytest.fail(message)
        pytest.skip(message)
    return TEST_BASE_IMAGE


@pytest.fixture(scope="session")
def engine_b(base_image: str) -> Iterator[str]:
    """A second Docker Engine on this host (its own dockerd, containerd, storage and
    socket), holding only the test base image: yields the DOCKER_HOST that reaches it.
    Stopped and its folders removed at the end of the run."""
    from envctl import engine
    from tests.daemons import DaemonError, load_image, second_engine

    with ExitStack() as stack:
        try:
            host = stack.enter_context(second_engine())
        except DaemonError as exc:
            if docker_required():
                pytest.fail(f"a second Docker Engine is required (ENVCTL_REQUIRE_DOCKER=1): {exc}")
            pytest.skip(f"no second Docker Engine: {exc}")
        load_image(engine.engine_host(), host, base_image)
        yield host


@pytest.fixture
def on_engine_b(engine_b: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """envctl pointed at the second engine (DOCKER_HOST) for one test; the engine
    client is cached per process, so it is dropped before and after."""
    from envctl import engine

    monkeypatch.setenv("DOCKER_HOST", engine_b)
    engine.client.cache_clear()
    yield engine_b
    engine.client.cache_clear()  # DOCKER_HOST itself is restored by monkeypatch, after this


@pytest.fixture
def local_registry(docker_engine: object, tmp_path: Path) -> Iterator[str]:
    """Debian's docker-registry on 127.0.0.1 for one test: its HOST:PORT."""
    from tests.daemons import DaemonError, local_registry

    with ExitStack() as stack:
        try:
            address = stack.enter_context(local_registry(tmp_path))
        except DaemonError as exc:
            if docker_required():
                pytest.fail(str(exc))
            pytest.skip(str(exc))
        yield address


@pytest.fixture
def invoke(capsys: pytest.CaptureFixture[str]) -> Invoke:
    """Run `envctl ARGS...` in-process through the real error boundary."""
    from envctl.cli import _register
    from envctl.cli.app import run

    _register()

    def _invoke(*args: str) -> Result:
        code = run(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return _invoke


# ---- a real local image registry (push, pull, digests) --------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def image_registry(tmp_path: Path) -> Iterator[str]:
    """A `docker-registry` on 127.0.0.1 (an insecure registry the engine accepts
    there), for this test only: its `host:port`."""
    with serve_registry(f"127.0.0.1:{free_port()}", tmp_path / "r") as address:
        yield address


@contextmanager
def serve_registry(address: str, root: Path) -> Iterator[str]:
    """Run `docker-registry` at `address` (host:port) storing into `root`, until
    the block ends; a missing binary or a port already taken is a clear failure."""
    binary = shutil.which("docker-registry") or shutil.which("registry")
    if binary is None:
        message = "no registry binary: apt-get install docker-registry"
        if docker_required():
            pytest.fail(message)
        pytest.skip(message)
    root.mkdir(parents=True, exist_ok=True)
    config = root.parent / f"{root.name}.yml"
    config.write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root}\n"
        f"http:\n  addr: {address}\n"
    )
    proc = subprocess.Popen(
        [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            if proc.poll() is not None:
                raise RuntimeError(f"docker-registry could not serve {address} (port taken?)")
            try:
                urllib.request.urlopen(f"http://{address}/v2/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield address
    finally:
        proc.terminate()
        proc.wait(10)
