"""Options and error handling shared by every `trainflow` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tasks.common.errors import MEANINGS, TrainflowError


def flag(*names: str, help: str, **more) -> typer.models.OptionInfo:
    """An on/off option: named as given (no `--no-` twin) and shown without a value column."""
    return typer.Option(*names, metavar="", help=help, **more)


Workspace = Annotated[
    Path,
    typer.Option(
        "--workspace", "-w", metavar="DIR", help="Repository with params.yaml and dvc.yaml."
    ),
]
AsJson = Annotated[bool, flag("--json", help="Machine-readable output.")]


def fail(err: TrainflowError, hint: str = "") -> typer.Exit:
    """Print the error once for a person, with its documented exit code, and exit with it."""
    code = int(err.code)
    typer.secho(f"trainflow: {err}", err=True, fg="red")
    typer.secho(f"trainflow: exit code {code} ({MEANINGS[err.code]}){hint}", err=True)
    return typer.Exit(code)
