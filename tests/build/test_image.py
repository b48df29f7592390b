"""build / verify / render with a real Docker Engine and real locks (PyPI from the host).

One project is locked and built once per module; tests that change a spec work
on copies of it. The session removes what it built, once, at its end.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from envctl import engine
from envctl.build import lockfile
from envctl.build.image import BuildResult, build_image
from envctl.cli import _register
from envctl.cli.app import run as cli_run
from envctl.output.build import BuildDocument, VerifyDocument
from envctl.spec.loading import load_environment, require_project
from tests.conftest import TEST_BASE_IMAGE, git, run_cache

pytestmark = pytest.mark.docker

SPEC = """name: {name}
version: {version}
image:
  base: {base}
python: "3.11"
packages:
  six: "=={six}"
system_packages: {system}
env:
  GREETING: "hello $USER"{extra_env}
"""
SERVE = "print('serving churn', {marker!r})\n"


def write_spec(
    root: Path,
    name: str,
    *,
    version: int = 1,
    six: str = "1.16.0",
    system: str = "[]",
    fresh: bool = False,
) -> None:
    """`fresh`: content no other test builds (an `env:` value), for a test that must
    see a real build: the session keeps every image it built."""
    extra_env = f'\n  FRESH: "{uuid.uuid4().hex}"' if fresh else ""
    (root / "environments" / f"{name}.yaml").write_text(
        SPEC.format(
            name=name,
            version=version,
            base=TEST_BASE_IMAGE,
            six=six,
            system=system,
            extra_env=extra_env,
        )
    )


def make_project(root: Path, name: str) -> None:
    (root / "environments").mkdir(parents=True)
    (root / "models" / "churn").mkdir(parents=True)
    (root / "envctl.yaml").write_text(
        f"stages: [{name}]\nmodels:\n  churn:\n    path: models/churn\n"
        "    serve:\n      command: [python, serve.py]\n      port: 8000\n"
    )
    (root / "models" / "churn" / "serve.py").write_text(SERVE.format(marker=1))
    write_spec(root, name)
    git(root, "init", "-q", "-b", "main")
    for key, value in (
        ("user.name", "Ada"),
        ("user.email", "ada@example.com"),
        ("commit.gpgsign", "false"),
        ("tag.gpgsign", "false"),
    ):
        git(root, "config", key, value)
    commit_all(root, "project")


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def cli(*args: str) -> int:
    _register()
    return cli_run(list(args))


def image_labels(ref: str) -> dict[str, str]:
    labels: dict[str, str] = engine.inspect_image(ref)["Config"]["Labels"]
    return labels


def remove_repository(repository: str) -> None:
    for image in engine.client().api.images(name=repository):
        for tag in image.get("RepoTags") or []:
            engine.remove_image(tag, force=True)


@pytest.fixture(scope="module")
def project(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A locked, committed project with one env, built once; removed afterwards."""
    name = f"t{uuid.uuid4().hex[:8]}"
    root = tmp_path_factory.mktemp("build") / "proj"
    cache = run_cache(tmp_path_factory)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(cache))
        mp.chdir(root.parent)
        make_project(root, name)
        mp.chdir(root)
        lockfile.lock(require_project(), load_environment(name))
        commit_all(root, "lock")
        try:
            yield root
        finally:
            remove_repository(f"envctl/{name}")
            for stray in engine.owned_containers({engine.PID_LABEL: str(os.getpid())}):
                engine.remove_container(stray)


