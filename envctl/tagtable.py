"""The tags of a repository as one read found them, and the tag index that keeps
each tag object's fields between reads. No git here (envctl.vcs runs it): this
module turns what git printed, or what the index file holds, into values.

A read of the registry looks at a few fields of every tag (its name, type,
commit, `tag` header and date) and at the message of only a few: so the fields
are kept in columns, one list per field, and a tag's `RawTag` (with its date as
a datetime and its message decoded) is made when first asked for.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import accumulate, repeat
from pathlib import Path
from typing import overload

from envctl.frozen import made


@dataclass(frozen=True)
class RawTag:
    """One ref under refs/tags as git stores it. `object_type` is "tag" for an
    annotated tag and "commit" for a lightweight one; `commit` is the commit it
    points at ("" when it points at something else); tagger fields and `message`
    are empty for lightweight tags. `header` is the name the tag object itself
    carries (its `tag` header, inside what a signature covers); "" for a
    lightweight tag. A tag object copied under another ref name keeps it."""

    name: str
    object_type: str
    object_id: str
    target_type: str
    commit: str
    tagger_name: str
    tagger_email: str
    date: datetime | None
    message: str
    header: str


def lightweight(name: str, kind: str, oid: str) -> RawTag:
    """A ref that points at something other than a tag object."""
    return RawTag(name, kind, oid, kind, oid if kind == "commit" else "", "", "", None, "", "")


def git_date(raw: str) -> datetime | None:
    """`1700000000 +0130` -> an aware datetime in the tagger's offset."""
    seconds, _, zone = raw.partition(" ")
    tz = _zone(zone)
    if tz is None or not seconds.isdigit():
        return None
    try:
        return datetime.fromtimestamp(int(seconds), tz)
    except (OverflowError, ValueError, OSError):
        return None


def stamp(date: datetime | None) -> float:
    """What events are ordered by when they carry no #N: seconds, 0 without a date."""
    return date.timestamp() if date is not None else 0.0


@functools.lru_cache(maxsize=256)  # a ledger's tags share a few offsets
def _zone(zone: str) -> timezone | None:
    """`+0130` -> its timezone; None when it is not one."""
    if not (len(zone) == 5 and zone[0] in "+-" and zone[1:].isdigit()):
        return None
    offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:]))
    try:
        return timezone(-offset if zone[0] == "-" else offset)
    except ValueError:  # 24 hours or more
        return None


# --- tag objects: what the index keeps ------------------------------------------


class TagObjects:
    """Annotated tag objects, one entry per object id. What every read looks at
    (`oids`, `commits`, `headers`, `stamps`) is kept in columns; the rest of
    each object (target type, tagger, email, date, message: its "body") as
    UTF-8 in one buffer, split and decoded when the object's tag is made. The
    columns end with an empty entry, which position -1 (no object) reads."""

    def __init__(
        self, oids: list[str], commits: list[str], headers: list[str], stamps: list[float],
        buffer: bytes, offsets: list[int],
    ) -> None:  # fmt: skip
        self.oids = oids
        self.where = dict(zip(oids, range(len(oids)), strict=True))
        self.commits, self.headers, self.stamps = [*commits, ""], [*headers, ""], [*stamps, 0.0]
        self._buffer, self._offsets = buffer, offsets  # body `at`: offsets[at]:offsets[at + 1]

    @classmethod
    def from_fields(cls, rows: Iterable[Sequence[str]]) -> TagObjects:
        """From git's fields of each object: type ("tag"), id, target type, target,
        tagger, <email>, raw date, `tag` header, message (a repeated id once)."""
        unique = {row[1]: row for row in rows if row[0] == "tag"}
        columns = list(zip(*unique.values(), strict=True)) or [()] * 9
        _, oids, kinds, targets, taggers, emails, dates, headers, messages = columns
        commits = [t if k == "commit" else "" for k, t in zip(kinds, targets, strict=True)]
        stamps = [stamp(git_date(date)) for date in dates]
        fields = zip(kinds, taggers, emails, dates, messages, strict=True)
        bodies = ["\0".join(body).encode("utf-8") for body in fields]
        offsets = [0, *accumulate(map(len, bodies))]
        return cls(list(oids), commits, list(headers), stamps, b"".join(bodies), offsets)

    def positions(self, oids: Iterable[str]) -> list[int]:
        """Each object id's position here, -1 for one not here."""
        return list(map(self.where.get, oids, repeat(-1)))

    def body(self, at: int) -> bytes:
        """Target type, tagger, <email>, raw date and message of the object at
        `at`, NUL between them, as UTF-8."""
        return self._buffer[self._offsets[at] : self._offsets[at + 1]]

    def raw(self, name: str, at: int) -> RawTag:
        """The tag `name` of the object at position `at`."""
        body = self.body(at).decode("utf-8", "replace").split("\0", 4)
        kind, tagger, email, date, message = [*body, "", "", "", ""][:5]  # never short but damaged
        return made(
            RawTag, name=name, object_type="tag", object_id=self.oids[at], target_type=kind,
            commit=self.commits[at], tagger_name=tagger, tagger_email=email.strip("<>"),
            date=git_date(date), message=message, header=self.headers[at],
        )  # fmt: skip

    def merged(self, other: TagObjects) -> TagObjects:
        """These objects and `other`'s (objects not here: a read's new ones)."""
        end = self._offsets[-1]  # the buffer's length: each constructor holds it so
        return TagObjects(
            self.oids + other.oids, self.commits[:-1] + other.commits[:-1],
            self.headers[:-1] + other.headers[:-1], self.stamps[:-1] + other.stamps[:-1],
            self._buffer + other._buffer,
            self._offsets[:-1] + [end + offset for offset in other._offsets],
        )  # fmt: skip

    def entry(self, at: int) -> bytes:
        """The index file's columns of the object at `at` (its body apart)."""
        fields = (
            self.oids[at], self.commits[at], self.headers[at], repr(self.stamps[at]),
            str(self._offsets[at + 1] - self._offsets[at]),
        )  # fmt: skip
        return "".join(f"{field}\0" for field in fields).encode("utf-8")

    def __len__(self) -> int:
        return len(self.oids)


