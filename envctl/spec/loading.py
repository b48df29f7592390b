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
from typing import TYPE_CHECKING, Any

from envctl import paths
from envctl.errors import InputError, SpecError, UnknownNameError
from envctl.spec import values, yamldoc
from envctl.spec.project_settings import CONFIG_FILE, ProjectSettings, settings, settings_of
from envctl.spec.yamldoc import Document, Problem

if TYPE_CHECKING:
    from envctl.spec.model import Spec as ModelSpec
    from envctl.spec.project_file import ProjectConfig
    from envctl.spec.types import Spec

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
    """A project and its envctl.yaml: as plain settings (what reading the ledger
    needs, see project_settings) and, on first use, as the validated models."""

    root: Path
    settings: ProjectSettings
    config_path: Path | None
    source: str = field(default="", compare=False)  # envctl.yaml as errors name it
    document: Document | None = field(default=None, compare=False, repr=False)
    validated: ProjectConfig | None = field(default=None, compare=False, repr=False)

    @cached_property
    def config(self) -> ProjectConfig:
        """envctl.yaml as the models read it. A document the plain rules accepted
        is one the models accept (see project_settings), so this raises nothing
        that loading the project did not."""
        if self.validated is not None:
            return self.validated
        assert self.document is not None
        return _validated(self.document, self.source)

    @property
    def env_dir(self) -> Path:
        return self.root / self.settings.environments

    def spec_path(self, name: str) -> Path:
        return self.env_dir / f"{name}.yaml"

    def env_names(self) -> list[str]:
        """Stage environments in stage order, then any other spec files by name.
        Files whose name starts with `_` are partials, used only through `extends`."""
        found = {p.stem for p in self.env_dir.glob("*.yaml") if not p.stem.startswith("_")}
        found |= {p.stem for p in self.env_dir.glob("*.yml") if not p.stem.startswith("_")}
        staged = [s for s in self.settings.stages if s in found or self.spec_path(s).exists()]
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
            return _project(folder, config_path)
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
    return _validated(*_read_config(path))


def _project(root: Path, config_path: Path) -> Project:
    """The project, its envctl.yaml read as plain settings when the plain rules
    vouch for every value, else validated by the models now (their messages)."""
    doc, source = _read_config(config_path)
    plain = None if doc.problems else settings(doc.data)
    if plain is not None:
        return Project(root, plain, config_path, source, document=doc)
    config = _validated(doc, source)
    return Project(root, settings_of(config), config_path, source, validated=config)


def _read_config(path: Path) -> tuple[Document, str]:
    source = display_path(path)
    # envctl.yaml linked to a host file would have its lines quoted in errors.
    raw = paths.inside(path, path.parent, what="project file").read_bytes()
    return read_document(raw, source), source


def _validated(doc: Document, source: str) -> ProjectConfig:
    from envctl.spec.project_file import ProjectConfig
    from envctl.spec.validation import validate

    return validate(ProjectConfig, doc, source)


def read_document(raw: bytes, source: str) -> Document:
    try:
        text = yamldoc.decode(raw)
    except ValueError as exc:
        from envctl.spec.validation import raise_problems

        raise_problems([Problem(str(exc))], source)
    return yamldoc.parse(text)


# ---- operands ---------------------------------------------------------------

_VERSION_REF = re.compile(r"^v([0-9]+)$")
_SPEC_FILE_IN = re.compile(r"\.ya?ml(@|$)")  # the rest of a path, not a revision


def looks_like_path(operand: str) -> bool:
    return operand.endswith((".yaml", ".yml")) or "/" in operand or operand.startswith(".")


