"""The `invoke` fixture lives in tests/conftest.py; these names stay importable here."""

from __future__ import annotations

from tests.harness import Invoke, Result

__all__ = ["Invoke", "Result"]
