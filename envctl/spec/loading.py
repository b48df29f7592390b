"""Finding the project, reading spec files, resolving `extends` and `ENV@REV`.

An environment operand is one of:
- a name from the project (`prod`), looked up as `<environments>/<name>.yaml`;
- a spec file path (`path/to/prod.yaml`), inside or outside a project;
- either of those at a git revision: `prod@HEAD~3`, `prod@v6` (the commit where
  the spec's `version:` became 6).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from envctl import paths
from envctl.errors import InputError, SpecError, UnknownNameError
from envctl.spec import yamldoc
from envctl.spec.model import Spec
from envctl.spec.project_file import CONFIG_FILE, ProjectConfig
from envctl.spec.validation import raise_problems, validate
from envctl.spec.yamldoc import Document, Problem

Position = tuple[str, int, int]  # file, line, column
MAX_EXTENDS = 10


@dataclass(frozen=True)
class Environment:
    """A resolved spec plus where each of its values came from."""

    spec: Spec
    source: str  # display path of the file (with @rev when from git)
    path: Path | None  # the file on disk, None when read from git
    rev: str | None = None
    positions: dict[yamldoc.Path, Position] = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @cached_property
    def fingerprint(self) -> str:
        return self.spec.fingerprint()

    @property
    def label(self) -> str:
        return f"{self.spec.name}@{self.rev}" if self.rev else self.spec.name

    def locate(self, path: yamldoc.Path) -> Position | None:
        for end in range(len(path), -1, -1):
            pos = self.positions.get(path[:end])
            if pos is not None:
                return pos
        return None


@dataclass(frozen=True)
class Project:
    root: Path
    config: ProjectConfig
    config_path: Path | None

    @property
    def env_dir(self) -> Path:
        return self.root / self.config.environments

    def spec_path(self, name: str) -> Path:
        return self.env_dir / f"{name}.yaml"

    def env_names(self) -> list[str]:
        """Stage environments in stage order, then any other spec files by name.
        Files whose name starts with `_` are partials, used only through `extends`."""
        found = {p.stem for p in self.env_dir.glob("*.yaml") if not p.stem.startswith("_")}
        found |= {p.stem for p in self.env_dir.glob("*.yml") if not p.stem.startswith("_")}
        staged = [s for s in self.config.stages if s in found or self.spec_path(s).exists()]
        return staged + sorted(found - set(staged))

    def relative(self, path: Path) -> str:
        return display_path(path)


def display_path(path: Path) -> str:
    """Relative to the working directory when below it, else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