def split_operand(operand: str) -> tuple[str, str | None]:
    """`prod@HEAD~1` -> ("prod", "HEAD~1"); a path keeps its own `@`s (Jenkins
    workspaces are `job@2/`): an operand that is a file is a path, and an `@`
    splits off a revision only after a name or a spec file (`ci/job@2/prod.yaml@v3`),
    never before the rest of a path (`ci/job@2/prod.yaml`). The first such `@`
    splits, so a revision may hold one (`prod@HEAD@{1}`)."""
    if "@" not in operand or (looks_like_path(operand) and Path(operand).is_file()):
        return operand, None
    for at in (i for i, char in enumerate(operand) if char == "@"):
        base, rev = operand[:at], operand[at + 1 :]
        if _is_rev_target(base) and not _SPEC_FILE_IN.search(rev):
            return base, rev
    return operand, None


def _is_rev_target(base: str) -> bool:
    if not looks_like_path(base):
        return bool(base)
    return base.endswith((".yaml", ".yml")) or Path(base).is_file()


def load_environment(operand: str, project: Project | None = None) -> Environment:
    """Resolve an operand (name, path, either with @REV or @vN) to an Environment."""
    base, rev_opt = split_operand(operand)
    if rev_opt == "":
        raise UnknownNameError(f"{operand!r}: give a revision after '@' (prod@HEAD~1, prod@v3)")
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
        _commit_of_version(root, path, int(match[1]), _boundary(path, project))
        if match
        else vcs.resolve_commit(root, rev)
    )
    reader = _reader_at(root, commit)
    if reader(path) is None:
        raise UnknownNameError(f"{relpath} does not exist at {rev} ({commit[:12]})")
    return _resolve(path, reader, project, rev=rev)


def _reader_at(
    root: Path, commit: str, read: list[str] | None = None
) -> Callable[[Path], bytes | None]:
    """Reads files at `commit`; notes each path it was asked for in `read`."""
    from envctl import vcs

    def reader(target: Path) -> bytes | None:
        rel = target.resolve().relative_to(root.resolve()).as_posix()
        if read is not None:
            read.append(rel)
        return vcs.read_at(root, commit, rel)

    return reader


def _commit_of_version(root: Path, path: Path, version: int, boundary: Path) -> str:
    """The oldest commit of the newest run of commits whose resolved spec (its
    `extends` chain merged) has `version`. A commit that changes only a parent
    can change the version, so the walk covers every file a chain read: when one
    turns up that it did not watch, it starts again watching that file too."""
    relpath = path.resolve().relative_to(root.resolve()).as_posix()
    watched = [relpath]
    found, complete = _newest_run(root, path, version, boundary, watched)
    while not complete:
        found, complete = _newest_run(root, path, version, boundary, watched)
    if found is None:
        raise UnknownNameError(
            f"no commit has {relpath} at version {version}; see `git log -- {relpath}`"
        )
    return found


def _newest_run(
    root: Path, path: Path, version: int, boundary: Path, watched: list[str]
) -> tuple[str | None, bool]:
    """(the run's oldest commit, True) walking the commits that touch `watched`,
    newest first; (None, False) after adding a file a chain read to `watched`."""
    from envctl import vcs

    found: str | None = None
    for commit in vcs.run(root, "log", "--format=%H", "HEAD", "--", *watched, check=False).split():
        read: list[str] = []
        seen = _version_at(_reader_at(root, commit, read), path, boundary)
        new = [file for file in read if file not in watched]
        if new:
            watched.extend(new)
            return None, False
        if seen == version:
            found = commit
        elif found is not None:
            break
    return found, True


def _version_at(reader: Callable[[Path], bytes | None], path: Path, boundary: Path) -> int | None:
    """The resolved spec's `version:`, None where the spec is missing or unreadable."""
    try:
        chain = _read_chain(path, reader, boundary, rev="")
    except SpecError:
        return None
    merged: dict[str, Any] = {}
    for _, doc, _ in reversed(chain):
        merged = deep_merge(merged, doc.data)
    try:
        return values.spec_version(merged.get("version"))
    except ValueError:
        return None


# ---- extends ----------------------------------------------------------------


