"""What decides an image, resolved without touching Docker: spec, fresh lock, model
version, fingerprint, tag, and the Dockerfile that follows from them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from envctl import paths
from envctl.build import lockfile, recipe, render
from envctl.build.lockfile import Lock
from envctl.build.render import ModelSource
from envctl.errors import GitError, InputError, UnknownNameError
from envctl.spec.loading import Environment, Project, load_environment, require_project


@dataclass(frozen=True)
class Plan:
    """Everything that decides an image, resolved without touching Docker."""

    project: Project
    env: Environment
    lock: Lock
    model: ModelSource | None
    fingerprint: str  # the content fingerprint (recipe.content_fingerprint)
    tag: str
    commit: str

    def labels(self) -> dict[str, str]:
        return recipe.labels(
            self.env, self.lock, self.fingerprint, commit=self.commit, model=self.model
        )


def plan(operand: str, *, model: str | None = None) -> Plan:
    """Spec, fresh lock, model version, fingerprint and tag (exit 3 on a stale lock)."""
    project = require_project()
    env = load_environment(operand, project)
    lock = lockfile.require_fresh(project, env)
    source = resolve_model(project, model) if model else None
    fp = recipe.content_fingerprint(
        env, lock, templates=render.templates_hash(templates_dir(project)), model=source
    )
    return Plan(
        project, env, lock, source, fp, recipe.image_tag(env, fp, source), head_commit(project)
    )


def dockerfile_for(the_plan: Plan, *, system_install: bool) -> str:
    return render.render_dockerfile(
        the_plan.env,
        the_plan.lock,
        model=the_plan.model,
        system_install=system_install,
        templates_dir=templates_dir(the_plan.project),
        labels=the_plan.labels(),
    )


def templates_dir(project: Project) -> Path | None:
    folder = project.root / "templates"
    return folder if folder.is_dir() else None


def head_commit(project: Project) -> str:
    from envctl import vcs

    if not vcs.is_repo(project.root):
        return ""
    return vcs.run(project.root, "rev-parse", "--verify", "--quiet", "HEAD", check=False).strip()


def resolve_model(project: Project, operand: str) -> ModelSource:
    """`NAME@vX.Y.Z`: a model of envctl.yaml at its annotated version tag."""
    from envctl import vcs

    name, version = recipe.parse_model_ref(operand)
    model = project.config.models.get(name)
    if model is None:
        known = ", ".join(sorted(project.config.models)) or "none"
        raise UnknownNameError(f"unknown model {name!r} (known: {known}; see envctl.yaml models:)")
    tag = f"{name}@{version}"
    kind = vcs.run(project.root, "cat-file", "-t", f"refs/tags/{tag}", check=False).strip()
    if kind != "tag":
        what = "is a lightweight tag" if kind == "commit" else "does not exist"
        raise UnknownNameError(
            f"model version {tag} {what}; tag versions with git tag -a {tag} -m ..."
        )
    commit = vcs.run(project.root, "rev-parse", f"refs/tags/{tag}^{{commit}}").strip()
    return ModelSource(name, version, commit, model.path, model.serve)


def model_archive(project: Project, model: ModelSource) -> bytes:
    """The model's folder at its version's commit, as a tar (`git archive`)."""
    import tempfile

    from envctl import vcs

    root = vcs.toplevel(project.root)
    relpath = model_relpath(project, model.name, root)
    with tempfile.TemporaryDirectory(prefix="envctl-model-") as tmp:
        out = Path(tmp) / "model.tar"
        try:
            vcs.run(root, "archive", "--format=tar", "-o", str(out), f"{model.commit}:{relpath}")
        except GitError:
            raise InputError(
                f"{model.path} does not exist at {model.ref} "
                f"({model.commit[:12]}); check models.{model.name}.path"
            ) from None
        return out.read_bytes()


def model_relpath(project: Project, name: str, root: Path) -> str:
    """models.NAME.path relative to the repository root `root`. A symlink on the way
    may not lead out of the repository: git holds only what is inside it."""
    path = project.config.models[name].path
    target = (project.root / path).resolve()
    if not paths.is_inside(target, root):
        raise InputError(
            f"models.{name}.path {path!r} leaves the repository (it resolves to {target}); "
            "keep the model's folder inside the repository"
        )
    return target.relative_to(root.resolve()).as_posix()
