"""`trainflow alerts` against a real Prefect server, delivering to a webhook on 127.0.0.1.

One workspace, three runs on a small table: a good one (registers the champion), one on
drifted data that the gate refuses, one that fails at ingest. Exactly one notification per
cause arrives, each naming the run, the cause and the run's page.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows import events
from tasks.common.errors import ExitCode
from tests.conftest import client, git_tags, trainflow, wait_until

pytestmark = pytest.mark.e2e
BLOCK = "custom-webhook/trainflow-test"
TABLE = [
    "data.source=table.csv",
    "data.target=label",
    "train.epochs=2",
    "flow.train_retries=0",
    "evaluate.gate.min_accuracy=0.5",
    "evaluate.gate.min_macro_f1=0.4",
    "evaluate.gate.max_serving_difference=null",  # infra validation: test_serving.py
]


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def table(path: Path, shift: float = 0.0, rows: int = 400) -> None:
    """Two classes split at x = shift, 10% of labels flipped (no model is perfect)."""
    rng = np.random.default_rng(int(shift))
    x = rng.normal(size=rows) + shift
    label = np.where(x > shift, "yes", "no")
    flip = rng.random(rows) < 0.1
    label[flip] = np.where(label[flip] == "yes", "no", "yes")
    pd.DataFrame({"x": x, "noise": rng.normal(size=rows), "label": label}).to_csv(path, index=False)


@pytest.fixture(scope="module")
def received() -> Iterator[list[dict]]:
    """An HTTP receiver on 127.0.0.1 in Slack's place, and the custom-webhook block for it."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    bodies: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    CustomWebhookNotificationBlock(
        name="trainflow-test",
        url=f"http://127.0.0.1:{server.server_port}/hook",
        json_data={"subject": "{{subject}}", "body": "{{body}}"},
    ).save(BLOCK.split("/")[1], overwrite=True)
    yield bodies
    server.shutdown()
    with client() as prefect:  # other tests' runs notify nobody
        for automation in prefect.read_automations():
            if automation.name.startswith("trainflow "):
                prefect.delete_automation(automation.id)


def run_name(result) -> str:
    return result.stdout.split("trainflow: run '", 1)[1].split("'", 1)[0]


def flow_run_id(name: str):
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    with client() as prefect:
        (found,) = prefect.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name]))
        )
    return found.id


def sent(flow_run, name: str) -> list:
    from prefect.events.filters import EventFilter, EventNameFilter, EventRelatedFilter

    found = EventFilter(
        event=EventNameFilter(name=[name]),
        related=EventRelatedFilter(id=[f"prefect.flow-run.{flow_run}"]),
    )
    with client() as prefect:
        return prefect.read_events(filter=found, limit=50).events


def test_alerts_are_kept_by_name(workspace, env, received):
    first = trainflow(workspace, env, "alerts", *sets(f"alerts.block={BLOCK}"))
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.count("created") == 5 and "trainflow model: drift" in first.stdout
    again = trainflow(workspace, env, "alerts", *sets(f"alerts.block={BLOCK}"))
    assert again.stdout.count("unchanged") == 5, again.stdout
    fewer = trainflow(
        workspace, env, "alerts", *sets(f"alerts.block={BLOCK}", "alerts.on=[failed,refused,drift]")
    )
    assert "removed    trainflow model: stale" in fewer.stdout, fewer.stdout
    assert fewer.stdout.count("unchanged") == 3
    with client() as prefect:
        names = [a.name for a in prefect.read_automations() if a.name.startswith("trainflow")]
    assert sorted(names) == [
        "trainflow model: drift",
        "trainflow model: failed",
        "trainflow model: refused",
    ]
    missing = trainflow(workspace, env, "alerts", *sets("alerts.block=slack-webhook/nowhere"))
    assert missing.returncode == ExitCode.BAD_PARAMS
    assert "alerts.block: no Prefect block 'slack-webhook/nowhere'" in missing.stderr


def test_a_refusal_drift_and_a_failure_each_notify_once(workspace, env, received):
    assert trainflow(workspace, env, "alerts", *sets(f"alerts.block={BLOCK}")).returncode == 0
    table(workspace / "table.csv")
    good = trainflow(workspace, env, "run", *sets(*TABLE))
    assert good.returncode == 0, good.stdout + good.stderr
    assert git_tags(workspace) == ["model#staging#1", "model@v0.1.0"]

    table(workspace / "table.csv", shift=3.0)
    refused = trainflow(workspace, env, "run", *sets(*TABLE, "evaluate.gate.min_accuracy=0.99"))
    assert refused.returncode == ExitCode.MODEL_REFUSED, refused.stdout + refused.stderr
    failed = trainflow(workspace, env, "run", *sets(*TABLE, "data.source=gone.csv"))
    assert failed.returncode != 0

    wait_until(lambda: len(received) >= 3, 60, "three notifications")
    time.sleep(3)  # nothing more comes
    by_subject = {message["subject"]: message["body"] for message in received}
    assert len(received) == 3 and len(by_subject) == 3, received
    drift = by_subject["trainflow: new data for model drifted"]
    gate = by_subject["trainflow: the gate refused a challenger for model"]
    failure = by_subject["trainflow: retraining model failed"]
    second, third = run_name(refused), run_name(failed)
    assert f"Run '{second}', stage 'validate': drift on 'x' psi" in drift
    assert f"Run '{second}': the gate refused the new model" in gate
    assert "(champion model@v0.1.0 stays)" in gate and "accuracy" in gate and ">= 0.99" in gate
    assert f"Run '{third}' failed in stage 'ingest'" in failure and "gone.csv" in failure
    for body, name in ((drift, second), (gate, second), (failure, third)):
        assert f"/runs/flow-run/{flow_run_id(name)}" in body
        assert f"Repository: {workspace}" in body

    first_run = flow_run_id(run_name(good))
    (registered,) = sent(first_run, events.MODEL_REGISTERED)
    assert registered.payload["version"] == "v0.1.0" and registered.payload["stages"] == ["staging"]
    assert "accuracy" in registered.payload["metrics"]
    (changed,) = sent(first_run, events.DATA_CHANGED)
    assert changed.payload["previous"] is None and changed.payload["hash"]


def test_no_new_version_within_stale_days_notifies(workspace, env, received):
    """The proactive alert: no `model registered` event within `alerts.stale_days` (here 17 s,
    Prefect's least window for a proactive trigger being 10 s) sends one notification."""
    received.clear()
    only_stale = sets(f"alerts.block={BLOCK}", "alerts.on=[stale]", "alerts.stale_days=0.0002")
    kept = trainflow(workspace, env, "alerts", *only_stale)
    assert kept.returncode == 0 and "trainflow model: stale" in kept.stdout, kept.stdout
    wait_until(lambda: received, 120, "the stale notification")
    message = received[0]
    assert message["subject"] == "trainflow: no new version of model for 0.0002 days", received
    assert "No version of model was registered in the last 0.0002 days" in message["body"]
