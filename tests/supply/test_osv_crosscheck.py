"""The OSV matcher against an independent implementation of version ranges:
univers (aboutcode's `vers` ranges, whose Debian order is debian_inspector's, not
python-debian's). For any stretches of introduced/fixed (or last_affected) events
and any version, both must say the same thing, for PyPI and for Debian."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from univers.version_range import VersionRange
from univers.versions import DebianVersion, PypiVersion

from envctl.supply import osv
from envctl.supply.versions import compare_key

SMALL = st.integers(0, 4)
PYPI = st.tuples(SMALL, SMALL, st.sampled_from(["", "rc1", "a1", ".post1", ".dev0"])).map(
    lambda t: f"{t[0]}.{t[1]}{t[2]}"
)
DEBIAN = st.tuples(
    st.sampled_from(["", "1:"]),
    SMALL,
    SMALL,
    st.sampled_from(["", "~rc1", "+dfsg"]),
    st.sampled_from(["-1", "-2", "-1+deb12u1", "-1~bpo12+1"]),
).map(lambda t: f"{t[0]}{t[1]}.{t[2]}{t[3]}{t[4]}")

SCHEMES = {"PyPI": ("pypi", PypiVersion, PYPI), "Debian:12": ("deb", DebianVersion, DEBIAN)}


def _sorted_unique(scheme: str, versions: list[str]) -> list[str]:
    keyed: dict[str, str] = {}
    for v in versions:
        keyed.setdefault(str(compare_key(scheme.split(":")[0], v)), v)
    return sorted(keyed.values(), key=lambda v: compare_key(scheme.split(":")[0], v))


def _vers(scheme: str, bounds: list[str], last_affected: bool) -> str:
    """Stretches [b0, b1), [b2, b3), ... (the last one closed with <= when
    `last_affected`), as a vers union of intervals."""
    parts = []
    for i in range(0, len(bounds) - 1, 2):
        end = "<=" if last_affected and i == len(bounds) - 2 else "<"
        parts += [f">={bounds[i]}", f"{end}{bounds[i + 1]}"]
    return f"vers:{SCHEMES[scheme][0]}/" + "|".join(parts)


def _events(bounds: list[str], last_affected: bool) -> list[dict[str, str]]:
    events = []
    for i in range(0, len(bounds) - 1, 2):
        end = "last_affected" if last_affected and i == len(bounds) - 2 else "fixed"
        events += [{"introduced": bounds[i]}, {end: bounds[i + 1]}]
    return events


def _check(scheme: str, raw: list[str], version: str, last_affected: bool) -> None:
    bounds = _sorted_unique(scheme, raw)
    if len(bounds) % 2:
        bounds = bounds[:-1]
    if not bounds:
        return
    record = osv.parse_advisory(
        {
            "id": "X",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [
                {
                    "package": {"ecosystem": scheme, "name": "p"},
                    "ranges": [{"type": "ECOSYSTEM", "events": _events(bounds, last_affected)}],
                }
            ],
        }
    )
    ours = osv.is_affected(version, record.affected[0])
    vclass = SCHEMES[scheme][1]
    their_range = VersionRange.from_string(_vers(scheme, bounds, last_affected))  # type: ignore[no-untyped-call]  # univers is untyped
    theirs = vclass(version) in their_range
    assert ours is theirs, (bounds, version, last_affected)


@settings(max_examples=300)
@given(st.lists(PYPI, min_size=2, max_size=6), PYPI, st.booleans())
def test_pypi_ranges_agree_with_univers(raw: list[str], version: str, last: bool) -> None:
    _check("PyPI", raw, version, last)


@settings(max_examples=300)
@given(st.lists(DEBIAN, min_size=2, max_size=6), DEBIAN, st.booleans())
def test_debian_ranges_agree_with_univers(raw: list[str], version: str, last: bool) -> None:
    _check("Debian:12", raw, version, last)
