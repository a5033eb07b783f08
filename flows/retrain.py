"""The retraining flow: every dvc.yaml stage as a Prefect task, then the gate and registry.

A run holds the workspace's run lock (`flows.lock`) from start to end and drives DVC in its own
process (`flows.stages.Pipeline`). After ingest it asks DVC whether anything the pipeline
depends on changed; when nothing did and the model is already registered, the run ends at once
in a Completed state named "Skipped": the clock ticking is no reason to retrain. `force`
retrains anyway.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

# GTO configures logging when imported (logging.config.dictConfig), which flushes and closes
# every handler already set up, Prefect's included (a 5 s wait on its API log worker): import it
# before Prefect sets its handlers up, not in the middle of a run.
import gto  # noqa: F401
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run, task_run
from prefect.states import State
from prefect.tasks import exponential_backoff

from flows import events
from flows.artifacts import (
    publish_evaluation,
    publish_failure,
    publish_validation,
    tag_run,
    training_progress,
)
from flows.console import StageLines, api_logger, say, to_terminal
from flows.lock import run_lock
from flows.server import where_to_look
from flows.skip import nothing_to_do, registration_check, skipped
from flows.stages import Pipeline
from flows.unchanged import FLOW_NAME, ingested, take_ingested
from tasks.common.errors import DataValidationError, ModelRefused, StageError, TrainflowError
from tasks.common.io import read_json
from tasks.common.params import Params, write_overrides

INGEST, VALIDATE, TRAIN = "ingest", "validate", "train"
_pipelines: dict[str, Pipeline] = {}  # the run's open DVC repository, by workspace


@contextlib.contextmanager
def opened(repo: Path) -> Iterator[Pipeline]:
    """Open the workspace's DVC repository for the run; its tasks find it by path."""
    pipeline = _pipelines[str(repo)] = Pipeline(repo)
    try:
        yield pipeline
    finally:
        _pipelines.pop(str(repo), None)
        pipeline.close()


def _retry_on_crash(task, task_run, state) -> bool:
    """Retry a crashed stage, never bad params or bad data (they fail the same way again)."""
    try:
        state.result()
    except StageError:
        return True
    except TrainflowError:
        return False
    return True


def stage_output(ids: dict[str, object]):
    """Where a stage's lines go: the task's Prefect logs, and the terminal (minus noise)."""
    logger, lines = api_logger(), StageLines()

    def sink(line: str) -> None:
        logger.info(line, extra=ids)
        if lines.shown(line):
            to_terminal(line)

    return sink


@task(name="stage", cache_policy=NO_CACHE, persist_result=False)
def run_stage(stage: str, workspace: str, force: bool = False) -> str:
    """Run one stage through DVC (which skips it when nothing changed): "ran" or "skipped".

    Training gets a progress artifact that its Keras callback moves epoch by epoch. An ingest
    that `trainflow run` ran just before the flow (`flows.unchanged`) is not run again: its
    lines go to this task's logs.
    """
    ids = {"flow_run_id": flow_run.id, "task_run_id": task_run.id}
    sink = stage_output(ids)
    done = take_ingested(Path(workspace), stage)
    if done is not None:
        for line in done.lines:
            sink(line)
        return "ran"
    env = training_progress() if stage == TRAIN else {}
    ran = _pipelines[workspace].reproduce(stage, sink, env, force)
    return "ran" if ran else "skipped"


def stage_task(stage: str, params: Params):
    options = {"name": stage, "task_run_name": stage}
    if stage == TRAIN:
        options |= {
            "retries": params.flow.train_retries,
            "retry_condition_fn": _retry_on_crash,
            "retry_delay_seconds": exponential_backoff(params.flow.retry_delay_seconds),
        }
    return run_stage.with_options(**options)


@task(name="register", task_run_name="register", cache_policy=NO_CACHE, persist_result=False)
def register_model(params: Params, workspace: str) -> dict:
    """Register a blessed model as the next GTO version (nothing if already registered)."""
    from flows.registry.register import register
    from tasks.registry.versions import REGISTRY_DIR

    outcome = register(params, Path(workspace), flow_run_id=str(flow_run.id or "") or None)
    name = f"{params.register_.artifact}@{outcome.version}"
    card = Path(workspace) / REGISTRY_DIR / params.register_.artifact / outcome.version / "card.md"
    state = "new version" if outcome.created else "already registered"
    if card.exists():
        create_markdown_artifact(card.read_text(), key="model-card", description=f"{name}: {state}")
    if not outcome.created:
        say(f"register: model unchanged, already registered as {name}")
        return {"version": outcome.version, "created": False}
    say(f"register: {name} ({', '.join(outcome.stages)})")
    return {"version": outcome.version, "created": True, "stages": list(outcome.stages)}


