"""Stage assignments as a user meets them: GTO's refusals are registry errors (exit 7)."""

from __future__ import annotations

import os

import pytest

from flows.registry.assign import assign
from flows.registry.register import tag_version
from tasks.common.errors import RegistryError
from tests.conftest import BIN, run
from tests.registry_team import make_team, train_and_register


def test_promoting_a_version_twice_to_one_stage_exits_7_in_one_line(tmp_path):
    team = make_team(tmp_path)
    train_and_register(team.repo, seed=1, push=False)
    promote = [str(BIN / "trainflow"), "models", "promote", "v0.1.0", "--to", "prod"]
    assert run(promote, team.repo, dict(os.environ)).returncode == 0
    again = run(promote, team.repo, dict(os.environ))
    assert again.returncode == 7
    assert "Traceback" not in again.stderr
    assert again.stderr.splitlines() == [
        "trainflow: model@v0.1.0 is already in prod: nothing to promote",
        "trainflow: exit code 7 (registry error)",
    ]


def test_gto_refusals_name_the_version_and_stage(tmp_path):
    team = make_team(tmp_path)
    train_and_register(team.repo, seed=1, push=False)
    assign(team.repo, "model", "v0.1.0", "prod")
    with pytest.raises(RegistryError, match=r"GTO refused to assign prod to model@v0\.1\.0: "):
        assign(team.repo, "model", "v0.1.0", "prod")
    with pytest.raises(RegistryError, match=r"GTO refused to register model@v0\.2\.0: "):
        tag_version(team.repo, "model", "v0.2.0", [])  # HEAD already holds v0.1.0
