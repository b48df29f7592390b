"""Strict, bounded YAML reading that remembers where every value came from.

PyYAML's loaders silently keep the last of duplicate keys, expand aliases
without limit and (unless told otherwise) construct arbitrary objects. Here we
only *compose* the node graph with the safe loader and build plain values
ourselves, so that:

- duplicate keys at any level are errors;
- only the core YAML tags are accepted (nothing can execute);
- alias expansion and nesting depth are bounded (billion-laughs fails fast);
- every key path maps to its (line, column) for error messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

# libyaml's composer is ~10x faster than the pure-Python one and yields the same
# nodes (with marks); we never let either construct objects.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_NODES = 100_000

Path = tuple[str | int, ...]


class AtKeyError(ValueError):
    """A model validator's error about one key below it: a check across keys (a gate
    naming a set under data:) runs on the whole model, whose location is the
    document's first line; this carries the key the user must fix."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class Problem:
    """One problem found in a document: where it is and what to do."""

    message: str
    path: Path = ()
    line: int | None = None
    column: int | None = None
    file: str | None = None  # set when the value came from another file (extends)

    def render(self, source: str) -> str:
        where = self.file or source
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        key = f" {format_path(self.path)}:" if self.path else ""
        return f"{where}:{key} {self.message}"


@dataclass
class Document:
    """Plain data (dicts, lists, scalars) plus the position of every path."""

    data: Any
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: dict[Path, str] = field(default_factory=dict)  # path -> file, after extends

    def locate(self, path: Path) -> tuple[int | None, int | None]:
        """Line and column (1-based) of the nearest known ancestor of `path`."""
        known = self._known(path)
        return self.positions[known] if known is not None else (None, None)

    def problem(self, message: str, path: Path) -> Problem:
        known = self._known(path)
        if known is None:
            return Problem(message, path)
        line, col = self.positions[known]
        return Problem(message, path, line, col, self.files.get(known))

    def _known(self, path: Path) -> Path | None:
        for end in range(len(path), -1, -1):
            if path[:end] in self.positions:
                return path[:end]
        return None


def format_path(path: Path) -> str:
    """`("packages", "numpy")` -> `packages.numpy`; odd keys are quoted so that a
    key holding a newline cannot break the one-line error."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        name = part if part.isprintable() and " " not in part else json.dumps(part)
        text += f".{name}" if text else name
    return text


def decode(raw: bytes) -> str:
    """Bytes to text, refusing binary and non-UTF-8 input. A BOM is dropped."""
    if len(raw) > MAX_BYTES:
        raise ValueError(f"file is {len(raw):,} bytes; a spec may be at most {MAX_BYTES:,}")
    if b"\x00" in raw:
        raise ValueError("this is a binary file, not YAML text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 (byte {exc.start}); save the file as UTF-8") from None


def parse(text: str) -> Document:
    """Compose `text` and build plain values. Problems are collected, not raised,
    except when nothing usable could be read (then `data` is None)."""
    doc = Document(data=None)
    try:
        nodes = list(yaml.compose_all(text, Loader=_LOADER))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        doc.problems.append(Problem(f"YAML syntax error: {what}", (), line, col))
        return doc
    except yaml.YAMLError as exc:
        doc.problems.append(Problem(f"YAML error: {exc}"))
        return doc
    except RecursionError:
        doc.problems.append(Problem(f"nesting is too deep (more than {MAX_DEPTH} levels)"))
        return doc
    if len(nodes) > 1:
        doc.problems.append(Problem("more than one YAML document; a spec is one document"))
        return doc
    if not nodes or nodes[0] is None:
        doc.problems.append(Problem("the document is empty; a spec is a mapping of keys"))
        return doc
    builder = _Builder(doc)
    try:
        doc.data = builder.build(nodes[0], ())
    except _Abort as exc:
        doc.data = None
        doc.problems.append(exc.problem)
    return doc


class _Abort(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.visited = 0
        # Only used for its scalar constructors (int, float, bool, timestamp, ...).
        self.loader = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.visited += 1
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        if self.visited > MAX_NODES:
            raise _Abort(
                Problem(
                    f"document expands to more than {MAX_NODES:,} values (alias bomb?)",
                    (),
                    line,
                    col,
                )
            )
        if len(path) > MAX_DEPTH:
            raise _Abort(Problem(f"nesting is deeper than {MAX_DEPTH} levels", path, line, col))
        self.doc.positions.setdefault(path, (line, col))
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            self._check_tag(node, _SEQ_TAG, path)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            self._check_tag(node, _MAP_TAG, path)
            return self._mapping(node, path)
        raise _Abort(Problem("unsupported YAML node", path, line, col))  # pragma: no cover

    def _check_tag(self, node: yaml.Node, allowed: str, path: Path) -> None:
        if node.tag != allowed:
            raise _Abort(self._unsafe(node, path))

    def _unsafe(self, node: yaml.Node, path: Path) -> Problem:
        return Problem(
            f"YAML tag {node.tag!r} is not allowed; specs use plain values only",
            path,
            node.start_mark.line + 1,
            node.start_mark.column + 1,
        )

    def _scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise _Abort(self._unsafe(node, path))
        constructor = self.loader.yaml_constructors[node.tag]
        return constructor(self.loader, node)

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        # YAML merge semantics: explicit keys win over merged ones wherever `<<`
        # stands, so merges are applied after every explicit key is known.
        explicit: dict[Any, Any] = {}
        merges: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append((key_node, value_node))
                continue
            key = self.build(key_node, path)
            if isinstance(key, (dict, list)):
                raise _Abort(
                    Problem(
                        "a mapping key must be a plain value",
                        path,
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                    )
                )
            child = (*path, str(key))
            if key in explicit:
                first = self.doc.positions.get(child, (None, None))[0]
                self.doc.problems.append(
                    Problem(
                        f"duplicate key {key!r} (first defined on line {first}); keep one",
                        child,
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                    )
                )
                continue
            self.doc.positions[child] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            explicit[key] = self.build(value_node, child)
        merged: dict[Any, Any] = {}
        for key_node, value_node in merges:
            self._merge(merged, explicit, key_node, value_node, path)
        # PyYAML's order: merged keys first, then the explicit ones.
        result = {key: explicit.get(key, value) for key, value in merged.items()}
        result.update(explicit)
        return result

    def _merge(
        self,
        merged: dict[Any, Any],
        explicit: dict[Any, Any],
        key_node: yaml.Node,
        value_node: yaml.Node,
        path: Path,
    ) -> None:
        """Add each source's keys to `merged`; an earlier source wins over a later one.
        Positions are kept only for the keys a source actually contributes."""
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for source in sources:
            outer, self.doc.positions = self.doc.positions, {}
            try:
                value = self.build(source, path)
            finally:
                built, self.doc.positions = self.doc.positions, outer
            if not isinstance(value, dict):
                raise _Abort(
                    Problem(
                        "'<<' merges mappings only",
                        path,
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                    )
                )
            added = {str(k) for k in value if k not in merged and k not in explicit}
            for key, item in value.items():
                merged.setdefault(key, item)
            for where, position in built.items():
                if len(where) > len(path) and where[len(path)] in added:
                    self.doc.positions.setdefault(where, position)
