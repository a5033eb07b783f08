"""dvc.yaml's stages run through DVC's Python API, in the flow's own process.

`Repo.reproduce(targets=[stage], single_item=True)` is the code path `dvc repro` takes
(dvc/commands/repro.py calls it), so dvc.lock, the run-cache and every skip decision are the
CLI's, and DVC still runs each stage's command as its own process. One `Repo` serves the whole
run: no DVC start-up, no second index build and no analytics process per stage.

Relied on in dvc 3.67 (pinned in constraints.txt, exercised by tests/unit/test_stages.py):
`Repo.index.graph`, `Stage.status()` and `lock_repo`; `Repo.reproduce(..., run_env=...)`
handing extra environment to the stage command; a failed command as the `StageCmdFailedError`
cause ("... exited with N") of a `ReproductionError`; `Repo.checkout(targets=...)`; DVC
logging to loggers named `dvc.*`; its progress bars (and dvc-data's) off when their loggers
(`PROGRESS_LOGGERS`) let no error through.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from flows.aside import SetAside, unrestorable
from flows.console import ERROR_LINE, NATIVE_NOISE, TRACEBACK, captured, verbose
from tasks.common.errors import (
    DataValidationError,
    ExitCode,
    Interrupted,
    ModelRefused,
    ParamsError,
    RegistryError,
    RunBusy,
    StageError,
    TrainflowError,
)

TAIL_LINES = 30
BY_CODE = {
    ExitCode.BAD_PARAMS: ParamsError,
    ExitCode.DATA_INVALID: DataValidationError,
    ExitCode.MODEL_REFUSED: ModelRefused,
    ExitCode.REGISTRY: RegistryError,
    ExitCode.BUSY: RunBusy,
}
QUIET_LOGGERS = ("dvc.repo.scm_context",)  # "To track the changes with git...": we commit
# DVC's and dvc-data's Tqdm bars show only while these loggers let errors through.
PROGRESS_LOGGERS = ("dvc.progress", "dvc_data.callbacks")


class Pipeline:
    """The workspace's DVC repository, opened once for a run."""

    def __init__(self, root: Path):
        from dvc.repo import Repo

        self.root = Path(root).resolve()
        self.repo = Repo(str(self.root))

    def close(self) -> None:
        self.repo.close()

    def stages(self) -> list[str]:
        """Stage names in dependency order (DVC's graph of dvc.yaml, not a hand-kept list)."""
        import networkx as nx

        graph = self.repo.index.graph
        # Names, not `addressing`: that one is relative to the cwd, and the flow may run elsewhere.
        return [stage.name for stage in reversed(list(nx.topological_sort(graph)))]

    def stale(self, names: list[str]) -> list[str]:
        """The stages DVC would run now: changed deps, params, command or outputs, or
        `always_changed`. The same check `dvc repro` makes before running a stage."""
        from dvc.repo import lock_repo

        # What DVC's own commands do: lock, fresh index, unlock.
        with dvc_logging(level=logging.WARNING), lock_repo(self.repo):
            found = {stage.name: stage for stage in self.repo.index.stages}
            return [name for name in names if found[name].status()]

    def reproduce(
        self, stage: str, sink: Callable[[str], None], env: dict[str, str], force: bool = False
    ) -> bool:
        """Run one stage as `dvc repro --single-item [--force] STAGE`; True if it ran.

        Everything it prints goes to `sink`. On failure the stage's outputs that DVC removed
        before running it are restored from the cache (the last good ones), its uncached
        ones from the copies set aside (`flows.aside`), and the error is one of trainflow's,
        mapped from the stage's exit code.
        """
        from dvc.exceptions import DvcException
        from dvc.lock import LockError

        tail, said = deque(maxlen=TAIL_LINES), []

        def keep(line: str) -> None:
            tail.append(line)
            if said or line.startswith(ERROR_LINE):  # the stage's closing error message
                said.append(line)
            sink(line)

        target = f"{self.root / 'dvc.yaml'}:{stage}"
        aside = self.set_aside(stage)
        try:
            with captured(keep), dvc_logging(), inside(self.root):
                ran = self.repo.reproduce(
                    targets=[target], single_item=True, force=force, run_env=stage_env(env)
                )
        except LockError as err:
            raise RunBusy(f"stage '{stage}': DVC's lock is taken ({err})") from None
        except DvcException as err:
            error = stage_error(stage, exit_code(err), list(tail), said, dvc_reason(err))
            reported = bool(said) and not isinstance(error, Interrupted)
            error.restored = self.restore(stage, aside, everything=not reported)
            raise error from None
        except KeyboardInterrupt:
            self.restore(stage, aside, everything=True)
            raise
        finally:
            aside.discard()
        return bool(ran)

    def set_aside(self, stage: str) -> SetAside:
        """Copies of what the cache cannot restore if `stage` fails (`flows.aside`); a stage
        whose outputs cannot be kept does not run."""
        found = next(s for s in self.repo.index.stages if s.name == stage)
        try:
            return SetAside(self.root, stage, unrestorable(found, self.root))
        except OSError as err:
            why = f"stage '{stage}' did not run: its outputs could not be copied first: {err}"
            raise StageError(why) from None

    def restore(self, stage: str, aside: SetAside, everything: bool) -> bool:
        """Check out the outputs dvc.lock records for `stage` (DVC removed them to rerun it),
        then put back what was set aside; DVC's progress bars show only with `--verbose`.

        Returns:
            Whether DVC's cache gave the stage's outputs back.
        """
        try:
            with dvc_logging(level=logging.WARNING):
                self.repo.checkout(targets=[f"{self.root / 'dvc.yaml'}:{stage}"], force=True)
        except Exception:  # nothing recorded yet, or not in the cache: nothing to restore
            return False
        finally:
            aside.put_back(everything)
        return True


