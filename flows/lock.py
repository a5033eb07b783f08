"""At most one retraining run per workspace at a time, across processes.

DVC locks the repository only while one `dvc` command runs, but a retraining run is several of
them plus a registration: two runs could interleave their stages and register each other's
model. So the flow holds one more lock, next to DVC's own in `.dvc/tmp/`, from start to end.
A second run waits a bounded time, then fails with `RunBusy` (exit code 8) naming the holder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from tasks.common.errors import ParamsError, RunBusy

TIMEOUT_VARIABLE = "TRAINFLOW_LOCK_TIMEOUT"
DEFAULT_TIMEOUT = 600.0
POLL_SECONDS = 0.5


def lock_path(repo: Path) -> Path:
    return repo / ".dvc" / "tmp" / "trainflow-run.lock"


def lock_timeout(seconds: float | None = None) -> float:
    """The wait bound: the argument, else TRAINFLOW_LOCK_TIMEOUT, else 600 s."""
    if seconds is None:
        raw = os.environ.get(TIMEOUT_VARIABLE, str(DEFAULT_TIMEOUT))
        try:
            seconds = float(raw)
        except ValueError:
            raise ParamsError(f"{TIMEOUT_VARIABLE}={raw!r}: expected seconds, e.g. 600") from None
    if seconds < 0:
        raise ParamsError(f"lock timeout {seconds:g}: must be 0 or more seconds")
    return seconds


def holder_of(path: Path) -> str:
    return path.read_text().strip() or "unknown holder"


def wait_for(handle: IO[str], path: Path, seconds: float) -> None:
    """Take the exclusive lock, polling (flock has no timeout) until `seconds` have passed.

    A run that has to wait says once, on stderr, which run it waits for and for how long.
    """
    deadline, said = time.monotonic() + seconds, False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            left = deadline - time.monotonic()
            if not said and left > 0:
                print(
                    f"trainflow: waiting for the run using this workspace ({holder_of(path)})"
                    f" to finish; giving up in {seconds:g} s ({TIMEOUT_VARIABLE})",
                    file=sys.stderr,
                    flush=True,
                )
                said = True
            if left <= 0:
                holder = holder_of(path)
                raise RunBusy(
                    f"another retraining run is using this workspace ({holder}; lock {path});"
                    f" gave up after waiting {seconds:g} s. Let it finish, or wait longer with"
                    f" {TIMEOUT_VARIABLE}=SECONDS."
                ) from None
            time.sleep(min(POLL_SECONDS, left))


@contextlib.contextmanager
def run_lock(repo: Path, seconds: float | None = None, holder: str = "") -> Iterator[None]:
    """Hold the workspace's run lock for the block; `holder` says who, for the waiting run.

    The lock is the kernel's (flock): it goes away with the process, so a killed run never
    leaves the workspace locked.
    """
    path = lock_path(repo)
    path.parent.mkdir(parents=True, exist_ok=True)
    bound = lock_timeout(seconds)
    with open(path, "a+") as handle:
        wait_for(handle, path, bound)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        handle.truncate(0)
        handle.write(f"pid {os.getpid()}{', ' + holder if holder else ''}, since {since}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)
