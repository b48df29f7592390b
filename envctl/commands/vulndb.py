"""vulndb: import OSV data into envctl's cache, and say how old it is."""

from __future__ import annotations

import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

from envctl.errors import ExternalError, InputError
from envctl.output.supply import VulnDbDocument
from envctl.supply import vulndb

DOWNLOAD_TIMEOUT = 300.0


def update(sources: list[str], *, database: Path | None = None) -> VulnDbDocument:
    """Import every source (an OSV all.zip, a folder of records, or an https URL of
    an all.zip) and replace the database only when all of them parsed."""
    if not sources:
        raise InputError(
            "name what to import: envctl vulndb update --from PyPI-all.zip --from Debian-all.zip "
            "(OSV publishes one all.zip per ecosystem)"
        )
    with tempfile.TemporaryDirectory(prefix="envctl-vulndb-") as tmp:
        paths = [_local(source, Path(tmp), i) for i, source in enumerate(sources)]
        db = vulndb.update(paths, database)
    return VulnDbDocument(database=db.info())


def status(*, database: Path | None = None) -> VulnDbDocument:
    return VulnDbDocument(database=vulndb.open_database(database).info())


def _local(source: str, tmp: Path, index: int) -> Path:
    scheme = urllib.parse.urlsplit(source).scheme
    if scheme in ("http", "https"):
        return _download(source, tmp / f"download-{index}.zip")
    path = Path(source)
    if not path.exists():
        raise InputError(f"{source}: no such file or folder")
    return path


def _download(url: str, target: Path) -> Path:
    """The whole file or an error: a partial download is never imported (the zip's
    own directory and CRCs are checked before anything is replaced)."""
    try:
        with (
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as answer,
            target.open("wb") as out,
        ):
            while chunk := answer.read(1 << 20):
                out.write(chunk)
    except OSError as exc:
        raise ExternalError(f"could not download {url}: {exc}; the database is unchanged") from None
    return target
