"""Publishing registrations to real remotes: a bare git repository and a local DVC remote."""

from __future__ import annotations

import re

import pytest

from flows.registry.publish import branch_state, publish
from flows.registry.remotes import target
from tasks.common.errors import PublishError
from tasks.common.params import load_params
from tasks.registry.versions import out_hash
from tests.registry_team import (
    Team,
    git,
    make_team,
    remote_tags,
    stored,
    train_and_register,
)


@pytest.fixture
def team(tmp_path) -> Team:
    return make_team(tmp_path)


def published_by(team: Team):
    return publish(team.repo, load_params(team.repo / "params.yaml"))


def model_md5(repo, ref: str = "HEAD") -> str:
    return out_hash(git(repo, "show", f"{ref}:dvc.lock"), "train", "models/model")


def test_files_go_to_the_dvc_remote_then_branch_and_tags_to_git(team):
    train_and_register(team.repo, seed=1)
    published = published_by(team)
    head = git(team.repo, "rev-parse", "HEAD")
    assert published.tags == ("model#staging#1", "model@v0.1.0")
    assert published.files == 2  # the model folder's listing and its one file
    assert stored(team.store, model_md5(team.repo))
    assert any((team.store / "runs").rglob("*")), "the run-cache stays behind"
    assert remote_tags(team.origin) == {"model#staging#1": head, "model@v0.1.0": head}
    assert git(team.origin, "rev-parse", "main") == head

    again = published_by(team)
    assert (again.tags, again.files) == ((), 0)


def test_an_unreachable_remote_changes_nothing_and_a_later_push_publishes(team):
    train_and_register(team.repo, seed=1)
    head, tags = git(team.repo, "rev-parse", "HEAD"), git(team.repo, "tag", "-l")
    down = team.origin.rename(team.origin.with_name("down.git"))
    with pytest.raises(PublishError) as failed:
        published_by(team)
    assert re.search(r"git remote 'origin' \(.+origin\.git\) is unreachable", str(failed.value))
    assert str(failed.value).endswith("`trainflow models push` (or the next run) publishes them")
    assert (git(team.repo, "rev-parse", "HEAD"), git(team.repo, "tag", "-l")) == (head, tags)
    assert not team.store.exists()  # nothing uploaded for a registration git cannot take

    down.rename(team.origin)
    assert published_by(team).tags == ("model#staging#1", "model@v0.1.0")
    assert set(remote_tags(team.origin)) == {"model#staging#1", "model@v0.1.0"}


def test_stage_tags_of_published_versions_are_published_too(team):
    from flows.registry.assign import promote

    train_and_register(team.repo, seed=1)
    published_by(team)
    promote(team.repo, "model", "v0.1.0")
    published = published_by(team)
    assert published.tags == ("model#prod#2",) and published.files == 0
    assert "model#prod#2" in remote_tags(team.origin)


def test_a_failed_fetch_is_not_a_diverged_branch(team):
    """The remote moved on and then went away: publishing stops (exit 9), nothing withdrawn."""
    train_and_register(team.repo, seed=1)
    to = target(team.repo, load_params(team.repo / "params.yaml"))
    team.origin.rename(team.origin.with_name("gone.git"))
    theirs = {"refs/heads/main": "1" * 40}  # a commit this checkout has never seen
    with pytest.raises(PublishError, match=r"git remote 'origin' \(.*origin\.git\): cannot fetch"):
        branch_state(team.repo, to, theirs)
