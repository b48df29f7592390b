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
        bodies: bytes, starts: list[str], base: int = 0,
    ) -> None:  # fmt: skip
        self.oids = oids
        self.commits, self.headers, self.stamps = [*commits, ""], [*headers, ""], [*stamps, 0.0]
        # Body `at` is bodies[base + starts[at] : base + starts[at + 1]]; the starts stay
        # text until a body is asked for (a read asks for a few).
        self._bodies, self._starts, self._base = bodies, starts, base

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
        starts = list(map(str, accumulate(map(len, bodies), initial=0)))
        return cls(list(oids), commits, list(headers), stamps, b"".join(bodies), starts)

    @functools.cached_property
    def where(self) -> dict[str, int]:
        """object id -> its position."""
        return dict(zip(self.oids, range(len(self.oids)), strict=True))

    def positions(self, oids: list[str]) -> list[int]:
        """Each object id's position here, -1 for one not here."""
        if oids == self.oids:  # the index keeps the objects in the order of the refs
            return list(range(len(oids)))
        return list(map(self.where.get, oids, repeat(-1)))

    def body(self, at: int) -> bytes:
        """Target type, tagger, <email>, raw date and message of the object at
        `at`, NUL between them, as UTF-8 (empty in an index damaged there)."""
        try:
            start, end = int(self._starts[at]), int(self._starts[at + 1])
        except ValueError:
            return b""
        return self._bodies[self._base + start : self._base + end]

    def raw(self, name: str, at: int) -> RawTag:
        """The tag `name` of the object at position `at`."""
        body = self.body(at).decode("utf-8", "replace").split("\0", 4)
        kind, tagger, email, date, message = [*body, "", "", "", ""][:5]  # short: damaged
        return made(
            RawTag, name=name, object_type="tag", object_id=self.oids[at], target_type=kind,
            commit=self.commits[at], tagger_name=tagger, tagger_email=email.strip("<>"),
            date=git_date(date), message=message, header=self.headers[at],
        )  # fmt: skip

    def merged(self, other: TagObjects) -> TagObjects:
        """These objects and `other`'s (objects not here: a read's new ones)."""
        mine, theirs = self._all_bodies(), other._all_bodies()
        starts = self._starts[:-1] + [str(len(mine) + int(s)) for s in other._starts]
        return TagObjects(
            self.oids + other.oids, self.commits[:-1] + other.commits[:-1],
            self.headers[:-1] + other.headers[:-1], self.stamps[:-1] + other.stamps[:-1],
            mine + theirs, starts,
        )  # fmt: skip

    def _all_bodies(self) -> bytes:
        return self._bodies[self._base : self._base + int(self._starts[-1])]

    def entry(self, at: int, start: int) -> bytes:
        """The index file's columns of the object at `at`, its body at `start`."""
        fields = (self.oids[at], self.commits[at], self.headers[at], repr(self.stamps[at]), start)
        return "".join(f"{field}\0" for field in fields).encode("utf-8")

    def __len__(self) -> int:
        return len(self.oids)


# --- the index file ---------------------------------------------------------------
#
# `envctl-tag-index v2 COLUMNS BODIES\n`, then COLUMNS bytes of columns (per object:
# its id, commit, `tag` header, date in seconds and where its body starts among the
# bodies; each ends in NUL, which no field can hold), then BODIES bytes of bodies
# back to back. Objects are in the order of the refs that point at them, so the
# next read usually finds them where its refs are. A read splits the columns, never
# the bodies.

_MAGIC = b"envctl-tag-index v2 "
_WIDTH = 5


def load_index(path: Path) -> TagObjects | None:
    """The objects the index holds; None when it is absent, damaged or of another
    format version."""
    try:
        data = path.read_bytes()
        start = data.find(b"\n") + 1
        sizes = data[len(_MAGIC) : start - 1].split(b" ")
        if not (start and data.startswith(_MAGIC) and len(sizes) == 2):
            return None
        end = start + int(sizes[0])
        if not (all(size.isdigit() for size in sizes) and end + int(sizes[1]) == len(data)):
            return None
        parts = data[start:end].decode("utf-8").split("\0")
        if len(parts) % _WIDTH != 1 or parts[-1]:
            return None
        oids, commits, headers, stamps, starts = (parts[k:-1:_WIDTH] for k in range(_WIDTH))
        seconds = list(map(float, stamps))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    starts.append(sizes[1].decode())
    return TagObjects(oids, commits, headers, seconds, data, starts, base=end)


def save_index(path: Path, objects: TagObjects, keep: Iterable[int]) -> None:
    """Replace the index atomically with the objects at positions `keep` (those
    the refs point at now, in their order): a reader sees the old file or the new
    one. A git directory envctl may not write to (a read-only clone) only means
    the next read asks git again."""
    kept = list(dict.fromkeys(at for at in keep if at >= 0))
    bodies = list(map(objects.body, kept))
    starts = accumulate(map(len, bodies), initial=0)
    columns = b"".join(map(objects.entry, kept, starts))
    payload = b"".join(bodies)
    partial = path.parent / f"{path.name}.{os.getpid()}.tmp"
    try:
        partial.write_bytes(
            b"%s%d %d\n%s%s" % (_MAGIC, len(columns), len(payload), columns, payload)
        )
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
        if oids == objects.oids:  # every ref where the index keeps its object
            commits, headers, stamps = (
                objects.commits[:-1],
                objects.headers[:-1],
                objects.stamps[:-1],
            )
        else:
            commits = list(map(objects.commits.__getitem__, at))
            headers = list(map(objects.headers.__getitem__, at))
            stamps = list(map(objects.stamps.__getitem__, at))
        for i in unknown(at):
            commits[i] = oids[i] if kinds[i] == "commit" else ""

        def make(i: int) -> RawTag:
            if at[i] < 0:
                return lightweight(names[i], kinds[i], oids[i])
            return objects.raw(names[i], at[i])

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
