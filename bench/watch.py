"""Data-arrival watcher: its cost per look, and the time from a new file to its retraining run.

Cost: the CPU time of one unchanged look (`flows.watch.check`) at a folder of
BENCH_WATCH_FILES (10,000) files, as a share of one core at a 60 s interval (goal: under 1%).
Latency: `trainflow watch --interval 5`, prefect.yaml's `on-new-data` deployment and a process
worker (PREFECT_WORKER_QUERY_SECONDS=1) on a Prefect server; a new file in the watched folder,
then the seconds until its run is Running (goal: the interval plus 5 s). Each triggered run
trains and registers before the next file lands, so no run waits for another.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import (
    BIN,
    GIT,
    QUICK,
    BenchError,
    base_env,
    env_int,
    figure,
    fresh_workspace,
    prefect_server,
    repeats,
    say,
    spread,
)

INTERVAL = 5.0
BUDGET = 60.0  # seconds between two looks in production
POOL = "bench-watch"


def folder_of(path: Path, files: int) -> Path:
    path.mkdir(parents=True)
    for index in range(files):
        (path / f"part-{index:05d}.csv").write_text("x,label\n1.0,yes\n")
    return path


def cost_per_look(files: int) -> tuple[list[float], list[float]]:
    """CPU and wall seconds of unchanged looks at a folder of `files` files."""
    from flows.watch import check
    from tasks.common.params import load_params

    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        repo = Path(tmp)
        folder_of(repo / "incoming", files)
        (repo / "params.yaml").write_text("data:\n  source: incoming\n")
        params = load_params(repo / "params.yaml")
        check(params, repo)  # the first look only records the fingerprint
        cpu, wall = [], []
        for _ in range(max(repeats(), 5)):
            started, wall_started = time.process_time(), time.perf_counter()
            if check(params, repo) is not None:
                raise BenchError("an unchanged folder was reported as changed")
            cpu.append(time.process_time() - started)
            wall.append(time.perf_counter() - wall_started)
    return cpu, wall


def table_csv(path: Path, seed: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(size=300)
    label = np.where(x + rng.normal(scale=0.3, size=300) > 0, "yes", "no")
    pd.DataFrame({"x": x, "label": label}).to_csv(path, index=False)


def deployed(tmp: Path, env: dict[str, str]) -> tuple[Path, object]:
    from prefect import get_client

    settings = [
        "data.source=incoming",
        "data.target=label",
        *QUICK,
        "evaluate.gate.min_macro_f1=0.4",
    ]
    repo = fresh_workspace(tmp / "repo", settings)
    (repo / "incoming").mkdir()
    table_csv(repo / "incoming/part-0.csv", 0)
    subprocess.run([*GIT, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "data"], cwd=repo, check=True)
    prefect = str(BIN / "prefect")
    subprocess.run([prefect, "work-pool", "create", POOL, "--type", "process"], env=env, cwd=repo)
    deploy = [prefect, "--no-prompt", "deploy", "--name", "on-new-data", "--pool", POOL]
    subprocess.run(deploy, env=env, cwd=repo, check=True, capture_output=True)
    with get_client(sync_client=True) as client:
        return repo, client.read_deployment_by_name("retrain/on-new-data")


def runs_of(deployment_id) -> list:
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    found = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
    with get_client(sync_client=True) as client:
        return sorted(client.read_flow_runs(deployment_filter=found), key=lambda r: r.created)


def wait_for(found, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := found():
            return value
        time.sleep(0.2)
    raise BenchError(f"timed out after {timeout:g} s waiting for {what}")


def latencies(tmp: Path, api: str) -> list[float]:
    """Seconds from a new file to its run's start, one per repeat."""
    env = base_env(PREFECT_API_URL=api, PREFECT_WORKER_QUERY_SECONDS="1")
    repo, deployment = deployed(tmp, env)
    with open(tmp / "worker.log", "w") as wlog, open(tmp / "watch.log", "w") as log:
        worker = subprocess.Popen(
            [str(BIN / "prefect"), "worker", "start", "--pool", POOL],
            cwd=tmp,
            env=env,
            stdout=wlog,
            stderr=subprocess.STDOUT,
        )
        watcher = subprocess.Popen(
            [str(BIN / "trainflow"), "watch", "--interval", str(INTERVAL)],
            cwd=repo,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    seconds, phases = [], []
    log = tmp / "watch.log"
    try:
        wait_for(lambda: "watching" in log.read_text(), 60, "the watcher")
        for turn in range(repeats()):
            table_csv(repo / f"incoming/part-{turn + 1}.csv", turn + 1)
            landed = time.time()
            wait_for(lambda n=turn + 1: log.read_text().count("new data") >= n, 60, "the event")
            sent = time.time()
            runs = wait_for(
                lambda n=turn + 1: len(runs_of(deployment.id)) >= n and runs_of(deployment.id),
                120,
                "the triggered run",
            )
            started = wait_for(lambda r=runs[-1].id: _started(r), 120, "the run to start")
            seconds.append(started - landed)
            phases.append(_phases(runs[-1].id, landed, sent))
            say("watch", f"repeat {turn + 1}, new file to run start", seconds[-1])
            print(f"watch: repeat {turn + 1}, phases (s): {phases[-1]}", flush=True)
            wait_for(lambda r=runs[-1].id: _final(r), 600, "the run to finish")
    finally:
        for process in (watcher, worker):
            process.terminate()
            process.wait(30)
    return seconds, phases


def _phases(flow_run_id, landed: float, sent: float) -> dict[str, float]:
    """Where a new file's wait went: the watcher's next look (the event sent), the server's
    trigger (the run created), the worker's poll (Pending) and the run's own start (Running)."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
        states = {
            s.type.value: s.timestamp.timestamp() for s in client.read_flow_run_states(flow_run_id)
        }
    marks = [
        ("look", sent),
        ("trigger", run.created.timestamp()),
        ("pickup", states.get("PENDING", sent)),
        ("start", run.start_time.timestamp()),
    ]
    phases, last = {}, landed
    for name, at in marks:
        phases[name] = round(at - last, 2)
        last = at
    return phases


def _run(flow_run_id):
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


def _started(flow_run_id) -> float | None:
    found = _run(flow_run_id)
    return found.start_time.timestamp() if found.start_time else None


def _final(flow_run_id) -> bool:
    found = _run(flow_run_id)
    if found.state.is_final() and not found.state.is_completed():
        raise BenchError(f"the triggered run ended {found.state.name}: {found.state.message}")
    return found.state.is_final()


def main() -> dict:
    files = env_int("BENCH_WATCH_FILES", 10_000)
    cpu, wall = cost_per_look(files)
    say("watch", f"one look at {files} files, CPU", min(cpu))
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp, prefect_server() as api:
        waited, phases = latencies(Path(tmp), api)
    return {
        "name": "watch",
        "figures": [
            figure(
                f"CPU of one look at {files} files / {BUDGET:g} s",
                [c / BUDGET for c in cpu],
                0.01,
                {"cpu_seconds": spread(cpu), "wall_seconds": spread(wall)},
            ),
            figure(
                f"new file to run start, minus the {INTERVAL:g} s interval (s)",
                [w - INTERVAL for w in waited],
                5.0,
                {"seconds": spread(waited), "phases": phases},
            ),
        ],
        "params": {"files": files, "interval": INTERVAL, "worker_query_seconds": 1},
        "notes": "each triggered run trains and registers before the next file lands",
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
