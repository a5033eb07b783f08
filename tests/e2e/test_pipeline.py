"""End to end, in a temporary git copy of the repo: both runners, registry, failures."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

from tasks.common.errors import ExitCode
from tests.conftest import BIN, FAST, client, git_tags, run, trainflow

pytestmark = pytest.mark.e2e
AFTER_INGEST = ("validate", "prepare", "train", "evaluate")


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def commit_params(workspace, env, *overrides):
    """Write overrides into params.yaml and commit them, as a user editing params would."""
    from tasks.common.params import write_overrides

    write_overrides(workspace / "params.yaml", overrides)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "commit", "-qam", "params"], cwd=workspace, env=env, check=True)


def test_dvc_repro_runs_every_stage_then_nothing_after_ingest(workspace, env):
    commit_params(workspace, env, *FAST)
    first = run([str(BIN / "dvc"), "repro"], workspace, env)
    assert first.returncode == 0, first.stdout + first.stderr
    for stage in ("ingest", *AFTER_INGEST):
        assert f"Running stage '{stage}'" in first.stdout
    second = run([str(BIN / "dvc"), "repro"], workspace, env)
    assert second.returncode == 0, second.stderr
    for stage in AFTER_INGEST:
        assert f"Stage '{stage}' didn't change, skipping" in second.stdout
    metrics = json.loads((workspace / "reports/metrics.json").read_text())
    assert metrics["accuracy"] > 0.5
    assert (workspace / "models/model/model.keras").exists()

    # Code a stage runs is a dep of that stage; the flow's own code is a dep of none.
    with (workspace / "flows/registry/register.py").open("a") as code:
        code.write("# a change to registration code\n")
    assert changed_stages(workspace, env) == ["ingest"]  # always changed
    with (workspace / "tasks/common/params.py").open("a") as code:
        code.write("# a change to the params defaults\n")
    assert changed_stages(workspace, env) == ["ingest", *AFTER_INGEST]


def recorded_run(stdout: str):
    """The Prefect flow run a `trainflow run` named on its first line."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    name = stdout.split("trainflow: run '", 1)[1].split("'", 1)[0]
    with client() as prefect:
        (found,) = prefect.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name]))
        )
    return found


def artifact_keys(flow_run_id) -> set[str]:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    found = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
    with client() as prefect:
        return {a.key for a in prefect.read_artifacts(artifact_filter=found)}


def changed_stages(workspace, env) -> list[str]:
    status = run([str(BIN / "dvc"), "status", "--json"], workspace, env)
    return sorted(json.loads(status.stdout), key=["ingest", *AFTER_INGEST].index)


def test_flow_registers_once_and_shares_dvc_lock_with_dvc_repro(workspace, env):
    (workspace / "notes.txt").write_text("a user's own uncommitted file\n")
    first = trainflow(workspace, env, "run", *sets(*FAST))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "version: model@v0.1.0 (new version)" in first.stdout
    assert {"model@v0.1.0", "model#staging#1"} <= set(git_tags(workspace))
    shown = run([str(BIN / "gto"), "show", "--json"], workspace, env)
    assert json.loads(shown.stdout)["model"]["version"] == "v0.1.0"
    status = run(["git", "status", "--porcelain"], workspace, env).stdout
    assert status.strip() == "?? notes.txt"
    lineage = json.loads((workspace / "registry/model/v0.1.0/lineage.json").read_text())
    assert lineage["params"]["train"]["epochs"] == 3
    assert lineage["data_md5"] and lineage["model_md5"]

    second = trainflow(workspace, env, "run")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "unchanged, already registered" in second.stdout
    logs = second.stdout + second.stderr
    for stage in AFTER_INGEST:
        assert f"Stage '{stage}' didn't change, skipping" in logs
    assert sorted(git_tags(workspace)) == ["model#staging#1", "model@v0.1.0"]
    # Decided before Prefect's engine started, and recorded as any skipped run of the flow.
    skipped_run = recorded_run(second.stdout)
    assert skipped_run.state.name == "Skipped" and skipped_run.state.is_completed()
    assert skipped_run.state.message.startswith("no new data: DVC reports no change since")
    assert "model@v0.1.0" in skipped_run.tags
    assert skipped_run.start_time and skipped_run.end_time
    assert "skipped" in artifact_keys(skipped_run.id)

    repro = run([str(BIN / "dvc"), "repro"], workspace, env)
    for stage in AFTER_INGEST:
        assert f"Stage '{stage}' didn't change, skipping" in repro.stdout
    listed = trainflow(workspace, env, "models", "list", "--json")
    assert [v["version"] for v in json.loads(listed.stdout)] == ["v0.1.0"]


