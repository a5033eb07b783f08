"""Batch scoring as a Prefect flow: an input scored with a registered stage's model.

The flow of prefect.yaml's `score` deployment: run it by hand (`prefect deployment run
score/score-prod`), on a schedule, or on an event (`trainflow.data.arrived`,
`trainflow.model.promoted`), with `source` and `out` as parameters. It scores as `trainflow
predict --out` does (`flows.predict.score`): a chunk at a time, the output in place only once
complete, the version that scored named in the run's result and its `model@version` tag.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow
from prefect.runtime import flow_run

from flows.artifacts import tag_run
from flows.console import say
from flows.predict import score as score_input


@flow(name="score", log_prints=False)
def score(source: str, out: str, model: str = "prod", workspace: str = ".") -> dict:
    """Score `source` (a CSV/Parquet file or an image folder, relative to `workspace`) with
    the version or stage `model`, into `out` (CSV, or Parquet by its suffix)."""
    root = Path(workspace).resolve()
    name, rows = score_input(root, root / source, root / out, model)
    tag_run(flow_run.id, name)
    say(f"score: {rows} predictions by {name} -> {out}")
    return {"model": name, "rows": rows, "out": str(root / out), "flow_run": str(flow_run.id)}
