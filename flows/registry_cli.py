"""`trainflow models ...` and `trainflow predict`: the registry and serving commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from flows.options import AsJson, Group, Workspace, fail
from tasks.common.errors import TrainflowError

models_app = typer.Typer(cls=Group, help="The model registry (GTO versions and stages).")

Ref = Annotated[
    str,
    typer.Argument(metavar="VERSION|STAGE", help="A version (v0.1.0) or a stage (prod, staging)."),
]


def artifact(workspace: Path) -> str:
    from tasks.common.params import load_params

    return load_params(workspace / "params.yaml").register_.artifact


@models_app.command("list")
def models_list(as_json: AsJson = False, workspace: Workspace = Path(".")) -> None:
    """Registered versions, oldest first, with their stages."""
    from tasks.registry.versions import versions

    try:
        found = versions(workspace, artifact(workspace))
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


@models_app.command("show")
def models_show(ref: Ref, as_json: AsJson = False, workspace: Workspace = Path(".")) -> None:
    """The model card of a version (its lineage with --json)."""
    from tasks.registry.files import registered_file
    from tasks.registry.versions import resolve

    try:
        name = artifact(workspace)
        version = resolve(workspace, name, ref)
    except TrainflowError as err:
        raise fail(err) from None
    text = registered_file(workspace, name, version, "lineage.json" if as_json else "card.md")
    typer.echo((text or f"{name}@{version} has no model card (registered without one)").rstrip())


@models_app.command("promote")
def models_promote(
    ref: Ref,
    to: Annotated[str, typer.Option("--to", metavar="STAGE", help="Stage to assign.")] = "prod",
    workspace: Workspace = Path("."),
) -> None:
    """Assign a stage (prod by default) to a version."""
    from flows.events import promoted_by_hand
    from flows.registry.assign import promote
    from tasks.registry.versions import resolve

    try:
        name = artifact(workspace)
        version = resolve(workspace, name, ref)
        promote(workspace, name, version, to)
        typer.echo(f"{name}@{version} is now in {to}")
        promoted_by_hand(workspace, version, to)
        publish_if_asked(workspace)
    except TrainflowError as err:
        raise fail(err) from None


@models_app.command("rollback")
def models_rollback(workspace: Workspace = Path(".")) -> None:
    """Put the previous prod version back in prod."""
    from flows.events import promoted_by_hand
    from flows.registry.assign import rollback

    try:
        name = artifact(workspace)
        current, previous = rollback(workspace, name)
        typer.echo(f"prod: {name}@{current} -> {name}@{previous}")
        promoted_by_hand(workspace, previous, "prod")
        publish_if_asked(workspace)
    except TrainflowError as err:
        raise fail(err) from None


def publish_if_asked(workspace: Path) -> None:
    """With `register.push: true`, a stage assignment reaches the team's remotes too."""
    from flows.registry.publish import publish
    from tasks.common.params import load_params

    params = load_params(workspace / "params.yaml")
    if params.register_.push:
        report(publish(workspace, params))


def report(published) -> None:
    to = published.target
    if not published.tags:
        typer.echo(f"nothing to publish: '{to.git}' has every registered version and stage")
        return
    typer.echo(
        f"published {', '.join(published.tags)}: {published.files} files to DVC remote "
        f"'{to.dvc}', then to git remote '{to.git}' ({to.url})"
    )


@models_app.command("push")
def models_push(workspace: Workspace = Path(".")) -> None:
    """Publish what the remotes lack: files to the DVC remote, then commits and tags to git."""
    from flows.registry.publish import publish
    from tasks.common.params import load_params

    try:
        report(publish(workspace, load_params(workspace / "params.yaml")))
    except TrainflowError as err:
        raise fail(err) from None


Format = Annotated[
    str,
    typer.Option(
        "--format",
        metavar="keras|saved_model",
        help="keras: the model folder (model.keras, meta.json, saved_model/); saved_model: "
        "TF Serving's layout, DIR/<n>/saved_model.pb (n: v0.2.0 -> 2000).",
    ),
]