@task(name="publish", task_run_name="publish", cache_policy=NO_CACHE, persist_result=False)
def publish_registry(params: Params, workspace: str) -> list[str]:
    """`register.push`: what the team's remotes lack, DVC remote first, then one git push."""
    from flows.registry.publish import publish

    published = publish(Path(workspace), params)
    to = published.target
    say(
        f"publish: {', '.join(published.tags)} ({published.files} files to '{to.dvc}', "
        f"then to '{to.git}')"
        if published.tags
        else f"publish: nothing to publish, '{to.git}' has every registered version"
    )
    return list(published.tags)


def run_stages(params: Params, repo: Path, stages: list[str], force: bool) -> dict:
    """Each stage as a task, in order; the data checks go to the UI as soon as they exist."""
    done = {}
    for stage in stages:
        try:
            done[stage] = stage_task(stage, params)(stage, str(repo), force)
        except DataValidationError:
            reports = repo / params.paths.reports
            if stage == VALIDATE and (reports / "validation.json").exists():  # not from ingest
                publish_validation(repo, reports)
                events.validated(params, repo)
            raise
        if stage == VALIDATE and done[stage] == "ran":
            publish_validation(repo, repo / params.paths.reports)
            events.validated(params, repo)
    return done


def pipeline(params: Params, repo: Path, register_blessed: bool, force: bool) -> dict | State:
    """Ingest, then stop early if DVC sees no change; else the other stages, gate, register."""
    from tasks.registry.versions import out_hash

    with opened(repo) as dvc:
        first, *rest = dvc.stages()
        registered = registration_check(params, repo) if register_blessed and not force else None
        looked = None if force else ingested(params, repo, first)
        before = looked.before if looked else events.raw_hash(params, repo)
        stages = run_stages(params, repo, [first], force)
        events.data_changed(params, repo, before)
        data_md5 = out_hash((repo / "dvc.lock").read_text(), INGEST, params.paths.raw) or "none"
        tag_run(flow_run.id, f"data:{data_md5.removesuffix('.dir')[:12]}")
        if not force and not dvc.stale(rest):
            skip = nothing_to_do(params, repo, registered)
            if skip is not None:
                return skipped(params, repo, stages, rest, skip)
        stages |= run_stages(params, repo, rest, force)
    reports = repo / params.paths.reports
    scores, gate = read_json(reports / "metrics.json"), read_json(reports / "gate.json")
    publish_evaluation(scores, gate)
    summary = {"stages": stages, "metrics": scores, "blessed": gate["blessed"], "version": None}
    summary["task"] = gate.get("task", "classification")
    if not gate["blessed"]:
        from tasks.evaluate.gate import refusal

        events.gate_refused(params, repo, gate)
        raise ModelRefused(refusal(gate))
    if register_blessed:
        summary |= register_model(params, str(repo))
        events.model_registered(params, repo, summary, scores)
        tag_run(flow_run.id, f"{params.register_.artifact}@{summary['version']}")
    return summary


def report_failure(flow, run, state: State) -> None:
    """on_failure hook: the failed stage, its exit code and last output lines, as an artifact."""
    error = state.result(raise_on_failure=False)
    if isinstance(error, BaseException):
        publish_failure(error)
        events.on_failure(run, error)


@flow(name=FLOW_NAME, on_failure=[report_failure])
def retrain(
    overrides: list[str] | None = None,
    register_blessed: bool = True,
    workspace: str = ".",
    force: bool = False,
    lock_timeout: float | None = None,
) -> dict:
    """Validate, prepare, train, evaluate through DVC; register the model if the gate blesses it.

    Args:
        overrides: `KEY=VALUE` params overrides, validated then written to params.yaml (as
            `dvc exp run -S` does) so dvc.lock and the registered lineage record them.
        register_blessed: register a blessed model as a new version.
        workspace: the repository holding params.yaml and dvc.yaml.
        force: rerun every stage (`dvc repro --force`) even if DVC reports no change.
        lock_timeout: seconds to wait for another run in this workspace to finish (default:
            TRAINFLOW_LOCK_TIMEOUT, else 600).
    """
    say(f"trainflow: run '{flow_run.name}' ({where_to_look(flow_run.id)})")
    repo = Path(workspace).resolve()
    with run_lock(repo, lock_timeout, holder=f"flow run '{flow_run.name}'"):
        params = write_overrides(repo / "params.yaml", overrides or [])
        publishing = register_blessed and params.register_.push
        if publishing:
            from flows.registry.remotes import target

            target(repo, params)  # a remote that is not set up fails now, not after training
        outcome = pipeline(params, repo, register_blessed, force)
        if publishing:
            with events.publishing(params, repo):
                publish_registry(params, str(repo))
        return outcome
