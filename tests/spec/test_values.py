"""The validated scalars of envctl/spec/values.py."""

from __future__ import annotations

import pytest

from envctl.spec import values


@pytest.mark.parametrize(
    ("spec", "pinned"),
    [
        ("==1.0", "1.0"),
        ("===1.0", "1.0"),
        ("===1.0+local", "1.0+local"),
        ("==1.*", None),
        (">=1.0", None),
        ("==1.0,!=1.1", None),
        ("*", None),
    ],
)
def test_pinned_version(spec: str, pinned: str | None) -> None:
    assert values.pinned_version(spec) == pinned
