from flows.lock import run_lock
from flows.retrain import retrain, stage_task
from tasks.common.errors import RunBusy
from tasks.common.params import load_params
from tests.conftest import ROOT


def artifact(flow_run_id, key: str):
    from prefect import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    found = ArtifactFilter(
        flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]), key=ArtifactFilterKey(any_=[key])
    )
    with get_client(sync_client=True) as client:
        (only,) = client.read_artifacts(artifact_filter=found)
    return only


def test_training_retries_back_off_exponentially_and_other_stages_do_not_retry():
    params = load_params(
        ROOT / "params.yaml", ["flow.train_retries=3", "flow.retry_delay_seconds=2"]
    )
    train = stage_task("train", params)
    assert (train.name, train.retries, train.retry_delay_seconds) == ("train", 3, [2, 4, 8])
    assert stage_task("validate", params).retries == 0


def test_a_run_that_finds_the_workspace_busy_fails_and_says_why_in_the_ui(prefect_api, tmp_path):
    with run_lock(tmp_path, holder="flow run earlier-run"):
        state = retrain(workspace=str(tmp_path), lock_timeout=0.2, return_state=True)
    assert state.is_failed()
    assert isinstance(state.result(raise_on_failure=False), RunBusy)
    report = artifact(state.state_details.flow_run_id, "failure").data
    assert report.startswith("# Run failed: `RunBusy`")
    assert "| trainflow exit code | 8 (BUSY) |" in report and "earlier-run" in report


def test_a_crashed_stage_leaves_its_exit_code_and_last_output_in_the_ui(prefect_api, workspace):
    (workspace / "tasks/ingest/__main__.py").write_text(
        'import sys\nprint("ingest: the data share is not mounted", flush=True)\nsys.exit(9)\n'
    )
    state = retrain(workspace=str(workspace), return_state=True)
    assert state.is_failed()
    report = artifact(state.state_details.flow_run_id, "failure").data
    assert report.startswith("# Run failed: stage `ingest`")
    assert "| trainflow exit code | 5 (STAGE_FAILED) |" in report
    assert "| stage exit code | 9 |" in report
    assert "ingest: the data share is not mounted" in report
