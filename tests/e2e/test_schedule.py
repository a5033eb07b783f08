"""Scheduled retraining against a real Prefect server: `trainflow serve` and prefect.yaml."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tasks.registry.versions import out_hash
from tests.conftest import (
    BIN,
    FAST,
    client,
    finished,
    fresh_env,
    git_tags,
    make_workspace,
    run,
    wait_until,
)

pytestmark = pytest.mark.e2e
CRON = "0 3 * * *"


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def artifacts(flow_run_id) -> dict:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    found = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
    with client() as prefect:
        return {a.key: a for a in prefect.read_artifacts(artifact_filter=found) if a.key}


def task_names(flow_run_id) -> set[str]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    found = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    with client() as prefect:
        return {t.name for t in prefect.read_task_runs(flow_run_filter=found)}


def deployment(name: str):
    from prefect.exceptions import ObjectNotFound

    with client() as prefect:
        try:
            return prefect.read_deployment_by_name(name)
        except ObjectNotFound:
            return None


@pytest.fixture(scope="module")
def user_env(prefect_api: str, tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    return fresh_env(home, prefect_api, PREFECT_RUNNER_POLL_FREQUENCY="1")


@pytest.fixture(scope="module")
def served(user_env, tmp_path_factory) -> Iterator[tuple[Path, object]]:
    """`trainflow serve --cron` running in the background, and the deployment it created."""
    workspace = make_workspace(tmp_path_factory.mktemp("served") / "repo")
    log = workspace.parent / "serve.log"
    command = [str(BIN / "trainflow"), "serve", "--cron", CRON, *sets(*FAST)]
    with open(log, "w") as out:
        process = subprocess.Popen(
            command, cwd=workspace, env=user_env, stdout=out, stderr=subprocess.STDOUT
        )

    def created():
        assert process.poll() is None, f"trainflow serve exited:\n{log.read_text()}"
        return deployment("retrain/trainflow")

    try:
        yield workspace, wait_until(created, 120, "the served deployment")
    finally:
        process.terminate()
        process.wait(30)


@pytest.fixture(scope="module")
def trained(served):
    """A run triggered from the served deployment (as the UI's "Run" button does), finished."""
    workspace, served_deployment = served
    with client() as prefect:
        flow_run = prefect.create_flow_run_from_deployment(served_deployment.id)
    return workspace, wait_until(lambda: finished(flow_run.id), 400, "the served run", 1)


def test_serve_creates_a_cron_deployment_whose_runs_train_and_tell_the_story(served, trained):
    workspace, served_deployment = served
    (schedule,) = served_deployment.schedules
    assert schedule.schedule.cron == CRON and schedule.active
    assert served_deployment.parameters == {
        "overrides": FAST,
        "register_blessed": True,
        "workspace": str(workspace),
    }
    _, flow_run = trained
    assert flow_run.state.is_completed() and flow_run.state.name == "Completed"
    assert task_names(flow_run.id) == {"ingest", "validate", "prepare", "train", "evaluate"} | {
        "register"
    }
    found = artifacts(flow_run.id)
    assert {"validation", "data-docs", "training-progress", "test-metrics", "gate"} <= set(found)
    assert float(found["training-progress"].data) == 100
    checks = json.loads(found["validation"].data)
    assert checks and all(row["success"] for row in checks)
    assert {"expectation", "column", "observed", "unexpected_percent"} <= set(checks[0])
    metrics = json.loads((workspace / "reports/metrics.json").read_text())
    table = {row["metric"]: row["challenger"] for row in json.loads(found["test-metrics"].data)}
    assert table["accuracy"] == round(metrics["accuracy"], 4)
    assert found["gate"].data.startswith("# Gate: blessed")
    assert found["model-card"].description == "model@v0.1.0: new version"
    data_md5 = out_hash((workspace / "dvc.lock").read_text(), "ingest", "data/raw")
    assert {"model@v0.1.0", f"data:{data_md5[:12]}"} <= set(flow_run.tags)
    assert "model@v0.1.0" in git_tags(workspace)


def test_prefect_yaml_deploys_to_a_process_pool_and_unchanged_data_is_skipped(trained, user_env):
    workspace, _ = trained
    pool = run(
        [str(BIN / "prefect"), "work-pool", "create", "trainflow", "--type", "process"],
        workspace,
        user_env,
    )
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deployed = run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"], workspace, user_env)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    nightly = deployment("retrain/nightly")
    assert nightly.work_pool_name == "trainflow"
    assert nightly.schedules[0].schedule.cron == CRON
    (step,) = nightly.pull_steps
    assert step["prefect.deployments.steps.set_working_directory"]["directory"] == str(workspace)
    tags_before = sorted(git_tags(workspace))

    with client() as prefect:
        flow_run = prefect.create_flow_run_from_deployment(nightly.id)
    worker_once = [str(BIN / "prefect"), "worker", "start", "--pool", "trainflow", "--run-once"]
    worker_once += ["--limit", "1"]
    worker = run(worker_once, workspace.parent, user_env, timeout=300)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    done = wait_until(lambda: finished(flow_run.id), 60, "the worker's run")
    assert done.state.is_completed() and done.state.name == "Skipped", done.state
    assert done.state.message.startswith("no new data: DVC reports no change since model@v0.1.0")
    assert task_names(flow_run.id) == {"ingest"}
    assert "skipped" in artifacts(flow_run.id)
    assert sorted(git_tags(workspace)) == tags_before

    # The score-prod deployment scores an input as `trainflow predict --out` does.
    raw = Path("data/raw/images")  # the digits, as ingest keeps them: one folder per class
    asked = {"source": str(raw), "out": "reports/scored.parquet", "model": "v0.1.0"}
    with client() as prefect:
        score_run = prefect.create_flow_run_from_deployment(
            deployment("score/score-prod").id, parameters=asked
        )
    worker = run(worker_once, workspace.parent, user_env, timeout=300)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    scored = wait_until(lambda: finished(score_run.id), 60, "the scoring run")
    assert scored.state.is_completed(), scored.state
    assert "model@v0.1.0" in scored.tags
    command = [str(BIN / "trainflow"), "predict", str(raw), "--model", "v0.1.0"]
    predicted = run([*command, "--out", "predicted.csv"], workspace, user_env)
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    expected = pd.read_csv(workspace / "predicted.csv", dtype={"id": str, "predicted": str})
    found = pd.read_parquet(workspace / "reports/scored.parquet")
    assert len(found) == len(list((workspace / raw).rglob("*.png"))) > 0
    pd.testing.assert_frame_equal(found, expected, check_dtype=False, check_exact=False, rtol=1e-6)
