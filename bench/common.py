"""Shared pieces of the benchmarks: settings, fresh workspaces, measured runs and ratios.

Every figure is a ratio against a bare baseline measured in the same run on the same machine,
so a slow or busy machine moves both sides; absolute seconds are kept next to it.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Pipeline outputs a fresh clone would not have (a local `make run` leaves them in ROOT).
OUTPUTS = ("dvc.lock", "data/raw", "data/prepared", "models", "reports", "registry")
# Small but real: digits through every stage with a couple of epochs and a gate it passes.
QUICK = [
    "train.epochs=2",
    "flow.train_retries=0",
    "evaluate.gate.min_accuracy=0.5",
    "evaluate.gate.min_macro_f1=0.5",
]
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]


class BenchError(RuntimeError):
    """A measured command failed: the figure would be meaningless."""


def env_int(name: str, default: int) -> int:
    """A positive integer setting from the environment (the `python -m bench` flags set them)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = int(raw.replace("_", ""))
    if value < 1:
        raise ValueError(f"{name}={raw}: must be at least 1")
    return value


def repeats() -> int:
    return env_int("BENCH_REPEATS", 3)


def project_files() -> list[str]:
    """Tracked and new (not ignored) files: what a fresh clone of the working tree holds."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def fresh_workspace(target: Path, overrides: list[str]) -> Path:
    """A committed git copy of the project with `overrides` written into params.yaml."""
    from tasks.common.params import write_overrides

    for name in project_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination)
    for name in OUTPUTS:
        path = target / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    write_overrides(target / "params.yaml", overrides)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=target, check=True)
    subprocess.run(["git", "add", "-A"], cwd=target, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "clone"], cwd=target, check=True)
    return target


def base_env(**extra: str) -> dict[str, str]:
    """The caller's environment without Prefect settings, this venv first, no telemetry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    return env | extra


@contextlib.contextmanager
def prefect_server() -> Iterator[str]:
    """A Prefect API server already running (temporary database); yields its URL."""
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"  # read when prefect is imported
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield str(PREFECT_API_URL.value())


@dataclass(frozen=True)
class Measured:
    """One finished command: wall seconds, peak resident memory, merged output."""

    seconds: float
    peak_mb: float
    output: str


# Runs the command and records its peak RSS from a small process of its own: wait4 on a child
# forked straight from a large parent (a pytest run with TensorFlow loaded) reports the
# parent's pages the child held before exec, not the command's own peak.
_PEAK_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2], shell=True)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(str(peak))\n"
    "sys.exit(code)\n"
)


def measure(command: list[str] | str, cwd: Path, env: dict[str, str]) -> Measured:
    """Run a command to completion; its peak RSS comes from the kernel, not polling.

    The peak is that of the command and every descendant it waited for, so a
    `python -m tasks.train` command reports the training process itself.
    """
    log = cwd.parent / f".{cwd.name}.log"
    peak_file = cwd.parent / f".{cwd.name}.peak"
    line = command if isinstance(command, str) else shlex.join(command)
    with open(log, "w+") as out:
        started = time.perf_counter()
        process = subprocess.run(
            [sys.executable, "-c", _PEAK_WRAPPER, str(peak_file), line],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        seconds = time.perf_counter() - started
        out.seek(0)
        output = out.read()
    if process.returncode:
        raise BenchError(f"{command} failed ({process.returncode}) in {cwd}:\n{output[-3000:]}")
    return Measured(seconds, int(peak_file.read_text()) / 1024, output)


def peak_mib() -> float:
    """This process's peak resident memory since it started (Linux's VmHWM).

    Not the rusage of the child as its parent sees it: that also counts the parent's memory,
    which the child shares between fork and exec.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def say(benchmark: str, what: str, seconds: float) -> None:
    """A progress line per measured run: a long benchmark is not a silent one."""
    print(f"{benchmark}: {what}: {seconds:.1f} s", flush=True)


def stage_commands(repo: Path) -> list[tuple[str, str]]:
    """(stage, command) of dvc.yaml in dependency order, read from DVC, never a second list."""
    from flows.stages import Pipeline

    pipeline = Pipeline(repo)
    try:
        commands = {stage.name: stage.cmd for stage in pipeline.repo.index.stages}
        return [(name, commands[name]) for name in pipeline.stages()]
    finally:
        pipeline.close()


def run_phases(started: float, ended: float) -> dict[str, float]:
    """Where the latest `trainflow run` on this benchmark's Prefect server spent its time.

    From its Prefect records: start-up (process start to flow run start: imports, flow run
    creation), each task (a stage through DVC, or the registration), the flow's time outside
    its tasks, and shut-down (flow run end to process exit). `started`/`ended` are wall-clock
    times (time.time()) of the process.
    """
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        (run,) = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=1)
        ran = FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
        tasks = [t for t in client.read_task_runs(flow_run_filter=ran) if t.end_time]
    flow_start, flow_end = run.start_time.timestamp(), run.end_time.timestamp()
    phases = {"start-up": flow_start - started}
    for task in sorted(tasks, key=lambda t: t.start_time):
        phases[f"task {task.name}"] = (task.end_time - task.start_time).total_seconds()
    inside = sum(v for k, v in phases.items() if k.startswith("task "))
    phases["flow outside tasks"] = flow_end - flow_start - inside
    phases["shut-down"] = ended - flow_end
    return {name: round(value, 3) for name, value in phases.items()}


def rotated(items: list[str], turn: int) -> list[str]:
    """A different order each repeat, so drift in machine load does not favour one side."""
    shift = turn % len(items)
    return items[shift:] + items[:shift]


def spread(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 3),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
    }


def figure(name: str, ratios: list[float], goal: float | None, detail: dict | None = None) -> dict:
    """One row of the results table: min/median/max of a ratio and whether the median meets
    its goal (every goal here is an upper bound; None: a reference figure, no goal)."""
    summary = spread(ratios)
    return {
        "figure": name,
        **summary,
        "goal": "" if goal is None else f"<= {goal:g}",
        "met": None if goal is None else summary["median"] <= goal,
        "repeats": len(ratios),
        **({"detail": detail} if detail else {}),
    }
