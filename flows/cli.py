"""The `trainflow` command line. Heavy libraries are imported inside commands, not here."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from flows.options import Workspace, fail
from flows.registry_cli import models_app, predict
from tasks.common.errors import ExitCode, TrainflowError

app = typer.Typer(help="Declarative retraining pipeline for Keras models.", no_args_is_help=True)
suite_app = typer.Typer(help="Great Expectations suites in gx/.")
app.add_typer(models_app, name="models")
app.command()(predict)
app.add_typer(suite_app, name="suite")


def quiet_prefect() -> None:
    """No telemetry or update checks from a local run."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")


@app.command()
def run(
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a param: KEY=VALUE (repeatable).")
    ] = None,
    no_register: Annotated[bool, typer.Option(help="Never register the model.")] = False,
    force: Annotated[
        bool, typer.Option(help="Retrain (dvc repro --force) even if DVC sees no change.")
    ] = False,
    workspace: Workspace = Path("."),
) -> None:
    """Run the retraining flow: ingest, validate, prepare, train, evaluate, register."""
    from tasks.common.params import load_params

    quiet_prefect()
    try:
        set_ = set_ or []
        params = load_params(workspace / "params.yaml", set_)
        from flows.retrain import retrain

        summary = retrain(
            overrides=set_, register_blessed=not no_register, workspace=str(workspace), force=force
        )
    except TrainflowError as err:
        raise fail(err) from None
    except KeyboardInterrupt:
        typer.secho(
            "trainflow: interrupted; nothing was registered by this run and the last good"
            " outputs are kept (run again to continue)",
            err=True,
            fg="red",
        )
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    metrics = summary["metrics"]
    typer.echo(f"model:   {params.paths.model}/model.keras")
    typer.echo(
        f"metrics: {params.paths.reports}/metrics.json (accuracy {metrics['accuracy']:.4f},"
        f" macro-F1 {metrics['macro_f1']:.4f})"
    )
    if summary.get("version"):
        state = "new version" if summary["created"] else "unchanged, already registered"
        typer.echo(f"version: {params.register_.artifact}@{summary['version']} ({state})")
    else:
        typer.echo("version: not registered (--no-register)")


@suite_app.command("init")
def suite_init(
    force: Annotated[bool, typer.Option(help="Overwrite an existing suite.")] = False,
) -> None:
    """Infer a draft expectation suite from the current raw data (edit it, then commit it)."""
    from flows.suite import init_suite
    from tasks.common.params import load_params

    try:
        typer.echo(f"wrote {init_suite(load_params(), force)}")
    except TrainflowError as err:
        raise fail(err) from None


@app.command()
def serve(
    cron: Annotated[
        str | None, typer.Option(help='Cron schedule in UTC, e.g. "0 3 * * *" (03:00 daily).')
    ] = None,
    interval: Annotated[float | None, typer.Option(help="Or: a run every SECONDS.")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a param: KEY=VALUE (repeatable).")
    ] = None,
    no_register: Annotated[bool, typer.Option(help="Never register the model.")] = False,
    name: Annotated[str, typer.Option(help="Deployment name: retrain/NAME.")] = "trainflow",
    workspace: Workspace = Path("."),
) -> None:
    """Serve the retraining flow as a scheduled Prefect deployment (runs until stopped)."""
    from flows.serve import check_schedule
    from flows.serve import serve as serve_flow
    from tasks.common.params import load_params

    quiet_prefect()
    set_ = set_ or []
    try:
        load_params(workspace / "params.yaml", set_)
        check_schedule(cron, interval)
    except TrainflowError as err:
        raise fail(err) from None
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    parameters = {
        "overrides": set_,
        "register_blessed": not no_register,
        "workspace": str(workspace.resolve()),
    }
    serve_flow(parameters, cron=cron, interval=interval, name=name)


@app.command()
def ui(port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 4200) -> None:
    """The Prefect server and UI on 127.0.0.1 (SQLite; README shows PostgreSQL)."""
    from flows.ui import DEFAULT_HOST, api_url, start

    typer.echo(
        f"Prefect UI: http://{DEFAULT_HOST}:{port}\nflows report to it when run with"
        f" PREFECT_API_URL={api_url(DEFAULT_HOST, port)} (else to a temporary local server)"
    )
    start(DEFAULT_HOST, port)
