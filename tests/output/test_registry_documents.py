"""The plain status, history and image documents (what the read commands build)
are their models field for field: the same names in the same order, the same
defaults, and JSON the models read back unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from envctl.output import promotion, registry, registry_models
from tests.output.twins import json_keys

PAIRS: list[tuple[type[Any], type[BaseModel]]] = [
    (registry.StageEvent, registry_models.StageEvent),
    (registry.ModelStatus, registry_models.ModelStatus),
    (registry.StatusDocument, registry_models.StatusDocument),
    (registry.RegisteredVersion, registry_models.RegisteredVersion),
    (registry.HistoryDocument, registry_models.HistoryDocument),
    (registry.ImageDocument, promotion.ImageDocument),
]


@pytest.mark.parametrize(("plain", "model"), PAIRS, ids=[p.__name__ for p, _ in PAIRS])
def test_same_fields_in_the_same_order(plain: type[Any], model: type[BaseModel]) -> None:
    assert json_keys(plain) == list(model.model_fields)


def test_a_document_version_is_the_models() -> None:
    for plain, model in PAIRS:
        if "schema_version" in plain._fields:
            assert (
                plain._field_defaults["schema_version"]
                == model.model_fields["schema_version"].default
            )


text = st.text(max_size=8)
maybe = st.none() | text
events = st.builds(
    registry.StageEvent,
    n=st.none() | st.integers(min_value=1, max_value=10**6),
    model=text,
    stage=text,
    action=st.sampled_from(["assign", "unassign"]),
    version=maybe,
    commit=text,
    by=text,
    when=maybe,
    tag=text,
    bypass_reason=maybe,
    rollback_of=maybe,
    rollback_reason=maybe,
    summary=text,
    image=maybe,
    image_id=maybe,
    digest=maybe,
    evidence=st.sampled_from(["signed", "recorded", "none", "invalid"]),
    counts=st.booleans(),
    signer=maybe,
    problems=st.lists(text, max_size=2),
)
statuses = st.builds(
    registry.StatusDocument,
    stages=st.lists(text, max_size=3),
    models=st.lists(
        st.builds(
            registry.ModelStatus,
            model=text,
            latest=maybe,
            stages=st.dictionaries(text, st.none() | events, max_size=3),
        ),
        max_size=2,
    ),
    warnings=st.lists(text, max_size=2),
)
histories = st.builds(
    registry.HistoryDocument,
    model=text,
    events=st.lists(events, max_size=3),
    versions=st.lists(
        st.builds(
            registry.RegisteredVersion,
            version=text,
            commit=text,
            by=text,
            when=maybe,
            active=st.booleans(),
        ),
        max_size=3,
    ),
    warnings=st.lists(text, max_size=2),
)
images = st.builds(
    registry.ImageDocument,
    model=text,
    stage=text,
    version=text,
    tag=text,
    digest=text,
    image=maybe,
    image_id=maybe,
    content_fingerprint=maybe,
    reused_from=maybe,
)


@settings(max_examples=50, deadline=None)
@given(
    st.one_of(
        statuses.map(lambda d: (d, registry_models.StatusDocument)),
        histories.map(lambda d: (d, registry_models.HistoryDocument)),
        images.map(lambda d: (d, promotion.ImageDocument)),
    )
)
def test_the_models_read_the_plain_json_back_unchanged(pair: tuple[Any, type[BaseModel]]) -> None:
    document, model = pair
    as_json = document.to_json()
    assert list(as_json) == list(model.model_fields)  # the same key order
    assert model.model_validate(as_json).model_dump(mode="json") == as_json
