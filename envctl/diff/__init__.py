"""Diff: every mismatch between two environments, or between a spec and reality.

Pure core: a `Side` is what one operand says about an environment (a spec, or
what a probe found installed), `compare(left, right)` lists the `Finding`s.
Direction matters: `left` is where a model comes from (dev), `right` is where
it goes (prod), so "dev has it, prod does not" is graver than the reverse.

Layout: `model` (kinds, severities, findings, sides), `positions` (where a spec
says something), `comparison` (compare, waivers, overrides, summaries), one
`rules_*` module per area yielding raw findings, and `specifiers` (PEP 440
reasoning the package rules share).
"""

from __future__ import annotations

from envctl.diff.comparison import compare, counts, iter_blocking, severity_for, unknown_kind
from envctl.diff.model import (
    AREAS,
    FAMILIES,
    KINDS,
    RANK,
    ComputeFacts,
    DataFacts,
    Finding,
    GpuFacts,
    Side,
    WaiverRule,
)
from envctl.diff.positions import Pos
from envctl.diff.reality import reality_side
from envctl.diff.rules_data import source_covered
from envctl.diff.rules_runtime import image_parts
from envctl.diff.specifiers import grade
from envctl.vocabulary import Severity

__all__ = [
    "AREAS",
    "FAMILIES",
    "KINDS",
    "RANK",
    "ComputeFacts",
    "DataFacts",
    "Finding",
    "GpuFacts",
    "Pos",
    "Severity",
    "Side",
    "WaiverRule",
    "compare",
    "counts",
    "grade",
    "image_parts",
    "iter_blocking",
    "reality_side",
    "severity_for",
    "source_covered",
    "unknown_kind",
]
