"""A probed image: its Python and distributions become exact pins."""

from __future__ import annotations

from envctl.probe import Reality
from envctl.spec.imports import Options, from_reality


def reality(**changes: object) -> Reality:
    fields: dict[str, object] = {
        "label": "image:team/model:1",
        "python": "3.11.9",
        "executable": "/opt/venv/bin/python",
        "distributions": {"six": "1.16.0", "pip": "24.0", "weird": "not a version"},
        "platform": "linux/arm64",
    }
    fields.update(changes)
    return Reality(**fields)  # type: ignore[arg-type]  # a table of test values


def test_distributions_become_exact_pins() -> None:
    imported = from_reality(reality(), options=Options(fallback_python="3.12"))
    assert imported.package_map() == {"six": "==1.16.0"}
    assert (imported.python, imported.python_from, imported.platform) == (
        "3.11",
        "source",
        "linux/arm64",
    )
    assert [n.render() for n in imported.not_carried] == [
        "image:team/model:1: pip 24.0: installer tooling; every environment envctl builds has "
        "its own",
        "image:team/model:1: weird not a version: not a PEP 440 version or PEP 508 name",
    ]
    assert [n.render() for n in imported.adjusted] == [
        "image:team/model:1: python 3.11.9: recorded as 3.11: the spec names a minor"
    ]


def test_an_unknown_platform_falls_back_and_says_so() -> None:
    imported = from_reality(reality(platform="linux/386"), options=Options())
    assert imported.platform == "linux/amd64"
    assert imported.adjusted[-1].render() == (
        "image:team/model:1: platform linux/386: not supported; linux/amd64 used"
    )
