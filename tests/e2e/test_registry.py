"""Champion vs challenger, promotion, rollback, lineage, serving parity and safe registration."""

from __future__ import annotations

import json
import shutil
import subprocess

import pandas as pd
import pytest

from tasks.common.errors import ExitCode
from tasks.registry.versions import out_hash
from tests.conftest import BIN, FAST, git_tags, run, trainflow

pytestmark = pytest.mark.e2e


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def stages_of(workspace, env) -> dict[str, list[str]]:
    listed = trainflow(workspace, env, "models", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return {v["version"]: v["stages"] for v in json.loads(listed.stdout)}


def git_show(workspace, ref: str, path: str) -> str:
    shown = subprocess.run(
        ["git", "show", f"{ref}:{path}"], cwd=workspace, capture_output=True, text=True, check=True
    )
    return shown.stdout


def dvc_metrics(workspace, env) -> dict:
    """`dvc metrics show --json`: each metrics file's values, as DVC users see them."""
    shown = run([str(BIN / "dvc"), "metrics", "show", "--json"], workspace, env)
    assert shown.returncode == 0, shown.stderr
    return {path: found["data"] for path, found in json.loads(shown.stdout)[""]["data"].items()}


def not_numbers(metrics: dict, where: str = "") -> list[str]:
    """Every metric that is not a number (nested keys joined by dots)."""
    found = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            found += not_numbers(value, f"{where}{key}.")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            found.append(f"{where}{key}: {value!r}")
    return found


def test_champion_challenger_promotion_rollback_lineage_and_parity(workspace, env):
    first = trainflow(workspace, env, "run", *sets(*FAST))
    assert first.returncode == 0, first.stdout + first.stderr
    promoted = trainflow(workspace, env, "models", "promote", "v0.1.0", "--to", "prod")
    assert promoted.returncode == 0, promoted.stderr
    assert stages_of(workspace, env)["v0.1.0"] == ["prod", "staging"]

    worse = trainflow(
        workspace,
        env,
        "run",
        *sets(
            "train.epochs=1",
            "train.learning_rate=0.0001",
            "evaluate.gate.min_accuracy=0.1",
            "evaluate.gate.min_macro_f1=0.01",
        ),
    )
    assert worse.returncode == ExitCode.MODEL_REFUSED, worse.stdout + worse.stderr
    assert "no_regression_accuracy" in worse.stderr
    gate = json.loads((workspace / "reports/gate.json").read_text())
    assert gate["champion"] == "v0.1.0"
    assert all(c["champion"] is not None for c in gate["checks"] if c["check"].startswith("no_"))
    assert list(stages_of(workspace, env)) == ["v0.1.0"]

    better = trainflow(
        workspace,
        env,
        "run",
        *sets("train.epochs=12", "train.learning_rate=0.002", "register.auto_promote=true"),
    )
    assert better.returncode == 0, better.stdout + better.stderr
    assert stages_of(workspace, env) == {"v0.1.0": [], "v0.2.0": ["prod", "staging"]}
    metrics = json.loads((workspace / "reports/metrics.json").read_text())
    assert json.loads((workspace / "reports/gate.json").read_text())["champion"] == "v0.1.0"
    assert metrics["accuracy"] >= metrics["champion"]["accuracy"] - 0.01
    shown = dvc_metrics(workspace, env)
    assert not_numbers(shown) == []  # what `dvc exp show` compares across runs
    assert shown["reports/train.json"]["epochs_run"] >= 1 and len(shown) == 3

    lineage = json.loads((workspace / "registry/model/v0.2.0/lineage.json").read_text())
    lock = git_show(workspace, "model@v0.2.0", "dvc.lock")
    assert lineage["model_md5"] == out_hash(lock, "train", "models/model")
    assert lineage["data_md5"] == out_hash(lock, "ingest", "data/raw")
    assert lineage["params"]["train"]["epochs"] == 12
    assert "epochs: 12" in git_show(workspace, "model@v0.2.0", "params.yaml")
    assert lineage["libraries"]["tensorflow"] and lineage["training"]["device"]
    assert lineage["training"]["epochs_run"] >= 1 and "params" not in lineage["training"]
    card = trainflow(workspace, env, "models", "show", "v0.2.0")
    assert "# model v0.2.0" in card.stdout and "champion (v0.1.0)" in card.stdout

    serving_parity(workspace, env)

    rolled = trainflow(workspace, env, "models", "rollback")
    assert rolled.returncode == 0, rolled.stderr
    assert "prod: model@v0.2.0 -> model@v0.1.0" in rolled.stdout
    assert "prod" in stages_of(workspace, env)["v0.1.0"]

    fetched = trainflow(workspace, env, "models", "get", "prod", "--out", "fetched")
    assert fetched.returncode == 0, fetched.stderr
    assert (workspace / "fetched/model.keras").exists()
    again = trainflow(workspace, env, "models", "get", "v0.2.0", "--out", "fetched")
    assert again.returncode == 0, again.stderr  # a model fetched before is replaced
    bad = trainflow(workspace, env, "models", "get", "../../etc", "--out", "x")
    assert bad.returncode == ExitCode.REGISTRY and "stage '../../etc'" in bad.stderr


def serving_parity(workspace, env):
    """The registered model on the raw test images gives evaluate's probabilities exactly."""
    evaluated = pd.read_csv(workspace / "reports/predictions.csv")
    for relative in evaluated["id"]:
        target = workspace / "raw-test" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(workspace / "data/raw/images" / relative, target)
    served = trainflow(workspace, env, "predict", "raw-test", "--model", "prod", "--out", "p.csv")
    assert served.returncode == 0, served.stdout + served.stderr
    assert "images/s" not in served.stderr  # no progress bar when stderr is not a terminal
    predicted = pd.read_csv(workspace / "p.csv").set_index("id").loc[evaluated["id"]]
    probabilities = [c for c in evaluated.columns if c.startswith("p_")]
    assert (predicted["predicted"].to_numpy() == evaluated["predicted"].to_numpy()).all()
    assert (predicted[probabilities].to_numpy() == evaluated[probabilities].to_numpy()).all()


REGISTER = (
    "from pathlib import Path; from tasks.common.params import load_params; "
    "from flows.registry.register import register; print(register(load_params()).version)"
)


def test_racing_registrations_make_one_version(workspace, env):
    assert run([str(BIN / "dvc"), "repro"], workspace, env | {"PATH": env["PATH"]}).returncode == 0
    from tasks.common.params import write_overrides

    write_overrides(workspace / "params.yaml", FAST)
    assert run([str(BIN / "dvc"), "repro"], workspace, env).returncode == 0
    racers = [
        subprocess.Popen(
            [str(BIN / "python"), "-c", REGISTER],
            cwd=workspace,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [racer.communicate(timeout=300) for racer in racers]
    assert all(racer.returncode == 0 for racer in racers), results
    assert sorted(out.strip() for out, _ in results) == ["v0.1.0", "v0.1.0"]
    assert sorted(git_tags(workspace)) == ["model#staging#1", "model@v0.1.0"]


def test_failed_registration_leaves_no_tag_or_commit(workspace, env):
    from tasks.common.params import write_overrides

    write_overrides(workspace / "params.yaml", FAST)
    assert run([str(BIN / "dvc"), "repro"], workspace, env).returncode == 0
    head = run(["git", "rev-parse", "HEAD"], workspace, env).stdout
    # A held git lock on the stage tag makes the assignment fail after the version was tagged.
    (workspace / ".git/refs/tags/model#staging#1.lock").touch()
    failed = run([str(BIN / "python"), "-c", REGISTER], workspace, env)
    assert failed.returncode != 0
    assert "model#staging#1.lock" in failed.stderr
    assert run(["git", "rev-parse", "HEAD"], workspace, env).stdout == head
    assert git_tags(workspace) == []
    assert not (workspace / "registry/model/v0.1.0").exists()
    assert (workspace / "dvc.lock").exists()
