"""Pure gate evaluation of envctl/promotion/gates.py."""

from __future__ import annotations

import pytest

from envctl.errors import InputError
from envctl.promotion import gates
from envctl.spec.model import HttpGate

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (DEEP, "metrics file m.json nests JSON too deeply to read; "),
        (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "metrics file m.json nests JSON"),
        (b"{", "metrics file m.json is not valid JSON: "),
        (b"[1]", "metrics file m.json must hold a JSON object"),
        (None, "metrics file m.json does not exist"),
    ],
    ids=["deep-list", "deep-object", "syntax", "not-object", "missing"],
)
def test_parse_metrics_refuses_in_one_line(raw: bytes | None, message: str) -> None:
    with pytest.raises(InputError) as info:
        gates.parse_metrics(raw, "m.json")
    assert info.value.exit_code == 3
    assert info.value.message.startswith(message)
    assert "\n" not in info.value.message


def test_parse_metrics_reads_an_object() -> None:
    assert gates.parse_metrics(b'{"accuracy": 0.93}', "m.json") == {"accuracy": 0.93}


def test_evaluate_http_with_a_deeply_nested_answer_lacks_the_keys() -> None:
    gate = HttpGate(expect_keys=["prediction"])
    result = gates.evaluate_http(gate, 200, DEEP.decode())
    assert (result.status, result.summary) == (
        gates.FAILED,
        "POST /predict answer lacks prediction",
    )
