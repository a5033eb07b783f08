"""Options and error handling shared by every `trainflow` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tasks.common.errors import TrainflowError

Workspace = Annotated[
    Path, typer.Option("--workspace", "-w", help="Repository with params.yaml and dvc.yaml.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def fail(err: TrainflowError) -> typer.Exit:
    """Print the error for a person and exit with its documented code."""
    typer.secho(f"trainflow: {err}", err=True, fg="red")
    return typer.Exit(int(err.code))
