"""The plain diff document (what `envctl diff` builds) is its model field for
field: the same names in the same order, the same defaults, and JSON the model
reads back unchanged, with and without --images."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from envctl.output import diff, plain_diff
from envctl.vocabulary import SEVERITIES
from tests.output.twins import assert_same_defaults, json_keys

PAIRS: list[tuple[type[Any], type[BaseModel]]] = [
    (plain_diff.Location, diff.Location),
    (plain_diff.DiffFinding, diff.DiffFinding),
    (plain_diff.DiffOperand, diff.DiffOperand),
    (plain_diff.DiffSummary, diff.DiffSummary),
    (plain_diff.DiffComparison, diff.DiffComparison),
    (plain_diff.DiffDocument, diff.DiffDocument),
]


@pytest.mark.parametrize(("plain", "model"), PAIRS, ids=[p.__name__ for p, _ in PAIRS])
def test_same_fields_in_the_same_order(plain: type[Any], model: type[BaseModel]) -> None:
    assert json_keys(plain) == list(model.model_fields)


@pytest.mark.parametrize(("plain", "model"), PAIRS, ids=[p.__name__ for p, _ in PAIRS])
def test_same_defaults(plain: type[Any], model: type[BaseModel]) -> None:
    assert_same_defaults(plain, model)


text = st.text(max_size=8)
maybe = st.none() | text
locations = st.none() | st.builds(plain_diff.Location, file=text, line=st.integers(1, 10**4))
findings = st.builds(
    plain_diff.DiffFinding,
    kind=text,
    area=text,
    severity=st.sampled_from(SEVERITIES),
    path=text,
    left=maybe,
    right=maybe,
    message=text,
    left_location=locations,
    right_location=locations,
    waived=st.booleans(),
    waiver_reason=maybe,
    waiver_expired=st.none() | st.dates(min_value=date(2000, 1, 1)),
)
operands = st.builds(
    plain_diff.DiffOperand,
    name=text,
    kind=st.sampled_from(["spec", "local", "image"]),
    version=st.none() | st.integers(1, 10**6),
    fingerprint=maybe,
    file=maybe,
)
counts = st.integers(0, 99)
images = st.builds(
    diff.ImageChanges,
    model=text,
    left=st.builds(diff.StageImageSide, stage=text, version=text, image=text),
    right=st.builds(diff.StageImageSide, stage=text, version=text, image=text),
    same_image=st.booleans(),
    packages=st.lists(
        st.builds(
            diff.PackageChange,
            ecosystem=text,
            name=text,
            change=st.sampled_from(["added", "removed", "changed"]),
            left=maybe,
            right=maybe,
        ),
        max_size=2,
    ),
    database=st.none(),
    only_left=st.lists(st.dictionaries(text, text, max_size=2), max_size=2),
    only_right=st.lists(st.dictionaries(text, text, max_size=2), max_size=2),
)


def comparisons(with_images: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.builds(
        plain_diff.DiffComparison,
        left=operands,
        right=operands,
        findings=st.lists(findings, max_size=3),
        summary=st.builds(plain_diff.DiffSummary, counts, counts, counts, counts),
        notes=st.lists(text, max_size=2),
        images=with_images,
    )


documents = st.builds(
    plain_diff.DiffDocument,
    fail_on=st.sampled_from([*SEVERITIES, "never"]),
    failed=st.booleans(),
    comparisons=st.lists(comparisons(st.none() | images), max_size=3),
)


@settings(max_examples=80, deadline=None)
@given(documents)
def test_the_model_reads_the_plain_json_back_unchanged(document: plain_diff.DiffDocument) -> None:
    as_json = document.to_json()
    model = diff.DiffDocument.model_validate(as_json)
    assert model.to_json() == as_json
    assert list(as_json) == list(diff.DiffDocument.model_fields)


@given(st.lists(comparisons(st.none()), min_size=1, max_size=2))
def test_without_images_there_is_no_images_key(found: list[Any]) -> None:
    document = plain_diff.DiffDocument(fail_on="error", failed=False, comparisons=found)
    assert all("images" not in c for c in document.to_json()["comparisons"])
