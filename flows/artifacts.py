"""What a retraining run shows in the Prefect UI: artifacts and tags telling its story.

The data checks, the live training progress, the metrics beside the champion's, the gate's
verdict, the registered version with its card, and for a failed run the stage and the last
lines it printed. Builders are pure (tested without a server); `publish_*` send them.
"""

from __future__ import annotations

import json
from pathlib import Path

from prefect import get_client
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
)

from tasks.common.errors import ExitCode, TrainflowError
from tasks.common.io import read_json

PROGRESS_VARIABLE = "TRAINFLOW_PROGRESS_ARTIFACT"


def cell(value: object, width: int = 80) -> object:
    """A table cell: numbers and text as they are, anything nested as short JSON."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return round(value, 4) if isinstance(value, float) else value
    text = json.dumps(value, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def validation_rows(report: dict) -> list[dict]:
    keys = ("expectation", "column", "success", "observed", "unexpected_percent")
    return [{key: cell(check.get(key)) for key in keys} for check in report.get("checks", [])]


def metrics_rows(scores: dict) -> list[dict]:
    """Test metrics of the challenger, with the champion's beside them when it was scored."""
    champion = scores.get("champion") or {}
    rows = []
    for metric, value in scores.items():
        if not isinstance(value, float):
            continue
        row = {"metric": metric, "challenger": round(value, 4)}
        if champion:
            theirs = champion.get(metric)
            row["champion"] = round(theirs, 4) if isinstance(theirs, float) else None
            row["change"] = round(value - theirs, 4) if isinstance(theirs, float) else None
        rows.append(row)
    return rows


def gate_markdown(gate: dict) -> str:
    verdict = "blessed" if gate["blessed"] else "refused"
    against = f" against champion {gate['champion']}" if gate.get("champion") else ""
    lines = [
        f"| {c['check']} | {cell(c['value'])} | {cell(c.get('champion') or '-')} | {c['op']} "
        f"{cell(c['threshold'])} | {'pass' if c['passed'] else 'FAIL'} |"
        for c in gate["checks"]
    ]
    header = "| check | value | champion | threshold | verdict |\n" + "| --- " * 5 + "|"
    return "\n".join([f"# Gate: {verdict}{against}", "", header, *lines])


def failure_markdown(error: BaseException) -> str:
    """Where a run failed, with which exit code, and what the stage printed last."""
    code = error.code if isinstance(error, TrainflowError) else ExitCode.INTERNAL
    stage = getattr(error, "stage", None)
    title = f"stage `{stage}`" if stage else f"`{type(error).__name__}`"
    lines = [f"# Run failed: {title}", "", "| | |", "| --- | --- |"]
    lines.append(f"| trainflow exit code | {int(code)} ({code.name}) |")
    if stage:
        lines.append(f"| stage exit code | {error.exit_code} |")
    lines += ["", "```text", str(error), "```"]
    if tail := getattr(error, "tail", None):
        lines += ["", f"Last {len(tail)} lines of its output:", "", "```text"]
        lines += [line.rstrip("\n") for line in tail] + ["```"]
    return "\n".join(lines)


def publish_validation(repo: Path, reports: Path) -> None:
    report = read_json(reports / "validation.json")
    rows = validation_rows(report)
    passed = sum(bool(row["success"]) for row in rows)
    create_table_artifact(
        rows,
        key="validation",
        description=f"{passed} of {len(rows)} data checks passed on {report.get('rows')} rows",
    )
    docs = repo / report["data_docs"] if report.get("data_docs") else None
    if docs and docs.exists():
        create_link_artifact(
            docs.as_uri(),
            link_text="Great Expectations Data Docs",
            key="data-docs",
            description="Data Docs of this validation (a file on the machine that ran it)",
        )


def publish_evaluation(scores: dict, gate: dict) -> None:
    champion = gate.get("champion") if scores.get("champion") else None
    beside = f", champion {champion} beside it" if champion else ""
    create_table_artifact(
        metrics_rows(scores), key="test-metrics", description=f"Test-split metrics{beside}"
    )
    verdict = "blessed" if gate["blessed"] else "refused"
    create_markdown_artifact(gate_markdown(gate), key="gate", description=f"Model {verdict}")


def publish_failure(error: BaseException) -> None:
    create_markdown_artifact(
        failure_markdown(error), key="failure", description="Why this run failed"
    )


def training_progress() -> dict[str, str]:
    """A progress artifact at 0 %, and the env the training subprocess needs to move it."""
    artifact_id = create_progress_artifact(
        0.0, key="training-progress", description="Share of training epochs done"
    )
    with get_client(sync_client=True) as client:
        api_url = str(client.api_url).rstrip("/")
    return {PROGRESS_VARIABLE: str(artifact_id), "PREFECT_API_URL": api_url}


def tag_run(flow_run_id: str | None, *tags: str) -> None:
    """Add tags to a flow run (Prefect replaces the list, so merge with the current ones)."""
    if not flow_run_id:
        return
    with get_client(sync_client=True) as client:
        current = client.read_flow_run(flow_run_id).tags
        client.update_flow_run(flow_run_id, tags=sorted({*current, *tags}))
