"""New data starts a retraining: `trainflow watch`, the `on-new-data` trigger in prefect.yaml, a
process worker, against a real Prefect server."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.common.params import write_overrides
from tests.conftest import BIN, client, fresh_env, git_tags, make_workspace, run, wait_until
from tests.e2e.test_alerts import TABLE, table

pytestmark = pytest.mark.e2e
POOL = "watch-test"  # not prefect.yaml's pool: no other test's worker takes these runs


def background(command: list[str], cwd: Path, env: dict, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process and its children; SIGKILL after 30 s (a worker that is still
    running a flow run the test left waiting waits for it to end)."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


def runs_of(deployment_id) -> list:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    found = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
    with client() as prefect:
        return prefect.read_flow_runs(deployment_filter=found)


@pytest.fixture(scope="module")
def watched(prefect_api, tmp_path_factory) -> Iterator[tuple[Path, object, Path]]:
    """A workspace whose data.source is a folder, deployed as on-new-data, with a worker and
    `trainflow watch --interval 1` running."""
    root = tmp_path_factory.mktemp("watched")
    env = fresh_env(root, prefect_api, PREFECT_WORKER_QUERY_SECONDS="1")
    workspace = make_workspace(root / "repo")
    (workspace / "incoming").mkdir()
    table(workspace / "incoming/part-1.csv")
    write_overrides(workspace / "params.yaml", [*TABLE, "data.source=incoming"])
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "commit", "-qam", "watch incoming/"], cwd=workspace, check=True)
    prefect = str(BIN / "prefect")
    run([prefect, "work-pool", "create", POOL, "--type", "process"], workspace, env)
    deployed = run(
        [prefect, "--no-prompt", "deploy", "--name", "on-new-data", "--pool", POOL], workspace, env
    )
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    with client() as api:
        deployment = api.read_deployment_by_name("retrain/on-new-data")
    worker = background([prefect, "worker", "start", "--pool", POOL], root, env, root / "w.log")
    watcher = background(
        [str(BIN / "trainflow"), "watch", "--interval", "1"], workspace, env, root / "watch.log"
    )
    try:
        wait_until(lambda: "watching" in (root / "watch.log").read_text(), 60, "the watcher")
        yield workspace, deployment, root / "watch.log"
    finally:
        for process in (watcher, worker):
            stop(process)


def test_an_unchanged_source_starts_nothing(watched):
    _, deployment, log = watched
    time.sleep(4)  # several looks at the folder
    assert runs_of(deployment.id) == []
    assert "from now" in log.read_text() and "new data" not in log.read_text()


def test_a_new_file_starts_one_run_that_registers_and_changes_meanwhile_wait(watched):
    workspace, deployment, log = watched
    table(workspace / "incoming/part-2.csv", shift=0.1)
    (first,) = wait_until(lambda: runs_of(deployment.id), 60, "a triggered run")
    wait_until(lambda: runs_of(deployment.id)[0].state.is_running(), 120, "the run to start")

    table(workspace / "incoming/part-3.csv", shift=0.2)  # two quick changes during the run
    time.sleep(1.5)
    table(workspace / "incoming/part-4.csv", shift=0.3)
    most_running = 0
    while True:
        runs = sorted(runs_of(deployment.id), key=lambda r: r.created)
        most_running = max(most_running, sum(r.state.is_running() for r in runs))
        if runs[0].state.is_final():
            break
        time.sleep(0.5)
    assert runs[0].id == first.id and runs[0].state.is_completed(), runs[0].state
    assert most_running == 1  # the changes during the run wait for it, never run beside it
    assert 1 <= len(runs[1:]) <= 2
    assert "model@v0.1.0" in git_tags(workspace) and "model@v0.2.0" not in git_tags(workspace)
    assert log.read_text().count("new data in incoming") == len(runs)
