"""Two real `trainflow run` processes in one workspace: one runs, the other waits or fails."""

from __future__ import annotations

import subprocess

import pytest

from flows.lock import run_lock
from tasks.common.errors import ExitCode, RunBusy
from tests.conftest import BIN, FAST, git_tags, run, trainflow, wait_until

pytestmark = pytest.mark.e2e


def held(workspace) -> bool:
    try:
        with run_lock(workspace, 0):
            return False
    except RunBusy:
        return True


def start(workspace, env, *args: str) -> subprocess.Popen:
    command = [str(BIN / "trainflow"), "run", *args]
    return subprocess.Popen(
        command, cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_one_run_at_a_time_a_second_fails_after_its_bound_a_third_waits(workspace, env):
    first = start(workspace, env, *[arg for item in FAST for arg in ("--set", item)])
    wait_until(lambda: held(workspace) or first.poll() is not None, 120, "the first run's lock")
    assert first.poll() is None, first.stdout.read()

    busy = trainflow(workspace, env | {"TRAINFLOW_LOCK_TIMEOUT": "1"}, "run")
    assert busy.returncode == ExitCode.BUSY, busy.stdout + busy.stderr
    assert "another retraining run is using this workspace" in busy.stderr
    assert "gave up after waiting 1 s" in busy.stderr and "TRAINFLOW_LOCK_TIMEOUT" in busy.stderr

    patient = start(workspace, env)
    first_out, _ = first.communicate(timeout=600)
    patient_out, _ = patient.communicate(timeout=600)
    assert first.returncode == 0, first_out
    assert "version: model@v0.1.0 (new version)" in first_out
    assert patient.returncode == 0, patient_out
    assert "trainflow: no new data: DVC reports no change since model@v0.1.0" in patient_out
    assert "version: model@v0.1.0 (unchanged, already registered)" in patient_out

    assert sorted(git_tags(workspace)) == ["model#staging#1", "model@v0.1.0"]
    assert run(["git", "status", "--porcelain"], workspace, env).stdout == ""
    status = run([str(BIN / "dvc"), "status"], workspace, env)
    assert status.returncode == 0 and "changed" not in status.stdout.replace("always changed", "")
