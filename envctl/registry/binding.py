"""Whether a tag is read under the name it was written (and signed) for: the tag
object's own `tag` header, and the model, stage, N and version (an approval's
model, version, stage and approver) its record names, must be the ref's. A
signature covers the tag object and the record, so a signed tag copied under
another name is caught here (`name-mismatch`), never counted. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from envctl.registry.approvals import ApprovalTag, approver_slug
from envctl.registry.grammar import Action, parse_tag_name
from envctl.registry.records import parse_record, record_email
from envctl.registry.state import StageEvent
from envctl.registry.violation import Violation

if TYPE_CHECKING:
    from envctl.vcs import RawTag

# A record written before records named their tag: flagged, read as before outside
# signed stages, never counted in one (its signature does not cover its name).
UNBOUND = "unbound-record"


def event_binding(
    event: StageEvent, header: str, record: Mapping[str, Any] | None
) -> list[Violation]:
    """Does what was written (and signed) name the ref it is read under? The tag
    object's own name, and the model, stage, N and version its record names."""
    tag, model = event.tag, event.model
    if header != tag:
        message = f"the tag object is named {header or '(nothing)'}: a copy read under another name"
        return [Violation(tag, "name-mismatch", model, message)]
    if record is None:
        return []
    expected: dict[str, object] = {"model": event.model, "stage": event.stage, "n": event.counter}
    if event.version is not None:  # else unknown-version says it
        expected["version"] = event.version
    wrong = [f"{k} {record[k]!r}" for k, v in expected.items() if k in record and record[k] != v]
    if wrong:
        message = f"the record names {', '.join(wrong)}, not this tag's"
        return [Violation(tag, "name-mismatch", model, message)]
    missing = [k for k in expected if k not in record]
    if missing:
        message = f"the record does not name its {', '.join(missing)} (an older record)"
        return [Violation(tag, UNBOUND, model, message)]
    return []


def approval_binding(raw: RawTag, parsed: ApprovalTag) -> list[Violation]:
    """The approval's tag object and record name this model, version, stage and
    approver (the record's `who`)."""
    if raw.header != raw.name:
        message = (
            f"the tag object is named {raw.header or '(nothing)'}: a copy read under another name"
        )
        return [Violation(raw.name, "name-mismatch", parsed.model, message)]
    data = parse_record(raw.message)
    if data is None:
        return []
    expected = {"model": parsed.model, "version": parsed.version, "stage": parsed.stage}
    wrong = [f"{k} {data.get(k)!r}" for k, v in expected.items() if data.get(k) != v]
    email = record_email(data)
    if email is not None and approver_slug(email) != parsed.slug:
        wrong.append(f"approver {email}")
    if not wrong:
        return []
    message = f"the record names {', '.join(wrong)}, not this tag's"
    return [Violation(raw.name, "name-mismatch", parsed.model, message)]


def copied_or_lightweight(raws: list[RawTag]) -> list[Violation]:
    """Version and deprecation tags whose tag object carries another name, and
    registry tags that are not annotated (the registry ignores both): named, so
    that no copy goes unseen."""
    problems = []
    for raw in raws:
        name = parse_tag_name(raw.name)
        if name is not None and raw.object_type != "tag":
            message = "a lightweight tag: not an event, a version or a record; ignored"
            problems.append(Violation(raw.name, "lightweight", name.model, message))
            continue
        if name is None or name.action in (Action.ASSIGN, Action.UNASSIGN):
            continue
        if raw.header != raw.name:
            message = f"the tag object is named {raw.header or '(nothing)'}: a copy, ignored"
            problems.append(Violation(raw.name, "name-mismatch", name.model, message))
    return problems
