"""Servers the Docker tests start for themselves: a second Docker Engine (its own
dockerd, with its own containerd, storage and socket) and a local image registry.

Both run as child processes of the test run, in folders of their own, and are
stopped and their folders removed however the run ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

STOP_TIMEOUT = 30.0  # seconds dockerd gets to stop its containers and containerd


class DaemonError(RuntimeError):
    """A server the tests need did not start; the message says why."""


def _wait_until(
    ready: Callable[[], bool], *, timeout: float, what: str, log: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:]) if log else ""
    raise DaemonError(f"{what} did not answer within {timeout:.0f}s\n{tail}".rstrip())


# --- a second Docker Engine -------------------------------------------------------------


def _answers(socket_path: Path) -> bool:
    """True when the engine on `socket_path` answers GET /_ping with OK."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(2)
        try:
            sock.connect(str(socket_path))
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: engine\r\n\r\n")
            answer = sock.recv(4096)
        except OSError:
            return False
    return answer.startswith(b"HTTP/1.") and answer.rstrip().endswith(b"OK")


def dockerd_argv(root: Path) -> list[str]:
    """A dockerd that shares nothing with the machine's engine: storage, state,
    pid file and socket under `root`, and (as .ci/docker-up's) no bridge and no
    iptables rules. Without --containerd it starts a containerd of its own, under
    its exec root."""
    return [
        "dockerd",
        f"--data-root={root / 'data'}",
        f"--exec-root={root / 'exec'}",
        f"--pidfile={root / 'dockerd.pid'}",
        f"--host=unix://{root / 'docker.sock'}",
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
    ]


@contextmanager
def second_engine(*, timeout: float = 60.0) -> Iterator[str]:
    """Start a second dockerd and yield the DOCKER_HOST that reaches it; stop it
    and remove its folders when the block ends, whether it failed or not."""
    if shutil.which("dockerd") is None:
        raise DaemonError("no dockerd on PATH: apt-get install docker.io (.ci/docker-up)")
    # A short path: a unix socket path must stay under 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="envctl-engine-"))
    log = root / "dockerd.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        with log.open("wb") as out:
            proc = subprocess.Popen(
                dockerd_argv(root), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        sock = root / "docker.sock"
        started = proc

        def ready() -> bool:
            if started.poll() is not None:
                tail = log.read_text(errors="replace").splitlines()[-15:]
                raise DaemonError(
                    f"a second dockerd exited with {started.returncode}\n" + "\n".join(tail)
                )
            return _answers(sock)

        _wait_until(ready, timeout=timeout, what=f"a second dockerd (log: {log})", log=log)
        yield f"unix://{sock}"
    finally:
        if proc is not None:
            _stop(proc, root)
        _remove(root)


def _stop(proc: subprocess.Popen[bytes], root: Path) -> None:
    """SIGTERM lets dockerd stop its containers and its containerd; a dockerd that
    hangs is killed, and so is the containerd it can no longer stop."""
    proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT)
        return
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(STOP_TIMEOUT)
    containerd_pid = root / "exec" / "containerd" / "containerd.pid"
    with suppress(OSError, ValueError):
        os.kill(int(containerd_pid.read_text().strip()), signal.SIGKILL)


def _remove(root: Path) -> None:
    """Remove the engine's folders; unmount first whatever a killed dockerd left
    mounted under them (overlay layers, its exec root's namespaces)."""
    shutil.rmtree(root, ignore_errors=True)
    if not root.exists():
        return
    mounts = Path("/proc/mounts").read_text().splitlines()
    inside = [line.split()[1] for line in mounts if line.split()[1].startswith(str(root))]
    for mountpoint in sorted(inside, key=len, reverse=True):
        subprocess.run(["umount", "-l", mountpoint], check=False, capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def load_image(source_host: str, target_host: str, ref: str) -> None:
    """Copy image `ref` from one engine to another: `docker save | docker load`
    through the SDK, so no registry is needed."""
    import docker

    source = docker.DockerClient(base_url=source_host)
    target = docker.DockerClient(base_url=target_host)
    try:
        target.images.load(b"".join(source.images.get(ref).save(named=True)))
    finally:
        source.close()
        target.close()


# --- a local image registry -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _registry_answers(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/v2/", timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def local_registry(root: Path, *, timeout: float = 20.0) -> Iterator[str]:
    """Start Debian's docker-registry on 127.0.0.1 (an engine pushes to a
    loopback registry over plain HTTP) and yield its HOST:PORT."""
    binary = shutil.which("docker-registry") or shutil.which("registry")
    if binary is None:
        raise DaemonError("no registry binary: apt-get install docker-registry (.ci/docker-up)")
    address = f"127.0.0.1:{free_port()}"
    config = root / "registry.yml"
    config.write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root / 'storage'}\n"
        f"http:\n  addr: {address}\n"
    )
    log = root / "registry.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([binary, "serve", str(config)], stdout=out, stderr=out)
    try:
        _wait_until(
            lambda: _registry_answers(address), timeout=timeout, what="docker-registry", log=log
        )
        yield address
    finally:
        proc.terminate()
        proc.wait(10)
