"""The `trainflow` command line. Heavy libraries are imported inside commands, not here."""

from __future__ import annotations

import contextlib
import os
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flows.console import VERBOSE
from flows.options import Group, Workspace, fail, flag
from flows.registry_cli import models_app, predict
from flows.serve import DEFAULT_NAME
from flows.server import ServerFailed
from tasks.common.errors import ExitCode, Interrupted, RunBusy, TrainflowError
from tasks.common.teardown import quick_exit_at_end

if TYPE_CHECKING:
    from tasks.common.params import Params

quick_exit_at_end()  # after Prefect and DVC, the teardown costs about 0.25 s
app = typer.Typer(
    cls=Group, help="Declarative retraining pipeline for Keras models.", no_args_is_help=True
)
suite_app = typer.Typer(cls=Group, help="Great Expectations suites in gx/.")
app.add_typer(models_app, name="models")
app.command()(predict)
app.add_typer(suite_app, name="suite")


INTERRUPTED = (
    "trainflow: interrupted; nothing was registered by this run and the last good outputs are"
    " kept (run again to continue)"
)
RUN_HINT = "; the run's Prefect logs and `failure` artifact have the details (--verbose: all)"
Overrides = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE", help="Override a param (repeatable)."),
]
NoRegister = Annotated[bool, flag("--no-register", help="Never register the model.")]


def quiet_prefect(console: bool) -> None:
    """No telemetry; without `console`, none of Prefect's own console lines (a run prints what
    a user needs; Prefect's UI and logs keep everything)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    if not console:
        os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "CRITICAL"


@contextlib.contextmanager
def no_heartbeats() -> Iterator[None]:
    """No flow run heartbeats for a run in a terminal: Prefect's heartbeat thread polls its
    stop flag once a second, so every run waited up to a second more to end. (Heartbeats let
    a server mark a vanished run crashed; a worker's runs, deployments, keep them.)"""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def run_flow(
    params: Params, overrides: list[str], register: bool, workspace: Path, force: bool
) -> tuple[dict, bool]:
    """The retraining flow, with a temporary Prefect server when none is configured; from a
    terminal with nothing changed, only the run's record (`flows.unchanged`). Returns the
    run's summary, and whether it was that record only."""
    from flows.server import needed, start_early

    server = start_early()  # boots while the look and the flow's libraries run and import
    try:
        unchanged = None
        if not (force or overrides or (register and params.register_.push)):
            from flows.unchanged import look

            unchanged = look(params, workspace, register)
        if unchanged is None:
            from flows.retrain import retrain
        server = needed(server)
        with server.serving() if server else contextlib.nullcontext():
            if unchanged is not None:
                from flows.unchanged import record

                arguments = {"overrides": [], "register_blessed": register}
                arguments |= {"workspace": str(workspace), "force": False, "lock_timeout": None}
                record(unchanged, arguments)
                return unchanged.summary, True
            with no_heartbeats():
                summary = retrain(
                    overrides=overrides,
                    register_blessed=register,
                    workspace=str(workspace),
                    force=force,
                )
                return summary, False
    finally:
        if server:
            server.stop()


@app.command()
def run(
    set_: Overrides = None,
    no_register: NoRegister = False,
    force: Annotated[
        bool, flag("--force", help="Retrain (dvc repro --force) even if nothing changed.")
    ] = False,
    verbose: Annotated[
        bool,
        flag("--verbose", "-v", envvar=VERBOSE, help="Prefect's own log lines and tracebacks too."),
    ] = False,
    workspace: Workspace = Path("."),
) -> None:
    """Run the retraining flow: ingest, validate, prepare, train, evaluate, register."""
    from tasks.common.params import load_params

    quiet_prefect(console=verbose)
    if verbose:
        os.environ[VERBOSE] = "1"  # the run's stages show their tracebacks too
    set_ = set_ or []
    try:
        params = load_params(workspace / "params.yaml", set_)
    except TrainflowError as err:
        raise fail(err) from None
    try:
        summary, recorded_only = run_flow(params, set_, not no_register, workspace, force)
    except Interrupted:
        typer.secho(INTERRUPTED, err=True, fg="red")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except (ServerFailed, RunBusy) as err:  # no run logs to point at: none began, or its
        raise fail(err) from None  # only line is this one
    except TrainflowError as err:
        if verbose:
            traceback.print_exception(err)
        raise fail(err, RUN_HINT) from None
    except KeyboardInterrupt:
        typer.secho(INTERRUPTED, err=True, fg="red")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    from tasks.problems import problem

    words = problem(summary["task"]).summary(summary["metrics"])
    typer.echo(f"model:   {params.paths.model}/model.keras")
    typer.echo(f"metrics: {params.paths.reports}/metrics.json ({words})")
    if summary.get("version"):
        state = "new version" if summary["created"] else "unchanged, already registered"
        typer.echo(f"version: {params.register_.artifact}@{summary['version']} ({state})")
    else:
        typer.echo("version: not registered (--no-register)")
    if recorded_only:
        from flows.unchanged import exit_at_once

        exit_at_once()


