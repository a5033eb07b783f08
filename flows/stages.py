"""Run dvc.yaml stages through DVC, one Prefect task each, with their output in the logs.

The stage list comes from DVC's own graph of dvc.yaml, so the flow cannot drift from it; DVC
decides whether a stage runs or is skipped and records the result in dvc.lock, exactly as
`dvc repro` does. Asking DVC's status in-process first spares a `dvc repro` subprocess for each
stage that would be skipped anyway.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import deque
from pathlib import Path

from tasks.common.errors import (
    DataValidationError,
    ExitCode,
    ParamsError,
    StageError,
    TrainflowError,
)

SKIPPED = ("didn't change, skipping", "is cached - skipping run")
TAIL_LINES = 30


def pipeline_stages(repo: Path) -> list[str]:
    """Stage names of dvc.yaml in dependency order (DVC's graph, not a hand-kept list)."""
    import networkx as nx
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc_repo:
        graph = dvc_repo.index.graph
        # Names, not `addressing`: that one is relative to the cwd, and the flow may run elsewhere.
        return [stage.name for stage in reversed(list(nx.topological_sort(graph)))]


def stale_stages(repo: Path, stages: list[str]) -> list[str]:
    """The stages DVC would run now (`dvc status`: changed deps, params, command or outputs).

    The same check `dvc repro` makes before running a stage, so skipping a clean stage here
    never disagrees with DVC. `always_changed` stages are always stale.
    """
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc_repo, dvc_repo.lock:
        found = {stage.name: stage for stage in dvc_repo.index.stages}
        return [name for name in stages if found[name].status()]


def stage_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for DVC: this interpreter's bin first, so stage commands find `python`."""
    env = dict(os.environ, **(extra or {}))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("DVC_NO_ANALYTICS", "1")
    return env


def stage_error(stage: str, returncode: int, tail: list[str]) -> TrainflowError:
    """Map the stage's own exit code (as DVC reports it) to trainflow's error types."""
    found = re.findall(r"exited with (-?\d+)", "".join(tail))
    code = int(found[-1]) if found else returncode
    messages = [line.strip() for line in tail if line.startswith("trainflow: ")]
    text = "\n".join(messages) or "".join(tail[-10:]).strip()
    if code == ExitCode.BAD_PARAMS:
        error: TrainflowError = ParamsError(text)
    elif code == ExitCode.DATA_INVALID:
        error = DataValidationError(text)
    else:
        error = StageError(f"stage '{stage}' failed (exit code {code}):\n{text}")
    # For the failure report in the UI; the message users read stays as it was.
    error.stage, error.exit_code, error.tail = stage, code, list(tail)
    return error


def repro(
    stage: str, repo: Path, log, env: dict[str, str] | None = None, force: bool = False
) -> bool:
    """`dvc repro --single-item [--force] STAGE`, streaming its output to `log`; True if it ran."""
    command = [sys.executable, "-m", "dvc", "repro", "--single-item", stage]
    if force:
        command.append("--force")
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    with subprocess.Popen(
        command,
        cwd=repo,
        env=stage_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as process:
        for line in process.stdout:
            tail.append(line)
            log(line.rstrip())
    if process.returncode:
        raise stage_error(stage, process.returncode, list(tail))
    return not any(marker in line for line in tail for marker in SKIPPED)
