"""Resolving environments: extends, fingerprints, ENV@REV and ENV@vN against real git."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envctl.errors import InputError, SpecError, UnknownNameError
from envctl.spec.loading import find_project, load_environment, split_operand
from tests.conftest import git

SPEC = """\
name: {name}
version: {version}
image:
  base: python:3.11-slim
python: "3.11"
packages:
  numpy: "{numpy}"
compute:
  memory: {memory}
"""


def write_spec(
    root: Path,
    name: str,
    *,
    version: int = 1,
    numpy: str = "==1.26.4",
    memory: str = "8Gi",
    extra: str = "",
) -> Path:
    path = root / "environments" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SPEC.format(name=name, version=version, numpy=numpy, memory=memory) + extra)
    return path


@pytest.fixture
def project(git_repo: Path) -> Path:
    (git_repo / "envctl.yaml").write_text("stages: [dev, staging, prod]\n")
    write_spec(git_repo, "dev")
    write_spec(git_repo, "prod")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "v1")
    return git_repo


def test_fingerprint_ignores_key_order_comments_and_equivalent_spellings(tmp_path: Path) -> None:
    a = tmp_path / "a" / "prod.yaml"
    b = tmp_path / "b" / "prod.yaml"
    a.parent.mkdir()
    b.parent.mkdir()
    a.write_text(SPEC.format(name="prod", version=1, numpy="==1.26.4", memory="8Gi"))
    b.write_text(
        "# a comment\npython: '3.11'\nversion: 1\nname: prod\npackages: {NumPy: '== 1.26.4'}\n"
        "compute: {memory: 8192Mi}\nimage: {base: python:3.11-slim}\n"
    )
    assert load_environment(str(a)).fingerprint == load_environment(str(b)).fingerprint


def test_fingerprint_changes_with_content(tmp_path: Path) -> None:
    first = write_spec(tmp_path, "prod")
    before = load_environment(str(first)).fingerprint
    write_spec(tmp_path, "prod", numpy="==2.0.0")
    assert load_environment(str(first)).fingerprint != before


def test_extends_merges_and_null_removes(tmp_path: Path) -> None:
    (tmp_path / "envctl.yaml").write_text("stages: [staging, prod]\n")
    write_spec(tmp_path, "prod", extra="system_packages: [libgomp1]\n")
    prod = tmp_path / "environments" / "prod.yaml"
    prod.write_text(prod.read_text().replace("packages:\n", "packages:\n  pandas: '==2.2.2'\n"))
    (tmp_path / "environments" / "staging.yaml").write_text(
        "extends: prod\nname: staging\nversion: 3\npackages:\n  pandas: null\n  scipy: '==1.13.0'\n"
    )
    env = load_environment("staging", find_project(tmp_path))
    assert env.spec.version == 3
    assert env.spec.packages == {"numpy": "==1.26.4", "scipy": "==1.13.0"}
    assert env.spec.system_packages == ["libgomp1"]
    assert env.locate(("packages", "scipy"))[1:] == (6, 3)  # type: ignore[index]
    assert env.locate(("system_packages",))[0].endswith("prod.yaml")  # type: ignore[index]


PROD_POLICY = "policy:\n  auto: false\n  soak: 24h\n  live: {rollback: auto}\n"


def test_a_policy_is_not_inherited_through_extends(tmp_path: Path) -> None:
    (tmp_path / "envctl.yaml").write_text("stages: [staging, prod]\n")
    write_spec(tmp_path, "prod", extra=PROD_POLICY)
    (tmp_path / "environments" / "staging.yaml").write_text(
        "extends: prod\nname: staging\nversion: 1\n"
    )
    project = find_project(tmp_path)
    staging = load_environment("staging", project)
    assert staging.spec.policy is None
    assert not [key for key in staging.positions if key[:1] == ("policy",)]
    assert staging.spec.packages == {"numpy": "==1.26.4"}  # everything else is inherited
    prod = load_environment("prod", project).spec.policy
    assert prod is not None and prod.auto is False


def test_a_stage_states_its_own_policy_whole(tmp_path: Path) -> None:
    (tmp_path / "envctl.yaml").write_text("stages: [staging, prod]\n")
    write_spec(tmp_path, "prod", extra=PROD_POLICY)
    (tmp_path / "environments" / "staging.yaml").write_text(
        "extends: prod\nname: staging\nversion: 1\npolicy: {soak: 1h}\n"
    )
    policy = load_environment("staging", find_project(tmp_path)).spec.policy
    assert policy is not None
    assert (policy.auto, policy.live) == (True, None)  # not merged with prod's


def test_a_policy_in_a_partial_is_refused(tmp_path: Path) -> None:
    (tmp_path / "envctl.yaml").write_text("stages: [prod]\n")
    write_spec(tmp_path, "_base", extra=PROD_POLICY)
    (tmp_path / "environments" / "prod.yaml").write_text("extends: _base\nname: prod\nversion: 1\n")
    with pytest.raises(SpecError) as caught:
        load_environment("prod", find_project(tmp_path))
    assert caught.value.message.endswith(
        "_base.yaml:10:1: policy: a policy belongs to its stage and is not inherited through "
        "extends; move it into the specs of the stages it is for"
    )


def test_extends_cycle_is_an_error(tmp_path: Path) -> None:
    write_spec(tmp_path, "a", extra="extends: b\n")
    write_spec(tmp_path, "b", extra="extends: a\n")
    with pytest.raises(SpecError, match=r"cycle a\.yaml -> b\.yaml -> a\.yaml"):
        load_environment(str(tmp_path / "environments" / "a.yaml"))


def test_unknown_environment_suggests(project: Path) -> None:
    with pytest.raises(UnknownNameError, match=r"unknown environment 'prd'; did you mean 'prod'\?"):
        load_environment("prd")


def test_name_without_project_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"no envctl\.yaml found .* run `envctl init`"):
        load_environment("prod")


def test_env_at_rev_reads_git(project: Path) -> None:
    write_spec(project, "prod", version=2, numpy="==2.0.0")
    git(project, "commit", "-qam", "v2")
    write_spec(project, "prod", version=3, numpy="==2.1.0")
    assert load_environment("prod").spec.packages["numpy"] == "==2.1.0"
    assert load_environment("prod@HEAD").spec.packages["numpy"] == "==2.0.0"
    old = load_environment("prod@HEAD~1")
    assert old.spec.version == 1
    assert old.label == "prod@HEAD~1"
    assert old.source.endswith("prod.yaml@HEAD~1")


def test_env_at_version_finds_commit_where_version_began(project: Path) -> None:
    write_spec(project, "prod", version=2, numpy="==2.0.0")
    git(project, "commit", "-qam", "v2")
    write_spec(project, "prod", version=2, numpy="==2.0.1")  # edited without a bump
    git(project, "commit", "-qam", "v2 edit")
    write_spec(project, "prod", version=3, numpy="==2.1.0")
    git(project, "commit", "-qam", "v3")
    assert load_environment("prod@v1").spec.packages["numpy"] == "==1.26.4"
    assert load_environment("prod@v2").spec.packages["numpy"] == "==2.0.0"
    assert load_environment("prod@v3").spec.packages["numpy"] == "==2.1.0"
    missing = r"no commit has environments/prod\.yaml at version 9"
    with pytest.raises(UnknownNameError, match=missing):
        load_environment("prod@v9")


def test_env_at_version_reads_the_version_through_extends(project: Path) -> None:
    base = project / "environments" / "_base.yaml"
    base.write_text("version: 1\n")
    child = SPEC.replace("version: {version}\n", "extends: _base\n")
    (project / "environments" / "prod.yaml").write_text(
        child.format(name="prod", numpy="==1.0.0", memory="8Gi")
    )
    git(project, "add", "-A")
    git(project, "commit", "-qm", "prod extends _base")
    base.write_text("version: 2\n")  # only the parent changes: the resolved spec is v2
    git(project, "commit", "-qam", "base v2")
    edited = project / "environments" / "prod.yaml"
    edited.write_text(edited.read_text().replace("8Gi", "4Gi"))
    git(project, "commit", "-qam", "prod edited, still v2")
    assert load_environment("prod@v1").spec.compute.memory == 8 * 1024**3
    v2 = load_environment("prod@v2")
    assert (v2.spec.version, v2.spec.compute.memory) == (2, 8 * 1024**3)


def test_env_at_version_reads_yaml_not_lines(project: Path) -> None:
    (project / "environments" / "prod.yaml").write_text(
        SPEC.format(name="prod", version=1, numpy="==1.0.0", memory="8Gi").replace(
            "version: 1\n", '"version": 2\n'
        )
    )
    git(project, "commit", "-qam", "v2, its key quoted")
    assert load_environment("prod@v2").spec.packages["numpy"] == "==1.0.0"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project in a Jenkins-style workspace folder (`job@2`), two commits of prod."""
    repo = tmp_path / "job@2"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "envctl.yaml").write_text("stages: [prod]\n")
    write_spec(repo, "prod")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1")
    write_spec(repo, "prod", version=2, numpy="==2.0.0")
    git(repo, "commit", "-qam", "v2")
    monkeypatch.chdir(tmp_path)
    return repo