def find_project(start: Path | None = None) -> Project | None:
    """The nearest directory at or above `start` holding envctl.yaml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        config_path = folder / CONFIG_FILE
        if config_path.is_file():
            return Project(folder, load_config(config_path), config_path)
    return None


def require_project(start: Path | None = None) -> Project:
    project = find_project(start)
    if project is None:
        raise InputError(
            f"no {CONFIG_FILE} found here or in any parent folder; "
            "run `envctl init`, or pass spec file paths"
        )
    return project


def load_config(path: Path) -> ProjectConfig:
    source = display_path(path)
    # envctl.yaml linked to a host file would have its lines quoted in errors.
    raw = paths.inside(path, path.parent, what="project file").read_bytes()
    return validate(ProjectConfig, read_document(raw, source), source)


def read_document(raw: bytes, source: str) -> Document:
    try:
        text = yamldoc.decode(raw)
    except ValueError as exc:
        raise_problems([Problem(str(exc))], source)
    return yamldoc.parse(text)


# ---- operands ---------------------------------------------------------------

_VERSION_REF = re.compile(r"^v([0-9]+)$")


def looks_like_path(operand: str) -> bool:
    return operand.endswith((".yaml", ".yml")) or "/" in operand or operand.startswith(".")


def load_environment(operand: str, project: Project | None = None) -> Environment:
    """Resolve an operand (name, path, either with @REV or @vN) to an Environment."""
    base, at, rev = operand.partition("@")
    if at and not rev:
        raise UnknownNameError(f"{operand!r}: give a revision after '@' (prod@HEAD~1, prod@v3)")
    rev_opt = rev or None
    if looks_like_path(base):
        path = Path(base)
        if rev_opt is None and not path.is_file():
            raise UnknownNameError(f"spec file {base} does not exist")
        _refuse_link_out(path, _link_boundary(path, project))
        if rev_opt is None:
            return _load_from_disk(path.resolve(), project)
        return _load_at_rev(path.resolve(), rev_opt, project)
    if project is None:
        project = require_project()
    path = project.spec_path(base)
    if not path.is_file() and rev_opt is None:
        raise UnknownNameError(_unknown_env_message(base, project))
    _refuse_link_out(path, project.root)
    if rev_opt is None:
        return _load_from_disk(path, project)
    return _load_at_rev(path, rev_opt, project)


def _link_boundary(path: Path, project: Project | None) -> Path:
    """Where a spec file given by path may point: the project it lies in, else its
    own folder (the same bound as `extends`)."""
    folder = path.absolute().parent.resolve()
    if project is None:
        return folder
    root = project.root.resolve()
    link = Path(os.path.normpath(path.absolute()))
    return root if link.is_relative_to(root) or folder.is_relative_to(root) else folder


def _refuse_link_out(path: Path, boundary: Path) -> None:
    """A spec file may be a symlink, but only to a file inside `boundary`: what it
    points at is read and shown in errors."""
    target = path.resolve()
    if not paths.is_inside(path, boundary):
        raise SpecError(
            f"{display_path(path)}: the spec file is a symlink to {target}, outside "
            f"{boundary}; keep spec files inside the project"
        )


def _unknown_env_message(name: str, project: Project) -> str:
    names = project.env_names()
    near = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    known = ", ".join(names) or "none"
    return (
        f"unknown environment {name!r}{hint} (known: {known}; "
        f"specs live in {display_path(project.env_dir)}/)"
    )


def _load_from_disk(path: Path, project: Project | None) -> Environment:
    def reader(target: Path) -> bytes | None:
        return target.read_bytes() if target.is_file() else None

    return _resolve(path, reader, project, rev=None)


def _load_at_rev(path: Path, rev: str, project: Project | None) -> Environment:
    from envctl import vcs

    root = vcs.toplevel(path.parent if path.parent.exists() else Path.cwd())
    relpath = path.resolve().relative_to(root.resolve()).as_posix()
    match = _VERSION_REF.match(rev)
    commit = (
        _commit_of_version(root, relpath, int(match[1])) if match else vcs.resolve_commit(root, rev)
    )

    def reader(target: Path) -> bytes | None:
        rel = target.resolve().relative_to(root.resolve()).as_posix()
        return vcs.read_at(root, commit, rel)

    if reader(path) is None:
        raise UnknownNameError(f"{relpath} does not exist at {rev} ({commit[:12]})")
    return _resolve(path, reader, project, rev=rev)


def _commit_of_version(root: Path, relpath: str, version: int) -> str:
    """The oldest commit of the newest run of commits whose spec has `version`."""
    from envctl import vcs

    found: str | None = None
    for commit in vcs.file_commits(root, relpath):
        blob = vcs.read_at(root, commit, relpath)
        seen = _peek_version(blob)
        if seen == version:
            found = commit
        elif found is not None:
            break
    if found is None:
        raise UnknownNameError(
            f"no commit has {relpath} at version {version}; see `git log -- {relpath}`"
        )
    return found


def _peek_version(blob: bytes | None) -> int | None:
    if blob is None:
        return None
    match = re.search(rb"^version:\s*([0-9]+)\s*(#.*)?$", blob, re.MULTILINE)
    return int(match[1]) if match else None


# ---- extends ----------------------------------------------------------------


def _resolve(
    path: Path, reader: Callable[[Path], bytes | None], project: Project | None, rev: str | None
) -> Environment:
    chain: list[tuple[Path, Document, str]] = []
    current: Path | None = path
    boundary = (project.root if project else path.parent).resolve()
    while current is not None:
        source = display_path(current) + (f"@{rev}" if rev else "")
        if any(p == current for p, _, _ in chain):
            names = " -> ".join(p.name for p, _, _ in chain) + f" -> {current.name}"
            raise SpecError(f"{chain[0][2]}: extends: cycle {names}; remove one extends")
        if len(chain) >= MAX_EXTENDS:
            raise SpecError(f"{source}: extends: more than {MAX_EXTENDS} levels")
        raw = reader(current)
        if raw is None:
            raise SpecError(f"{source}: file not found")
        doc = read_document(raw, source)
        if doc.problems or not isinstance(doc.data, dict):
            validate(Spec, doc, source)  # raises with every problem in this file
        chain.append((current, doc, source))
        current = _parent_path(doc, current, boundary, source)
    return _merge_chain(chain, path, rev)


def _parent_path(doc: Document, current: Path, boundary: Path, source: str) -> Path | None:
    parent = doc.data.get("extends") if isinstance(doc.data, dict) else None
    if parent is None:
        return None
    line, col = doc.locate(("extends",))
    where = f"{source}:{line}:{col}: extends"
    if not isinstance(parent, str) or not parent:
        raise SpecError(f"{where}: must be the name or path of another spec")
    target = current.parent / (parent if looks_like_path(parent) else f"{parent}.yaml")
    target = Path(os.path.normpath(target))
    if not paths.is_inside(target, boundary):
        raise SpecError(
            f"{where}: {parent!r} points outside the project ({boundary}); "
            "keep parent specs inside it"
        )
    return target


def _merge_chain(
    chain: list[tuple[Path, Document, str]], path: Path, rev: str | None
) -> Environment:
    merged: dict[str, Any] = {}
    positions: dict[yamldoc.Path, Position] = {}
    for _, doc, source in reversed(chain):
        merged = deep_merge(merged, doc.data)
        for key_path, (line, col) in doc.positions.items():
            positions[key_path] = (source.split("@")[0], line, col)
    child_doc, child_source = chain[0][1], chain[0][2]
    merged_doc = Document(data=merged)
    for key_path, (file, line, col) in positions.items():
        merged_doc.positions[key_path] = (line, col)
        merged_doc.files[key_path] = file + (f"@{rev}" if rev else "")
    spec = validate(Spec, merged_doc, child_source)
    problems = _name_problems(spec, path, child_doc)
    if problems:
        raise_problems(problems, child_source)
    return Environment(
        spec=spec, source=child_source, path=None if rev else path, rev=rev, positions=positions
    )


def _name_problems(spec: Spec, path: Path, doc: Document) -> list[Problem]:
    if spec.name != path.stem:
        return [
            doc.problem(
                f"name {spec.name!r} does not match the file name {path.name!r}; "
                f"rename one so they agree",
                ("name",),
            )
        ]
    return []


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else (lists included) is replaced.
    A `null` value removes the key (e.g. drop an inherited package); an empty
    `packages:` therefore means the default, not an error."""
    out = dict(base)
    for key, value in override.items():
        if key == "extends":
            continue
        if value is None:
            out.pop(key, None)
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
