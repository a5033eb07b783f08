"""What a user reads when a run fails: one closing block, the message once, no traceback."""

from __future__ import annotations

import fcntl
import hashlib
import signal
import time

import pytest

from tasks.common.errors import ExitCode
from tests.conftest import BIN, FAST, git_tags, run, trainflow
from tests.e2e.test_faults import signal_group, start, watch

pytestmark = pytest.mark.e2e
INTERRUPTED = (
    "trainflow: interrupted; nothing was registered by this run and the last good outputs are"
    " kept (run again to continue)"
)


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def assert_one_closing_block(result, code: int, meaning: str, message: str) -> None:
    """stderr ends with the message and the exit code line; neither appears twice anywhere."""
    everything = result.stdout + result.stderr
    assert result.returncode == code, everything[-3000:]
    assert "Traceback" not in everything, everything[-3000:]
    assert everything.count(message) == 1, everything[-3000:]
    lines = result.stderr.rstrip().splitlines()
    assert lines[-1].startswith(f"trainflow: exit code {code} ({meaning})"), result.stderr
    assert everything.count(f"trainflow: exit code {code}") == 1
    assert " | INFO " not in everything  # none of Prefect's console lines


def test_bad_data_names_the_column_once(workspace, env, tmp_path):
    source = tmp_path / "customers.csv"
    source.write_text("age,plan\n" + "".join(f"{i},basic\n" for i in range(40)))
    result = trainflow(workspace, env, "run", *sets(f"data.source={source}", "data.target=churn"))
    message = "expect_column_to_exist on column 'churn': column missing"
    assert_one_closing_block(result, ExitCode.DATA_INVALID, "data validation failed", message)
    assert "Running stage 'validate':" in result.stdout  # the stages' own lines still show
    assert result.stderr.splitlines()[-2].startswith("Data Docs: ")


def test_unreadable_data_on_a_fresh_workspace_exits_4_naming_the_file(workspace, env, tmp_path):
    source = tmp_path / "empty.csv"
    source.write_text("")
    result = trainflow(workspace, env, "run", *sets(f"data.source={source}"))
    assert result.returncode == ExitCode.DATA_INVALID, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "stage 'ingest' failed" in result.stderr and str(source) in result.stderr
    assert not (workspace / "reports/validation.json").exists()


# What DVC's cache cannot give back after a stage fails: uncached metrics and reports, and the
# .gitignore files DVC writes (train empties reports/train, its .gitignore included).
UNCACHED = (
    "reports/train.json",
    "reports/train_setup.json",
    "reports/train/metrics.json",
    "reports/train/.gitignore",
    "reports/.gitignore",
    "models/model/model.keras",
)
PROGRESS_BARS = ("Building workspace index", "Comparing indexes", "Applying changes", "|0.00 [")


def digests(workspace) -> dict[str, str]:
    return {p: hashlib.md5((workspace / p).read_bytes()).hexdigest() for p in UNCACHED}


def deleted(workspace, env) -> list[str]:
    status = run(["git", "status", "--porcelain"], workspace, env).stdout.splitlines()
    return [line for line in status if line[:2].strip() == "D"]


def test_an_interrupted_or_crashed_stage_keeps_the_last_good_outputs_tracked_ones_too(
    workspace, env
):
    first = trainflow(workspace, env, "run", *sets(*FAST))
    assert first.returncode == 0, first.stdout + first.stderr
    before = digests(workspace)  # all committed by the registration
    bars = env | {"DVC_IGNORE_ISATTY": "1"}  # DVC would draw its bars into a pipe too
    process = start(workspace, bars, ["run", *sets("train.seed=7", "train.epochs=30")])
    output = watch(process, "train: epoch 1/30", 0.5, signal.SIGINT)
    assert process.returncode == ExitCode.INTERRUPTED, output[-3000:]
    assert deleted(workspace, env) == [] and digests(workspace) == before
    assert not [bar for bar in PROGRESS_BARS if bar in output], output[-3000:]

    (workspace / "tasks/train/__main__.py").write_text(
        'raise ValueError("the GPU driver went away")\n'
    )
    crashed = run([str(BIN / "trainflow"), "run"], workspace, bars)
    message = "stage 'train' failed (exit code 1): ValueError: the GPU driver went away"
    assert_one_closing_block(crashed, ExitCode.STAGE_FAILED, "a stage failed", message)
    assert deleted(workspace, env) == [] and digests(workspace) == before
    assert not [bar for bar in PROGRESS_BARS if bar in crashed.stdout + crashed.stderr]
    assert sorted(git_tags(workspace)) == ["model#staging#1", "model@v0.1.0"]