@contextlib.contextmanager
def inside(folder: Path) -> Iterator[None]:
    """Work from `folder` for the block: DVC names stages relative to the working directory."""
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def dvc_logging(level: int = logging.INFO) -> Iterator[None]:
    """DVC's log lines ("Running stage ...") as plain text on file descriptor 2, as `dvc repro`
    shows them (so the stage capture sees them), minus its git advice: a registration commits
    the pipeline state itself, and minus its progress bars unless `--verbose` (a terminal
    showed "Building workspace index" and the like between a run's last lines). DVC's own
    handlers and propagation are off meanwhile."""
    dvc, bars = logging.getLogger("dvc"), [logging.getLogger(n) for n in PROGRESS_LOGGERS]
    stream = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115  (closed below)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(lambda record: not record.name.startswith(QUIET_LOGGERS))
    before = dvc.level, dvc.propagate, dvc.handlers[:], [bar.level for bar in bars]
    dvc.setLevel(level)
    for bar in bars:
        bar.setLevel(logging.ERROR if verbose() else logging.CRITICAL)
    dvc.propagate, dvc.handlers = False, [handler]
    try:
        yield
    finally:
        dvc.setLevel(before[0])
        dvc.propagate, dvc.handlers = before[1], before[2]
        for bar, was in zip(bars, before[3], strict=True):
            bar.setLevel(was)
        stream.close()


def stage_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Extra environment for a stage command: this interpreter's bin first, so `python` in
    dvc.yaml is the one trainflow runs in, even from a shell without the venv activated."""
    env = dict(extra or {})
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env.setdefault("DVC_NO_ANALYTICS", "1")
    return env


def dvc_reason(err: BaseException) -> str:
    """DVC's error with its causes, as `dvc repro` prints them ("failed to reproduce 'x': ...")."""
    reasons = []
    while err is not None:
        reasons.append(str(err) or type(err).__name__)
        err = err.__cause__
    return ": ".join(dict.fromkeys(reasons))


def exit_code(err: BaseException) -> int | None:
    """The stage command's exit code behind a DVC error, None if no command failed."""
    while err is not None:
        if found := re.findall(r"exited with (-?\d+)", str(err)):
            return int(found[-1])
        err = err.__cause__
    return None


def crash_line(tail: list[str]) -> str:
    """What a crashed stage last said: its exception line after a traceback, else its last
    line (TensorFlow's native log lines do not count)."""
    found, in_traceback = "", False
    for line in tail:
        if line.startswith(TRACEBACK):
            in_traceback = True
        elif in_traceback and line and not line[0].isspace() and not line.endswith(":"):
            found = found if NATIVE_NOISE.match(line) else line.strip()
    spoken = [line.strip() for line in tail if line.strip() and not NATIVE_NOISE.match(line)]
    return found or (spoken[-1] if spoken else "")


def crash(stage: str, code: int, tail: list[str]) -> StageError:
    how = f"exit code {code}"
    if code < 0:
        with contextlib.suppress(ValueError):
            how += f", killed by {signal.Signals(-code).name}"
        how += " (out of memory?)" if -code == signal.SIGKILL else ""
    said = crash_line(tail)
    return StageError(f"stage '{stage}' failed ({how})" + (f": {said}" if said else ""))


def stage_error(
    stage: str, code: int | None, tail: list[str], said: list[str], dvc_message: str = ""
) -> Exception:
    """Map a failed stage to trainflow's error types, with the stage's own message.

    Args:
        stage: the stage's name.
        code: its command's exit code (None: DVC failed before or around the command).
        tail: the last lines it printed, for the failure report.
        said: its closing `trainflow: ...` message and the lines after it.
        dvc_message: DVC's own error, when the command did not say anything.
    """
    text = "\n".join(said).removeprefix(ERROR_LINE).rstrip()
    error: TrainflowError
    if code in (ExitCode.INTERRUPTED, -signal.SIGINT):
        error = Interrupted(f"stage '{stage}' interrupted")
    elif code is None:
        error = StageError(f"stage '{stage}' could not run: {dvc_message}")
    elif text:  # the stage said what went wrong, with one of trainflow's exit codes
        error = BY_CODE.get(code, StageError)(text)
    else:
        error = crash(stage, code, tail)
    # For the failure report in the UI; the message users read stays as it was.
    error.stage, error.exit_code, error.tail = stage, code, list(tail)
    return error