@suite_app.command("init")
def suite_init(
    force: Annotated[bool, flag("--force", help="Overwrite an existing suite.")] = False,
) -> None:
    """Infer a draft expectation suite from the current raw data (edit it, then commit it)."""
    from flows.suite import init_suite
    from tasks.common.params import load_params

    try:
        typer.echo(f"wrote {init_suite(load_params(), force)}")
    except TrainflowError as err:
        raise fail(err) from None


@app.command("params")
def params_(
    key: Annotated[
        str | None, typer.Argument(metavar="[KEY]", help="A key or section: train, train.epochs.")
    ] = None,
) -> None:
    """What params.yaml's keys mean: type, default and description (every key, or KEY's)."""
    import difflib

    from flows.reference import key_entries, params_keys

    entries = key_entries(key)
    if not entries:
        names = [k.name for k in params_keys()]
        close = difflib.get_close_matches(key or "", names, n=1)
        hint = f" (did you mean {close[0]}?)" if close else " (`trainflow params` lists them)"
        typer.secho(f"trainflow: params.yaml has no key {key}{hint}", err=True, fg="red")
        raise typer.Exit(int(ExitCode.USAGE))
    typer.echo("\n".join(entries))


@app.command()
def serve(
    cron: Annotated[
        str | None,
        typer.Option(metavar="CRON", help='Schedule in UTC, e.g. "0 3 * * *" (03:00 daily).'),
    ] = None,
    interval: Annotated[
        float | None, typer.Option(metavar="SECONDS", help="Or: a run every SECONDS.")
    ] = None,
    set_: Overrides = None,
    no_register: NoRegister = False,
    name: Annotated[
        str, typer.Option(metavar="NAME", help="Deployment name: retrain/NAME.")
    ] = DEFAULT_NAME,
    workspace: Workspace = Path("."),
) -> None:
    """Serve the retraining flow as a scheduled Prefect deployment (runs until stopped)."""
    from flows.serve import check_schedule
    from flows.serve import serve as serve_flow
    from tasks.common.params import load_params

    quiet_prefect(console=True)  # a long-running server: Prefect's own lines are its log
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


def need_server(what: str) -> None:
    """Events and automations need a Prefect server that outlives the command."""
    from flows.server import configured_api

    if not configured_api():
        raise TrainflowError(
            f"no Prefect server configured: {what} on a server that stays up; start one"
            " (`trainflow ui`) and export PREFECT_API_URL=http://127.0.0.1:4200/api"
        )


@app.command()
def alerts(
    set_: Overrides = None,
    remove: Annotated[
        bool, flag("--remove", help="Delete this model's alerts instead of keeping them.")
    ] = False,
    workspace: Workspace = Path("."),
) -> None:
    """Create or update the Prefect automations of `alerts:` in params.yaml (by name)."""
    from flows.alerts import apply
    from flows.alerts import remove as remove_alerts
    from tasks.common.params import load_params

    quiet_prefect(console=False)
    try:
        params = load_params(workspace / "params.yaml", set_ or [])
        need_server("alerts live")
        artifact = params.register_.artifact
        lines = remove_alerts(artifact) if remove else apply(artifact, params.alerts)
    except TrainflowError as err:
        raise fail(err) from None
    typer.echo("\n".join(lines) or f"no alerts for {params.register_.artifact}")


@app.command()
def watch(
    interval: Annotated[
        float, typer.Option(metavar="SECONDS", help="Seconds between two looks at the source.")
    ] = 60,
    set_: Overrides = None,
    workspace: Workspace = Path("."),
) -> None:
    """Watch data.source; send `trainflow.data.arrived` when it changes (runs until stopped)."""
    from flows.watch import fingerprint
    from flows.watch import watch as watch_source
    from tasks.common.params import load_params

    quiet_prefect(console=False)
    try:
        params = load_params(workspace / "params.yaml", set_ or [])
        fingerprint(params.data.source, workspace.resolve())
        need_server("the events go")
    except TrainflowError as err:
        raise fail(err) from None
    if interval <= 0:
        raise typer.BadParameter(f"--interval {interval:g}: must be more than 0 seconds")
    with contextlib.suppress(KeyboardInterrupt):
        watch_source(params, workspace.resolve(), interval)


@app.command()
def ui(
    port: Annotated[int, typer.Option(metavar="PORT", help="Port on 127.0.0.1.")] = 4200,
) -> None:
    """The Prefect server and UI on 127.0.0.1 (SQLite; docs/scheduling.md shows PostgreSQL)."""
    from flows.ui import DEFAULT_HOST, api_url, start

    typer.echo(
        f"Prefect UI: http://{DEFAULT_HOST}:{port}\nflows report to it when run with"
        f" PREFECT_API_URL={api_url(DEFAULT_HOST, port)} (else to a temporary local server)"
    )
    start(DEFAULT_HOST, port)
