"""The diff table laid out without Rich is the same characters Rich prints for it."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from envctl.cli import text_table
from envctl.cli.text_table import Column, Row

words = st.one_of(
    st.text(alphabet="abcdefghij", min_size=1, max_size=6),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-@/", min_size=8, max_size=60),
    st.sampled_from(["→", "—", "…", "a:b", "python:3.11-slim@sha256:4e5a", "(waived:", ">=1.2"]),
)
spaces = st.sampled_from([" ", "  ", " " * 5])
cells = st.one_of(
    st.just(""),
    st.lists(st.tuples(words, spaces), max_size=12).map(lambda ws: "".join(w + s for w, s in ws)),
    st.lists(words, max_size=12).map(" ".join),
)
columns = st.builds(
    Column,
    header=st.text(alphabet="abcdefgh ", max_size=30),
    no_wrap=st.booleans(),
    fold=st.booleans(),
    min_width=st.none() | st.integers(1, 40),
    max_width=st.none() | st.integers(1, 40),
)


@st.composite
def tables(draw: st.DrawFn) -> tuple[str, list[Column], list[Row], int]:
    cols = draw(st.lists(columns, min_size=1, max_size=6))
    rows = draw(
        st.lists(
            st.builds(
                Row,
                st.lists(cells, min_size=1, max_size=len(cols)).map(tuple),
                st.booleans(),
            ),
            max_size=6,
        )
    )
    return draw(cells), cols, rows, draw(st.integers(30, 200))


def rich_prints(title: str, cols: list[Column], rows: list[Row], width: int) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for c in cols:
        table.add_column(
            c.header,
            no_wrap=c.no_wrap,
            overflow="fold" if c.fold else "ellipsis",
            min_width=c.min_width,
            max_width=c.max_width,
        )
    for row in rows:
        table.add_row(*row.cells)
        if row.end_section:
            table.add_section()
    file: Any = io.StringIO()
    Console(markup=False, highlight=False, soft_wrap=True, width=width, file=file).print(table)
    return str(file.getvalue())


@settings(max_examples=400, deadline=None)
@given(tables())
def test_the_layout_is_what_rich_prints(table: tuple[str, list[Column], list[Row], int]) -> None:
    title, cols, rows, width = table
    plain = text_table.render(title, cols, rows, width)
    if plain is not None:
        assert plain == rich_prints(title, cols, rows, width)


def test_plain_text_is_laid_out_here() -> None:
    cols = [Column("severity", no_wrap=True), Column("finding", min_width=32)]
    rows = [Row(("error", "dev runs Python 3.12 but prod runs 3.11 → and more " * 3), True)]
    plain = text_table.render("dev → prod", cols, rows, 120)
    assert plain is not None and plain == rich_prints("dev → prod", cols, rows, 120)


def test_what_rich_could_read_as_an_emoji_is_left_to_rich() -> None:
    cols = [Column("finding")]
    assert text_table.render("t", cols, [Row(("a :smile: b",))], 80) is None
    assert text_table.render("t", cols, [Row(("日本",))], 80) is None
    assert text_table.render("t", cols, [Row(("image python:3.11@sha256:ab",))], 80) is not None
