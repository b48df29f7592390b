"""Image identity and naming: the content fingerprint, tags, labels, where a tag is
pushed and its digest, and which model version an operand names."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from envctl.build import recipe
from envctl.build.lockfile import parse_lock
from envctl.build.render import ModelSource
from envctl.errors import InputError
from envctl.registry.workspace import split_ref
from envctl.spec.loading import Environment
from envctl.spec.model import validated
from envctl.spec.project_file import Serve
from envctl.spec.types import Spec


@pytest.mark.parametrize(
    ("tag", "registry", "expected"),
    [
        ("envctl/dev:abc", "127.0.0.1:5000/team", "127.0.0.1:5000/team/envctl/dev:abc"),
        ("envctl/dev:abc", "reg.example.com/", "reg.example.com/envctl/dev:abc"),
        ("envctl/dev:abc", None, None),
        ("localhost:5000/dev:abc", "elsewhere", "localhost:5000/dev:abc"),
        ("ghcr.io/team/dev:abc", None, "ghcr.io/team/dev:abc"),
        ("localhost/dev:abc", None, "localhost/dev:abc"),
        ("team/dev:abc", None, None),
    ],
)
def test_push_ref_keeps_a_registry_host_else_prefixes_the_registry(
    tag: str, registry: str | None, expected: str | None
) -> None:
    assert recipe.push_ref(tag, registry) == expected


@pytest.mark.parametrize(
    ("operand", "expected"),
    [
        ("churn@v1.3.0", ("churn", "v1.3.0")),
        ("team/churn@v2.0.0-rc.1", ("team/churn", "v2.0.0-rc.1")),
    ],
)
def test_parse_model_ref_reads_registry_versions(operand: str, expected: tuple[str, str]) -> None:
    assert recipe.parse_model_ref(operand) == expected


@pytest.mark.parametrize("operand", ["churn@1.3.0", "churn@v1.3", "churn@v01.0.0", "churn@latest"])
def test_parse_model_ref_refuses_what_promote_refuses(operand: str) -> None:
    with pytest.raises(InputError) as built:
        recipe.parse_model_ref(operand)
    with pytest.raises(InputError) as promoted:
        split_ref(operand)

    assert built.value.message == promoted.value.message
    assert built.value.message.endswith(
        "is not a version like v1.2.3 (GTO's NAME@vMAJOR.MINOR.PATCH)"
    )


@pytest.mark.parametrize("operand", ["churn", "@v1.0.0"])
def test_parse_model_ref_needs_a_name_and_a_version(operand: str) -> None:
    with pytest.raises(InputError, match=r"is not a model version like churn@v1\.3\.0"):
        recipe.parse_model_ref(operand)


# ---- image identity is content ------------------------------------------------------

LOCK_TEXT = """# envctl-lock format 1: written by `envctl lock {name}`; do not edit
# input-hash: 00
# python: 3.11
# platform: linux/amd64
six==1.16.0 \\
    --hash=sha256:1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926
