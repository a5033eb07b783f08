import subprocess
import sys
import threading
import time

import pytest

from flows.lock import lock_path, lock_timeout, run_lock
from tasks.common.errors import ExitCode, ParamsError, RunBusy
from tests.conftest import ROOT, wait_until


def is_held(repo) -> bool:
    try:
        with run_lock(repo, 0):
            return False
    except RunBusy:
        return True


def test_a_second_run_waits_its_bound_then_fails_naming_the_holder(tmp_path, capfd):
    with run_lock(tmp_path, holder="flow run first-run"):
        started = time.monotonic()
        with pytest.raises(RunBusy) as busy, run_lock(tmp_path, 0.3):
            pass
    assert time.monotonic() - started >= 0.3
    assert busy.value.code == ExitCode.BUSY == 8
    message = str(busy.value)
    assert "another retraining run is using this workspace" in message
    assert "flow run first-run" in message and "TRAINFLOW_LOCK_TIMEOUT" in message
    assert lock_path(tmp_path) == tmp_path / ".dvc/tmp/trainflow-run.lock"
    waiting = capfd.readouterr().err  # said once, while it waited
    assert waiting.count("trainflow: waiting for the run using this workspace (pid ") == 1
    assert "flow run first-run" in waiting and "giving up in 0.3 s" in waiting


def test_a_waiting_run_gets_the_lock_when_the_first_ends(tmp_path):
    entered, finished = threading.Event(), threading.Event()

    def first() -> None:
        with run_lock(tmp_path):
            entered.set()
            time.sleep(0.5)
            finished.set()

    thread = threading.Thread(target=first)
    thread.start()
    entered.wait(5)
    with run_lock(tmp_path, 10):
        assert finished.is_set()  # the lock came only once the first run's block had ended
    thread.join()
    assert not is_held(tmp_path)


def test_a_killed_run_leaves_no_stale_lock(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from flows.lock import run_lock\n"
            "with run_lock(Path(sys.argv[1])): time.sleep(60)",
            str(tmp_path),
        ],
        cwd=ROOT,
    )
    try:
        wait_until(lambda: is_held(tmp_path), 30, "the other process to take the lock", 0.1)
    finally:
        holder.kill()
        holder.wait()
    with run_lock(tmp_path, 0):
        pass


def test_wait_bound_comes_from_the_argument_then_the_environment(monkeypatch):
    monkeypatch.delenv("TRAINFLOW_LOCK_TIMEOUT", raising=False)
    assert lock_timeout() == 600
    monkeypatch.setenv("TRAINFLOW_LOCK_TIMEOUT", "2.5")
    assert lock_timeout() == 2.5
    assert lock_timeout(7) == 7
    monkeypatch.setenv("TRAINFLOW_LOCK_TIMEOUT", "ten minutes")
    with pytest.raises(ParamsError, match="TRAINFLOW_LOCK_TIMEOUT='ten minutes'"):
        lock_timeout()
    with pytest.raises(ParamsError, match="0 or more"):
        lock_timeout(-1)