@models_app.command("get")
def models_get(
    ref: Ref,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Folder for the model files: new, empty, or a model fetched before (replaced);"
            " a folder holding other files is refused.",
        ),
    ],
    format_: Format = "keras",
    workspace: Workspace = Path("."),
) -> None:
    """Fetch the model files of a version or stage from the DVC cache or remote."""
    from flows.serving.layout import fetch_saved_model, is_base
    from tasks.common.params import load_params
    from tasks.registry.files import fetch_model, replaceable
    from tasks.registry.versions import resolve

    if format_ not in ("keras", "saved_model"):
        raise typer.BadParameter("expected keras or saved_model", param_hint="'--format'")
    fits = is_base(out) if format_ == "saved_model" else replaceable(out)
    if not fits:
        what = "numbered model versions" if format_ == "saved_model" else "a model"
        raise typer.BadParameter(
            f"{out} holds files that are not {what}; choose a new or empty folder",
            param_hint="'--out'",
        )
    try:
        params = load_params(workspace / "params.yaml")
        version = resolve(workspace, params.register_.artifact, ref)
        fetch = fetch_saved_model if format_ == "saved_model" else fetch_model
        written = fetch(workspace, params, version, out, params.register_.dvc_remote)
    except TrainflowError as err:
        raise fail(err) from None
    except OSError as err:
        raise unwritable(err, out) from None
    typer.echo(f"{params.register_.artifact}@{version} -> {written}")


def unwritable(err: OSError, out: Path) -> typer.BadParameter:
    """A failed write of the user's --out: a usage error naming the path, not a traceback."""
    return typer.BadParameter(
        f"cannot write {err.filename or out}: {err.strerror or err}", param_hint="'--out'"
    )


def predict(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT",
            exists=True,
            help="CSV/Parquet file, image folder, text folder or .txt file (raw input).",
        ),
    ],
    model: Annotated[
        str, typer.Option("--model", metavar="VERSION|STAGE", help="Version or stage.")
    ] = "prod",
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="CSV or .parquet to write (default stdout)."),
    ] = None,
    workspace: Workspace = Path("."),
) -> None:
    """Batch prediction with a registered model: labels and class probabilities.

    The input is read, predicted and written a chunk at a time, so memory stays flat however
    large it is; --out (CSV, or Parquet by its suffix) replaces FILE only once complete. On a
    terminal, a progress bar on stderr shows rows or files done, the rate and the time left.
    """
    from flows.predict import UnwritableOutput, predicted, registered_model, score
    from flows.progress import shown

    try:
        if out is not None:
            try:
                name, rows = score(workspace, source, out, model, shown())
            except UnwritableOutput as err:
                raise unwritable(err, out) from None
            typer.echo(f"{rows} predictions by {name} -> {out}")
            return
        rows = 0
        with registered_model(workspace, model) as (name, folder):
            for table in predicted(folder, source, shown(stdout_is_output=True)):
                typer.echo(table.to_csv(index=False, header=not rows).rstrip())
                rows += len(table)
    except TrainflowError as err:
        raise fail(err) from None


@models_app.command("serve")
def models_serve(
    stage: Annotated[
        str, typer.Argument(metavar="STAGE", help="The stage to follow (prod, staging).")
    ] = "prod",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port on 127.0.0.1.")] = 8501,
    poll: Annotated[
        float,
        typer.Option(metavar="SECONDS", help="How often to check the stage for a newer version."),
    ] = 10.0,
    max_body_mb: Annotated[
        float, typer.Option(metavar="MB", help="Largest request body; a larger one gets a 400.")
    ] = 16.0,
    workspace: Workspace = Path("."),
) -> None:
    """Serve a stage's model over HTTP in TF Serving's REST shape, following the stage."""
    from flows.console import quiet_native
    from flows.serving.app import serve
    from flows.serving.served import Follower
    from tasks.common.params import load_params

    try:
        params = load_params(workspace / "params.yaml")
        with quiet_native():
            follower = Follower(workspace.resolve(), params, stage, poll)
    except TrainflowError as err:
        raise fail(err) from None
    name = params.register_.artifact
    typer.echo(
        f"serving {name}@{follower.current.version} ({stage}) at "
        f"http://127.0.0.1:{port}/v1/models/{name} (checks '{stage}' every {poll:g} s)"
    )
    serve(follower, name, port, int(max_body_mb * 2**20))
