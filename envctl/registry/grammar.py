"""Registry tag names. The grammar is GTO's (gto/constants.py, gto 1.10.1), copied
verbatim so that gto, gto-action and envctl read the same registry:

    NAME@vSEMVER[#N]      register a version        NAME@vSEMVER![#N]  deregister it
    NAME#STAGE[#N]        assign a stage            NAME#STAGE![#N]    unassign it
    NAME@deprecated[#N]   deprecate the model       (dir:name is written dir=name)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum
from typing import Any, NamedTuple

from envctl.errors import InputError

# --- grammar (verbatim from gto/constants.py) -------------------------------------

_DIRNAME = r"[a-zA-Z0-9-_./]+"
_NAME = r"[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?"
_SEMVER = (
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
_FULLNAME_IN_TAG = rf"(?:{_DIRNAME}=)?{_NAME}"
_TAG_RE = re.compile(
    rf"(?P<artifact>{_FULLNAME_IN_TAG})"
    rf"(((#(?P<stage>{_NAME})|@(?P<version>v{_SEMVER}))(?P<cancel>!?))"
    r"|@((?P<deprecated>deprecated)|(?P<created>created)))"
    r"(#(?P<counter>[0-9]+))?"
)
_NAME_RE = re.compile(_NAME)
# `_NAME` again, without backtracking (it reads every tag): allowed characters taken
# possessively, then the last one must be a letter or digit. Groups: model, stage, N.
_NAME_AT_ONCE = r"[a-zA-Z0-9][a-zA-Z0-9/_-]*+(?<=[a-zA-Z0-9])"
_COUNTED_ASSIGNMENT_RE = re.compile(rf"({_NAME_AT_ONCE})#({_NAME_AT_ONCE})#([0-9]++)")
_FULLNAME_RE = re.compile(rf"(?:{_DIRNAME}:)?{_NAME}")
_VERSION_RE = re.compile(rf"v{_SEMVER}")
# Tags that are probably meant for the registry but do not parse: worth a warning.
# `pkg@1.2.3` (JavaScript monorepos) is deliberately not included.
_LOOKS_LIKE_OURS = re.compile(r"[^#@]+(?:#|@v\d|@deprecated|@created)|envctl/")


class Action(Enum):
    REGISTER = "register"
    DEREGISTER = "deregister"
    ASSIGN = "assign"
    UNASSIGN = "unassign"
    DEPRECATE = "deprecate"


class TagName(NamedTuple):
    """A parsed GTO tag name. `model` uses GTO's name form (`dir:name`). A named
    tuple: every read parses every tag name, and a frozen dataclass costs 7x as
    much to make."""

    model: str
    action: Action
    version: str | None = None
    stage: str | None = None
    counter: int | None = None


def parse_tag_name(tag: str) -> TagName | None:
    """The registry event a tag name stands for, or None if GTO would not read it."""
    fast = _counted_assignment(tag)
    return fast if fast is not None else _parse_by_grammar(tag)


def parse_tag_names(tags: Iterable[str]) -> list[TagName | None]:
    """`parse_tag_name` of each tag, in one call: every read parses every tag's
    name, and a call per name (two, for the common form) was a fifth of it."""
    found: list[TagName | None] = []
    fast, make, assign = _COUNTED_ASSIGNMENT_RE.fullmatch, _new_name, _ASSIGN
    for tag in tags:
        match = fast(tag)
        if match is None:
            found.append(_parse_by_grammar(tag))
        else:
            model, stage, counter = match.groups()
            found.append(make(TagName, (model, assign, None, stage, int(counter))))
    return found


def _parse_by_grammar(tag: str) -> TagName | None:
    match = _TAG_RE.fullmatch(tag)
    if match is None or match["created"]:
        return None
    # One call for the groups: every read parses every tag name.
    artifact, version, stage, cancel, counter = match.group(
        "artifact", "version", "stage", "cancel", "counter"
    )
    if version:
        action = Action.DEREGISTER if cancel else Action.REGISTER
    elif stage:
        action = Action.UNASSIGN if cancel else Action.ASSIGN
    else:
        action = Action.DEPRECATE
    return TagName(
        artifact.replace("=", ":"), action, version, stage,
        int(counter) if counter is not None else None,
    )  # fmt: skip


def _counted_assignment(tag: str) -> TagName | None:
    """`NAME#STAGE#N`, the tag of almost every event, read by one small pattern
    (every read parses every tag name, and GTO's whole grammar costs a third more);
    None for any other form, which the grammar then reads. A name with neither `=`
    nor `@` nor `!` can be read by `_TAG_RE` only this one way."""
    match = _COUNTED_ASSIGNMENT_RE.fullmatch(tag)
    if match is None:
        return None
    model, stage, counter = match.groups()
    return _new_name(TagName, (model, _ASSIGN, None, stage, int(counter)))


# A named tuple's own __new__ is a Python function that checks its arguments; the
# tuple's makes the same value for a third of the cost (every read parses every name).
_new_name = tuple.__new__
_ASSIGN = Action.ASSIGN  # a member read from its Enum class costs a lookup each time


def malformed_reason(tag: str) -> str | None:
    """For a tag `parse_tag_name` rejected: why it deserves a warning, or None when it
    is not meant for the registry at all."""
    if not _LOOKS_LIKE_OURS.match(tag):
        return None
    if _TAG_RE.fullmatch(tag):  # only `@created` matches and still means nothing
        return "GTO's unfinished `@created` form; ignored (it makes gto itself fail)"
    return "looks like a registry tag but does not follow NAME@vX.Y.Z or NAME#STAGE#N; ignored"


def is_valid_model_name(name: str) -> bool:
    return _FULLNAME_RE.fullmatch(name) is not None


def is_valid_stage_name(name: str) -> bool:
    return _NAME_RE.fullmatch(name) is not None


def is_valid_version(version: str) -> bool:
    """`v` + SemVer 2.0, as GTO requires (`1.0.0` and `v1.0` are not versions)."""
    return _VERSION_RE.fullmatch(version) is not None


def require_version(version: str) -> str:
    """`version` when it is `v` + SemVer 2.0; InputError otherwise. Every command that
    takes a model version checks it here, so all of them accept and refuse alike."""
    if not is_valid_version(version):
        raise InputError(
            f"{version!r} is not a version like v1.2.3 (GTO's NAME@vMAJOR.MINOR.PATCH)"
        )
    return version


def split_version_ref(operand: str) -> tuple[str, str | None]:
    """`churn@v1.2.0` -> ("churn", "v1.2.0"); `churn` -> ("churn", None)."""
    name, at, version = operand.partition("@")
    return name, (require_version(version) if at else None)


def format_tag_name(name: TagName) -> str:
    """The tag for an event; raises InputError if GTO could not read it back."""
    base = name.model.replace(":", "=")
    cancel = "!" if name.action in (Action.DEREGISTER, Action.UNASSIGN) else ""
    if name.action is Action.DEPRECATE:
        tag = f"{base}@deprecated"
    elif name.action in (Action.REGISTER, Action.DEREGISTER):
        tag = f"{base}@{name.version}{cancel}"
    else:
        tag = f"{base}#{name.stage}{cancel}"
    if name.counter is not None:
        tag = f"{tag}#{name.counter}"
    if parse_tag_name(tag) != name:
        raise InputError(
            f"cannot name a registry tag for {name.model!r} {name.version or name.stage or ''}; "
            "names are letters, digits, '-', '_', '/' and versions are vMAJOR.MINOR.PATCH"
        )
    return tag


def assignment_tag(model: str, stage: str, counter: int) -> str:
    return format_tag_name(TagName(model, Action.ASSIGN, stage=stage, counter=counter))


def registration_tag(model: str, version: str) -> str:
    return format_tag_name(TagName(model, Action.REGISTER, version=version))


def semver_key(version: str) -> tuple[Any, ...]:
    """SemVer 2.0 precedence for a `vX.Y.Z[-pre][+build]` string; build breaks ties
    only so that sorting is deterministic."""
    core, _, build = version.removeprefix("v").partition("+")
    release, _, pre = core.partition("-")
    numbers = tuple(int(part) for part in release.split("."))
    if not pre:
        return (*numbers, 1, (), build)
    ids = tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in pre.split("."))
    return (*numbers, 0, ids, build)
