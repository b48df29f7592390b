"""The plain validate, show and list documents (what the spec-reading commands
build) are their models field for field: the same names in the same order, the
same defaults, and JSON the models read back unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from envctl.errors import Location
from envctl.output import plain_specs, specs
from tests.output.twins import assert_same_defaults, json_keys

PAIRS: list[tuple[type[Any], type[BaseModel]]] = [
    (plain_specs.Validated, specs.Validated),
    (plain_specs.ValidateDocument, specs.ValidateDocument),
    (plain_specs.ShowDocument, specs.ShowDocument),
    (plain_specs.Listed, specs.Listed),
    (plain_specs.ListDocument, specs.ListDocument),
]
# Fields a plain document carries for the command and never prints.
UNPRINTED = {"location"}


@pytest.mark.parametrize(("plain", "model"), PAIRS, ids=[p.__name__ for p, _ in PAIRS])
def test_same_fields_in_the_same_order(plain: type[Any], model: type[BaseModel]) -> None:
    assert json_keys(plain, UNPRINTED) == list(model.model_fields)


@pytest.mark.parametrize(("plain", "model"), PAIRS, ids=[p.__name__ for p, _ in PAIRS])
def test_same_defaults(plain: type[Any], model: type[BaseModel]) -> None:
    assert_same_defaults(plain, model)


text = st.text(max_size=8)
maybe = st.none() | text
versions = st.none() | st.integers(min_value=1, max_value=10**6)
validated = st.builds(
    plain_specs.Validated,
    environment=text,
    file=text,
    valid=st.booleans(),
    version=versions,
    fingerprint=maybe,
    problems=st.lists(text, max_size=2),
    location=st.none() | st.builds(Location, file=text, line=st.integers(1, 99)),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
documents = st.one_of(
    st.builds(plain_specs.ValidateDocument, results=st.lists(validated, max_size=3)).map(
        lambda d: (d, specs.ValidateDocument)
    ),
    st.builds(
        plain_specs.ShowDocument,
        environment=text,
        file=text,
        version=st.integers(min_value=1, max_value=10**6),
        fingerprint=text,
        spec=st.dictionaries(text, json_values, max_size=4),
    ).map(lambda d: (d, specs.ShowDocument)),
    st.builds(
        plain_specs.ListDocument,
        environments=st.lists(
            st.builds(
                plain_specs.Listed,
                name=text,
                stage=versions,
                version=versions,
                fingerprint=maybe,
                file=text,
                error=maybe,
            ),
            max_size=3,
        ),
    ).map(lambda d: (d, specs.ListDocument)),
)


@settings(max_examples=60, deadline=None)
@given(documents)
def test_the_models_read_the_plain_json_back_unchanged(pair: tuple[Any, type[BaseModel]]) -> None:
    document, model = pair
    as_json = document.to_json()
    assert list(as_json) == list(model.model_fields)  # the same key order
    assert model.model_validate(as_json).model_dump(mode="json") == as_json


def test_where_a_problem_is_stays_out_of_the_document() -> None:
    where = Location(file="environments/prod.yaml", line=3)
    result = plain_specs.Validated("prod", "environments/prod.yaml", False, problems=["x"])
    located = result._replace(location=where)
    assert located.location == where
    assert located.to_json() == result.to_json()
    assert "location" not in located.to_json()
