"""Which remotes a registration is published to, checked before anything is registered."""

from __future__ import annotations

import pytest

from flows.registry.remotes import registry_tags, remote_branch, target
from tasks.common.errors import ParamsError
from tests.registry_team import git, make_team, write_params


def test_the_remotes_come_from_params_and_the_committed_config(tmp_path):
    team = make_team(tmp_path)
    found = target(team.repo, write_params(team.repo, 0))
    assert (found.git, found.url, found.branch, found.dvc) == (
        "origin",
        str(team.origin),
        "main",
        "store",
    )


def test_a_missing_git_remote_names_the_key(tmp_path):
    team = make_team(tmp_path)
    with pytest.raises(ParamsError, match="register.git_remote: .* no git remote 'team'"):
        target(team.repo, write_params(team.repo, 0, git_remote="team"))


def test_a_dvc_remote_must_exist_and_be_committed(tmp_path):
    from dvc.repo import Repo

    team = make_team(tmp_path)
    with Repo(str(team.repo)) as dvc, dvc.config.edit() as config:
        del config["core"]["remote"]
    with pytest.raises(ParamsError, match="register.push: this repository has no default DVC"):
        target(team.repo, write_params(team.repo, 0))
    with Repo(str(team.repo)) as dvc, dvc.config.edit() as config:
        config["remote"]["s3"] = {"url": "s3://bucket/path"}
    with pytest.raises(
        ParamsError, match="register.dvc_remote: DVC remote 's3' is not in the commit"
    ):
        target(team.repo, write_params(team.repo, 0, dvc_remote="s3"))
    git(team.repo, "commit", "-q", "-am", "S3 remote")
    assert target(team.repo, write_params(team.repo, 0, dvc_remote="s3")).dvc == "s3"


def test_only_the_artifacts_gto_tags_are_the_registry(tmp_path):
    team = make_team(tmp_path)
    for name in ("model@v0.1.0", "model#prod#2", "model-b@v0.1.0", "other@v1.0.0", "model@latest"):
        git(team.repo, "tag", name)
    assert set(registry_tags(team.repo, "model")) == {"model@v0.1.0", "model#prod#2"}


def test_the_branch_is_published_to_its_upstream(tmp_path):
    team = make_team(tmp_path)
    git(team.repo, "checkout", "-q", "-b", "nightly", "--track", "origin/main")
    assert remote_branch(team.repo, "origin") == "main"
    git(team.repo, "checkout", "-q", "-b", "local-only")
    assert remote_branch(team.repo, "origin") == "local-only"
    git(team.repo, "checkout", "-q", "--detach")
    assert remote_branch(team.repo, "origin") is None
