"""What a run prints: stage output and trainflow's own lines, on the terminal and in Prefect.

Users read the terminal; the Prefect UI keeps everything. So a stage's output (and everything
else written to this process's stdout/stderr while it runs, DVC's own lines included) is
captured at the file-descriptor level, where child processes write too, and sent line by line
to the run's Prefect logs and to the terminal. The terminal is spared TensorFlow's native
start-up chatter, and a failing stage's error message or traceback: the run's closing message
says it once (`--verbose` shows everything).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator

# TensorFlow/absl native log lines (I0000 00:00:... file.cc:12] ...) and absl's preamble.
NATIVE_NOISE = re.compile(
    r"^([IWEF]\d{4} [\d:.]+ +\d+ [\w./-]+:\d+\] |WARNING: All log messages before "
    r"absl::InitializeLog\(\) is called are written to STDERR)"
)
ERROR_LINE = "trainflow: "
TRACEBACK = "Traceback (most recent call last):"
VERBOSE = "TRAINFLOW_VERBOSE"
OFF = frozenset({"", "0", "false", "f", "no", "n", "off"})  # click's false values, and unset
_terminal_fd: int | None = None
_api: logging.Logger | None = None


def terminal_fd() -> int:
    """A descriptor of the terminal as it was before any capture (duplicated once)."""
    global _terminal_fd
    if _terminal_fd is None:
        sys.stdout.flush()
        _terminal_fd = os.dup(1)
    return _terminal_fd


def to_terminal(text: str) -> None:
    os.write(terminal_fd(), (text.rstrip("\n") + "\n").encode(errors="replace"))


def api_logger() -> logging.Logger:
    """A logger that reaches the Prefect run's logs and never Prefect's console handler."""
    global _api
    if _api is None:
        from prefect.logging.handlers import APILogHandler

        _api = logging.getLogger("trainflow.run")
        _api.setLevel(logging.INFO)
        _api.propagate = False
        _api.addHandler(APILogHandler())
    return _api


def say(text: str) -> None:
    """One line for the user: on the terminal and in the current Prefect run's logs."""
    to_terminal(text)
    with contextlib.suppress(Exception):  # outside a run there is no log to send it to
        api_logger().info(text)


def verbose() -> bool:
    """TRAINFLOW_VERBOSE read as click reads the `--verbose` flag's envvar: "0", "off" are off."""
    return os.environ.get(VERBOSE, "").strip().lower() not in OFF


class StageLines:
    """Which of a stage's lines the terminal shows: not native noise, not its final
    `trainflow: ...` error line (the run's closing message says it), and nothing from a Python
    traceback on (a crash: the closing message names the exception). Verbose shows all."""

    def __init__(self) -> None:
        self.verbose = verbose()
        self.ending = False  # from its error message or traceback on, the stage is failing

    def shown(self, line: str) -> bool:
        if self.verbose:
            return True
        self.ending = self.ending or line.startswith((TRACEBACK, ERROR_LINE))
        return not (self.ending or NATIVE_NOISE.match(line))


def _pump(read_fd: int, sink: Callable[[str], None]) -> None:
    with os.fdopen(read_fd, "r", errors="replace", newline=None) as pipe:
        for line in pipe:
            sink(line.rstrip("\n"))


@contextlib.contextmanager
def _redirected(fds: tuple[int, ...], sink: Callable[[str], None]) -> Iterator[None]:
    """Point `fds` at a pipe whose lines go to `sink`, for the block; then put them back."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(fd) for fd in fds]
    read_fd, write_fd = os.pipe()
    # The pump runs in this thread's context: Prefect's settings (API URL) and run ids live there.
    context = contextvars.copy_context()
    pump = threading.Thread(target=context.run, args=(_pump, read_fd, sink), daemon=True)
    pump.start()
    for fd in fds:
        os.dup2(write_fd, fd)
    os.close(write_fd)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in zip(fds, saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)
        pump.join(timeout=10)  # a stray child still holding the pipe must not hang the run


def captured(sink: Callable[[str], None]) -> contextlib.AbstractContextManager[None]:
    """Send everything written to fd 1 and 2 (children included) to `sink`, line by line."""
    return _redirected((1, 2), sink)


@contextlib.contextmanager
def quiet_native() -> Iterator[None]:
    """Drop TensorFlow's native start-up lines from stderr, keep everything else."""
    stderr = os.dup(2)

    def forward(line: str) -> None:
        if not NATIVE_NOISE.match(line):
            os.write(stderr, (line + "\n").encode(errors="replace"))

    try:
        with _redirected((2,), forward):
            yield
    finally:
        os.close(stderr)
