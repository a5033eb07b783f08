"""`--help` of every trainflow command, found by walking the typer app: no `<bool>` anywhere."""

import pytest
import typer
from typer.testing import CliRunner

from flows.cli import app


def command_paths(command, ctx, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group under `command`, as the words a user types after `trainflow`."""
    found = [path]
    for name in command.list_commands(ctx) if hasattr(command, "list_commands") else []:
        sub = command.get_command(ctx, name)
        found += command_paths(sub, typer.Context(sub, parent=ctx, info_name=name), (*path, name))
    return found


def every_command() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    return command_paths(root, typer.Context(root, info_name="trainflow"))


def test_the_walk_finds_every_command():
    found = {" ".join(path) for path in every_command()}
    assert {"", "run", "serve", "ui", "predict", "suite init", "models get"} <= found
    assert len(found) >= 13


@pytest.mark.parametrize("path", every_command(), ids=lambda path: " ".join(path) or "trainflow")
def test_help_shows_no_bool_value_on_any_option(path):
    shown = CliRunner().invoke(
        app, [*path, "--help"], prog_name="trainflow", env={"COLUMNS": "120"}
    )
    assert shown.exit_code == 0, shown.output
    assert f"Usage: trainflow {' '.join(path)}".rstrip() in shown.output
    assert "--help" in shown.output and "Show this message and exit." in shown.output
    assert "<bool>" not in shown.output, shown.output
    if not path:  # the completion options typer adds to the top-level command
        assert "--install-completion" in shown.output and "--show-completion" in shown.output
