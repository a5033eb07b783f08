"""Options and error handling shared by every `trainflow` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from tasks.common.errors import MEANINGS, TrainflowError


def flag(*names: str, help: str, **more) -> typer.models.OptionInfo:
    """An on/off option: named as given (no `--no-` twin) and shown without a value column."""
    return typer.Option(*names, metavar="", help=help, **more)


def valueless(params: list) -> list:
    """`params`, with every on/off option shown without a value column (as `flag` does)."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class Group(TyperGroup):
    """A command group whose on/off options, and its commands', show no `<bool>` in --help.

    typer 0.29 gives the on/off options it makes itself (`--help`, `--install-completion`,
    `--show-completion`) a `<bool>` value column, as if they took a value; they take none.
    """

    def get_params(self, ctx) -> list:
        return valueless(super().get_params(ctx))

    def get_command(self, ctx, cmd_name: str):
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            valueless(command.get_params(ctx))  # its --help, made and kept on first use
        return command


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
