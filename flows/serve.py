"""`trainflow serve`: the retraining flow as a scheduled deployment, served by this process.

`flow.serve` creates (or updates) the deployment `retrain/<name>` with the schedule and the
run's parameters, then polls the Prefect API for its runs, scheduled or triggered from the UI,
and executes each in a subprocess until stopped (stopping pauses the schedule). A scheduled run
retrains only when DVC sees a change; otherwise it ends as "Skipped".
"""

from __future__ import annotations

DEFAULT_NAME = "trainflow"


def check_schedule(cron: str | None, interval: float | None) -> None:
    """Fail before serving on a schedule Prefect would reject, naming the option."""
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    if cron is not None and interval is not None:
        raise ValueError("--cron and --interval: give one schedule, not both")
    if cron is not None:
        try:
            CronSchedule(cron=cron)
        except ValidationError:
            raise ValueError(f"--cron {cron!r}: not a cron expression, e.g. '0 3 * * *'") from None
    if interval is not None and interval <= 0:
        raise ValueError(f"--interval {interval:g}: must be more than 0 seconds")


def serve(
    parameters: dict,
    cron: str | None = None,
    interval: float | None = None,
    name: str = DEFAULT_NAME,
) -> None:
    """Serve the flow until interrupted; one run at a time (the workspace lock backs this up).

    The schedule is checked by `check_schedule` first (the CLI does, to exit with a usage error).
    """
    from prefect.types.entrypoint import EntrypointType

    from flows.retrain import retrain

    retrain.serve(
        name=name,
        cron=cron,
        interval=interval,
        parameters=parameters,
        tags=["trainflow"],
        limit=1,
        # The installed package, not a file path relative to wherever `serve` was started.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
