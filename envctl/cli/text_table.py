"""The boxed table `envctl diff` prints, laid out as Rich lays it out, without
importing Rich: off a terminal (CI logs, pipes) the findings table is then the
same characters, and the everyday `diff` starts without Rich.

It covers what Rich does for that table's settings only (rich.table.Table with
show_edge=False, pad_edge=False, the default heavy-headed box and (0, 1)
padding; columns left-justified, each no_wrap or wrapped, with "fold" or the
default "ellipsis" overflow, and optional min/max widths; a left-justified
title; no colour, soft wrap): the width of each column, word wrapping, folding,
ellipses and section lines. Text it cannot vouch for (anything but printable
ASCII and the few one-cell symbols envctl writes, or what Rich could take for an
`:emoji:` code) is Rich's to print: `render` answers None.
tests/cli/test_text_table.py compares the two on generated tables.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple


class Column(NamedTuple):
    header: str
    no_wrap: bool = False
    fold: bool = False  # overflow="fold"; else Rich's default, "ellipsis"
    min_width: int | None = None
    max_width: int | None = None


class Row(NamedTuple):
    cells: tuple[str, ...]
    end_section: bool = False  # a line under it (Table.add_section)


# Printable ASCII and the symbols envctl's messages use: one cell each, printed as is.
_PLAIN = re.compile(r"[ -~→—…]*")
# Any text between two colons that Rich's emoji codes could name (a superset of them).
_EMOJI = re.compile(r"(?=:[!#&()*+\-.0-9_a-z]+:)")
_WORD = re.compile(r"\s*\S+\s*")
_TRAILING_SPACE = re.compile(r"\s+$")


def is_plain(text: str) -> bool:
    """Text that Rich prints as is, one cell a character."""
    return _PLAIN.fullmatch(text) is not None and _EMOJI.search(text) is None


def render(title: str, columns: Sequence[Column], rows: Sequence[Row], width: int) -> str | None:
    """The table as Rich prints it on a console `width` columns wide, or None
    when that is Rich's to say."""
    rows = [Row((*r.cells, *[""] * (len(columns) - len(r.cells))), r.end_section) for r in rows]
    texts = [title, *(c.header for c in columns), *(cell for r in rows for cell in r.cells)]
    if not all(map(is_plain, texts)):
        return None
    pads = [_padding(i, len(columns)) for i in range(len(columns))]
    cells = [[c.header, *(r.cells[i] for r in rows)] for i, c in enumerate(columns)]
    widths = _widths(columns, cells, pads, width - (len(columns) - 1))
    if any(w - left - right < 1 for w, (left, right) in zip(widths, pads, strict=True)):
        return None
    lines = [title] if title else []
    lines += _row(columns, widths, pads, [c.header for c in columns], "┃", header=True)
    lines.append("╇".join("━" * w for w in widths))
    for index, row in enumerate(rows):
        lines += _row(columns, widths, pads, row.cells, "│", header=False)
        if row.end_section and index < len(rows) - 1:
            lines.append("┼".join("─" * w for w in widths))
    return "".join(f"{line}\n" for line in lines)


def _padding(index: int, count: int) -> tuple[int, int]:
    """(left, right): one space each side, none at the table's outer edges."""
    return (0 if index == 0 else 1, 0 if index == count - 1 else 1)


# ---- column widths (rich.table.Table._calculate_column_widths) ----------------


def _widths(
    columns: Sequence[Column], cells: list[list[str]], pads: list[tuple[int, int]], space: int
) -> list[int]:
    ranges = [
        _measure_column(c, cs, sum(p), space) for c, cs, p in zip(columns, cells, pads, strict=True)
    ]
    widths = [maximum or 1 for _, maximum in ranges]
    if sum(widths) > space:
        widths = _collapse(widths, [not c.no_wrap for c in columns], space)
        if sum(widths) > space:
            widths = _ratio_reduce(sum(widths) - space, [1] * len(widths), widths, widths)
        widths = [
            _measure_column(c, cs, sum(p), w)[1] or 0
            for c, cs, p, w in zip(columns, cells, pads, widths, strict=True)
        ]
    return widths


def _measure_column(column: Column, cells: list[str], extra: int, space: int) -> tuple[int, int]:
    if space < 1:
        return (0, 0)
    measured = [_measure_padded(cell, extra, space) for cell in cells]
    low = min(max(m[0] for m in measured) if measured else 1, space)
    high = min(max(m[1] for m in measured) if measured else space, space)
    if column.min_width is not None:
        least = max(0, column.min_width + extra)
        low, high = max(low, least), max(high, least)
    if column.max_width is not None:
        most = column.max_width + extra
        low, high = min(low, most), min(high, most)
    return low, high


