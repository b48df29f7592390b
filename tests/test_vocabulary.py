"""The shared words are defined once in envctl.vocabulary; what must agree with
them without importing them (a pydantic model's fields, a Typer choice enum) is
checked here."""

from __future__ import annotations

from typing import get_args

from envctl import vocabulary
from envctl.cli.diff import FailOn
from envctl.diff.model import RANK
from envctl.spec import model
from envctl.spec.types import Gate


def test_a_spec_gate_has_one_field_per_gate_kind() -> None:
    assert tuple(Gate._order) == vocabulary.GATE_KINDS
    assert tuple(model.Gate.model_fields) == vocabulary.GATE_KINDS


def test_diff_fail_on_offers_the_severities_and_never() -> None:
    assert tuple(member.value for member in FailOn) == get_args(vocabulary.FailOn)


def test_severities_rank_gravest_highest() -> None:
    assert sorted(RANK, key=RANK.__getitem__, reverse=True) == list(vocabulary.SEVERITIES)
