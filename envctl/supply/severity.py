"""How bad a vulnerability is: CVSS vectors scored with the `cvss` package (OSV
holds vectors, not scores), else the database's own word (GHSA's "MODERATE"...).
Ratings are CVSS's qualitative scale; a record with neither is "unknown"."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

Rating = Literal["unknown", "low", "medium", "high", "critical"]
RATINGS: tuple[Rating, ...] = ("unknown", "low", "medium", "high", "critical")
# A threshold names the lowest rating that blocks; "unknown" ranks as shown in the
# gate's `unknown:` setting (default: it blocks like `high`), never silently as none.
_WORDS: dict[str, Rating] = {
    "critical": "critical",
    "high": "high",
    "important": "high",
    "moderate": "medium",
    "medium": "medium",
    "low": "low",
    "negligible": "low",
    "unimportant": "low",
}


def score_vector(kind: str, vector: str) -> float | None:
    """The base score of one OSV severity entry, None when it cannot be scored."""
    import cvss
    from cvss.exceptions import CVSSError

    try:
        if kind == "CVSS_V4":
            return float(cvss.CVSS4(vector).base_score)
        if kind == "CVSS_V3":
            return float(cvss.CVSS3(vector).scores()[0])
        if kind == "CVSS_V2":
            return float(cvss.CVSS2(vector).scores()[0])
    except (CVSSError, ValueError, KeyError):  # a malformed vector scores nothing
        return None
    return None


def rating_of_score(score: float) -> Rating:
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low" if score > 0 else "unknown"


def rate(
    vectors: Iterable[tuple[str, str]], words: Iterable[str | None]
) -> tuple[Rating, float | None]:
    """The highest CVSS score among the vectors, else the highest database word."""
    scores = [s for kind, vector in vectors if (s := score_vector(kind, vector)) is not None]
    if scores:
        best = max(scores)
        return rating_of_score(best), best
    rated = [_WORDS[w.lower()] for w in words if w and w.lower() in _WORDS]
    if rated:
        return max(rated, key=RATINGS.index), None
    return "unknown", None


def at_or_above(rating: Rating, threshold: Rating) -> bool:
    return RATINGS.index(rating) >= RATINGS.index(threshold)