@pytest.mark.parametrize(
    "operand", ["job@2/environments/prod.yaml", "{abs}/environments/prod.yaml"]
)
def test_an_at_sign_in_a_spec_path_is_part_of_the_path(workspace: Path, operand: str) -> None:
    env = load_environment(operand.format(abs=workspace))
    assert (env.spec.version, env.rev) == (2, None)


@pytest.mark.parametrize(
    ("operand", "version"),
    [("job@2/environments/prod.yaml@HEAD~1", 1), ("job@2/environments/prod.yaml@v2", 2)],
)
def test_a_spec_path_with_an_at_sign_still_takes_a_revision(
    workspace: Path, operand: str, version: int
) -> None:
    env = load_environment(operand)
    assert (env.spec.version, env.rev) == (version, operand.rsplit("@", 1)[1])


def test_a_missing_spec_path_with_an_at_sign_is_a_missing_file(workspace: Path) -> None:
    with pytest.raises(UnknownNameError, match=r"^spec file job@2/environments/qa\.yaml does not"):
        load_environment("job@2/environments/qa.yaml")


def test_a_name_at_a_revision_inside_an_at_sign_workspace(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace)
    assert load_environment("prod@HEAD~1").spec.version == 1
    assert load_environment("prod@HEAD@{1}").spec.version == 1  # a reflog revision holds an @


