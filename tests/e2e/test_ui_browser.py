"""The Prefect UI tells a run's story: headless Chromium opens the page of a finished run.

Chromium is driven over the DevTools protocol (the `websockets` package comes with Prefect):
the run page renders in JavaScript, and its tabs only show their content once clicked.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import pytest

from tests.conftest import BIN, FAST, free_port, trainflow, wait_until

pytestmark = pytest.mark.e2e
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def ui(tmp_path_factory) -> Iterator[str]:
    """`trainflow ui` on a free port with its own SQLite database; yields the UI's URL."""
    port, folder = free_port(), tmp_path_factory.mktemp("ui")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(folder / "prefect")
    log = folder / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [str(BIN / "trainflow"), "ui", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert server.poll() is None, f"trainflow ui exited:\n{log.read_text()}"
        return answers(f"{url}/api/health")

    try:
        wait_until(up, 180, "the Prefect server of `trainflow ui`")
        yield url
    finally:
        server.terminate()
        server.wait(30)


class Page:
    """One Chromium tab, read and clicked through the DevTools protocol."""

    def __init__(self, chromium: str, profile: Path):
        from websockets.sync.client import connect

        port = free_port()
        self.process = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={profile}", f"--remote-debugging-port={port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        listing = f"http://127.0.0.1:{port}/json/list"
        wait_until(lambda: answers(listing), 60, "Chromium's DevTools endpoint", 0.2)
        with urllib.request.urlopen(listing) as response:
            tab = next(t for t in json.load(response) if t["type"] == "page")
        self.socket = connect(tab["webSocketDebuggerUrl"], max_size=2**26)
        self.ids = count(1)

    def call(self, method: str, **params) -> dict:
        request = next(self.ids)
        self.socket.send(json.dumps({"id": request, "method": method, "params": params}))
        while True:  # events (no id) may come before the reply
            reply = json.loads(self.socket.recv())
            if reply.get("id") == request:
                return reply.get("result", {})

    def evaluate(self, script: str):
        return self.call("Runtime.evaluate", expression=script, returnByValue=True)["result"].get(
            "value"
        )

    def shows(self, *words: str, timeout: float = 60) -> str:
        def text() -> str | None:
            found = self.evaluate("document.body ? document.body.innerText : ''") or ""
            return found if all(word in found for word in words) else None

        return wait_until(text, timeout, f"the page to show {words}")

    def click(self, label: str) -> None:
        script = (  # the innermost element with exactly this text (tabs are list items)
            "(e => e ? (e.click(), true) : false)([...document.querySelectorAll('body *')]"
            f".filter(e => e.textContent.trim() === {json.dumps(label)}).pop())"
        )
        assert self.evaluate(script), f"no {label!r} on the page"

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot")["data"]))

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        self.process.wait(30)


def latest_run(api_url: str):
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        (flow_run,) = client.read_flow_runs()
    return flow_run


def test_the_ui_shows_the_finished_run_its_tasks_and_its_metrics(ui, chromium, workspace, env):
    overrides = [arg for item in FAST for arg in ("--set", item)]
    result = trainflow(workspace, env | {"PREFECT_API_URL": f"{ui}/api"}, "run", *overrides)
    assert result.returncode == 0, result.stdout + result.stderr
    flow_run = latest_run(f"{ui}/api")
    assert flow_run.state.is_completed()

    page = Page(chromium, workspace.parent / "chromium-profile")
    try:
        started = time.monotonic()
        page.call("Page.navigate", url=f"{ui}/runs/flow-run/{flow_run.id}")
        page.shows(flow_run.name, "Completed", "model@v0.1.0")
        page.click("Task Runs")
        page.shows("ingest", "validate", "prepare", "train", "evaluate", "register")
        page.click("Artifacts")
        page.shows("test-metrics", "validation", "gate")
        page.screenshot(workspace.parent / "run-page.png")
        assert time.monotonic() - started < 120
    finally:
        page.close()
