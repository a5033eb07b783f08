"""trainflow's Prefect events: what happened to a model and its data, for triggers and alerts.

Every event is about one resource, the model of a repository: `trainflow.model.<artifact>`,
labelled with the repository (its git remote's URL, else its path) and the workspace path.
Emitted inside a flow run, Prefect adds the run, its flow and deployment as related resources,
so an automation can link to the run. The names and payloads below are the contract that
deployment triggers and `trainflow alerts` build on (docs/events.md lists them).
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tasks.common.io import read_json
from tasks.common.params import Params

DATA_ARRIVED = "trainflow.data.arrived"
DATA_CHANGED = "trainflow.data.changed"
VALIDATION_FAILED = "trainflow.validation.failed"
DRIFT_DETECTED = "trainflow.drift.detected"
GATE_REFUSED = "trainflow.gate.refused"
MODEL_REGISTERED = "trainflow.model.registered"
MODEL_PROMOTED = "trainflow.model.promoted"
PUBLISH_FAILED = "trainflow.publish.failed"
RUN_FAILED = "trainflow.run.failed"
SHOWN = 5  # checks or columns named in an event's `summary` (the payload has them all)


def resource_id(artifact: str) -> str:
    return f"trainflow.model.{artifact}"


def repository(repo: Path, remote: str) -> str:
    """The repository's name for the team: the git remote's URL, else the workspace path."""
    found = subprocess.run(
        ["git", "config", "--get", f"remote.{remote}.url"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    return found.stdout.strip() or str(repo)


def resource(params: Params, repo: Path) -> dict[str, str]:
    artifact = params.register_.artifact
    return {
        "prefect.resource.id": resource_id(artifact),
        "prefect.resource.name": artifact,
        "trainflow.artifact": artifact,
        "trainflow.repository": repository(repo, params.register_.git_remote),
        "trainflow.workspace": str(repo),
    }


def emit(name: str, params: Params, repo: Path, payload: dict) -> None:
    """Send one event (nothing happens when Prefect has no API to send it to); one over the
    server's size limit goes with its `summary` only, never failing the run."""
    from prefect.events import emit_event
    from prefect.exceptions import EventTooLarge

    about = resource(params, repo)
    try:
        emit_event(name, resource=about, payload=payload)
    except EventTooLarge:
        emit_event(
            name, resource=about, payload={"summary": payload.get("summary", ""), "cut": True}
        )


def number(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) else str(value)


def listing(items: list[str]) -> str:
    """A few items in words, and how many more (a message line stays short)."""
    more = len(items) - SHOWN
    return ", ".join(items[:SHOWN]) + (f" and {more} more" if more > 0 else "")


def raw_hash(params: Params, repo: Path) -> str | None:
    """The ingested data's hash in dvc.lock (what DVC compares), None before the first run."""
    from tasks.registry.versions import out_hash

    lock = repo / "dvc.lock"
    return out_hash(lock.read_text(), "ingest", params.paths.raw) if lock.exists() else None


def data_changed(params: Params, repo: Path, before: str | None) -> None:
    """After ingest: `trainflow.data.changed` when the raw data's hash is not `before`'s."""
    after = raw_hash(params, repo)
    if after != before:
        source = params.data.source
        payload = {"source": source, "hash": after, "previous": before}
        emit(DATA_CHANGED, params, repo, payload | {"summary": f"new data from {source}"})


def failed_check(row: dict) -> str:
    return f"{row['expectation']}" + (f" on '{row['column']}'" if row.get("column") else "")


def validated(params: Params, repo: Path) -> None:
    """After validate (passed or not): the failed checks, and the columns that drifted."""
    report = read_json(repo / params.paths.reports / "validation.json")
    failed = [row for row in report.get("checks", []) if not row["success"]]
    if failed:
        words = listing([failed_check(row) for row in failed])
        summary = f"{len(failed)} data checks failed: {words}"
        emit(VALIDATION_FAILED, params, repo, {"checks": failed, "summary": summary})
    drifted = [row for row in report.get("drift") or [] if row["verdict"] == "drift"]
    if drifted:
        words = listing(
            [f"'{r['column']}' {r['metric']} {r['distance']} > {r['threshold']}" for r in drifted]
        )
        payload = {"columns": drifted, "action": params.validate_.drift.action}
        emit(DRIFT_DETECTED, params, repo, payload | {"summary": f"drift on {words}"})


