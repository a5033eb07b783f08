"""A temporary Prefect server for one `trainflow run`, when no server is configured.

Prefect would start one itself, in the terminal's process group: Ctrl-C then kills the server
first and the flow spends minutes retrying a dead API before it can say it was interrupted.
This one is the same server (Prefect's `create_app` under uvicorn, UI off, the database in
PREFECT_HOME) started in a session of its own, so Ctrl-C reaches only the run, which records
its end and then stops the server. It also starts while the command imports its libraries, and
dies with the command if that is killed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tasks.common.errors import TrainflowError

TEMPORARY_SERVER = "TRAINFLOW_TEMPORARY_SERVER"
HEALTH_POLL_SECONDS = 0.05
INSTEAD = (
    "no run started; use a running Prefect server instead: `trainflow ui` in another terminal,"
    " then `export PREFECT_API_URL=http://127.0.0.1:4200/api` and run again"
)


class ServerFailed(TrainflowError):
    """The temporary Prefect server did not start (exit 1): there is no run to look into."""


def configured_api() -> str | None:
    """The Prefect API URL from the environment or the active profile, if any."""
    from prefect.settings import get_current_settings

    return get_current_settings().api.url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the server process, before exec: get SIGTERM when the command dies (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _launch(port: int) -> subprocess.Popen:
    """The command Prefect runs for its temporary server, in a new session.

    Prefect is not imported here (a second): the server reads the same environment and profile
    as this process would.
    """
    site = Path(importlib.util.find_spec("prefect").origin).parents[1]
    env = {**os.environ, "PREFECT_UI_ENABLED": "0"}
    env |= {"PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(site)]
    command += ["--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "error", "--lifespan", "on"]
    return subprocess.Popen(command, env=env, start_new_session=True, preexec_fn=_die_with_parent)


def _wait_ready(process: subprocess.Popen, url: str, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    with httpx.Client() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServerFailed(
                    f"the temporary Prefect server exited with code {process.returncode} before"
                    f" answering (its errors are printed above); {INSTEAD}"
                )
            with contextlib.suppress(httpx.TransportError):
                if client.get(f"{url}/health").status_code == 200:
                    return
            time.sleep(HEALTH_POLL_SECONDS)
    raise ServerFailed(
        f"the temporary Prefect server at {url} did not answer in {timeout:g} s"
        f" (PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS); {INSTEAD}"
    )


def where_to_look(flow_run_id) -> str:
    """Where a run can be seen: its UI page, or how to see a temporary server's runs."""
    from prefect.utilities.urls import url_for

    if os.environ.get(TEMPORARY_SERVER):
        return "no Prefect server running: `trainflow ui` shows this run afterwards"
    return url_for("flow-run", obj_id=flow_run_id) or "Prefect UI: `trainflow ui`"


def flush_logs() -> None:
    """Send the run's queued log lines while the server still listens."""
    from prefect.logging.handlers import APILogHandler

    with contextlib.suppress(Exception):
        APILogHandler().flush()


class TemporaryServer:
    """Started at once; `serving()` waits until it answers and points Prefect at it."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.process = _launch(self.port)

    @contextlib.contextmanager
    def serving(self) -> Iterator[str]:
        from prefect.settings import (
            PREFECT_API_URL,
            PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
            temporary_settings,
        )

        try:
            timeout = PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
            _wait_ready(self.process, self.url, timeout)
            os.environ[TEMPORARY_SERVER] = "1"
            with temporary_settings(updates={PREFECT_API_URL: self.url}):
                yield self.url
        finally:
            os.environ.pop(TEMPORARY_SERVER, None)
            flush_logs()
            self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_early() -> TemporaryServer | None:
    """Start a temporary server now, before the run's imports, unless PREFECT_API_URL is set.

    Settings come from a profile too; `needed` stops the server when one configures an API.
    """
    return None if os.environ.get("PREFECT_API_URL") else TemporaryServer()


def needed(server: TemporaryServer | None) -> TemporaryServer | None:
    """The server, or None (stopped) when Prefect's settings name an API to use."""
    if server is not None and configured_api():
        server.stop()
        return None
    return server
