"""`trainflow run` in a terminal when nothing changed: DVC's answer before Prefect's engine.

Most scheduled retrainings find no new data. From a terminal, `trainflow run` first does what a
no-op `dvc repro` does, in its own process and under the workspace's run lock: the ingest
stage, then DVC's status of the later stages, while a thread asks the registry whether the
trained model is registered. When nothing changed since a blessed, registered model, it records
the run through Prefect's API with what the UI shows of any run (a `retrain` flow run that goes
Running, then Completed named "Skipped", with the same `skipped` artifact, tags, parameters and
log lines as a skipped run of the flow) and exits without starting the flow engine.

Otherwise the flow runs as usual, and its ingest task takes the ingest this look just ran (its
lines, the data hash before it) rather than running DVC's always-changed ingest a second time,
as long as dvc.lock still holds what that ingest wrote. Runs started by a deployment, a worker
or `serve` call the flow and keep their whole flow run; so do `--force`, `--set` (params
change) and `register.push` (a skipped run still publishes what the remotes lack).
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from flows.console import to_terminal
from flows.events import raw_hash
from flows.lock import run_lock
from flows.skip import SKIPPED_ARTIFACT, Skip, artifact_text, nothing_to_do, registration_check
from tasks.common.errors import Interrupted, RunBusy, TrainflowError
from tasks.common.params import Params

FLOW_NAME = "retrain"
RUN_LOGGER = "trainflow.run"  # flows.console.api_logger's name: the flow's lines are logged as it


@dataclass(frozen=True)
class Ingested:
    """An ingest the look ran for a run that then needs the flow: what the flow's task reuses."""

    stage: str
    lines: list[str]
    before: str | None  # the raw data's hash in dvc.lock before it, for `trainflow.data.changed`
    after: str | None


@dataclass(frozen=True)
class Unchanged:
    """A look that found nothing to do: what the run records and returns."""

    skip: Skip
    summary: dict
    lines: list[str]  # ingest's lines, then the skip's
    tags: list[str]


_ingested: dict[str, Ingested] = {}  # by workspace, until the flow's ingest task takes it


def look(params: Params, repo: Path, register: bool) -> Unchanged | None:
    """Ingest and DVC's status, as `dvc repro` would start; None when the flow has work to do.

    An ingest that fails is left to the flow to run again, so the failure is recorded as a run
    of it (its `failure` artifact, its alerts). A busy workspace (`RunBusy`) and Ctrl-C
    (`Interrupted`) end the command here.
    """
    from flows.stages import Pipeline

    repo = repo.resolve()
    if not (repo / "dvc.lock").exists():  # a first run: everything to do
        return None
    with run_lock(repo, holder="`trainflow run` looking for changes"):
        pipeline = Pipeline(repo)
        try:
            first, *rest = pipeline.stages()
            registered = registration_check(params, repo) if register else None
            before, lines = raw_hash(params, repo), []
            # Prefect's client imports (0.7 s) while ingest runs as a process of its own: a
            # skipped run records itself with it, a run of the flow needs it too.
            threading.Thread(target=import_prefect_client, name="prefect-import").start()
            try:
                pipeline.reproduce(first, lines.append, {})
            except (RunBusy, Interrupted):
                raise
            except TrainflowError:
                return None
            after = raw_hash(params, repo)
            skip = None
            if before == after and not pipeline.stale(rest):
                skip = nothing_to_do(params, repo, registered)
        finally:
            pipeline.close()
    if skip is None:
        _ingested[str(repo)] = Ingested(first, lines, before, after)
        return None
    tags = [f"data:{(after or 'none').removesuffix('.dir')[:12]}"]
    tags += [skip.name] if skip.version else []
    summary = skip.summary(params, repo, {first: "ran"}, rest)
    return Unchanged(skip, summary, [*lines, *skip.lines(rest)], tags)


def ingested(params: Params, repo: Path, stage: str) -> Ingested | None:
    """The look's ingest for `stage` while dvc.lock still holds its output (nothing ran
    since); one that is out of date is forgotten."""
    key = str(repo.resolve())
    found = _ingested.get(key)
    if found is not None and (found.stage != stage or raw_hash(params, repo) != found.after):
        del _ingested[key]
        return None
    return found


def take_ingested(repo: Path, stage: str) -> Ingested | None:
    """The look's ingest for `stage`, once: the flow's ingest task uses it instead of DVC."""
    key = str(repo.resolve())
    found = _ingested.get(key)
    if found is None or found.stage != stage:
        return None
    return _ingested.pop(key)


def import_prefect_client() -> None:
    import prefect.client.orchestration  # noqa: F401
    import prefect.client.schemas.actions  # noqa: F401
    import prefect.states  # noqa: F401


def flow_version() -> str:
    """The version Prefect gives the `retrain` flow (a hash of flows/retrain.py), so skipped
    runs recorded here sit beside the flow's own runs."""
    from prefect.utilities.hashing import file_hash

    return file_hash(str(Path(__file__).with_name("retrain.py")))


def record(unchanged: Unchanged, parameters: dict) -> str:
    """Record the skipped run in Prefect and print its lines; the run's name."""
    from types import SimpleNamespace

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import ArtifactCreate, LogCreate
    from prefect.logging.configuration import setup_logging
    from prefect.states import Completed, Running

    from flows.server import where_to_look

    setup_logging()  # as the engine does: Prefect's own lines as its settings say (quiet)
    skip = unchanged.skip
    # What create_flow_run reads of a flow: the flow's own name and version, no retries.
    flow = SimpleNamespace(
        name=FLOW_NAME, version=flow_version(), retries=None, retry_delay_seconds=None
    )
    with get_client(sync_client=True) as client:
        run = client.create_flow_run(
            flow, parameters=parameters, tags=unchanged.tags, state=Running()
        )
        to_terminal(f"trainflow: run '{run.name}' ({where_to_look(run.id)})")
        for line in unchanged.lines:
            to_terminal(line)
        now = datetime.now(UTC)
        client.create_logs(
            LogCreate(name=RUN_LOGGER, level=20, message=line, timestamp=now, flow_run_id=run.id)
            for line in unchanged.lines
        )
        text = artifact_text(skip)
        client.create_artifact(
            ArtifactCreate(
                key=SKIPPED_ARTIFACT,
                type="markdown",
                data=text,
                description=skip.why,
                flow_run_id=run.id,
            )
        )
        client.set_flow_run_state(run.id, Completed(name="Skipped", message=skip.why))
    return run.name


def exit_at_once() -> NoReturn:
    """End a recorded-only run's process with exit code 0 once its event is sent and its
    output written, without tearing the interpreter down: unloading what DVC and Prefect
    loaded took 0.35 s, a tenth of the whole no-op run. Nothing else is open by then (DVC's
    repository is closed, the run is recorded, a temporary server is stopped)."""
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all()  # the `prefect.artifact.created` event of its artifact
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
