"""import: write `environments/NAME.yaml` from existing pin files or a built image."""

from __future__ import annotations

import sys
from pathlib import Path

from envctl.errors import EnvctlError, InputError, SpecError, UsageError
from envctl.output.specs import ImportDocument, ImportNote
from envctl.spec import imports, values
from envctl.spec.imports import Imported, Note, Options
from envctl.spec.loading import Environment, Project, load_environment, require_project


def import_(
    operand: str,
    *,
    name: str | None = None,
    python: str | None = None,
    force: bool = False,
    root: Path | None = None,
) -> ImportDocument:
    """Read `operand` (a file, or `image:REF`), write its spec, refuse to
    overwrite one unless `force` (which then bumps its version)."""
    project = require_project(root)
    env_name = _env_name(name, operand)
    path = project.spec_path(env_name)
    existing = [p for p in (path, path.with_suffix(".yml")) if p.exists()]
    if existing and not force:
        raise InputError(
            f"{project.relative(existing[0])} already exists; choose another --name "
            "or pass --force to replace it"
        )
    options = Options(python=python, fallback_python=_running_python())
    imported = _read(operand, options)
    version = _next_version(existing[0], project) if existing else 1
    text = imports.spec_text(env_name, imported, version=version, schema=_schema(project))
    _check(text, path, project)
    from envctl.build.lockfile import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
    return _result(imported, env_name, project.relative(path), version, bool(existing))


def _env_name(name: str | None, operand: str) -> str:
    chosen = name if name is not None else imports.default_name(operand)
    try:
        return values.word(chosen, "environment name")
    except ValueError as exc:
        raise UsageError(f"--name: {exc}") from None


def _running_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _read(operand: str, options: Options) -> Imported:
    if operand.startswith("image:"):
        from envctl import probe

        return imports.from_reality(probe.image(operand.removeprefix("image:")), options=options)
    path = Path(operand)
    kind = imports.detect_format(path.name)
    if kind is None:
        raise InputError(
            f"{operand}: not a format envctl imports (requirements *.txt, environment.yml, "
            "pyproject.toml, uv.lock or image:REF)"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read {operand}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    source = _shown(path)
    if kind == "pyproject":
        return imports.parse_pyproject(text, source=source, options=options)
    if kind == "uv-lock":
        return imports.parse_uv_lock(text, source=source, options=options)
    reader = _reader(path.parent)
    if kind == "conda":
        return imports.parse_conda(text, source=source, options=options, read=reader)
    return imports.parse_requirements(text, source=source, options=options, read=reader)


def _reader(folder: Path) -> imports.Reader:
    def read(relative: str) -> str:
        return (folder / relative).read_text(encoding="utf-8-sig")

    return read


def _shown(path: Path) -> str:
    from envctl.spec.loading import display_path

    return display_path(path.resolve())


def _schema(project: Project) -> str | None:
    from envctl.spec.model import SCHEMA_FILE

    return SCHEMA_FILE if (project.root / SCHEMA_FILE).is_file() else None


def _next_version(path: Path, project: Project) -> int:
    """The replaced spec's version + 1, so `envctl check` sees the change: the
    resolved version (`extends` included), else the file's own for a spec that
    no longer validates, else 1 for one that cannot be read (it is replaced all
    the same)."""
    try:
        return load_environment(str(path), project).spec.version + 1
    except EnvctlError:
        return _own_version(path) + 1


def _own_version(path: Path) -> int:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return 0
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else 0


def _check(text: str, path: Path, project: Project) -> None:
    """What is written must validate, policy included (pin_exact, pin_digest)."""
    from envctl.spec import yamldoc
    from envctl.spec.model import Spec
    from envctl.spec.policy import check_policy
    from envctl.spec.validation import validate

    source = project.relative(path)
    try:
        spec = validate(Spec, yamldoc.parse(text), source)
        check_policy(Environment(spec=spec, source=source, path=path), project)
    except SpecError as exc:
        raise SpecError(f"{exc.message}; {source} not written", details=exc.details) from None


def _result(
    imported: Imported, name: str, file: str, version: int, overwritten: bool
) -> ImportDocument:
    return ImportDocument(
        environment=name,
        file=file,
        version=version,
        overwritten=overwritten,
        source=imported.source,
        format=imported.format,
        python=imported.python,
        python_from=imported.python_from,
        platform=imported.platform,
        base=imports.base_image(imported.python),
        packages=imported.package_map(),
        not_carried_over=[_note(n) for n in imported.not_carried],
        adjusted=[_note(n) for n in imported.adjusted],
    )


def _note(note: Note) -> ImportNote:
    return ImportNote(item=note.item, reason=note.reason, file=note.source, line=note.line)
