"""promote: gated, recorded stage assignments (the flow is envctl.promotion.flow,
which `advance` runs stage after stage too)."""

from __future__ import annotations

from envctl.promotion.flow import promote

__all__ = ["promote"]
