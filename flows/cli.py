"""The `trainflow` command line. Heavy libraries are imported inside commands, not here."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from tasks.errors import TrainflowError

app = typer.Typer(help="Declarative retraining pipeline for Keras models.", no_args_is_help=True)
models_app = typer.Typer(help="The model registry (GTO versions and stages).")
suite_app = typer.Typer(help="Great Expectations suites in gx/.")
app.add_typer(models_app, name="models")
app.add_typer(suite_app, name="suite")

Workspace = Annotated[
    Path, typer.Option("--workspace", "-w", help="Repository with params.yaml and dvc.yaml.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def fail(err: TrainflowError) -> typer.Exit:
    typer.secho(f"trainflow: {err}", err=True, fg="red")
    return typer.Exit(int(err.code))


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
    workspace: Workspace = Path("."),
) -> None:
    """Run the retraining flow: ingest, validate, prepare, train, evaluate, register."""
    from tasks.params import load_params

    quiet_prefect()
    try:
        set_ = set_ or []
        params = load_params(workspace / "params.yaml", set_)
        from flows.retrain import retrain

        summary = retrain(
            overrides=set_, register_blessed=not no_register, workspace=str(workspace)
        )
    except TrainflowError as err:
        raise fail(err) from None
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


@models_app.command("list")
def models_list(
    as_json: AsJson = False,
    workspace: Workspace = Path("."),
) -> None:
    """Registered versions, oldest first, with their stages."""
    from tasks.params import load_params
    from tasks.registry import versions

    try:
        found = versions(workspace, load_params(workspace / "params.yaml").register_.artifact)
    except TrainflowError as err:
        raise fail(err) from None
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    if not found:
        typer.echo("no registered versions")
    for item in found:
        stages = ", ".join(item["stages"]) or "-"
        typer.echo(
            f"{item['version']:<10} {stages:<16} {item['commit'][:10]}  {item['created_at']}"
        )


@suite_app.command("init")
def suite_init(
    force: Annotated[bool, typer.Option(help="Overwrite an existing suite.")] = False,
) -> None:
    """Infer a draft expectation suite from the current raw data (edit it, then commit it)."""
    from tasks.params import load_params
    from tasks.suite import init_suite

    try:
        typer.echo(f"wrote {init_suite(load_params(), force)}")
    except TrainflowError as err:
        raise fail(err) from None
