"""A stage process ends through `tasks.common.teardown`: collected, then frozen, nothing lost."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

STAGE = textwrap.dedent(
    """
    import atexit, gc, sys
    from pathlib import Path

    out = Path(sys.argv[1])
    # registered before the stage's entry, so it runs after the teardown's handler
    atexit.register(lambda: (out / "frozen").write_text(str(gc.get_freeze_count())))

    from tasks.common.errors import ParamsError, stage_entry

    class Unreachable:
        def __del__(self):
            (out / "finalised").write_text("yes")

    def main():
        cycle = Unreachable()
        cycle.self = cycle  # only a garbage collection finalises it
        del cycle
        print("stage output")
        if sys.argv[2] == "fail":
            raise ParamsError("params.yaml: train.epochs must be a positive integer")

    gc.disable()  # so only the exit's collection can finalise the cycle
    stage_entry("demo")(main)()
    """
)


def run_stage(tmp_path: Path, outcome: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", STAGE, str(tmp_path), outcome],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_a_stage_ends_collected_then_frozen_with_its_output(tmp_path):
    done = run_stage(tmp_path, "ok")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "stage output\n"
    assert (tmp_path / "finalised").read_text() == "yes"  # the garbage was finalised
    assert int((tmp_path / "frozen").read_text()) > 1000  # the teardown skips the rest


def test_a_failed_stage_keeps_its_exit_code_and_message(tmp_path):
    done = run_stage(tmp_path, "fail")
    assert done.returncode == 3
    assert done.stderr == (
        "trainflow: stage 'demo' failed: params.yaml: train.epochs must be a positive integer\n"
    )
    assert (tmp_path / "finalised").read_text() == "yes"
    assert int((tmp_path / "frozen").read_text()) > 1000