@pytest.fixture
def env_name(project: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(project)
    return next(p.stem for p in (project / "environments").glob("*.yaml"))


@pytest.fixture
def built(env_name: str) -> BuildResult:
    return build_image(env_name)


@pytest.fixture
def copy(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project, made the current directory, for tests that change it."""
    target = tmp_path / "copy"
    shutil.copytree(project, target)
    monkeypatch.chdir(target)
    return target


def json_out(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_build_labels_and_verifies(
    built: BuildResult, env_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = image_labels(built.image)
    assert built.image == f"envctl/{env_name}:{built.fingerprint[:12]}"
    assert labels["dev.envctl.fingerprint"] == built.fingerprint
    assert labels["dev.envctl.lock-hash"] == built.lock_hash
    # content only: nothing names the stage or its spec version
    assert not {"dev.envctl.environment", "dev.envctl.spec-version", "dev.envctl.spec"} & set(
        labels
    )
    assert json.loads(labels["dev.envctl.packages"]) == {"six": "1.16.0"}
    assert len(labels["org.opencontainers.image.revision"]) == 40
    env = engine.inspect_image(built.image)["Config"]["Env"]
    assert "GREETING=hello $USER" in env  # `$` stayed literal
    capsys.readouterr()
    assert cli("verify", env_name, "--format", "json") == 0
    out = capsys.readouterr().out
    assert VerifyDocument.model_validate_json(out).ok is True
    report = json.loads(out)
    assert (report["ok"], report["findings"], report["labels"]) == (True, [], {})


def test_second_build_is_cached_and_starts_no_build(
    built: BuildResult,
    env_name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("a build was started")

    monkeypatch.setattr(engine, "build", no_build)
    monkeypatch.setattr(engine, "run", no_build)
    capsys.readouterr()
    assert cli("build", env_name, "--format", "json") == 0
    out = capsys.readouterr().out
    assert BuildDocument.model_validate_json(out).system_install is None
    data = json.loads(out)
    assert data["cached"] is True
    assert (data["image"], data["id"], data["fingerprint"]) == (
        built.image,
        built.id,
        built.fingerprint,
    )
    assert data["size_bytes"] == built.size_bytes > 0


def test_an_unchanged_build_loads_no_sdk_model_or_rich(built: BuildResult, env_name: str) -> None:
    """The unchanged build's path (issue 25's budget): the engine is asked over its
    socket by the stdlib fast path, the spec read plainly, the result printed as text."""
    from tests.cli.test_startup import loaded_by, under

    loaded = loaded_by(["build", env_name], Path.cwd())
    assert "envctl.engine.local" in loaded  # the command did ask the engine
    heavy = ("docker", "requests", "jinja2", "pydantic", "rich", "http.client", "ssl", "tarfile")
    assert under(loaded, (*heavy, "envctl.spec.model", "envctl.output.build")) == []


def test_image_from_another_spec_version_drifts(
    built: BuildResult, env_name: str, copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(copy, env_name, version=2, six="1.17.0")
    lockfile.lock(require_project(), load_environment(env_name))
    capsys.readouterr()
    assert cli("verify", env_name, "--image", built.image, "--format", "json") == 1
    captured = capsys.readouterr()
    document = VerifyDocument.model_validate_json(captured.out)
    assert document.labels["fingerprint"].found == built.fingerprint
    report = json.loads(captured.out)
    assert report["drifted_packages"] == ["six"]
    (finding,) = report["findings"]
    assert (finding["kind"], finding["spec"], finding["image"]) == (
        "package.version",
        "==1.17.0",
        "1.16.0",
    )
    assert report["labels"]["lock-hash"]["found"] == built.lock_hash
    assert report["labels"]["lock-hash"]["expected"] != built.lock_hash
    assert (
        f"{built.image} does not match {env_name}: 1 difference(s); packages: six" in captured.err
    )


def test_build_with_stale_lock_is_exit_3(
    env_name: str, copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(copy, env_name, version=2, six="1.17.0")
    capsys.readouterr()
    assert cli("build", env_name) == 3
    assert capsys.readouterr().err.strip() == (
        f"error: environments/{env_name}.lock is stale: run envctl lock {env_name}"
    )


def test_system_package_in_base_takes_offline_path(
    env_name: str, copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(copy, env_name, version=2, system="[python3-venv]", fresh=True)
    lockfile.lock(require_project(), load_environment(env_name))
    capsys.readouterr()
    assert cli("render", env_name, "--probe") == 0
    assert "apt-get" not in capsys.readouterr().out
    assert cli("render", env_name) == 0  # image.network: none: never an apt layer
    assert "FROM envctl/system:" not in capsys.readouterr().out
    result = build_image(env_name)  # networking stays off: apt would fail if run
    assert (result.cached, result.system_install) == (False, False)
    assert cli("verify", env_name) == 0


def test_final_image_has_no_wheels_pip_or_caches(built: BuildResult) -> None:
    script = (
        "find / -xdev \\( -name '*.whl' -o -path '*/.cache/pip' -o -path '/tmp/envctl'"
        " -o -path '/opt/venv/*/site-packages/pip' \\) -print | sort"
    )
    found = {
        ref: engine.run(ref, ["sh", "-c", script], timeout=60).stdout.split()
        for ref in (built.image, TEST_BASE_IMAGE)
    }
    # the base image's own wheels (Debian's python3-pip-whl) are the base's business
    assert found[built.image] == found[TEST_BASE_IMAGE]
    history: list[dict[str, Any]] = engine.client().api.history(built.image)  # type: ignore[no-untyped-call]  # docker-py is untyped
    assert not any("wheels" in str(layer.get("CreatedBy", "")) for layer in history)
    listing = engine.run(
        built.image,
        [
            "/opt/venv/bin/python",
            "-c",
            "import importlib.metadata as m; "
            "print(sorted(d.metadata['Name'] for d in "
            "m.distributions()))",
        ],
        timeout=60,
    )
    assert listing.stdout.strip() == "['six']"


def test_model_code_change_rebuilds_only_the_model_layer(
    built: BuildResult,
    env_name: str,
    copy: Path,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    git(copy, "tag", "-a", "churn@v1.0.0", "-m", "v1")
    first = build_image(env_name, model="churn@v1.0.0")
    request.addfinalizer(partial(engine.remove_image, first.image))
    (copy / "models" / "churn" / "serve.py").write_text(SERVE.format(marker=2))
    commit_all(copy, "model change")
    git(copy, "tag", "-a", "churn@v1.0.1", "-m", "v2")
    lines: list[str] = []
    second = build_image(env_name, model="churn@v1.0.1", log=lines.append)
    request.addfinalizer(partial(engine.remove_image, second.image))
    assert second.image == f"envctl/model-churn:v1.0.1-{second.fingerprint[:12]}"
    assert second.fingerprint != first.fingerprint
    steps = [line for line in lines if line.startswith("Step ")]
    model_step = next(i for i, s in enumerate(steps) if 'COPY ["model/"' in s)
    # every step before the model layer came from the layer cache
    log = "\n".join(lines)
    for step in steps[1:model_step]:
        if not step.split(" : ", 1)[1].startswith("FROM"):
            after = log.split(step, 1)[1].split("Step ", 1)[0]
            assert "Using cache" in after, step
    assert "Using cache" not in log.split(steps[model_step], 1)[1].split("Step ", 1)[0]
    run = engine.run(second.image, ["python", "serve.py"], timeout=60)
    assert run.stdout.strip() == "serving churn 2"
    assert image_labels(second.image)["dev.envctl.model"] == "churn@v1.0.1"
    assert cli("verify", env_name, "--model", "churn@v1.0.1") == 0


def test_unknown_model_version_is_exit_3(env_name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("build", env_name, "--model", "churn@v9.9.9") == 3
    assert "model version churn@v9.9.9 does not exist" in capsys.readouterr().err


def test_missing_base_image_is_exit_4(
    env_name: str, copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = copy / "environments" / f"{env_name}.yaml"
    spec.write_text(spec.read_text().replace(TEST_BASE_IMAGE, "envctl-test/absent:nope"))
    capsys.readouterr()
    assert cli("build", env_name) == 4
    assert (
        "base image envctl-test/absent:nope is not present and cannot be pulled"
        in capsys.readouterr().err
    )


def test_no_engine_is_exit_4(
    env_name: str, copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(copy, env_name, version=3, six="1.16.0")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    engine.client.cache_clear()
    try:
        assert cli("build", env_name) == 4
    finally:
        monkeypatch.delenv("DOCKER_HOST")
        engine.client.cache_clear()
    assert "no Docker Engine at unix:///nonexistent/docker.sock" in capsys.readouterr().err


# ---- push to a real local registry ------------------------------------------------------


def test_push_to_local_registry(
    built: BuildResult,
    env_name: str,
    copy: Path,
    image_registry: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    registry = image_registry
    config = copy / "envctl.yaml"
    config.write_text(config.read_text() + f"registry: {registry}/team\n")
    capsys.readouterr()
    assert cli("build", env_name, "--push", "--format", "json") == 0
    data = json_out(capsys)
    target = f"{registry}/team/{built.image}"
    assert (data["cached"], data["pushed"]) == (True, target)
    assert data["digest"].startswith("sha256:")
    assert data["reference"] == f"{target.rsplit(':', 1)[0]}@{data['digest']}"
    repo, tag = target.split("/", 1)[1].rsplit(":", 1)
    with urllib.request.urlopen(f"http://{registry}/v2/{repo}/tags/list") as answer:
        assert json.load(answer)["tags"] == [tag]
    engine.remove_image(target)


def test_build_with_a_registry_pulls_the_content_tag_instead_of_building(
    built: BuildResult,
    env_name: str,
    copy: Path,
    image_registry: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = copy / "envctl.yaml"
    config.write_text(config.read_text() + f"registry: {image_registry}/team\n")
    pushed = build_image(env_name, push=True)
    assert pushed.reference is not None
    # Another machine: the image is not here, the registry has it.
    engine.remove_image(built.image)
    engine.remove_image(f"{image_registry}/team/{built.image}")
    assert not engine.image_exists(built.image)

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("a build was started")

    monkeypatch.setattr(engine, "build", no_build)
    capsys.readouterr()
    assert cli("build", env_name, "--format", "json") == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert (data["cached"], data["pulled"]) == (True, f"{image_registry}/team/{built.image}")
    assert (data["image"], data["id"]) == (built.image, built.id)
    assert data["reference"] == pushed.reference
    assert f"pulled {image_registry}/team/{built.image} from the registry" in captured.err
    engine.remove_image(f"{image_registry}/team/{built.image}")


def test_build_reports_steps_not_logs_and_keeps_the_log_in_a_file(
    env_name: str, copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(copy, env_name, version=2, six="1.17.0", fresh=True)
    lockfile.lock(require_project(), load_environment(env_name))
    steps: list[str] = []
    raw: list[str] = []
    result = build_image(env_name, on_line=steps.append, log=raw.append)
    assert not any(line.startswith(("Step ", " ---> ")) for line in steps), steps
    numbered = [line for line in steps if line.startswith("step ")]
    assert len(numbered) == result.steps
    assert numbered[-1].startswith(f"step {result.steps}/{result.steps} ")
    assert sum(line.endswith("(cached)") for line in numbered) == result.cached_steps
    assert any(line.startswith("wheels: 1 ready") for line in steps), steps
    assert result.log is not None
    logged = Path(result.log).read_text()
    assert "Step 1/" in logged and logged.splitlines() == raw
    assert "\x1b" not in logged


def test_build_in_a_pipe_prints_one_line_per_step(
    env_name: str, copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(copy, env_name, version=3, six="1.17.0", fresh=True)
    lockfile.lock(require_project(), load_environment(env_name))
    capsys.readouterr()
    assert cli("build", env_name) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    steps = [line for line in lines if line.startswith("  step ")]
    assert steps and all(len(line) < 130 for line in lines), lines
    assert len(lines) <= len(steps) + 6, lines  # base, wheels x2, building, build log
    assert lines[-1].startswith("build log: ")
    assert "\x1b" not in captured.err
    quiet = cli("build", env_name, "--quiet")
    assert quiet == 0
    assert capsys.readouterr().err == ""


def test_missing_system_package_offline_says_which_and_the_ways_out(
    env_name: str, copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(copy, env_name, version=2, system="[cowsay]")
    lockfile.lock(require_project(), load_environment(env_name))
    capsys.readouterr()
    assert cli("build", env_name) == 3
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"error: system package(s) cowsay are not in the base image {TEST_BASE_IMAGE} and "
        "this build has no network (image.network: none); use a base image that already "
        "has them (install them into it once and pin that image), or set image.network: "
        f"apt in environments/{env_name}.yaml to let envctl's apt step reach a mirror"
    ]
    assert cli("render", env_name, "--probe") == 3


def with_network(root: Path, name: str, base: str, *, system: str) -> None:
    spec = root / "environments" / f"{name}.yaml"
    text = spec.read_text().replace(
        f"  base: {TEST_BASE_IMAGE}\n", f"  base: {base}\n  network: apt\n"
    )
    spec.write_text(text.replace("system_packages: []", f"system_packages: {system}"))


@pytest.fixture(scope="module")
def stub_apt_base(base_image: str) -> Iterator[str]:
    """The test base with an apt-get that installs nothing and succeeds: no mirror is
    reachable here, and the apt layer's plumbing is what is under test."""
    tag = f"envctl-test/stub-apt:{uuid.uuid4().hex[:8]}"
    dockerfile = (
        f"FROM {base_image}\n"
        'RUN ["/bin/sh", "-c", "printf \'#!/bin/sh\\nexit 0\\n\' > /usr/local/bin/apt-get '
        '&& chmod +x /usr/local/bin/apt-get"]\n'
    )
    from envctl.build import recipe

    context = recipe.context_tar([recipe.ContextFile("Dockerfile", dockerfile.encode())])
    engine.build(context, tag=tag, labels={"dev.envctl.owner": "envctl"})
    yield tag
    engine.remove_image(tag, force=True)


def test_apt_opt_in_builds_a_networked_apt_layer_and_an_offline_template(
    env_name: str, copy: Path, stub_apt_base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_network(copy, env_name, stub_apt_base, system="[cowsay]")
    lockfile.lock(require_project(), load_environment(env_name))
    networks: list[tuple[str, str]] = []
    real_build = engine.build

    def spy(context: bytes, **kwargs: Any) -> Any:
        networks.append((kwargs["tag"].split(":")[0], kwargs.get("network_mode", "none")))
        return real_build(context, **kwargs)

    monkeypatch.setattr(engine, "build", spy)
    steps: list[str] = []
    result = build_image(env_name, on_line=steps.append)

    assert result.system_install is True
    assert networks == [("envctl/system", "default"), (f"envctl/{env_name}", "none")]
    labels = image_labels(result.image)
    assert labels["dev.envctl.build-network"] == "apt"
    assert f"building {result.image} (network: none)" in steps
    history: list[dict[str, Any]] = engine.client().api.history(result.image)  # type: ignore[no-untyped-call]  # docker-py is untyped
    assert any("apt-get" in (layer.get("CreatedBy") or "") for layer in history)


def test_apt_opt_in_without_a_mirror_fails_in_the_apt_layer(
    env_name: str, copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_network(copy, env_name, TEST_BASE_IMAGE, system="[cowsay]")
    lockfile.lock(require_project(), load_environment(env_name))
    capsys.readouterr()
    assert cli("build", env_name) == 4
    err = capsys.readouterr().err
    first = next(line for line in err.splitlines() if line.startswith("error: "))
    assert first.startswith(
        f"error: system package(s) cowsay are not in the base image {TEST_BASE_IMAGE} and "
        "envctl's apt layer failed: the engine's default network does not reach a Debian mirror"
    ), err
    assert "\x1b" not in err


# ---- nothing of the host reaches the image ------------------------------------------------

HOST_CANARY = "CANARY-host-7be1"


def test_host_environment_reaches_no_label_layer_or_log(
    env_name: str, copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = copy / "environments" / f"{env_name}.yaml"
    spec.write_text(spec.read_text().replace("hello $USER", f"hello $USER {uuid.uuid4().hex}"))
    lockfile.lock(require_project(), load_environment(env_name))
    for key in ("USER", "HOME_TOKEN", "AWS_SECRET_ACCESS_KEY", "GREETING"):
        monkeypatch.setenv(key, HOST_CANARY)
    capsys.readouterr()

    result = build_image(env_name)

    attrs = engine.inspect_image(result.image)
    assert HOST_CANARY not in json.dumps(attrs)
    assert "hello $USER" in json.dumps(attrs["Config"]["Env"])  # literal, never expanded
    assert HOST_CANARY not in Path(result.log or "").read_text()
    assert cli("render", env_name) == 0
    captured = capsys.readouterr()
    assert HOST_CANARY not in captured.out + captured.err
    history: list[dict[str, Any]] = engine.client().api.history(result.image)  # type: ignore[no-untyped-call]  # docker-py is untyped
    assert HOST_CANARY not in json.dumps(history)


def test_a_template_linked_to_a_host_file_stops_the_build_before_it_starts(
    env_name: str, copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "host" / "id_rsa"
    key.parent.mkdir()
    key.write_text(f"{HOST_CANARY}\n")
    (copy / "templates").mkdir()
    (copy / "templates" / "key").symlink_to(key)
    (copy / "templates" / "Dockerfile.j2").write_text(
        '{% extends "envctl/Dockerfile.j2" %}\n'
        '{% block labels %}LABEL key={{ "" }}{% include "key" %}\n{% endblock %}\n'
    )
    capsys.readouterr()
    assert cli("build", env_name) == 3
    assert cli("render", env_name) == 3
    captured = capsys.readouterr()
    assert HOST_CANARY not in captured.out + captured.err
    assert "templates/key: template resolves outside" in captured.err
