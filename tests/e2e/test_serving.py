"""Serving for real: a registered table model as a SavedModel, over HTTP, and batch predict."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest

from tests.conftest import BIN, free_port, make_workspace, trainflow, wait_until

pytestmark = pytest.mark.e2e
QUICK = [
    "data.source=data/source/table.csv",
    "data.target=y",
    "train.epochs=2",
    "flow.train_retries=0",
    "evaluate.gate.min_accuracy=0",
    "evaluate.gate.min_macro_f1=0",
    "evaluate.compare_champion=false",
]


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def table(rows: int = 400) -> pd.DataFrame:
    """Numbers (some missing) and a colour category (some missing); label yes/no."""
    rng = np.random.default_rng(0)
    size = rng.normal(3.0, 2.0, rows).round(3)
    color = rng.choice(["red", "green", "blue"], rows).astype(object)
    label = np.where((size > 3.0) ^ (color == "red"), "yes", "no")
    size[::7] = np.nan
    color[::11] = None
    return pd.DataFrame(
        {"size": size, "weight": rng.integers(0, 100, rows), "color": color, "y": label}
    )


@pytest.fixture(scope="module")
def registered(tmp_path_factory, prefect_api):
    """A workspace with v0.1.0 in prod (and its environment)."""
    from tests.conftest import fresh_env

    root = tmp_path_factory.mktemp("serving")
    (root / "home").mkdir()
    env = fresh_env(root / "home", prefect_api)
    workspace = make_workspace(root / "repo")
    (workspace / "data/source").mkdir(parents=True)
    table().to_csv(workspace / "data/source/table.csv", index=False)
    done = trainflow(workspace, env, "run", *sets(*QUICK))
    assert done.returncode == 0, done.stdout + done.stderr
    promoted = trainflow(workspace, env, "models", "promote", "v0.1.0")
    assert promoted.returncode == 0, promoted.stderr
    return workspace, env


def rows_of(ids: pd.Series, source: pd.DataFrame) -> list[dict]:
    """The raw rows evaluate named `table.csv:<row>`, as JSON objects (NaN as null)."""
    picked = source.iloc[[int(i.rsplit(":", 1)[1]) for i in ids]].drop(columns="y")
    return [
        {k: (None if pd.isna(v) else v) for k, v in row.items()}
        for row in json.loads(picked.to_json(orient="records"))
    ]


def test_models_get_writes_a_savedmodel_that_tensorflow_serves_as_evaluate_scored(registered):
    workspace, env = registered
    base = workspace.parent / "serving"
    got = trainflow(
        workspace, env, "models", "get", "prod", "--format", "saved_model", "--out", str(base)
    )
    assert got.returncode == 0, got.stderr
    assert (base / "1000" / "saved_model.pb").exists()
    gate = json.loads((workspace / "reports/gate.json").read_text())
    parity = next(c for c in gate["checks"] if c["check"] == "serving_parity")
    assert parity["passed"] and parity["value"] <= 1e-4
    evaluated = pd.read_csv(workspace / "reports/predictions.csv")
    rows = rows_of(evaluated["id"], pd.read_csv(workspace / "data/source/table.csv"))
    feed = {
        "f_size": [r["size"] for r in rows],
        "f_weight": [float(r["weight"]) for r in rows],
        "f_color": [r["color"] or "" for r in rows],
    }
    script = (
        "import json, sys, tensorflow as tf\n"
        "feed, nan = json.load(sys.stdin), float('nan')\n"
        f"f = tf.saved_model.load({str(base / '1000')!r}).signatures['serving_default']\n"
        "kind = lambda v: tf.string if isinstance(v[0], str) else tf.float32\n"
        "args = {k: tf.constant([[nan if x is None else x] for x in v], kind(v))"
        " for k, v in feed.items()}\n"
        "print(json.dumps(f(**args)['output_0'].numpy().tolist()))\n"
    )
    served = subprocess.run(
        [str(BIN / "python"), "-c", script], input=json.dumps(feed), capture_output=True, text=True
    )
    assert served.returncode == 0, served.stderr
    np.testing.assert_allclose(
        json.loads(served.stdout), evaluated[["p_no", "p_yes"]].to_numpy(), atol=1e-5
    )


def post(url: str, body: bytes) -> tuple[int, dict, str]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read()), answer.headers["X-Model-Version"]
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), ""


def status(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.loads(answer.read())
    except OSError:
        return None


def test_the_endpoint_answers_rows_refuses_bad_requests_and_swaps_on_promotion(registered):
    workspace, env = registered
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1/models/model"
    command = [str(BIN / "trainflow"), "models", "serve", "prod", "--port", str(port)]
    command += ["--poll", "0.5", "--max-body-mb", "0.05"]
    server = subprocess.Popen(
        command, cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        shown = wait_until(lambda: status(base), 120, "the endpoint to answer")
        assert shown["registry"] == {"artifact": "model", "version": "v0.1.0", "stage": "prod"}
        assert shown["model_version_status"][0]["version"] == "1000"

        evaluated = pd.read_csv(workspace / "reports/predictions.csv")
        source = pd.read_csv(workspace / "data/source/table.csv")
        rows = rows_of(evaluated["id"], source)
        code, answer, version = post(f"{base}:predict", json.dumps({"instances": rows}).encode())
        assert (code, version) == (200, "v0.1.0"), answer
        np.testing.assert_allclose(
            answer["predictions"], evaluated[["p_no", "p_yes"]].to_numpy(), atol=1e-5
        )

        row = rows[0]
        bad = {
            "missing column": (
                {"instances": [{"size": 1.0, "weight": 3}]},
                "instance 0: missing column 'color'",
            ),
            "wrong type": (
                {"instances": [row, row | {"weight": "heavy"}]},
                "instance 1: column 'weight' must be a number or null, got 'heavy'",
            ),
            "not rows": ({"rows": [row]}, '"instances"'),
            "oversized": ({"instances": [row] * 2000}, "over the limit of 52428 bytes"),
        }
        for what, (body, message) in bad.items():
            code, answer, _ = post(f"{base}:predict", json.dumps(body).encode())
            assert code == 400 and message in answer["error"], (what, answer)
        code, answer, _ = post(f"{base}:predict", b"{not json")
        assert code == 400 and "not JSON" in answer["error"]

        second = trainflow(workspace, env, "run", *sets(*QUICK, "train.seed=7"))
        assert second.returncode == 0, second.stdout + second.stderr
        seen, failures, stop = set(), [], threading.Event()

        def load() -> None:
            body = json.dumps({"instances": rows[:20]}).encode()
            while not stop.is_set():
                code, answer, version = post(f"{base}:predict", body)
                (seen.add(version) if code == 200 else failures.append((code, answer)))

        clients = [threading.Thread(target=load) for _ in range(2)]
        for client in clients:
            client.start()
        promoted = trainflow(workspace, env, "models", "promote", "v0.2.0")
        assert promoted.returncode == 0, promoted.stderr
        wait_until(
            lambda: (status(base) or {}).get("registry", {}).get("version") == "v0.2.0",
            120,
            "the swap",
        )
        wait_until(lambda: "v0.2.0" in seen, 30, "an answer by v0.2.0")
        stop.set()
        for client in clients:
            client.join()
        assert failures == [] and seen == {"v0.1.0", "v0.2.0"}
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert "serve: prod is now v0.2.0 (was v0.1.0)" in out, out
