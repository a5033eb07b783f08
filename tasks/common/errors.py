"""Errors with documented exit codes, shared by the stages, the flow and the CLI."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from enum import IntEnum
from typing import Any

from tasks.common.teardown import quick_exit_at_end


class ExitCode(IntEnum):
    """Process exit codes; the docs' exit-code page is generated from these and DETAILS."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    BAD_PARAMS = 3
    DATA_INVALID = 4
    STAGE_FAILED = 5
    MODEL_REFUSED = 6
    REGISTRY = 7
    BUSY = 8
    NOT_PUBLISHED = 9
    REMOTE_MOVED = 10
    INTERRUPTED = 130


MEANINGS = {
    ExitCode.INTERNAL: "unexpected internal error",
    ExitCode.USAGE: "command-line usage error",
    ExitCode.BAD_PARAMS: "bad params",
    ExitCode.DATA_INVALID: "data validation failed",
    ExitCode.STAGE_FAILED: "a stage failed",
    ExitCode.MODEL_REFUSED: "the gate refused the model, nothing was registered",
    ExitCode.REGISTRY: "registry error",
    ExitCode.BUSY: "the workspace is busy",
    ExitCode.NOT_PUBLISHED: "registered here, not published to the remotes",
    ExitCode.REMOTE_MOVED: "another run published first, this registration was withdrawn",
    ExitCode.INTERRUPTED: "interrupted",
}


# When each code happens and what is left: the one text the exit-code reference shows.
DETAILS = {
    ExitCode.OK: "success (also when the model was already registered)",
    ExitCode.INTERNAL: "unexpected internal error (a bug: please report it with the traceback), "
    "or the temporary Prefect server of a `trainflow run` did not start (the message says what "
    "to do)",
    ExitCode.USAGE: "command-line usage error (also: a missing INPUT, an `--out` that cannot be "
    "written or holds files that are not a model)",
    ExitCode.BAD_PARAMS: "bad params: the message names the file and the dotted key",
    ExitCode.DATA_INVALID: "data validation failed: the message names each failed check, column "
    "and example values",
    ExitCode.STAGE_FAILED: "a stage failed (crash, killed, out of memory): the message names the "
    "stage and its exit code",
    ExitCode.MODEL_REFUSED: "the gate refused the model: the message names each failed check; "
    "nothing was registered",
    ExitCode.REGISTRY: "registry error (unknown version or stage, git or GTO refused); nothing "
    "half-made is left",
    ExitCode.BUSY: "another run holds the workspace lock (`.dvc/tmp/trainflow-run.lock`) for "
    "longer than `TRAINFLOW_LOCK_TIMEOUT` seconds (default 600)",
    ExitCode.NOT_PUBLISHED: "not published: a git or DVC remote is unreachable or refused the "
    "credentials (`register.push`); the registration is kept here and `trainflow models push` "
    "(or the next run) publishes it",
    ExitCode.REMOTE_MOVED: "not published: another worker published first (the same version "
    "name, or the remote branch moved on); this registration was withdrawn, the model is kept, "
    "a rerun evaluates it against the new champion",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); the last good outputs and the registry are "
    "untouched",
}


class TrainflowError(Exception):
    """An expected failure: its message is for the user and it maps to an exit code."""

    code: ExitCode = ExitCode.INTERNAL


class ParamsError(TrainflowError):
    code = ExitCode.BAD_PARAMS


class DataValidationError(TrainflowError):
    code = ExitCode.DATA_INVALID


class StageError(TrainflowError):
    code = ExitCode.STAGE_FAILED


class ModelRefused(TrainflowError):
    code = ExitCode.MODEL_REFUSED


class RegistryError(TrainflowError):
    code = ExitCode.REGISTRY


class RunBusy(TrainflowError):
    code = ExitCode.BUSY


class Interrupted(TrainflowError):
    """Ctrl-C (SIGINT) reached a stage: the run stops, nothing is registered."""

    code = ExitCode.INTERRUPTED


class PublishError(TrainflowError):
    """A remote could not be reached or refused: the local registration stays, to push later."""

    code = ExitCode.NOT_PUBLISHED


class RemoteMoved(TrainflowError):
    """Another worker published first: this registration was withdrawn, a rerun re-evaluates."""

    code = ExitCode.REMOTE_MOVED


def stage_entry(stage: str) -> Callable[[Callable[[], Any]], Callable[[], None]]:
    """Wrap a stage's `main` so an expected error prints one clear message and its exit code,
    and the process ends without the interpreter's slow teardown (`tasks.common.teardown`)."""

    def wrap(main: Callable[[], Any]) -> Callable[[], None]:
        @functools.wraps(main)
        def entry() -> None:
            quick_exit_at_end()
            try:
                main()
            except TrainflowError as err:
                print(f"trainflow: stage '{stage}' failed: {err}", file=sys.stderr)
                sys.exit(int(err.code))
            except OSError as err:  # unwritable or full output folder, vanished input
                where = f": {err.filename}" if err.filename else ""
                print(
                    f"trainflow: stage '{stage}' failed: {err.strerror or err}{where}",
                    file=sys.stderr,
                )
                sys.exit(int(ExitCode.STAGE_FAILED))
            except KeyboardInterrupt:
                print(f"trainflow: stage '{stage}' interrupted", file=sys.stderr)
                sys.exit(int(ExitCode.INTERRUPTED))

        return entry

    return wrap