def test_a_refused_model_says_which_check_failed(workspace, env):
    result = trainflow(
        workspace, env, "run", *sets("train.epochs=1", "flow.train_retries=0")
    )  # the default gate (accuracy 0.95) refuses a one-epoch model
    message = "  - min_accuracy: accuracy "
    meaning = "the gate refused the model, nothing was registered"
    assert_one_closing_block(result, ExitCode.MODEL_REFUSED, meaning, message)
    assert git_tags(workspace) == []


def test_a_busy_workspace_says_whose_run_it_waited_for(workspace, env):
    lock = workspace / ".dvc/tmp/trainflow-run.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write("pid 4242, flow run 'nightly-run', since 2026-11-29T03:00:00+00:00\n")
        handle.flush()
        result = trainflow(workspace, env | {"TRAINFLOW_LOCK_TIMEOUT": "1"}, "run")
    waiting = (
        "trainflow: waiting for the run using this workspace (pid 4242, flow run 'nightly-run'"
    )
    assert waiting in result.stderr
    assert_one_closing_block(
        result, ExitCode.BUSY, "the workspace is busy", "gave up after waiting 1 s"
    )


def test_bad_params_stop_before_any_run(workspace, env):
    result = trainflow(workspace, env, "run", *sets("train.epochs=0"))
    message = "params.yaml with --set: train.epochs: must be greater than 0"
    assert_one_closing_block(result, ExitCode.BAD_PARAMS, "bad params", message)
    assert result.stdout == ""  # no run started


def test_a_temporary_server_that_never_answers_says_what_to_do(workspace, env, tmp_path):
    alone = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
    alone |= {
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "0",
    }
    result = trainflow(workspace, alone, "run")
    message = "the temporary Prefect server at http://127.0.0.1:"
    assert_one_closing_block(result, ExitCode.INTERNAL, "unexpected internal error", message)
    assert "no run started; use a running Prefect server instead: `trainflow ui`" in result.stderr
    assert "PREFECT_API_URL=http://127.0.0.1:4200/api" in result.stderr
    assert "failure` artifact" not in result.stderr  # no run, so no run logs to point at
    assert not (workspace / "data/raw").exists()


def test_ctrl_c_without_a_prefect_server_ends_in_seconds(workspace, env, tmp_path):
    """The case a newcomer meets: no server configured, so the run starts a temporary one."""
    alone = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
    alone["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    warm = run(
        [str(BIN / "python"), "-c", "from prefect import flow; flow(lambda: 1)()"], workspace, alone
    )
    assert warm.returncode == 0, warm.stderr  # the database is migrated once, not timed here
    process = start(workspace, alone, ["run", *sets(*FAST, "train.epochs=30")])
    output, interrupted_at = [], None
    for line in process.stdout:
        output.append(line)
        if interrupted_at is None and "train: epoch 1/30" in line:
            signal_group(process, signal.SIGINT)  # what Ctrl-C in a terminal does
            interrupted_at = time.monotonic()
    process.wait(timeout=60)
    took = time.monotonic() - interrupted_at
    text = "".join(output)
    assert process.returncode == ExitCode.INTERRUPTED, text[-3000:]
    assert took < 20, f"took {took:.1f} s to stop\n{text[-3000:]}"
    assert text.rstrip().splitlines()[-1] == INTERRUPTED and text.count(INTERRUPTED) == 1
    assert "Traceback" not in text and "train: epoch 2/30" not in text
    assert git_tags(workspace) == []
