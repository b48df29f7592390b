"""The local OSV database: imported once (`envctl vulndb update`), read offline.

Sources are what OSV publishes: one `all.zip` per ecosystem (PyPI, Debian:12, ...)
or a folder of OSV JSON records. An import checks every record parses before it
replaces anything (a corrupt or partial download keeps the previous copy), copies
the sources into the cache as zips and writes `index.json`: for each package, the
records that name it, so a gate parses only the records of the packages an image
holds. The database never touches the network at gate time.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from envctl.errors import InputError
from envctl.output.supply import DatabaseInfo
from envctl.supply.osv import Advisory, RecordError, ecosystem_base, normalise, parse_advisory

INDEX = "index.json"
INDEX_FORMAT = 1


class VulnDbError(InputError):
    """The database is missing, unreadable or corrupt: nothing was checked (exit 3)."""


def default_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "envctl" / "vulndb"


@dataclass
class Database:
    path: Path
    created: str  # when it was imported (UTC, ISO 8601)
    newest_modified: str | None  # the newest record's `modified`: how fresh the data is
    records: int
    # (ecosystem base, normalised name) -> [(zip file, member)]
    entries: Mapping[tuple[str, str], list[tuple[str, str]]]
    _cache: dict[tuple[str, str], Advisory] = field(default_factory=dict)
    # One open archive per source: opening a zip reads its whole directory, which
    # for OSV's PyPI dump is tens of thousands of entries.
    _archives: dict[str, zipfile.ZipFile] = field(default_factory=dict)

    def advisories_for(self, ecosystem: str, name: str) -> list[Advisory]:
        key = (ecosystem_base(ecosystem), normalise(ecosystem, name))
        out = []
        for source, member in self.entries.get(key, ()):
            found = self._cache.get((source, member))
            if found is None:
                found = _parse_member(self._archive(source), member)
                self._cache[(source, member)] = found
            out.append(found)
        return out

    def _archive(self, source: str) -> zipfile.ZipFile:
        archive = self._archives.get(source)
        if archive is None:
            try:
                archive = zipfile.ZipFile(self.path / source)
            except (OSError, zipfile.BadZipFile):
                raise _damaged(self.path, source) from None
            self._archives[source] = archive
        return archive

    def info(self) -> DatabaseInfo:
        return DatabaseInfo(
            path=str(self.path),
            imported=self.created,
            newest_record=self.newest_modified,
            records=self.records,
            age_days=round(self.age_days(), 2),
        )

    def age_days(self, now: datetime | None = None) -> float:
        created = datetime.fromisoformat(self.created)
        return ((now or datetime.now(timezone.utc)) - created).total_seconds() / 86400


def open_database(path: Path | None = None) -> Database:
    """The imported database at `path` (default: the cache), or VulnDbError."""
    where = path or default_path()
    index = where / INDEX
    if not index.is_file():
        raise VulnDbError(
            f"no vulnerability database at {where}; import one: envctl vulndb update "
            "--from PyPI-all.zip (OSV's all.zip per ecosystem, or a folder of records)"
        )
    try:
        data = json.loads(index.read_text())
        entries = {
            tuple(k.split("/", 1)): [tuple(e) for e in v] for k, v in data["packages"].items()
        }
        return Database(
            path=where,
            created=str(data["created"]),
            newest_modified=data.get("newest_modified"),
            records=int(data["records"]),
            entries=entries,
        )
    except (OSError, ValueError, KeyError, TypeError):
        raise VulnDbError(
            f"the vulnerability database index {index} is unreadable; "
            "run envctl vulndb update again"
        ) from None


def update(sources: list[Path], dest: Path | None = None) -> Database:
    """Import OSV sources (all.zip files, folders of records, single records) into
    `dest`, replacing the database there only when every record parsed."""
    where = dest or default_path()
    where.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".vulndb-", dir=where.parent))
    try:
        packages: dict[str, list[list[str]]] = {}
        newest: str | None = None
        count = 0
        for i, source in enumerate(sources):
            name = f"source-{i}.zip"
            _copy_as_zip(source, staging / name)
            for member, advisory in _records(staging / name, shown=str(source)):
                count += 1
                if advisory.modified and (newest is None or advisory.modified > newest):
                    newest = advisory.modified
                for aff in advisory.affected:
                    key = f"{ecosystem_base(aff.ecosystem)}/{aff.name}"
                    entry = [name, member]
                    if entry not in packages.setdefault(key, []):
                        packages[key].append(entry)
        if count == 0:
            raise VulnDbError(f"no OSV records in {', '.join(map(str, sources))}; nothing imported")
        index = {
            "format": INDEX_FORMAT,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "newest_modified": newest,
            "records": count,
            "sources": [str(s) for s in sources],
            "packages": packages,
        }
        (staging / INDEX).write_text(json.dumps(index, sort_keys=True))
        _replace(staging, where)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return open_database(where)


def _replace(staging: Path, where: Path) -> None:
    """Swap the new database in; the old one stays until the swap is done."""
    old = where.with_name(where.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if where.exists():
        where.rename(old)
    staging.rename(where)
    shutil.rmtree(old, ignore_errors=True)


def _copy_as_zip(source: Path, target: Path) -> None:
    if source.is_dir():
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
            for path in sorted(source.rglob("*.json")):
                if path.is_symlink():
                    continue  # a record is a file, never a link to elsewhere
                out.write(path, path.relative_to(source).as_posix())
        return
    if source.suffix == ".json":
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
            out.write(source, source.name)
        return
    if not zipfile.is_zipfile(source):
        if source.suffix == ".zip":
            raise VulnDbError(f"{source} is not a complete zip file; nothing imported")
        raise VulnDbError(f"{source} is neither an OSV all.zip, a folder nor a .json record")
    shutil.copyfile(source, target)


def _records(archive: Path, *, shown: str) -> Iterator[tuple[str, Advisory]]:
    try:
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise VulnDbError(f"{shown} is corrupt ({bad} fails its CRC); nothing imported")
            for member in zf.namelist():
                if member.endswith(".json"):
                    yield member, _parse_bytes(zf.read(member), f"{shown}:{member}")
    except zipfile.BadZipFile:
        raise VulnDbError(f"{shown} is not a complete zip file; nothing imported") from None


def _parse_member(archive: zipfile.ZipFile, member: str) -> Advisory:
    try:
        raw = archive.read(member)
    except (OSError, KeyError, zipfile.BadZipFile):
        raise _damaged(Path(str(archive.filename)).parent, member) from None
    return _parse_bytes(raw, f"{archive.filename}:{member}")


def _damaged(where: Path, what: str) -> VulnDbError:
    return VulnDbError(
        f"the vulnerability database at {where} is damaged ({what} unreadable); "
        "run envctl vulndb update again"
    )


def _parse_bytes(raw: bytes, shown: str) -> Advisory:
    try:
        data: Any = json.loads(raw)
        return parse_advisory(data)
    except (ValueError, RecordError) as exc:
        raise VulnDbError(f"{shown}: not an OSV record ({exc}); nothing imported") from None