NAMES = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)
REVS = st.from_regex(
    r"(HEAD(~[0-9])?|v[0-9]{1,3}|origin/[a-z]{1,6}|HEAD@\{[0-9]\})", fullmatch=True
)
FOLDERS = st.lists(st.from_regex(r"[a-z][a-z0-9]{0,5}(@[0-9])?", fullmatch=True), max_size=3)


@given(name=NAMES, rev=REVS)
def test_split_operand_takes_a_revision_after_a_name(name: str, rev: str) -> None:
    assert split_operand(f"{name}@{rev}") == (name, rev)


@given(folders=FOLDERS, name=NAMES, rev=st.none() | REVS)
def test_split_operand_keeps_the_at_signs_of_a_path(
    folders: list[str], name: str, rev: str | None
) -> None:
    path = "/".join(["ws", *folders, f"{name}.yaml"])  # no such file: read as written
    assert split_operand(path if rev is None else f"{path}@{rev}") == (path, rev)


def test_unknown_revision(project: Path) -> None:
    with pytest.raises(InputError, match="git revision 'nope' not found"):
        load_environment("prod@nope")


def test_spec_missing_at_revision(project: Path) -> None:
    write_spec(project, "staging")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "staging")
    with pytest.raises(
        UnknownNameError, match=r"environments/staging.yaml does not exist at HEAD~1"
    ):
        load_environment("staging@HEAD~1")


def test_error_inherited_from_parent_names_the_parent_file(tmp_path: Path) -> None:
    write_spec(tmp_path, "prod", memory="lots")
    (tmp_path / "environments" / "staging.yaml").write_text("extends: prod\nname: staging\n")
    with pytest.raises(SpecError) as info:
        load_environment(str(tmp_path / "environments" / "staging.yaml"))
    assert info.value.message.endswith(
        "prod.yaml:9:3: compute.memory: 'lots' is not a memory "
        'quantity like "8Gi", "512Mi" or "16G"'
    )


