"""No-op run: `trainflow run` with nothing changed vs `dvc repro` with nothing changed.

Both rerun the always-changed ingest stage (it re-reads the source; identical bytes come out)
and skip everything after it. `trainflow run` also asks the registry whether the model is
already registered and records the Skipped run in Prefect (through its API, without the flow
engine: flows/unchanged.py). Goal: within 1.25x of DVC, with a server running. Both absolute
times are reported, since a user waits for seconds, not ratios.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import (
    BIN,
    QUICK,
    BenchError,
    base_env,
    figure,
    fresh_workspace,
    measure,
    prefect_server,
    repeats,
    rotated,
    run_phases,
    say,
    spread,
)

GOAL = 1.25
RETRAINED = "Running stage 'train'"


def nothing_ran(runner: list[str], repo: Path, env: dict[str, str], profile: dict) -> float:
    """Seconds of one run, refusing a run that retrained (it would not be a no-op); the
    flow's phases (from its Prefect records) go to `profile`."""
    started = time.time()
    done = measure(runner, repo, env)
    if RETRAINED in done.output:
        raise BenchError(f"{' '.join(runner)} retrained: the workspace was not up to date")
    if runner[0].endswith("trainflow"):
        for name, seconds in run_phases(started, started + done.seconds).items():
            profile.setdefault(name, []).append(seconds)
    return done.seconds


def main() -> dict:
    runners = {
        "trainflow run": [str(BIN / "trainflow"), "run"],
        "dvc repro": [str(BIN / "dvc"), "repro"],
    }
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    profile: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-noop-") as tmp, prefect_server() as api:
        env = base_env(PREFECT_API_URL=api)
        repo = fresh_workspace(Path(tmp) / "repo", QUICK)
        measure(runners["trainflow run"], repo, env)  # trains and registers: the up-to-date state
        for turn in range(repeats()):
            for name in rotated(list(runners), turn):
                seconds[name].append(nothing_ran(runners[name], repo, env, profile))
                say("noop", f"repeat {turn + 1}, {name}", seconds[name][-1])
    flow, dvc = seconds["trainflow run"], seconds["dvc repro"]
    detail = {"seconds": spread(flow), "baseline_seconds": spread(dvc)}
    ratios = [f / d for f, d in zip(flow, dvc, strict=True)]
    phases = [
        figure(
            f"phase: {name} / no-op dvc repro",
            [p / d for p, d in zip(values, dvc, strict=True)],
            None,
            {"seconds": spread(values)},
        )
        for name, values in profile.items()
        if len(values) == len(dvc)
    ]
    return {
        "name": "noop",
        "figures": [figure("no-op trainflow run / no-op dvc repro", ratios, GOAL, detail), *phases],
        "params": QUICK,
        "notes": "one trained and registered workspace; Prefect server already running",
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
