"""Orchestration overhead: `trainflow run --no-register` vs the bare stage commands.

The baseline runs the very commands of dvc.yaml (`python -m tasks.ingest`, ...) one after
another in an identical fresh workspace, with no DVC and no Prefect. The flow adds DVC's own
work (hashing, the cache, dvc.lock; in the flow's process) and Prefect's task bookkeeping. It is
measured twice: against a Prefect server that is already running (how a scheduled deployment
runs), and with no server configured, where the run starts a temporary one (how a first
`make run` feels). Goals: at most 1.10x the bare commands with a running server, 1.25x without.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import (
    BIN,
    QUICK,
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
    stage_commands,
)

# `dvc repro` alone is the reference: the share of the overhead that is DVC's own work.
GOALS = {"flow, server running": 1.10, "flow, no server": 1.25, "dvc repro": None}
WARM_UP = "from prefect import flow; flow(lambda: None)()"


PROFILE: dict[str, list[float]] = {}  # seconds of each phase, over the repeats


def keep(phases: dict[str, float]) -> None:
    for name, seconds in phases.items():
        PROFILE.setdefault(name, []).append(seconds)


def bare_stages(repo: Path, env: dict[str, str]) -> float:
    """Every stage command of dvc.yaml in order, each as its own process, as DVC runs it."""
    seconds = {
        f"bare {name}": measure(cmd, repo, env).seconds for name, cmd in stage_commands(repo)
    }
    keep(seconds)
    return sum(seconds.values())


def flow(repo: Path, env: dict[str, str]) -> float:
    return measure([str(BIN / "trainflow"), "run", "--no-register"], repo, env).seconds


def profiled_flow(repo: Path, env: dict[str, str]) -> float:
    """The flow against the benchmark's own server, with its phases read back from Prefect."""
    started = time.time()
    seconds = flow(repo, env)
    keep(run_phases(started, started + seconds))
    return seconds


def dvc_repro(repo: Path, env: dict[str, str]) -> float:
    return measure([str(BIN / "dvc"), "repro"], repo, env).seconds


def timings(tmp: Path, variants: dict[str, tuple[Callable, dict[str, str]]]) -> dict:
    """Seconds of each variant per repeat, each in its own fresh workspace."""
    found: dict[str, list[float]] = {name: [] for name in variants}
    for turn in range(repeats()):
        for index, name in enumerate(rotated(list(variants), turn)):
            repo = fresh_workspace(tmp / f"repo-{turn}-{index}", QUICK)
            run, env = variants[name]
            found[name].append(run(repo, env))
            say("orchestration", f"repeat {turn + 1}, {name}", found[name][-1])
            shutil.rmtree(repo)
    return found


def profile_figures(bare: list[float]) -> list[dict]:
    """Where the flow's time goes (server running): each stage's task against its bare
    command, and the time outside the stages against the whole bare pipeline."""
    found = []
    for name in [k.removeprefix("bare ") for k in PROFILE if k.startswith("bare ")]:
        task, alone = PROFILE.get(f"task {name}", []), PROFILE[f"bare {name}"]
        if len(task) == len(alone):
            ratios = [t / b for t, b in zip(task, alone, strict=True)]
            detail = {"seconds": spread(task), "baseline_seconds": spread(alone)}
            found.append(figure(f"phase: stage {name} (task / bare command)", ratios, None, detail))
    for phase in ("start-up", "flow outside tasks", "shut-down"):
        if len(PROFILE.get(phase, [])) == len(bare):
            ratios = [p / b for p, b in zip(PROFILE[phase], bare, strict=True)]
            detail = {"seconds": spread(PROFILE[phase])}
            found.append(figure(f"phase: {phase} / bare stages", ratios, None, detail))
    return found


def main() -> dict:
    with (
        tempfile.TemporaryDirectory(prefix="bench-orchestration-") as name,
        prefect_server() as api,
    ):
        tmp = Path(name)
        served = base_env(PREFECT_API_URL=api)
        # No API URL: each run starts its own temporary server. Its database is migrated once
        # here (a one-time cost per machine), not in every timed run.
        ephemeral = base_env(PREFECT_HOME=str(tmp / "prefect-home"))
        measure([str(BIN / "python"), "-c", WARM_UP], tmp, ephemeral)
        seconds = timings(
            tmp,
            {
                "bare stages": (bare_stages, served),
                "flow, server running": (profiled_flow, served),
                "flow, no server": (flow, ephemeral),
                "dvc repro": (dvc_repro, served),
            },
        )
    bare = seconds["bare stages"]
    figures = [
        figure(
            f"{'dvc repro' if variant == 'dvc repro' else f'trainflow run ({variant})'}"
            " / bare stages",
            [flow_s / bare_s for flow_s, bare_s in zip(seconds[variant], bare, strict=True)],
            GOALS[variant],
            {"seconds": spread(seconds[variant]), "baseline_seconds": spread(bare)},
        )
        for variant in GOALS
    ]
    return {
        "name": "orchestration",
        "figures": figures + profile_figures(bare),
        "params": QUICK,
        "notes": "fresh workspace per run; order rotated each repeat",
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
