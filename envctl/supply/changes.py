"""What changed between two images' SBOMs: packages added, removed or at another
version (Python and Debian alike), and the vulnerability findings one image has
and the other does not. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from envctl.supply.components import Component
from envctl.supply.matching import Finding

Change = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class PackageChange:
    ecosystem: str  # "PyPI" or "Debian": a Debian 12 -> 13 move still pairs packages up
    name: str
    left: str | None  # the version on the left; None: not there
    right: str | None

    @property
    def change(self) -> Change:
        if self.left is None:
            return "added"
        return "removed" if self.right is None else "changed"


def _family(ecosystem: str) -> str:
    return ecosystem.split(":", 1)[0]


def _versions(components: Iterable[Component]) -> dict[tuple[str, str], str]:
    return {(_family(c.ecosystem), c.name): c.version for c in components}


def package_changes(left: Sequence[Component], right: Sequence[Component]) -> list[PackageChange]:
    """Every package whose presence or version differs, by ecosystem then name."""
    before, after = _versions(left), _versions(right)
    return [
        PackageChange(key[0], key[1], before.get(key), after.get(key))
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    ]


def _key(finding: Finding) -> tuple[str, str, str]:
    return (finding.id, _family(finding.ecosystem), finding.package)


def finding_changes(
    left: Sequence[Finding], right: Sequence[Finding]
) -> tuple[list[Finding], list[Finding]]:
    """(findings only the left image has, findings only the right has): the same
    vulnerability in the same package counts as the same finding whatever version
    each side installs (it is still there)."""
    left_keys, right_keys = {_key(f) for f in left}, {_key(f) for f in right}
    return (
        [f for f in left if _key(f) not in right_keys],
        [f for f in right if _key(f) not in left_keys],
    )
