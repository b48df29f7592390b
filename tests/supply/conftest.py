"""An OSV database imported from the records in fixtures/osv (the real schema)."""

from __future__ import annotations

from pathlib import Path

import pytest

from envctl.supply import vulndb

FIXTURES = Path(__file__).parent / "fixtures" / "osv"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "vulndb"
    vulndb.update([FIXTURES], path)
    return path


@pytest.fixture
def db(db_path: Path) -> vulndb.Database:
    return vulndb.open_database(db_path)
