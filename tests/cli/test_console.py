"""The plain table that off-terminal output prints without Rich: the same
characters Rich prints for it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envctl.cli import console

ROOT = Path(__file__).resolve().parents[2]

cells = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
    st.sampled_from(["", "-", "v1", "a:b", "x :smile: y", "日本", "tab\there", "two\nlines"]),
)


def printed(columns: list[str], rows: list[list[str]]) -> str:
    """What print_rows writes off a terminal (pytest may set COLUMNS: not here)."""
    out = io.StringIO()
    sys_stdout, sys.stdout = sys.stdout, out
    columns_env = os.environ.pop("COLUMNS", None)
    try:
        console.print_rows(columns, rows)
    finally:
        sys.stdout = sys_stdout
        if columns_env is not None:
            os.environ["COLUMNS"] = columns_env
    return out.getvalue()


def rich_prints(columns: list[str], rows: list[list[str]]) -> str:
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    # What console.print_table does off a terminal: the table at its natural width.
    probe = Console(markup=False, highlight=False, soft_wrap=True, width=120, file=io.StringIO())
    natural = Measurement.get(probe, probe.options.update(width=10_000), table).maximum
    wide = Console(
        markup=False,
        highlight=False,
        soft_wrap=True,
        width=max(natural, 120),
        file=io.StringIO(),
    )
    wide.print(table)
    return str(wide.file.getvalue())  # type: ignore[attr-defined]  # a StringIO


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=1, max_value=5).flatmap(
        lambda n: st.tuples(
            st.lists(cells, min_size=n, max_size=n),
            st.lists(st.lists(cells, min_size=n, max_size=n), max_size=4),
        )
    )
)
def test_the_plain_table_is_what_rich_prints(table: tuple[list[str], list[list[str]]]) -> None:
    columns, rows = table
    assert printed(columns, rows) == rich_prints(columns, rows)


def test_a_wide_table_is_not_folded() -> None:
    row = ["x" * 90, "y" * 90]
    assert printed(["a", "b"], [row]) == rich_prints(["a", "b"], [row])


@pytest.mark.parametrize("plain", [True, False])
def test_rich_is_imported_only_for_what_it_must_lay_out(plain: bool) -> None:
    cell = "v1" if plain else "日本"
    code = (
        "import sys\nfrom envctl.cli import console\n"
        f"console.print_rows(['a'], [[{cell!r}]])\n"
        "print('rich' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # pytest may set it
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.splitlines()[-1] == str(not plain)
