"""envctl.probe: the real interpreter, real images through the Docker Engine."""

from __future__ import annotations

import io
import sys
import tarfile
import uuid
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from envctl import probe
from envctl.errors import EngineError

# ---- pure parsing -----------------------------------------------------------


def test_parse_os_release_and_name() -> None:
    text = (
        'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n# comment\n'
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
    )
    assert probe.parse_os_release(text)["VERSION_ID"] == "12"
    assert probe.os_name(text) == "Debian GNU/Linux 12 (bookworm)"
    assert probe.os_name("NAME=Alpine\nVERSION_ID=3.20.1\n") == "Alpine 3.20.1"
    assert probe.os_name(None) is None


def test_parse_dpkg_status_keeps_installed_packages_only() -> None:
    text = (
        "Package: libgomp1\nStatus: install ok installed\nVersion: 12.2.0-14\n\n"
        "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\n"
        "Package: curl\nStatus: install ok installed\nVersion: 7.88.1-10\n"
    )
    assert probe.parse_dpkg_status(text) == ("curl=7.88.1-10", "libgomp1=12.2.0-14")


def test_distribution_names_are_pep503_and_the_first_wins() -> None:
    pairs = [("Scikit_Learn", "1.5.2"), ("scikit-learn", "0.1"), (None, "9"), ("PyYAML", "6.0")]
    assert probe.normalise_distributions(pairs) == {"scikit-learn": "1.5.2", "pyyaml": "6.0"}


def test_probe_output_that_is_not_a_report() -> None:
    with pytest.raises(EngineError) as caught:
        probe.reality_from_probe("image:x", "Traceback...\nboom\n", {})
    assert str(caught.value) == (
        "the probe in image:x printed something that is not its report: boom"
    )
    assert caught.value.exit_code == 4


def test_reality_from_probe_reads_labels_and_platform() -> None:
    stdout = (
        '{"python": [3, 11, 2], "executable": "/opt/venv/bin/python", "machine": "x86_64",'
        ' "distributions": [["NumPy", "1.26.4"]], "os_release": "PRETTY_NAME=Debian 12",'
        ' "dpkg_status": null}'
    )
    attrs = {
        "Id": "sha256:abc",
        "Os": "linux",
        "Architecture": "arm64",
        "Config": {
            "Labels": {
                "dev.envctl.spec-version": "7",
                "dev.envctl.fingerprint": "f" * 64,
                "org.opencontainers.image.base.name": "python:3.11",
            }
        },
    }
    found = probe.reality_from_probe("image:x", stdout, attrs)
    assert (found.python, found.os, found.platform) == ("3.11.2", "Debian 12", "linux/arm64")
    assert found.distributions == {"numpy": "1.26.4"}
    assert found.system_packages is None
    assert (found.spec_version, found.fingerprint, found.base_image) == (7, "f" * 64, "python:3.11")


# ---- local ------------------------------------------------------------------


def test_local_probe_is_this_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)
    found = probe.local()
    assert found.label == "local"
    assert found.python == ".".join(map(str, sys.version_info[:3]))
    assert found.executable == sys.executable
    assert found.distributions["pytest"] == metadata.version("pytest")
    assert found.distributions["pydantic-core"] == metadata.version("pydantic_core")
    assert all(name == canonicalize_name(name) for name in found.distributions)


@pytest.mark.skipif(not Path("/etc/os-release").is_file(), reason="no /etc/os-release here")
def test_local_probe_reads_the_os_release() -> None:
    fields = probe.parse_os_release(Path("/etc/os-release").read_text())
    assert probe.local().os == fields["PRETTY_NAME"]


# ---- images (real Docker Engine) ---------------------------------------------


