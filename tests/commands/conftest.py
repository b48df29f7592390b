"""Promotion tests build real images; remove the ones made from each test's repository."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import git

COMMIT_LABELS = ("dev.envctl.model-commit", "dev.envctl.git-commit")


@pytest.fixture(autouse=True)
def _remove_images_built_here(request: pytest.FixtureRequest) -> Iterator[None]:
    if "git_repo" not in request.fixturenames:
        yield
        return
    repo = request.getfixturevalue("git_repo")
    yield
    from envctl import engine

    commits = set(git(repo, "rev-list", "--all").split())
    images = engine.client().images.list(filters={"label": COMMIT_LABELS[0]})
    ours = [i for i in images if {i.labels.get(k) for k in COMMIT_LABELS} & commits]
    # Newest first: test layers are children of model images.
    for image in sorted(ours, key=lambda i: i.attrs.get("Created", ""), reverse=True):
        engine.remove_image(str(image.id), force=True)
