"""The retraining flow: every dvc.yaml stage as a Prefect task, then the gate and registry.

A run holds the workspace's run lock (`flows.lock`) from start to end. After ingest it asks DVC
whether anything the pipeline depends on changed; when nothing did and the model is already
registered, the run ends at once in a Completed state named "Skipped": the clock ticking is no
reason to retrain. `force` retrains anyway.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from prefect.states import Completed, State
from prefect.tasks import exponential_backoff

from flows.artifacts import (
    publish_evaluation,
    publish_failure,
    publish_validation,
    tag_run,
    training_progress,
)
from flows.lock import run_lock
from flows.stages import pipeline_stages, repro, stale_stages
from tasks.common.errors import DataValidationError, ModelRefused, StageError, TrainflowError
from tasks.common.io import read_json
from tasks.common.params import Params, write_overrides

INGEST, VALIDATE, TRAIN = "ingest", "validate", "train"


def _retry_on_crash(task, task_run, state) -> bool:
    """Retry a crashed stage, never bad params or bad data (they fail the same way again)."""
    try:
        state.result()
    except StageError:
        return True
    except TrainflowError:
        return False
    return True


@task(name="stage")
def run_stage(stage: str, workspace: str, force: bool = False) -> str:
    """Run one stage through DVC; returns "ran" or "skipped".

    A stage DVC reports clean is skipped here, without a `dvc repro` subprocess; training gets
    a progress artifact that its Keras callback moves epoch by epoch.
    """
    logger = get_run_logger()
    repo = Path(workspace)
    if not force and not stale_stages(repo, [stage]):
        logger.info(f"Stage '{stage}' didn't change, skipping")
        return "skipped"
    env = training_progress() if stage == TRAIN else None
    ran = repro(stage, repo, logger.info, env=env, force=force)
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


@task(name="register", task_run_name="register")
def register_model(params: Params, workspace: str) -> dict:
    """Register a blessed model as the next GTO version (nothing if already registered)."""
    from flows.registry.register import register
    from tasks.registry.versions import REGISTRY_DIR

    logger = get_run_logger()
    outcome = register(params, Path(workspace), flow_run_id=str(flow_run.id or "") or None)
    name = f"{params.register_.artifact}@{outcome.version}"
    card = Path(workspace) / REGISTRY_DIR / params.register_.artifact / outcome.version / "card.md"
    state = "new version" if outcome.created else "already registered"
    if card.exists():
        create_markdown_artifact(card.read_text(), key="model-card", description=f"{name}: {state}")
    if not outcome.created:
        logger.info(f"model unchanged: already registered as {outcome.version}")
        return {"version": outcome.version, "created": False}
    logger.info(f"registered {name} ({', '.join(outcome.stages)})")
    return {"version": outcome.version, "created": True, "stages": list(outcome.stages)}


@task(name="publish", task_run_name="publish")
def publish_registry(params: Params, workspace: str) -> list[str]:
    """`register.push`: what the team's remotes lack, DVC remote first, then one git push."""
    from flows.registry.publish import publish

    published = publish(Path(workspace), params)
    to = published.target
    get_run_logger().info(
        f"published {', '.join(published.tags)} ({published.files} files to '{to.dvc}', "
        f"then to '{to.git}')"
        if published.tags
        else f"nothing to publish: '{to.git}' has every registered version"
    )
    return list(published.tags)


def registered_version(params: Params, repo: Path) -> str | None:
    """The version whose model bytes are the workspace's (per dvc.lock), None if unregistered."""
    from flows.registry.gitrepo import repo_lock
    from flows.registry.register import already_registered, undo_interrupted
    from tasks.registry.versions import versions

    with repo_lock(repo, "registry"):
        undo_interrupted(repo)  # a version a killed run left half-made is no version
        found = already_registered(repo, params, versions(repo, params.register_.artifact))
    return found["version"] if found else None


def skipped(
    params: Params, repo: Path, ran: dict, rest: list[str], register_blessed: bool
) -> State | None:
    """The run's final state when nothing changed since a blessed (and registered) model."""
    reports = repo / params.paths.reports
    gate = read_json(reports / "gate.json")
    version = registered_version(params, repo) if register_blessed and gate["blessed"] else None
    if not gate["blessed"] or (register_blessed and version is None):
        return None
    logger, name = get_run_logger(), f"{params.register_.artifact}@{version}"
    for stage in rest:
        logger.info(f"Stage '{stage}' didn't change, skipping")  # DVC's words, as in its log
    why = f"no new data: DVC reports no change since {name if version else 'the last run'}"
    logger.info(f"{why}; nothing retrained (force=True / `trainflow run --force` retrains)")
    create_markdown_artifact(f"# Skipped\n\n{why}.", key="skipped", description=why)
    if version:
        tag_run(flow_run.id, name)
    scores = read_json(reports / "metrics.json")
    summary = {"stages": ran | dict.fromkeys(rest, "skipped"), "metrics": scores, "blessed": True}
    summary |= {"version": version, "created": False, "skipped": True}
    return Completed(name="Skipped", message=why, data=summary)


def run_stages(params: Params, repo: Path, stages: list[str], force: bool) -> dict:
    """Each stage as a task, in order; the data checks go to the UI as soon as they exist."""
    done = {}
    for stage in stages:
        try:
            done[stage] = stage_task(stage, params)(stage, str(repo), force)
        except DataValidationError:
            publish_validation(repo, repo / params.paths.reports)
            raise
        if stage == VALIDATE:
            publish_validation(repo, repo / params.paths.reports)
    return done


def pipeline(params: Params, repo: Path, register_blessed: bool, force: bool) -> dict | State:
    """Ingest, then stop early if DVC sees no change; else the other stages, gate, register."""
    from tasks.registry.versions import out_hash

    first, *rest = pipeline_stages(repo)
    stages = run_stages(params, repo, [first], force)
    data_md5 = out_hash((repo / "dvc.lock").read_text(), INGEST, params.paths.raw) or "none"
    tag_run(flow_run.id, f"data:{data_md5.removesuffix('.dir')[:12]}")
    if not force and not stale_stages(repo, rest):
        state = skipped(params, repo, stages, rest, register_blessed)
        if state is not None:
            return state
    stages |= run_stages(params, repo, rest, force)
    reports = repo / params.paths.reports
    scores, gate = read_json(reports / "metrics.json"), read_json(reports / "gate.json")
    publish_evaluation(scores, gate)
    summary = {"stages": stages, "metrics": scores, "blessed": gate["blessed"], "version": None}
    if not gate["blessed"]:
        from tasks.evaluate.gate import refusal

        raise ModelRefused(refusal(gate))
    if register_blessed:
        summary |= register_model(params, str(repo))
        tag_run(flow_run.id, f"{params.register_.artifact}@{summary['version']}")
    return summary


def report_failure(flow, run, state: State) -> None:
    """on_failure hook: the failed stage, its exit code and last output lines, as an artifact."""
    error = state.result(raise_on_failure=False)
    if isinstance(error, BaseException):
        publish_failure(error)


@flow(name="retrain", on_failure=[report_failure])
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
    repo = Path(workspace).resolve()
    with run_lock(repo, lock_timeout, holder=f"flow run {flow_run.name}"):
        params = write_overrides(repo / "params.yaml", overrides or [])
        publishing = register_blessed and params.register_.push
        if publishing:
            from flows.registry.remotes import target

            target(repo, params)  # a remote that is not set up fails now, not after training
        outcome = pipeline(params, repo, register_blessed, force)
        if publishing:
            publish_registry(params, str(repo))
        return outcome