def _resolve(
    path: Path, reader: Callable[[Path], bytes | None], project: Project | None, rev: str | None
) -> Environment:
    chain = _read_chain(path, reader, _boundary(path, project), rev)
    return _merge_chain(chain, path, rev)


def _boundary(path: Path, project: Project | None) -> Path:
    """Where `extends` may reach: the project, else the spec's own folder."""
    return (project.root if project else path.parent).resolve()


def _read_chain(
    path: Path, reader: Callable[[Path], bytes | None], boundary: Path, rev: str | None
) -> list[tuple[Path, Document, str]]:
    """The spec and its `extends` parents, child first, each parsed and checked alone."""
    chain: list[tuple[Path, Document, str]] = []
    current: Path | None = path
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
            from envctl.spec.validation import validate

            validate(_spec_model(), doc, source)  # raises with every problem in this file
        chain.append((current, doc, source))
        current = _parent_path(doc, current, boundary, source)
    return chain


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


def read_spec(doc: Document, source: str) -> Spec:
    """The spec `doc` holds: read plainly when it plainly follows every rule (no
    pydantic), else validated by the model, which raises SpecError naming every
    problem. Both give the same value (tests/spec/test_plain_reader.py)."""
    from envctl.spec import plain

    spec = plain.read(doc.data) if not doc.problems else None
    if spec is None:
        from envctl.spec.types import from_model
        from envctl.spec.validation import validate

        converted: Spec = from_model(validate(_spec_model(), doc, source))
        return converted
    return spec


def _spec_model() -> type[ModelSpec]:
    """The environment spec's model, imported when a spec is read: reading
    envctl.yaml alone (`status`, `history`) never defines its two dozen classes."""
    from envctl.spec.model import Spec

    return Spec


def _merge_chain(
    chain: list[tuple[Path, Document, str]], path: Path, rev: str | None
) -> Environment:
    _refuse_partial_policy(chain[1:])
    merged: dict[str, Any] = {}
    positions: dict[yamldoc.Path, Position] = {}
    for _, doc, source in reversed(chain):
        own = doc is chain[0][1]
        merged = deep_merge(merged, doc.data if own else _without_policy(doc.data))
        for key_path, (line, col) in doc.positions.items():
            if own or key_path[:1] != (POLICY,):
                positions[key_path] = (source.split("@")[0], line, col)
    child_doc, child_source = chain[0][1], chain[0][2]
    merged_doc = Document(data=merged)
    for key_path, (file, line, col) in positions.items():
        merged_doc.positions[key_path] = (line, col)
        merged_doc.files[key_path] = file + (f"@{rev}" if rev else "")
    spec = read_spec(merged_doc, child_source)
    problems = _name_problems(spec, path, child_doc)
    if problems:
        from envctl.spec.validation import raise_problems

        raise_problems(problems, child_source)
    return Environment(
        spec=spec, source=child_source, path=None if rev else path, rev=rev, positions=positions
    )


POLICY = "policy"


def _without_policy(data: dict[str, Any]) -> dict[str, Any]:
    """A parent's data as a child inherits it: everything but `policy:`. A policy
    says when a version may enter *that* stage (soak, windows, auto, live checks);
    a stage that extends prod for its packages must not silently stop taking
    unattended promotions because prod does. Each stage states its own."""
    return {key: value for key, value in data.items() if key != POLICY}


def _refuse_partial_policy(parents: list[tuple[Path, Document, str]]) -> None:
    """A partial (`_base.yaml`) is only ever extended, so a policy there would
    never apply anywhere: say so rather than ignore it."""
    for path, doc, source in parents:
        if path.name.startswith("_") and POLICY in doc.data:
            line, col = doc.locate((POLICY,))
            raise SpecError(
                f"{source}:{line}:{col}: policy: a policy belongs to its stage and is not "
                "inherited through extends; move it into the specs of the stages it is for"
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
