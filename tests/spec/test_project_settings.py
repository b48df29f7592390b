"""envctl.yaml as plain settings: what the plain rules accept, the models accept,
with the same settings; what they do not vouch for goes to the models, whose
message the user sees."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from envctl.errors import SpecError
from envctl.spec.loading import find_project
from envctl.spec.project_file import ProjectConfig
from envctl.spec.project_settings import settings as plain_settings
from envctl.spec.project_settings import settings_of

ROOT = Path(__file__).resolve().parents[2]

# Valid values and near misses, for every key the plain rules read.
words = st.sampled_from(["dev", "staging", "prod", "qa", "Prod", "a b", "", "x-1", "_x", 3])
texts = st.sampled_from(["model", "/abs", "a/../b", "ok.txt", "a b", "", 7, None, "x\x00"])
emails = st.sampled_from(["a@example.com", " B@Example.com ", "nobody", "a@b@c", 5, ""])
specs = st.sampled_from([">=3.11", "3.11", "==1.2", "nonsense!", "*", "", 3.11, 4, None])
quantities = st.sampled_from([4, 0.5, "500m", "8Gi", "8GB", -1, 0, True, "x", None, 1.5])
models = st.fixed_dictionaries(
    {"path": texts},
    optional={
        "requires": st.fixed_dictionaries(
            {},
            optional={
                "python": specs,
                "packages": st.dictionaries(
                    st.sampled_from(["numpy", "NumPy", "scikit_learn", "bad name!", "a"]),
                    specs,
                    max_size=3,
                ),
                "data": st.lists(words, max_size=2),
                "cpu": quantities,
                "memory": quantities,
                "gpu": st.sampled_from([0, 1, -1, True, "2", 1.0]),
                "engines": st.lists(words, max_size=2),
            },
        )
        | st.none(),
        "serve": st.none()
        | st.fixed_dictionaries(
            {},
            optional={
                "command": st.lists(texts, max_size=2),
                "port": st.sampled_from([8000, 0, 65535, 65536, "80", True]),
                "health": st.sampled_from(["/health", "health", "/../x", 1]),
            },
        ),
        "extra": st.just(1),
    },
)
trust = st.fixed_dictionaries(
    {},
    optional={
        "allowed_signers": texts,
        "ref": st.sampled_from(["origin/main", "main", "a;b", "", 1]),
        "stages": st.dictionaries(
            words.filter(lambda w: isinstance(w, str)),
            st.fixed_dictionaries(
                {},
                optional={
                    "promoters": st.lists(emails, max_size=2),
                    "approvers": st.lists(emails, max_size=2),
                },
            )
            | st.none(),
            max_size=2,
        ),
    },
)
documents = st.fixed_dictionaries(
    {},
    optional={
        "stages": st.lists(words, max_size=4) | st.none() | st.just("dev"),
        "environments": texts,
        "registry": st.sampled_from([None, "127.0.0.1:5000/team", "a b", 3]),
        "models": st.dictionaries(
            st.sampled_from(["churn", "c-1", "-bad", "x_", "ok\n", "é"]), models, max_size=2
        ),
        "policy": st.fixed_dictionaries(
            {},
            optional={
                "pin_exact": st.lists(words, max_size=2),
                "pin_digest": st.lists(words, max_size=2),
                "severity": st.dictionaries(
                    st.sampled_from(["package.version", "data"]),
                    st.sampled_from(["error", "warning", "info", "fatal", 1]),
                    max_size=2,
                ),
            },
        ),
        "trust": st.none() | trust,
        "unknown": st.just(True),
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_what_the_plain_rules_accept_the_models_accept_alike(data: dict[str, Any]) -> None:
    plain = plain_settings(data)
    if plain is None:
        return  # the models decide, with their own message
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as exc:  # pragma: no cover - the failure this test looks for
        pytest.fail(f"the plain rules accepted what the models refuse: {exc}")
    assert settings_of(config) == plain


def test_the_plain_rules_read_the_bundled_projects() -> None:
    """They must vouch for real files, or the models would be defined anyway."""
    import yaml

    for path in (ROOT / "envctl.yaml", *ROOT.glob("examples/*/envctl.yaml")):
        assert plain_settings(yaml.safe_load(path.read_text())) is not None, path


def test_a_refused_file_says_what_the_models_say(tmp_path: Path) -> None:
    (tmp_path / "envctl.yaml").write_text("stages: [dev, Prod]\n")
    with pytest.raises(SpecError) as info:
        find_project(tmp_path)
    assert "envctl.yaml:1:" in str(info.value) and "'Prod' is not a valid stage name" in str(
        info.value
    )


def test_a_yaml_problem_is_never_read_plainly(tmp_path: Path) -> None:
    (tmp_path / "envctl.yaml").write_text("stages: [dev]\nstages: [prod]\n")
    with pytest.raises(SpecError, match="stages"):
        find_project(tmp_path)


def test_reading_a_project_defines_no_model(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom pathlib import Path\nfrom envctl.spec.loading import find_project\n"
        f"project = find_project(Path({str(ROOT)!r}))\n"
        "print(project.settings.stages, 'pydantic' in sys.modules)\n"
        "project.config\nprint('pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["('dev', 'staging', 'prod') False", "True"]


# Only values the rules allow: the plain rules must vouch for every such file
# (else the models would be defined anyway) and read it as the models do.
good_words = st.sampled_from(["dev", "staging", "prod", "qa", "x-1"])
good_models = st.fixed_dictionaries(
    {"path": st.sampled_from(["model", "src/m", "m.py"])},
    optional={
        "requires": st.fixed_dictionaries(
            {},
            optional={
                "python": st.sampled_from([">=3.11", "3.11", "==3.12.*", "*", None]),
                "packages": st.dictionaries(
                    st.sampled_from(["numpy", "scikit-learn", "torch"]),
                    st.sampled_from(["==1.26.4", ">=1.0,<2", "*"]),
                    max_size=3,
                ),
                "data": st.lists(good_words, max_size=2),
                "cpu": st.sampled_from([4, 0.5, "500m", None]),
                "memory": st.sampled_from(["8Gi", "512Mi", 1024, None]),
                "gpu": st.integers(min_value=0, max_value=8),
                "engines": st.lists(good_words, max_size=2),
            },
        ),
        "serve": st.none()
        | st.fixed_dictionaries(
            {"command": st.just(["python", "serve.py"])},
            optional={"port": st.integers(1, 65535), "health": st.just("/ready")},
        ),
    },
)


@st.composite
def good_documents(draw: st.DrawFn) -> dict[str, Any]:
    stages = draw(st.lists(good_words, min_size=1, max_size=4, unique=True))
    doc: dict[str, Any] = {"stages": stages}
    doc["models"] = draw(st.dictionaries(st.sampled_from(["churn", "c-1", "m_2"]), good_models))
    doc["policy"] = {
        "pin_exact": draw(st.lists(good_words, max_size=2)),
        "severity": draw(
            st.dictionaries(st.just("package.version"), st.sampled_from(["error", "info"]))
        ),
    }
    if draw(st.booleans()):
        signed = draw(st.lists(st.sampled_from(stages), max_size=2, unique=True))
        doc["trust"] = {
            "allowed_signers": "trust/allowed_signers",
            "stages": {s: {"promoters": [" Ada@Example.com "], "approvers": []} for s in signed},
        }
    if draw(st.booleans()):
        doc["registry"] = "127.0.0.1:5000/team"
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(good_documents())
def test_a_valid_file_is_read_plainly_as_the_models_read_it(data: dict[str, Any]) -> None:
    plain = plain_settings(data)
    assert plain is not None
    assert settings_of(ProjectConfig.model_validate(data)) == plain
