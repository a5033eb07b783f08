"""What a version needs in the DVC remote, and what happens when the cache lost some of it."""

from __future__ import annotations

import hashlib

import pytest

from flows.registry.uploads import needed, upload
from tasks.common.errors import PublishError
from tests.registry_team import (
    git,
    inside,
    make_team,
    remote_tags,
    train_and_register,
    write_params,
)


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def test_a_version_needs_the_outputs_at_its_tag_not_the_workspace(tmp_path):
    from dvc.repo import Repo

    team = make_team(tmp_path)
    train_and_register(team.repo, seed=1)
    write_params(team.repo, 2)
    with inside(team.repo), Repo(str(team.repo)) as dvc:
        dvc.reproduce("train")  # the workspace moves on; v0.1.0 still needs "1"
        found = {obj.value for obj in needed(dvc, ["model@v0.1.0"])}
    assert md5("1") in found and md5("2") not in found
    assert any(value.endswith(".dir") for value in found)


def test_files_missing_from_the_cache_keep_the_version_out_of_both_remotes(tmp_path):
    from flows.registry.publish import publish
    from tasks.common.params import load_params

    team = make_team(tmp_path)
    train_and_register(team.repo, seed=1)
    weights = md5("1")
    (team.repo / ".dvc/cache/files/md5" / weights[:2] / weights[2:]).unlink()
    with pytest.raises(PublishError, match=r"lacks 1 files .* models/model/weights\.txt"):
        publish(team.repo, load_params(team.repo / "params.yaml"))
    assert remote_tags(team.origin) == {}
    assert git(team.repo, "tag", "-l")  # the local registration is intact


def test_an_unwritable_dvc_remote_is_one_clear_error(tmp_path):
    team = make_team(tmp_path)
    train_and_register(team.repo, seed=1)
    team.store.write_text("a file where the remote's folder should be")
    with pytest.raises(PublishError, match="DVC remote 'store'"):
        upload(team.repo, ["model@v0.1.0"], "store")