# --- the index file ---------------------------------------------------------------
#
# `envctl-tag-index v2 SIZE\n`, then SIZE bytes of columns (per object: its id,
# commit, `tag` header, date in seconds and body length in bytes; each ends in NUL,
# which no field can hold), then the bodies back to back. A read splits the
# columns, never the bodies.

_MAGIC = b"envctl-tag-index v2 "
_WIDTH = 5


def load_index(path: Path) -> TagObjects | None:
    """The objects the index holds; None when it is absent, damaged or of another
    format version."""
    try:
        data = path.read_bytes()
        start = data.find(b"\n") + 1
        line = data[: start - 1]
        if not (start and line.startswith(_MAGIC) and line[len(_MAGIC) :].isdigit()):
            return None
        end = start + int(line[len(_MAGIC) :])
        parts = data[start:end].decode("utf-8").split("\0")
        if len(parts) % _WIDTH != 1 or parts[-1]:
            return None
        oids, commits, headers, stamps, sizes = (parts[k:-1:_WIDTH] for k in range(_WIDTH))
        offsets = list(accumulate(map(int, sizes), initial=end))
        seconds = list(map(float, stamps))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if offsets[-1] != len(data) or any(map(int.__lt__, offsets[1:], offsets)):
        return None
    return TagObjects(oids, commits, headers, seconds, data, offsets)


def save_index(path: Path, objects: TagObjects, keep: Iterable[int]) -> None:
    """Replace the index atomically with the objects at positions `keep` (those
    the refs point at now): a reader sees the old file or the new one. A git
    directory envctl may not write to (a read-only clone) only means the next
    read asks git again."""
    kept = sorted(set(keep) - {-1})
    columns = b"".join(map(objects.entry, kept))
    bodies = b"".join(map(objects.body, kept))
    partial = path.parent / f"{path.name}.{os.getpid()}.tmp"
    try:
        partial.write_bytes(b"%s%d\n%s%s" % (_MAGIC, len(columns), columns, bodies))
        partial.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)


# --- the tags -----------------------------------------------------------------------


class TagTable(Sequence[RawTag]):
    """Every tag as one read found them: what the registry reads of each, in
    columns (`names`, `object_types`, `commits`, `headers`, `stamps`: the date
    in seconds), and each tag's RawTag, made when first asked for."""

    def __init__(
        self, names: list[str], kinds: list[str], commits: list[str], headers: list[str],
        stamps: list[float], make: Callable[[int], RawTag],
    ) -> None:  # fmt: skip
        self.names, self.object_types, self.commits = names, kinds, commits
        self.headers, self.stamps = headers, stamps
        self._make = make
        self._made: list[RawTag | None] = [None] * len(names)

    @classmethod
    def listed(
        cls, names: list[str], kinds: list[str], oids: list[str], objects: TagObjects,
        at: list[int],
    ) -> TagTable:  # fmt: skip
        """The refs as listed (name, object type, object id), their objects' fields
        from `objects`, at positions `at` there (`objects.positions(oids)`; -1 for
        a ref that points at no tag object: every annotated tag's must be there)."""
        commits = list(map(objects.commits.__getitem__, at))
        for i in unknown(at):
            commits[i] = oids[i] if kinds[i] == "commit" else ""

        def make(i: int) -> RawTag:
            if at[i] < 0:
                return lightweight(names[i], kinds[i], oids[i])
            return objects.raw(names[i], at[i])

        headers = list(map(objects.headers.__getitem__, at))
        stamps = list(map(objects.stamps.__getitem__, at))
        return cls(names, kinds, commits, headers, stamps, make)

    @classmethod
    def of(cls, tags: Iterable[RawTag]) -> TagTable:
        """The table of tags already made (tests, and callers that read them otherwise)."""
        given = list(tags)
        table = cls(
            [t.name for t in given], [t.object_type for t in given], [t.commit for t in given],
            [t.header for t in given], [stamp(t.date) for t in given], given.__getitem__,
        )  # fmt: skip
        table._made = list(given)
        return table

    @overload
    def __getitem__(self, index: int) -> RawTag: ...
    @overload
    def __getitem__(self, index: slice) -> list[RawTag]: ...
    def __getitem__(self, index: int | slice) -> RawTag | list[RawTag]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        found = self._made[index]
        if found is None:
            found = self._made[index] = self._make(index)
        return found

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[RawTag]:
        return map(self.__getitem__, range(len(self.names)))


def unknown(at: list[int]) -> list[int]:
    """The positions whose object is not among the tag objects (-1 in `at`)."""
    return [i for i, a in enumerate(at) if a < 0] if -1 in at else []