"""
MODEL = ModelSource("churn", "v1.0.0", "a" * 40, "model", Serve(command=["python", "app.py"]))


def make_env(**overrides: Any) -> Environment:
    data: dict[str, Any] = {
        "name": "staging",
        "version": 2,
        "description": "Pre-production copy of prod.",
        "image": {"base": "python:3.11-slim"},
        "python": "3.11",
        "packages": {"six": "==1.16.0"},
        "gates": [{"approvals": {"required": 1}}],
    }
    data.update(overrides)
    return Environment(spec=validated(Spec, data), source="x.yaml", path=None)


def content(env: Environment, *, lock_name: str = "staging", **kwargs: Any) -> str:
    lock = parse_lock(LOCK_TEXT.format(name=lock_name), Path("x.lock"))
    kwargs.setdefault("templates", "t1")
    kwargs.setdefault("model", MODEL)
    return recipe.content_fingerprint(env, lock, **kwargs)


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": "prod"},
        {"version": 7},
        {"description": "Serves customers."},
        {"gates": [{"metrics": {"file": "m.json", "require": {"accuracy": ">= 0.9"}}}]},
        {"gates": []},
        {"waivers": [{"kind": "package.missing", "path": "packages.rich", "reason": "dev only"}]},
        {"data": {"allowed": ["public"]}},
        {"compute": {"cpu": 8, "memory": "32Gi"}},
        {"image": {"base": "python:3.11-slim", "repository": "reg.example.com/team/churn"}},
        # packages only count through the lock: the same lock, the same content
        {"packages": {"six": ">=1.16"}},
    ],
)
def test_content_fingerprint_ignores_what_is_not_in_the_image(overrides: dict[str, Any]) -> None:
    assert content(make_env(**overrides)) == content(make_env())


def test_content_fingerprint_ignores_the_lock_header() -> None:
    assert content(make_env(), lock_name="prod") == content(make_env())


@pytest.mark.parametrize(
    "overrides",
    [
        {"image": {"base": "python:3.12-slim"}},
        {"image": {"base": "python:3.11-slim", "platform": "linux/arm64"}},
        {"python": "3.12"},
        {"system_packages": ["libgomp1"]},
        {"env": {"OMP_NUM_THREADS": "1"}},
    ],
)
def test_content_fingerprint_changes_with_what_is_in_the_image(overrides: dict[str, Any]) -> None:
    assert content(make_env(**overrides)) != content(make_env())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"templates": "t2"},
        {"model": None},
        {"model": replace(MODEL, version="v1.0.1")},
        {"model": replace(MODEL, commit="b" * 40)},
        {"model": replace(MODEL, path="model2")},
        {"model": replace(MODEL, serve=Serve(command=["python", "app.py"], port=9000))},
    ],
)
def test_content_fingerprint_changes_with_templates_and_model(kwargs: dict[str, Any]) -> None:
    assert content(make_env(), **kwargs) != content(make_env())


def test_content_fingerprint_of_a_different_lock_body() -> None:
    lock = parse_lock(LOCK_TEXT.replace("1.16.0", "1.17.0"), Path("x.lock"))
    changed = recipe.content_fingerprint(make_env(), lock, templates="t1", model=MODEL)
    assert changed != content(make_env())


def test_image_tag_of_a_model_names_the_model_not_the_stage() -> None:
    fp = "0123456789abcdef" * 4
    staging, prod = make_env(), make_env(name="prod")
    assert recipe.image_tag(staging, fp, MODEL) == "envctl/model-churn:v1.0.0-0123456789ab"
    assert recipe.image_tag(prod, fp, MODEL) == recipe.image_tag(staging, fp, MODEL)
    assert recipe.image_tag(prod, fp) == "envctl/prod:0123456789ab"
    custom = make_env(image={"base": "python:3.11-slim", "repository": "reg.example.com/churn"})
    assert recipe.image_tag(custom, fp, MODEL) == "reg.example.com/churn:churn-v1.0.0-0123456789ab"


def test_labels_describe_content_only() -> None:
    lock = parse_lock(LOCK_TEXT.format(name="staging"), Path("x.lock"))
    staging = recipe.labels(make_env(), lock, "f" * 64, commit="c" * 40, model=MODEL)
    prod = recipe.labels(
        make_env(name="prod", version=1), lock, "f" * 64, commit="d" * 40, model=MODEL
    )
    assert staging == prod
    assert staging["dev.envctl.model"] == "churn@v1.0.0"
    assert staging["dev.envctl.git-commit"] == MODEL.commit
    assert staging["dev.envctl.fingerprint"] == "f" * 64
    assert staging["dev.envctl.packages"] == '{"six":"1.16.0"}'
    assert not {"dev.envctl.environment", "dev.envctl.spec-version", "dev.envctl.spec"} & set(
        staging
    )
    assert "staging" not in json.dumps(staging)


def test_digest_ref_and_the_repo_digest_of_a_registry() -> None:
    digest = "sha256:" + "e" * 64
    target = "127.0.0.1:5000/team/envctl/model-churn:v1.0.0-0123456789ab"
    assert recipe.digest_ref(target, digest) == f"127.0.0.1:5000/team/envctl/model-churn@{digest}"
    found = [f"other/repo@{digest}", f"127.0.0.1:5000/team/envctl/model-churn@{digest}"]
    assert recipe.digest_in(found, target) == found[1]
    assert recipe.digest_in(found[:1], target) is None
    assert recipe.digest_in(found, None) is None


@pytest.mark.parametrize("repository", ["envctl/system", "envctl-tests/dev"])
def test_repository_of_envctls_own_layers_is_refused(repository: str) -> None:
    """envctl reuses its apt and test layers by tag: a spec must not plant one."""
    spec = make_env().spec
    image = spec.image.replace(**{"repository": repository})
    env = Environment(spec=spec.replace(**{"image": image}), source="x", path=None)
    with pytest.raises(InputError, match="is reserved for envctl's own layers"):
        recipe.repository(env)
