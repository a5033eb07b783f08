"""A version's files come from its tag and the DVC remote, in any checkout."""

from __future__ import annotations

import json

import pytest

from tasks.common.errors import RegistryError
from tasks.common.params import load_params
from tasks.registry.files import champion_reference, fetch_model, registered_file, remote_options
from tests.registry_team import clone, git, make_team, train_and_register


def test_registered_files_are_read_at_the_tag_not_from_the_working_tree(tmp_path):
    team = make_team(tmp_path)
    train_and_register(team.repo, seed=1)
    card = registered_file(team.repo, "model", "v0.1.0", "card.md")
    git(team.repo, "reset", "-q", "--hard", "HEAD^")  # the branch no longer holds it
    assert not (team.repo / "registry").exists()
    assert registered_file(team.repo, "model", "v0.1.0", "card.md") == card
    assert card.startswith("# model v0.1.0")
    assert registered_file(team.repo, "model", "v0.1.0", "nothing.json") is None


def test_the_champions_reference_comes_from_its_tag(tmp_path):
    team = make_team(tmp_path)
    assert champion_reference(load_params(team.repo / "params.yaml"), team.repo) is None
    (team.repo / "data/prepared").mkdir(parents=True)
    (team.repo / "data/prepared/reference.json").write_text(json.dumps({"rows": 3}))
    train_and_register(team.repo, seed=1)
    git(team.repo, "reset", "-q", "--hard", "HEAD^")
    params = load_params(team.repo / "params.yaml")
    assert champion_reference(params, team.repo) == {"rows": 3}


def test_a_fresh_clone_fetches_a_model_registered_before_the_remote_existed(tmp_path):
    from flows.registry.publish import publish

    team = make_team(tmp_path)
    committed = (team.repo / ".dvc/config").read_text()  # v0.1.0 predates the remote:
    (team.repo / ".dvc/config").write_text("[core]\n    analytics = false\n")
    git(team.repo, "commit", "-q", "-am", "no remote yet")
    train_and_register(team.repo, seed=1)
    (team.repo / ".dvc/config").write_text(committed)
    git(team.repo, "commit", "-q", "-am", "the team's remote")
    publish(team.repo, load_params(team.repo / "params.yaml"))

    reader = clone(team, tmp_path / "reader")
    assert remote_options(reader)["config"]["core"] == {"remote": "store"}
    params = load_params(reader / "params.yaml")
    fetched = fetch_model(reader, params, "v0.1.0", tmp_path / "out")
    assert (fetched / "weights.txt").read_text() == "1"


def test_fetch_model_refuses_a_folder_that_is_not_a_model(tmp_path):
    team = make_team(tmp_path)
    train_and_register(team.repo, seed=1)
    out = tmp_path / "notes"
    out.mkdir()
    (out / "todo.txt").write_text("mine")
    with pytest.raises(RegistryError, match="notes holds files that are not a model"):
        fetch_model(team.repo, load_params(team.repo / "params.yaml"), "v0.1.0", out)
    assert (out / "todo.txt").read_text() == "mine"
