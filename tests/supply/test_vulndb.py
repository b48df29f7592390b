"""Importing OSV data: checked before it replaces anything; missing or damaged is exit 3."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from envctl.supply import vulndb
from tests.supply.conftest import FIXTURES


def test_update_from_a_folder_indexes_every_package(db: vulndb.Database) -> None:
    assert db.records == 7
    assert db.newest_modified == "2024-05-01T00:00:00Z"
    assert [a.id for a in db.advisories_for("PyPI", "Requests")] != []
    assert db.advisories_for("PyPI", "numpy") == []


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_update_from_an_all_zip(tmp_path: Path) -> None:
    members = {p.name: p.read_bytes() for p in FIXTURES.glob("*.json")}
    db = vulndb.update([_zip(tmp_path / "all.zip", members)], tmp_path / "db")
    assert db.records == len(members)


def test_update_refuses_a_truncated_download_and_keeps_the_previous_database(
    tmp_path: Path, db_path: Path
) -> None:
    members = {p.name: p.read_bytes() for p in FIXTURES.glob("*.json")}
    whole = _zip(tmp_path / "all.zip", members).read_bytes()
    cut = tmp_path / "partial.zip"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(vulndb.VulnDbError, match="not a complete zip file; nothing imported"):
        vulndb.update([cut], db_path)
    assert vulndb.open_database(db_path).records == 7


def test_update_refuses_a_record_that_is_not_osv(tmp_path: Path, db_path: Path) -> None:
    bad = _zip(tmp_path / "bad.zip", {"X.json": json.dumps({"no": "id"}).encode()})
    with pytest.raises(vulndb.VulnDbError, match=r"bad\.zip:X\.json: not an OSV record"):
        vulndb.update([bad], db_path)
    assert vulndb.open_database(db_path).records == 7


def test_update_from_a_folder_refuses_a_record_without_modified_and_keeps_the_database(
    tmp_path: Path, db_path: Path
) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "X.json").write_text(json.dumps({"id": "X"}))
    with pytest.raises(vulndb.VulnDbError, match=r"X\.json: not an OSV record \(X: `modified`"):
        vulndb.update([folder], db_path)
    assert vulndb.open_database(db_path).records == 7


def test_open_database_missing_says_how_to_import(tmp_path: Path) -> None:
    with pytest.raises(vulndb.VulnDbError, match="envctl vulndb update --from") as info:
        vulndb.open_database(tmp_path / "none")
    assert info.value.exit_code == 3
