"""The retraining flow: every dvc.yaml stage as a Prefect task, then the gate and registry."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.stages import pipeline_stages, repro
from tasks.errors import ModelRefused, StageError, TrainflowError
from tasks.io import read_json
from tasks.params import Params, write_overrides


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
def run_stage(stage: str, workspace: str) -> str:
    """Run one stage through DVC; returns "ran" or "skipped"."""
    logger = get_run_logger()
    ran = repro(stage, Path(workspace), logger.info)
    return "ran" if ran else "skipped"


def stage_task(stage: str, params: Params):
    options = {"name": stage, "task_run_name": stage}
    if stage == "train":
        options |= {
            "retries": params.train.retries,
            "retry_condition_fn": _retry_on_crash,
            "retry_delay_seconds": params.train.retry_delay_seconds,
        }
    return run_stage.with_options(**options)


def publish_evaluation(scores: dict, gate: dict) -> None:
    rows = [{"metric": k, "value": round(v, 4)} for k, v in scores.items() if isinstance(v, float)]
    create_table_artifact(rows, key="test-metrics", description="Test-split metrics")
    verdict = "blessed" if gate["blessed"] else "refused"
    lines = [
        f"| {c['check']} | {c['value']:.4f} | {c['op']} {c['threshold']} | "
        f"{'pass' if c['passed'] else 'FAIL'} |"
        for c in gate["checks"]
    ]
    create_markdown_artifact(
        "\n".join(
            [
                f"# Gate: {verdict}",
                "",
                "| check | value | threshold | verdict |",
                "| --- | --- | --- | --- |",
                *lines,
            ]
        ),
        key="gate",
        description=f"Model {verdict} by the gate",
    )


@task(name="register", task_run_name="register")
def register_model(params: Params, workspace: str) -> dict:
    """Register a blessed model as the next GTO version (nothing if already registered)."""
    from prefect.runtime import flow_run

    from tasks.register import register
    from tasks.registry import REGISTRY_DIR

    logger = get_run_logger()
    outcome = register(params, Path(workspace), flow_run_id=str(flow_run.id or "") or None)
    if not outcome.created:
        logger.info(f"model unchanged: already registered as {outcome.version}")
        return {"version": outcome.version, "created": False}
    card = Path(workspace) / REGISTRY_DIR / params.register_.artifact / outcome.version / "card.md"
    create_markdown_artifact(
        card.read_text(),
        key="model-card",
        description=f"{params.register_.artifact}@{outcome.version}",
    )
    stages = ", ".join(outcome.stages)
    logger.info(f"registered {params.register_.artifact}@{outcome.version} ({stages})")
    return {"version": outcome.version, "created": True, "stages": list(outcome.stages)}


@flow(name="retrain")
def retrain(
    overrides: list[str] | None = None, register_blessed: bool = True, workspace: str = "."
) -> dict:
    """Validate, prepare, train, evaluate through DVC; register the model if the gate blesses it.

    Args:
        overrides: `KEY=VALUE` params overrides, validated then written to params.yaml (as
            `dvc exp run -S` does) so dvc.lock and the registered lineage record them.
        register_blessed: register a blessed model as a new version.
        workspace: the repository holding params.yaml and dvc.yaml.
    """
    repo = Path(workspace).resolve()
    params = write_overrides(repo / "params.yaml", overrides or [])
    stages = {stage: stage_task(stage, params)(stage, str(repo)) for stage in pipeline_stages(repo)}
    reports = repo / params.paths.reports
    scores, gate = read_json(reports / "metrics.json"), read_json(reports / "gate.json")
    publish_evaluation(scores, gate)
    summary = {"stages": stages, "metrics": scores, "blessed": gate["blessed"], "version": None}
    if not gate["blessed"]:
        from tasks.register import refusal

        raise ModelRefused(refusal(gate))
    if register_blessed:
        summary |= register_model(params, str(repo))
    return summary
