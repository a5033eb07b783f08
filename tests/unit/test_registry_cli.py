"""`trainflow models get` and `trainflow predict` on the user's own paths: clear usage errors."""

from __future__ import annotations

import os

from tests.conftest import BIN, run
from tests.registry_team import git, make_team, train_and_register

WIDE = dict(os.environ, COLUMNS="500")  # typer's error box wraps long paths otherwise


def models_get(repo, out):
    command = [str(BIN / "trainflow"), "models", "get", "v0.1.0"]
    return run([*command, "--out", str(out), "--workspace", str(repo)], repo, WIDE)


def test_models_get_never_replaces_a_folder_holding_other_files(tmp_path):
    team = make_team(tmp_path)
    train_and_register(team.repo, seed=1)
    before = sorted(path.name for path in team.repo.iterdir())
    refused = models_get(team.repo, ".")
    assert refused.returncode == 2
    assert "Invalid value for '--out': . holds files that are not a model" in refused.stderr
    assert sorted(path.name for path in team.repo.iterdir()) == before
    assert git(team.repo, "status", "--porcelain") == ""


def test_models_get_replaces_a_model_fetched_before(tmp_path):
    team = make_team(tmp_path)
    train_and_register(team.repo, seed=1)
    out = tmp_path / "served"
    out.mkdir()
    (out / "model.keras").write_text("an older model")
    (out / "meta.json").write_text("{}")
    fetched = models_get(team.repo, out)
    assert fetched.returncode == 0, fetched.stderr
    assert sorted(path.name for path in out.iterdir()) == ["weights.txt"]
    assert not list(tmp_path.glob(".served.*"))  # the temporary folder became `out`


def test_predict_names_a_missing_input(tmp_path):
    missing = tmp_path / "new-images.csv"
    done = run([str(BIN / "trainflow"), "predict", str(missing)], tmp_path, WIDE)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "new-images.csv" in done.stderr and "does not exist" in done.stderr


def test_models_get_saved_model_names_a_version_that_has_none(tmp_path):
    team = make_team(tmp_path)
    train_and_register(team.repo, seed=1)
    base = tmp_path / "serving"
    command = [str(BIN / "trainflow"), "models", "get", "v0.1.0", "--format", "saved_model"]
    done = run([*command, "--out", str(base), "--workspace", str(team.repo)], team.repo, WIDE)
    assert done.returncode == 7, done.stderr
    assert "models/model/saved_model not found" in done.stderr
    assert "registered before SavedModels were exported" in done.stderr
    assert not base.exists() or not list(base.iterdir())
    (base / "notes.txt").parent.mkdir(exist_ok=True)
    (base / "notes.txt").write_text("mine")
    refused = run([*command, "--out", str(base), "--workspace", str(team.repo)], team.repo, WIDE)
    assert refused.returncode == 2
    assert "holds files that are not numbered model versions" in refused.stderr