def link_out(project: Path, tmp_path: Path, name: str = "staging") -> tuple[Path, Path]:
    """environments/NAME.yaml as a symlink to a spec file outside the project."""
    outside = write_spec(tmp_path / "elsewhere", name)
    link = project / "environments" / f"{name}.yaml"
    link.symlink_to(outside)
    return link, outside


@pytest.mark.parametrize(
    "operand", ["staging", "environments/staging.yaml", "staging@HEAD", "{abs}"]
)
def test_spec_file_symlinked_out_of_the_project_is_refused(
    project: Path, tmp_path: Path, operand: str
) -> None:
    link, outside = link_out(project, tmp_path)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "link")
    with pytest.raises(SpecError) as info:
        load_environment(operand.format(abs=link), find_project(project))
    assert info.value.exit_code == 3
    assert info.value.message.endswith(
        f"staging.yaml: the spec file is a symlink to {outside}, outside {project}; "
        "keep spec files inside the project"
    )


def test_spec_file_symlinked_out_of_its_folder_is_refused_without_a_project(
    tmp_path: Path,
) -> None:
    outside = write_spec(tmp_path / "elsewhere", "prod")
    link = tmp_path / "specs" / "prod.yaml"
    link.parent.mkdir()
    link.symlink_to(outside)
    with pytest.raises(SpecError, match=r"prod\.yaml: the spec file is a symlink to "):
        load_environment(str(link))


def test_environments_folder_symlinked_out_of_the_project_is_refused(
    git_repo: Path, tmp_path: Path
) -> None:
    (git_repo / "envctl.yaml").write_text("stages: [prod]\n")
    outside = write_spec(tmp_path / "elsewhere", "prod")
    (git_repo / "environments").symlink_to(outside.parent)
    for operand in ("prod", "environments/prod.yaml"):
        with pytest.raises(SpecError, match=f"is a symlink to {outside}, outside {git_repo}"):
            load_environment(operand, find_project(git_repo))


def test_spec_file_symlinked_inside_the_project_is_read(project: Path) -> None:
    (project / "shared").mkdir()
    write_spec(project / "shared", "dev", version=4)
    (project / "environments" / "dev.yaml").unlink()
    (project / "environments" / "dev.yaml").symlink_to(
        project / "shared" / "environments" / "dev.yaml"
    )
    assert load_environment("dev", find_project(project)).spec.version == 4


def test_project_file_symlinked_out_of_its_folder_is_refused_by_name(
    git_repo: Path, tmp_path: Path
) -> None:
    host = tmp_path / "host" / "config"
    host.parent.mkdir()
    host.write_text("CANARY-token: 1\n")
    (git_repo / "envctl.yaml").symlink_to(host)
    with pytest.raises(InputError) as info:
        find_project(git_repo)
    assert info.value.message.startswith("envctl.yaml: project file resolves outside ")
    assert "CANARY" not in info.value.message


def test_runner_is_an_engine_url_located_in_the_spec(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "prod", extra="runner: ssh://deploy@gpu-host\n")
    assert load_environment(str(path)).spec.runner == "ssh://deploy@gpu-host"
    bad = write_spec(tmp_path, "staging", extra="runner: http://gpu-host:2375\n")
    with pytest.raises(SpecError) as info:
        load_environment(str(bad))
    assert info.value.exit_code == 3
    assert info.value.message.endswith(
        "staging.yaml:10:1: runner: 'http://gpu-host:2375' is not a Docker Engine URL: "
        "unix:///path/to/docker.sock, tcp://HOST:PORT or ssh://[USER@]HOST"
    )


def test_no_runner_leaves_the_fingerprint_as_it_was(tmp_path: Path) -> None:
    """`runner` is where gates run, not what the stage is: absent, the canonical form
    (and every recorded fingerprint) is unchanged."""
    env = load_environment(str(write_spec(tmp_path, "prod")))
    assert env.spec.runner is None
    assert "runner" not in env.spec.canonical()