def tabular_source(path):
    """A CSV with numeric and string features, missing values and two unlabelled rows."""
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    label = np.where(x + (color == "red") > 0.3, "yes", "no").astype(object)
    frame = pd.DataFrame({"x": x, "noise": rng.normal(size=n), "color": color, "target": label})
    frame.loc[[3, 9], "x"] = np.nan
    frame.loc[[5], "color"] = None
    frame.loc[[7, 11], "target"] = None
    frame.to_csv(path, index=False)


def test_tabular_csv_trains_and_registers_from_params_only(workspace, env):
    tabular_source(workspace / "customers.csv")
    result = trainflow(
        workspace,
        env,
        "run",
        *sets(
            "data.source=customers.csv",
            "data.target=target",
            "train.epochs=20",
            "evaluate.gate.min_accuracy=0.7",
            "evaluate.gate.min_macro_f1=0.6",
            "flow.train_retries=0",
        ),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "model@v0.1.0" in result.stdout
    validation = json.loads((workspace / "reports/validation.json").read_text())
    assert validation["null_targets_dropped"] == 2
    meta = json.loads((workspace / "data/prepared/meta.json").read_text())
    expected = {"numeric": ["x", "noise"], "categorical": ["color"], "text": []}
    assert meta["features"] == expected  # "color" is a category, not free text
    assert sum(meta["rows"].values()) == 298


def test_bad_params_fail_before_any_stage(workspace, env):
    result = trainflow(workspace, env, "run", "--set", "train.epochs=0")
    assert result.returncode == ExitCode.BAD_PARAMS
    assert "train.epochs: must be greater than 0" in result.stderr
    assert not (workspace / "dvc.lock").exists()
    assert not (workspace / "data/raw").exists()

    (workspace / "params.yaml").write_text("train:\n  epochz: 3\n")
    result = trainflow(workspace, env, "run")
    assert result.returncode == ExitCode.BAD_PARAMS
    assert "params.yaml: train.epochz: unknown key" in result.stderr


def test_corrupt_data_stops_at_validate_and_registers_nothing(workspace, env):
    tabular_source(workspace / "customers.csv")
    result = trainflow(
        workspace, env, "run", *sets("data.source=customers.csv", "data.target=churned", *FAST)
    )
    assert result.returncode == ExitCode.DATA_INVALID, result.stdout + result.stderr
    assert "expect_column_to_exist on column 'churned'" in result.stderr
    assert not (workspace / "data/prepared").exists()
    assert not (workspace / "models/model").exists()
    assert git_tags(workspace) == []


def test_refused_model_is_not_registered(workspace, env):
    result = trainflow(
        workspace,
        env,
        "run",
        *sets("train.epochs=1", "flow.train_retries=0", "evaluate.gate.min_accuracy=0.999"),
    )
    assert result.returncode == ExitCode.MODEL_REFUSED, result.stdout + result.stderr
    assert "the gate refused the model" in result.stderr
    assert "accuracy" in result.stderr and "needs >= 0.999" in result.stderr
    assert git_tags(workspace) == []
    assert json.loads((workspace / "reports/gate.json").read_text())["blessed"] is False