def build_image(
    base: str,
    *instructions: str,
    files: Mapping[str, bytes] | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """Build a throwaway image FROM `base` (context: `files`, executable); returns its tag."""
    from envctl import engine

    dockerfile = "\n".join([f"FROM {base}", *instructions, ""]).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in {"Dockerfile": dockerfile, **(files or {})}.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    tag = f"envctl-test/probe:{uuid.uuid4().hex[:12]}"
    engine.build(buffer.getvalue(), tag=tag, labels=dict(labels or {}))
    return tag


# A venv holding two distributions, made without the network: dist-info
# metadata is all importlib.metadata reads.
FAKE_VENV = (
    "python3 -m venv --without-pip /opt/venv && "
    "site=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()[\"purelib\"])')"
    " && for d in numpy:1.26.4 Scikit_Learn:1.4.2; do n=${d%%:*}; v=${d##*:}; "
    "mkdir -p $site/$n-$v.dist-info && "
    "printf 'Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\n' $n $v "
    "> $site/$n-$v.dist-info/METADATA; done"
)
LABELS = {
    "dev.envctl.environment": "prod",
    "dev.envctl.spec-version": "7",
    "dev.envctl.fingerprint": "e" * 64,
    "org.opencontainers.image.base.name": "python:3.11-slim-bookworm",
}


@pytest.fixture(scope="module")
def venv_image(base_image: str) -> Iterator[str]:
    from envctl import engine

    tag = build_image(base_image, f"RUN {FAKE_VENV}", labels=LABELS)
    yield tag
    engine.remove_image(tag, force=True)


@pytest.mark.docker
def test_image_probe_of_the_base_image(base_image: str) -> None:
    found = probe.image(base_image)
    assert found.label == f"image:{base_image}"
    assert found.python.startswith("3.11.")
    assert found.executable == "/usr/bin/python3"
    assert found.os == "Debian GNU/Linux 12 (bookworm)"
    assert found.platform is not None and found.platform.startswith("linux/")
    assert found.system_packages is not None
    assert any(p.startswith("python3.11=") for p in found.system_packages)


def containers_of(image: str) -> list[str]:
    """Containers (running or not) made from `image`: a probe must leave none."""
    from envctl import engine

    found = engine.client().containers.list(all=True, filters={"ancestor": image})
    return [str(c.id) for c in found]


@pytest.mark.docker
def test_image_probe_prefers_the_venv(venv_image: str) -> None:
    found = probe.image(venv_image)
    assert containers_of(venv_image) == []
    assert found.executable == "/opt/venv/bin/python"
    assert found.distributions == {"numpy": "1.26.4", "scikit-learn": "1.4.2"}
    assert (found.spec_version, found.fingerprint) == (7, "e" * 64)
    assert found.base_image == "python:3.11-slim-bookworm"


# Stands in for the venv's python: answers in the probe's report format, naming
# the network interfaces of its container as the executable.
REPORT_INTERFACES = b"""#!/bin/sh
printf '{"python": [3, 11, 2], "distributions": [], "executable": "%s"}' \\
  "$(ls /sys/class/net | tr '\\n' ' ')"
"""
FAILS = b"#!/bin/sh\necho no interpreter here >&2\nexit 3\n"
HANGS = b"#!/bin/sh\nsleep 120\n"


def with_fake_python(base: str, script: bytes) -> str:
    return build_image(base, "COPY python /opt/venv/bin/python", files={"python": script})


@pytest.mark.docker
def test_image_probe_runs_without_network(base_image: str) -> None:
    from envctl import engine

    tag = with_fake_python(base_image, REPORT_INTERFACES)
    try:
        found = probe.image(tag)
    finally:
        engine.remove_image(tag, force=True)
    assert found.executable.split() == ["lo"]


@pytest.mark.docker
def test_image_probe_missing_image(docker_engine: object) -> None:
    with pytest.raises(EngineError) as caught:
        probe.image("envctl-test/does-not-exist:never")
    assert str(caught.value) == (
        "image envctl-test/does-not-exist:never is not present in the "
        "engine; build or pull it first"
    )
    assert caught.value.exit_code == 4


@pytest.mark.docker
def test_image_probe_that_fails(base_image: str) -> None:
    from envctl import engine

    tag = with_fake_python(base_image, FAILS)
    try:
        with pytest.raises(EngineError) as caught:
            probe.image(tag)
    finally:
        engine.remove_image(tag, force=True)
    assert str(caught.value) == (
        f"probing image {tag} failed (exit 3): no interpreter here; the image needs /bin/sh and "
        "python3 (or /opt/venv/bin/python)"
    )


@pytest.mark.docker
def test_image_probe_is_bounded_by_its_timeout(base_image: str) -> None:
    from envctl import engine

    tag = with_fake_python(base_image, HANGS)
    try:
        with pytest.raises(EngineError) as caught:
            probe.image(tag, timeout=2)
        assert containers_of(tag) == []
    finally:
        engine.remove_image(tag, force=True)
    assert str(caught.value) == f"probing image {tag} timed out after 2s"


# ---- the interpreter `local` means ---------------------------------------------


@pytest.fixture(scope="module")
def other_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second, real virtualenv holding one distribution envctl does not have."""
    import subprocess

    root = tmp_path_factory.mktemp("venv") / "model-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    site = next(root.glob("lib/python*/site-packages"))
    info = site / "churn_model_only-4.5.6.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: churn-model-only\nVersion: 4.5.6\n"
    )
    return root


def test_local_probes_the_python_given(other_venv: Path) -> None:
    reality = probe.local(str(other_venv / "bin" / "python"))
    assert reality.executable == str(other_venv / "bin" / "python")
    assert reality.distributions == {"churn-model-only": "4.5.6"}
    assert reality.python == ".".join(map(str, sys.version_info[:3]))


def test_local_follows_the_active_virtualenv(
    other_venv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIRTUAL_ENV", str(other_venv))
    assert probe.chosen_interpreter(None) == other_venv / "bin" / "python"
    assert "typer" not in probe.local().distributions  # not envctl's own install
    assert probe.local(str(other_venv)).distributions == {"churn-model-only": "4.5.6"}


def test_local_is_envctls_own_interpreter_only_when_that_is_the_one_meant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)
    exe = probe.chosen_interpreter(None)
    assert exe is not None and probe.is_own_interpreter(exe)
    assert "typer" in probe.local().distributions


def test_local_with_a_python_that_is_not_there_is_exit_3(tmp_path: Path) -> None:
    from envctl.errors import InputError

    with pytest.raises(InputError, match=r"--python .*/nope: no interpreter there"):
        probe.local(str(tmp_path / "nope"))
