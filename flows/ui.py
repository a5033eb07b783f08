"""`trainflow ui`: a Prefect server with its UI on 127.0.0.1, wired so the UI reaches the API.

The browser UI calls the API at PREFECT_UI_API_URL; `prefect server start --port N` alone
leaves it calling port 4200, and the UI shows "Can't connect to Server API". The database is
SQLite in PREFECT_HOME unless PREFECT_API_DATABASE_CONNECTION_URL names another (PostgreSQL).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 4200


def api_url(host: str, port: int) -> str:
    return f"http://{host}:{port}/api"


def server_env(host: str, port: int, base: Mapping[str, str]) -> dict[str, str]:
    """The server's environment: bind address, the API URL the UI calls, no telemetry."""
    return dict(base) | {
        "PREFECT_SERVER_API_HOST": host,
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_UI_API_URL": api_url(host, port),
        "PREFECT_UI_URL": f"http://{host}:{port}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }


def server_command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)]


def start(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Become the Prefect server (exec): Ctrl-C and signals reach it directly."""
    command = server_command(host, port)
    os.execve(command[0], command, server_env(host, port, os.environ))
