"""trainflow's events reach a real Prefect server with their resource, payload and run."""

from __future__ import annotations

from flows.events import RUN_FAILED, listing, resource_id
from flows.lock import run_lock
from flows.retrain import retrain
from tests.conftest import client, wait_until


def sent(name: str, flow_run_id) -> list:
    """The events called `name` that the server stored for one flow run."""
    from prefect.events.filters import EventFilter, EventNameFilter, EventRelatedFilter
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all()
    found = EventFilter(
        event=EventNameFilter(name=[name]),
        related=EventRelatedFilter(id=[f"prefect.flow-run.{flow_run_id}"]),
    )
    with client() as prefect:
        return prefect.read_events(filter=found, limit=50).events


def test_a_few_items_are_named_and_the_rest_counted():
    assert listing(["a", "b"]) == "a, b"
    assert listing([str(n) for n in range(8)]) == "0, 1, 2, 3, 4 and 3 more"


def test_a_failed_stage_sends_run_failed_naming_the_stage_and_the_cause(prefect_api, workspace):
    (workspace / "tasks/ingest/__main__.py").write_text(
        'import sys\nprint("ingest: the data share is not mounted", flush=True)\nsys.exit(9)\n'
    )
    state = retrain(workspace=str(workspace), return_state=True)
    flow_run_id = state.state_details.flow_run_id
    (event,) = wait_until(lambda: sent(RUN_FAILED, flow_run_id), 30, "the run.failed event")
    assert event.resource.id == resource_id("model") == "trainflow.model.model"
    assert event.resource["trainflow.workspace"] == str(workspace)
    assert event.payload["stage"] == "ingest" and event.payload["exit_code"] == 5
    assert event.payload["summary"].startswith("stage 'ingest' failed (exit code 9)")
    assert "the data share is not mounted" in event.payload["error"]


def test_a_run_failing_outside_any_stage_says_the_flow(prefect_api, tmp_path):
    with run_lock(tmp_path, holder="flow run earlier-run"):
        state = retrain(workspace=str(tmp_path), lock_timeout=0.2, return_state=True)
    flow_run_id = state.state_details.flow_run_id
    (event,) = wait_until(lambda: sent(RUN_FAILED, flow_run_id), 30, "the run.failed event")
    assert event.payload["stage"] is None and event.payload["exit_code"] == 8
    assert event.payload["summary"].startswith("another retraining run is using this workspace")
