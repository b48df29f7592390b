"""import: write `environments/NAME.yaml` from existing pin files or a built image."""

from __future__ import annotations

import sys
from pathlib import Path

from envctl.errors import EnvctlError, InputError, SpecError, UsageError
from envctl.output.specs import ImportDocument, ImportIndex, ImportNote
from envctl.spec import imports, values
from envctl.spec.imports import Imported, Note, Options
from envctl.spec.indexes import redact
from envctl.spec.loading import Environment, Project, load_environment, require_project


def import_(
    operand: str,
    *,
    name: str | None = None,
    python: str | None = None,
    force: bool = False,
    source_format: str | None = None,
    root: Path | None = None,
) -> ImportDocument:
    """Read `operand` (a file, or `image:REF`), write its spec, refuse to
    overwrite one unless `force` (which then bumps its version and keeps the
    sections the source does not speak to)."""
    project = require_project(root)
    env_name = _env_name(name, operand, project)
    path = project.spec_path(env_name)
    existing = [p for p in (path, path.with_suffix(".yml")) if p.exists()]
    if existing and not force:
        raise InputError(
            f"{project.relative(existing[0])} already exists; choose another --name "
            "or pass --force to replace it"
        )
    options = Options(python=python, fallback_python=_running_python())
    imported = _read(operand, options, project, source_format)
    version = _next_version(existing[0], project) if existing else 1
    text = imports.spec_text(env_name, imported, version=version, schema=_schema(project))
    kept: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    if existing:
        text, kept, dropped = _keep_the_rest(text, existing[0], imported.python)
    _check(text, path, project)
    from envctl.build.lockfile import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
    document = _result(imported, env_name, project.relative(path), version, bool(existing))
    return document.model_copy(update={"kept": list(kept), "dropped": list(dropped)})


def _env_name(name: str | None, operand: str, project: Project) -> str:
    if name is None:
        # A file's stem is rarely a stage (`requirements`): say which names are.
        stem = imports.default_name(operand)
        if stem not in project.config.stages:
            stages = ", ".join(project.config.stages)
            raise UsageError(
                f"{stem!r} (from {operand}) is not a stage ({stages}); pass --name STAGE, "
                f"or --name {stem} to write it as an environment outside the stages"
            )
        return stem
    try:
        return values.word(name, "environment name")
    except ValueError as exc:
        raise UsageError(f"--name: {exc}") from None


def _keep_the_rest(
    text: str, old_path: Path, python: str
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    from envctl.spec.imports.replace import replace_spec

    old = old_path.read_text(encoding="utf-8")
    replaced = replace_spec(text, old, python_changed=_old_python(old) != python)
    return replaced.text, replaced.kept, replaced.dropped


def _old_python(text: str) -> str | None:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return str(data.get("python")) if isinstance(data, dict) else None


def _running_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _read(operand: str, options: Options, project: Project, source_format: str | None) -> Imported:
    if operand.startswith("image:"):
        from envctl import probe

        return imports.from_reality(probe.image(operand.removeprefix("image:")), options=options)
    path = Path(operand)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read {operand}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    kind = source_format or imports.detect_format(path.name, text)
    if kind is None:
        raise InputError(
            f"{operand}: not a format envctl imports, by its name or its content "
            "(requirements *.txt, environment.yml, pyproject.toml, uv.lock or image:REF); "
            "name it with --from"
        )
    source = _shown(path, project)
    if kind == "pyproject":
        return imports.parse_pyproject(text, source=source, options=options)
    if kind == "uv-lock":
        return imports.parse_uv_lock(text, source=source, options=options)
    reader = _reader(path.parent, _include_bound(path, project.root))
    if kind == "conda":
        return imports.parse_conda(text, source=source, options=options, read=reader)
    return imports.parse_requirements(text, source=source, options=options, read=reader)


def _reader(folder: Path, bound: Path) -> imports.Reader:
    """Includes are read relative to the first file and only inside `bound`: a
    `-r /root/.ssh/id_rsa` or `-r ../../etc/shadow` would print or write the
    file's lines as package names."""
    from envctl import paths

    def read(relative: str) -> str:
        return paths.inside(folder / relative, bound, what="-r include").read_text(
            encoding="utf-8-sig"
        )

    return read


def _include_bound(path: Path, project_root: Path) -> Path:
    """The project, for a file inside it; else the folder of the file named on
    the command line (what the user chose to show envctl)."""
    from envctl import paths

    return project_root if paths.is_inside(path, project_root) else path.resolve().parent


def _shown(path: Path, project: Project) -> str:
    """The source as the committed spec names it: relative to the project, or
    its file name when it lies outside (an absolute path is one machine's)."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(project.root.resolve()).as_posix()
    except ValueError:
        return resolved.name


def _schema(project: Project) -> str | None:
    from envctl.spec.types import SCHEMA_FILE

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
    from envctl.spec.loading import read_spec
    from envctl.spec.policy import check_policy

    source = project.relative(path)
    try:
        spec = read_spec(yamldoc.parse(text), source)
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
        indexes=[
            ImportIndex(name=i.name, url=i.url, explicit=i.explicit, default=i.default)
            for i in imported.indexes
        ],
        sources=dict(imported.sources),
        not_carried_over=[_note(n) for n in imported.not_carried],
        adjusted=[_note(n) for n in imported.adjusted],
    )


def _note(note: Note) -> ImportNote:
    # Inputs may hold `user:password@` in any URL: none reaches the output.
    return ImportNote(
        item=redact(note.item), reason=redact(note.reason), file=redact(note.source), line=note.line
    )
