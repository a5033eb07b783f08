"""Losing a publishing race: the registration is withdrawn and the checkout follows the remote."""

from __future__ import annotations

import hashlib

import pytest

from flows.registry.publish import publish
from tasks.common.errors import ModelRefused, RemoteMoved
from tasks.common.params import load_params
from tests.registry_team import (
    clone,
    git,
    make_team,
    remote_tags,
    train_and_register,
)


def publish_from(repo):
    return publish(repo, load_params(repo / "params.yaml"))


def cached(repo, text: str) -> bool:
    value = hashlib.md5(text.encode()).hexdigest()
    return (repo / ".dvc/cache/files/md5" / value[:2] / value[2:]).exists()


def test_the_loser_withdraws_follows_the_remote_and_reruns_against_the_new_champion(tmp_path):
    team = make_team(tmp_path / "team")
    winner, loser = team.repo, clone(team, tmp_path / "loser")
    train_and_register(winner, seed=1)
    train_and_register(loser, seed=2)  # the same version name, another model
    publish_from(winner)

    with pytest.raises(RemoteMoved) as lost:
        publish_from(loser)
    message = str(lost.value)
    assert "it already has model#staging#1, model@v0.1.0 from another worker" in message
    assert "registration was withdrawn (model#staging#1, model@v0.1.0)" in message
    assert "this checkout now follows origin/main, then `trainflow run`" in message
    assert remote_tags(team.origin)["model@v0.1.0"] == git(winner, "rev-parse", "HEAD")
    assert git(loser, "rev-parse", "HEAD") == git(team.origin, "rev-parse", "main")
    assert git(loser, "rev-parse", "model@v0.1.0^{commit}") == git(winner, "rev-parse", "HEAD")
    assert git(loser, "status", "--porcelain") == ""
    assert (loser / "models/model/weights.txt").read_text() == "2"  # its model stays
    assert cached(loser, "2")

    with pytest.raises(ModelRefused, match="the champion is now model@v0.1.0"):
        train_and_register(loser, seed=2)  # a verdict from before the winner: refused
    registered = train_and_register(loser, seed=2, champion="v0.1.0")  # evaluated again
    assert registered.version == "v0.2.0"
    assert publish_from(loser).tags == ("model#staging#2", "model@v0.2.0")


def test_a_branch_that_moved_on_withdraws_and_says_to_pull_when_it_cannot_follow(tmp_path):
    team = make_team(tmp_path / "team")
    other = clone(team, tmp_path / "other")
    (other / "notes.txt").write_text("a change pushed while this checkout trained\n")
    git(other, "add", "notes.txt")
    git(other, "commit", "-q", "-m", "notes")
    git(other, "push", "-q", "origin", "main")
    train_and_register(team.repo, seed=1)
    (team.repo / "notes.txt").write_text("an untracked file of the same name\n")

    with pytest.raises(RemoteMoved) as lost:
        publish_from(team.repo)
    message = str(lost.value)
    assert "its branch main has commits this checkout lacks" in message
    assert "update this checkout first (git pull origin)" in message
    assert git(team.repo, "tag", "-l") == "" and remote_tags(team.origin) == {}
    assert git(team.repo, "log", "-1", "--format=%s") == "pipeline"  # the commit was undone
    assert "dvc.lock" in git(team.repo, "status", "--porcelain")  # its files were kept
    assert (team.repo / "notes.txt").read_text() == "an untracked file of the same name\n"
