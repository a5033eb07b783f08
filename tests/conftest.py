"""Shared fixtures: a temporary git copy of this repository and a real Prefect server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.common import project_files

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Fast settings for end-to-end runs on the bundled digits: a couple of epochs, a low bar, and
# no infra validation (a second TensorFlow process per evaluate; tests/e2e/test_serving.py,
# test_photos.py, test_text.py and test_docs.py run it, as users do, by default).
FAST = [
    "train.epochs=3",
    "flow.train_retries=0",
    "evaluate.gate.min_accuracy=0.5",
    "evaluate.gate.min_macro_f1=0.5",
    "evaluate.gate.max_serving_difference=null",
]


def make_workspace(target: Path) -> Path:
    """Copy the project into `target` and commit it, like `git clone` of main would."""
    for name in project_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination)
    for directory in ("data/raw", "data/prepared", "models/model", "registry"):
        shutil.rmtree(target / directory, ignore_errors=True)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=target, check=True)
    subprocess.run(["git", "add", "-A"], cwd=target, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "clone"], cwd=target, check=True)
    return target


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "repo")


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """One real Prefect server for the whole session (the CLI subprocesses talk to it)."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield PREFECT_API_URL.value()


def fresh_env(home: Path, prefect_api: str, **extra: str) -> dict[str, str]:
    """A fresh machine's environment: no git identity, no settings of ours, Prefect or AWS, the
    test Prefect server, the venv's commands first on PATH (as `source .venv/bin/activate`)."""
    drop = ("GIT_", "PREFECT_", "TRAINFLOW_", "AWS_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return clean | {
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "PREFECT_API_URL": prefect_api,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        **extra,
    }


@pytest.fixture
def env(prefect_api: str, tmp_path: Path) -> dict[str, str]:
    """A fresh-machine environment for one test."""
    home = tmp_path / "home"
    home.mkdir()
    return fresh_env(home, prefect_api)


def client():
    """A synchronous client of the test Prefect server (PREFECT_API_URL of the session)."""
    from prefect import get_client

    return get_client(sync_client=True)


def finished(flow_run_id):
    """The flow run once it is in a final state, else None (for `wait_until`)."""
    with client() as prefect:
        found = prefect.read_flow_run(flow_run_id)
    return found if found.state and found.state.is_final() else None


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 600):
    """Run a command like a user would; return the completed process (never raises)."""
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def trainflow(workspace: Path, env: dict[str, str], *args: str):
    return run([str(BIN / "trainflow"), *args], workspace, env)


def on_terminal(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 600):
    """Run a command with its stderr on a pseudo-terminal, as typed in one (stdout piped):
    (returncode, stdout, what the terminal showed, control sequences removed)."""
    import pty
    import re

    controller, terminal = pty.openpty()
    with subprocess.Popen(
        args, cwd=cwd, env=env | {"COLUMNS": "120"}, stdout=subprocess.PIPE, stderr=terminal
    ) as process:
        os.close(terminal)
        shown = b""
        while True:
            try:
                block = os.read(controller, 65536)
            except OSError:  # the command closed the terminal
                break
            if not block:
                break
            shown += block
        stdout = process.communicate(timeout=timeout)[0].decode()
    os.close(controller)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode(errors="replace"))
    return process.returncode, stdout, text.replace("\r", "\n")


def git_tags(workspace: Path) -> list[str]:
    listed = subprocess.run(["git", "tag", "-l"], cwd=workspace, capture_output=True, text=True)
    return listed.stdout.split()


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Headless Chromium for UI tests, installed from Debian packages when missing (as root)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        quiet = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
        if subprocess.run(install, env=quiet, capture_output=True).returncode:
            subprocess.run(["apt-get", "update", "-q"], env=quiet, capture_output=True)
            subprocess.run(install, env=quiet, capture_output=True)
        found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed and cannot be (needs root and apt-get)")
    return found


def wait_until(found, timeout: float, what: str, every: float = 0.5):
    """Poll `found()` until it returns something truthy; fail naming `what` after `timeout` s."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := found():
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