def gate_refused(params: Params, repo: Path, gate: dict) -> None:
    """The gate refused the challenger: its failed checks, the champion it was held against."""
    failed = [check for check in gate["checks"] if not check["passed"]]
    words = listing(
        [
            f"{c['check']}: {c['metric']} {number(c['value'])} needs {c['op']} "
            f"{number(c['threshold'])}"
            for c in failed
        ]
    )
    payload = {"checks": failed, "champion": gate.get("champion"), "summary": words}
    emit(GATE_REFUSED, params, repo, payload)


def model_registered(params: Params, repo: Path, outcome: dict, metrics: dict) -> None:
    """A new version (nothing for a model already registered); `model.promoted` when the
    registration put it in prod (`register.auto_promote`)."""
    if not outcome.get("created"):
        return
    version, stages = outcome["version"], outcome.get("stages", [])
    name = f"{params.register_.artifact}@{version}"
    numbers = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
    payload = {"artifact": params.register_.artifact, "version": version, "stages": stages}
    payload |= {"stage": params.register_.stage, "metrics": numbers}
    emit(MODEL_REGISTERED, params, repo, payload | {"summary": f"{name} ({', '.join(stages)})"})
    if "prod" in stages:
        model_promoted(params, repo, version, "prod")


def model_promoted(params: Params, repo: Path, version: str, stage: str) -> None:
    artifact = params.register_.artifact
    payload = {"artifact": artifact, "version": version, "stage": stage}
    emit(MODEL_PROMOTED, params, repo, payload | {"summary": f"{artifact}@{version} in {stage}"})


@contextlib.contextmanager
def publishing(params: Params, repo: Path) -> Iterator[None]:
    """`trainflow.publish.failed` when publishing to the remotes fails, then the error."""
    from tasks.common.errors import TrainflowError

    try:
        yield
    except TrainflowError as err:
        remotes = {"git_remote": params.register_.git_remote}
        remotes["dvc_remote"] = params.register_.dvc_remote
        emit(PUBLISH_FAILED, params, repo, remotes | {"error": str(err), "summary": str(err)})
        raise


def run_failed(params: Params, repo: Path, stage: str | None, error: BaseException) -> None:
    """The flow failed: where (`stage`, None outside any), why (`summary`: the error's first
    line, which names the stage, file, key or column)."""
    from tasks.common.errors import ExitCode

    code = int(getattr(error, "code", ExitCode.INTERNAL))
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    payload = {"stage": stage, "exit_code": code, "error": str(error)}
    emit(RUN_FAILED, params, repo, payload | {"summary": message})


def failed_stage(flow_run_id) -> str | None:
    """The stage whose task failed in the run, None when the flow failed outside a stage."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterState,
        TaskRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    failed = TaskRunFilter(
        state=TaskRunFilterState(type=TaskRunFilterStateType(any_=[StateType.FAILED]))
    )
    in_run = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    with get_client(sync_client=True) as client:
        found = client.read_task_runs(flow_run_filter=in_run, task_run_filter=failed)
    return found[-1].name if found else None


def on_failure(flow_run, error: BaseException) -> None:
    """The flow's on_failure hook: `trainflow.run.failed`, unless the gate refused (it said)."""
    from tasks.common.errors import ModelRefused, TrainflowError
    from tasks.common.params import load_params

    if isinstance(error, ModelRefused):
        return
    repo = Path(flow_run.parameters.get("workspace") or ".").resolve()
    try:
        params = load_params(repo / "params.yaml")
    except TrainflowError:  # the run failed on its params: the default artifact
        params = Params()
    run_failed(params, repo, failed_stage(flow_run.id), error)


def promoted_by_hand(repo: Path, version: str, stage: str) -> None:
    """`trainflow models promote|rollback`: `model.promoted`, when a Prefect API is configured
    (a command outside a run never starts a temporary server only to tell it)."""
    from flows.server import configured_api
    from tasks.common.params import load_params

    if configured_api():
        model_promoted(load_params(repo / "params.yaml"), repo.resolve(), version, stage)