def _measure_padded(text: str, extra: int, space: int) -> tuple[int, int]:
    if space - extra < 1:
        return _measured(space, space, space)
    low, high = _measure_text(text, space)
    return _measured(min(low + extra, space), min(high + extra, space), space)


def _measure_text(text: str, space: int) -> tuple[int, int]:
    lines = text.splitlines()
    widest = max(map(len, lines)) if lines else 0
    words = text.split()
    return _measured(max(map(len, words)) if words else widest, widest, space)


def _measured(low: int, high: int, space: int) -> tuple[int, int]:
    """rich.measure.Measurement.get's normalising of what a renderable reports."""
    low, high = _normal(low, high)
    low, high = min(low, space), min(high, space)
    return (0, 0) if high < 1 else _normal(low, high)


def _normal(low: int, high: int) -> tuple[int, int]:
    low = min(max(0, low), high)
    return max(0, low), max(0, low, high)


def _collapse(widths: list[int], wrapable: list[bool], space: int) -> list[int]:
    """Narrow the widest wrapable columns, step by step, until the table fits."""
    excess = sum(widths) - space
    if not any(wrapable):
        return widths
    while sum(widths) and excess > 0:
        widest = max(w for w, ok in zip(widths, wrapable, strict=True) if ok)
        second = max(w if ok and w != widest else 0 for w, ok in zip(widths, wrapable, strict=True))
        ratios = [1 if (w == widest and ok) else 0 for w, ok in zip(widths, wrapable, strict=True)]
        if not any(ratios) or not widest - second:
            break
        widths = _ratio_reduce(excess, ratios, [min(excess, widest - second)] * len(widths), widths)
        excess = sum(widths) - space
    return widths


def _ratio_reduce(
    total: int, ratios: list[int], maximums: list[int], values: list[int]
) -> list[int]:
    ratios = [ratio if most else 0 for ratio, most in zip(ratios, maximums, strict=True)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return values[:]
    remaining = total
    result = []
    for ratio, most, value in zip(ratios, maximums, values, strict=True):
        if ratio and total_ratio > 0:
            taken = min(most, round(ratio * remaining / total_ratio))
            result.append(value - taken)
            remaining -= taken
            total_ratio -= ratio
        else:
            result.append(value)
    return result


# ---- rows (rich.table.Table._render, rich.text.Text.wrap) ---------------------


def _row(
    columns: Sequence[Column],
    widths: list[int],
    pads: list[tuple[int, int]],
    cells: Sequence[str],
    divider: str,
    *,
    header: bool,
) -> list[str]:
    rendered = [
        [" " * left + line + " " * right for line in _cell_lines(text, w - left - right, column)]
        for text, w, (left, right), column in zip(cells, widths, pads, columns, strict=True)
    ]
    height = max(map(len, rendered))
    shaped = [
        _shape(lines, w, height, header=header) for lines, w in zip(rendered, widths, strict=True)
    ]
    return [divider.join(cell[n] for cell in shaped) for n in range(height)]


def _shape(lines: list[str], width: int, height: int, *, header: bool) -> list[str]:
    """A cell's lines made `height` tall: a header lines up at the bottom of its
    row, every other cell at the top."""
    blank = [" " * width] * (height - len(lines))
    return blank + lines if header else lines + blank


def _cell_lines(text: str, width: int, column: Column) -> list[str]:
    if column.no_wrap:
        lines = [text]
    else:
        offsets = [0, *_divide_line(text, width, fold=column.fold), len(text)]
        lines = [_rstrip_end(text[a:b], width) for a, b in pairwise(offsets)]
    return [_truncate(line, width, fold=column.fold) for line in lines]


def _divide_line(text: str, width: int, *, fold: bool) -> list[int]:
    """Where a line breaks to fit `width` (rich._wrap.divide_line, one cell a character)."""
    breaks: list[int] = []
    offset = 0
    position = 0
    while (word_match := _WORD.match(text, position)) is not None:
        start, position = word_match.span()
        word = word_match.group(0)
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:
            if fold:
                chunks = [word[i : i + width] for i in range(0, len(word), width)]
                for chunk in chunks:
                    if start:
                        breaks.append(start)
                    start += len(chunk)
                offset = len(chunks[-1])
            else:
                if start:
                    breaks.append(start)
                offset = len(word)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    return breaks


def _rstrip_end(line: str, width: int) -> str:
    """Trailing spaces beyond the width go (as many as stick out)."""
    excess = len(line) - width
    space = _TRAILING_SPACE.search(line)
    if excess > 0 and space is not None:
        return line[: len(line) - min(len(space.group(0)), excess)]
    return line


def _truncate(line: str, width: int, *, fold: bool) -> str:
    if len(line) > width:
        return line[:width] if fold else line[: width - 1] + "…"
    return line.ljust(width)
