"""DVC driven in-process: the stage graph, status, one stage run, failures mapped to exit codes."""

import json
import os
import signal

import pytest

from flows.console import NATIVE_NOISE, StageLines
from flows.stages import Pipeline, crash_line, exit_code, stage_error
from tasks.common.errors import (
    DataValidationError,
    ExitCode,
    Interrupted,
    ParamsError,
    RegistryError,
    StageError,
)
from tasks.common.params import write_overrides
from tests.conftest import BIN, run

STAGES = ["ingest", "validate", "prepare", "train", "evaluate"]


def test_stage_order_comes_from_dvc_yaml_wherever_the_flow_runs(workspace, monkeypatch):
    monkeypatch.chdir(workspace.parent)
    pipeline = Pipeline(workspace)
    try:
        assert pipeline.stages() == STAGES
        assert pipeline.stale(["ingest", "train"]) == ["ingest", "train"]
    finally:
        pipeline.close()


def test_a_stage_runs_through_dvc_as_dvc_repro_would(workspace, monkeypatch):
    """Same dvc.lock entry as the CLI; the stage's output reaches the sink line by line."""
    monkeypatch.chdir(workspace.parent)
    lines: list[str] = []
    pipeline = Pipeline(workspace)
    try:
        assert pipeline.reproduce("ingest", lines.append, {}) is True
        assert pipeline.stale(["ingest"]) == ["ingest"]  # always changed
    finally:
        pipeline.close()
    assert lines[:2] == ["Running stage 'ingest':", "> python -m tasks.ingest"]
    assert "ingest: 1797 samples from sklearn:digits -> data/raw" in lines
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    status = run([str(BIN / "dvc"), "status", "--json"], workspace, env)
    assert json.loads(status.stdout)["ingest"] == ["always changed"]
    assert "validate" in json.loads(status.stdout)  # its dep changed: DVC agrees it is stale


def test_a_failing_stage_becomes_its_exit_codes_error_and_its_outputs_come_back(workspace):
    pipeline = Pipeline(workspace)
    try:
        pipeline.reproduce("ingest", lambda line: None, {})
        before = sorted(p.name for p in (workspace / "data/raw/images").iterdir())
        (workspace / "tasks/ingest/__main__.py").write_text(
            "import sys\n"
            "print(\"trainflow: stage 'ingest' failed: data.source: the share is gone\", "
            "file=sys.stderr)\nsys.exit(3)\n"
        )
        with pytest.raises(ParamsError) as failed:
            pipeline.reproduce("ingest", lambda line: None, {})
    finally:
        pipeline.close()
    assert str(failed.value) == "stage 'ingest' failed: data.source: the share is gone"
    assert (failed.value.stage, failed.value.exit_code) == ("ingest", 3)
    assert failed.value.restored  # DVC removed data/raw to rerun ingest; the cache gave it back
    assert sorted(p.name for p in (workspace / "data/raw/images").iterdir()) == before


FAKE_VALIDATE = """import json, sys
from pathlib import Path
Path("reports").mkdir(exist_ok=True)
Path("reports/validation.json").write_text(json.dumps({"success": SUCCESS}))
Path("reports/manifest.parquet").write_bytes(b"")  # validate's cached output: no images
if not SUCCESS:
    print("trainflow: stage 'validate' failed: 1 of 1 data checks failed", file=sys.stderr)
    sys.exit(4)
"""


def git(workspace, *args: str) -> str:
    named = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args]
    return run(named, workspace, dict(os.environ)).stdout


def test_a_failed_stage_leaves_no_tracked_file_deleted_and_keeps_its_own_failure_report(workspace):
    """Uncached outputs and DVC's .gitignore files are not in DVC's cache: they come back from
    the copies set aside; a stage that reports its failure keeps the report it wrote."""
    validate = workspace / "tasks/validate/__main__.py"
    ingest = workspace / "tasks/ingest/__main__.py"
    validate.write_text(FAKE_VALIDATE.replace("SUCCESS", "True"))
    (workspace / "tiny.csv").write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    write_overrides(workspace / "params.yaml", ["data.source=tiny.csv", "data.target=y"])
    pipeline = Pipeline(workspace)
    try:
        for stage in ("ingest", "validate"):
            pipeline.reproduce(stage, lambda line: None, {})
        git(workspace, "add", "-A")
        git(workspace, "commit", "-qm", "a good run")
        report = workspace / "reports/validation.json"
        good = report.read_text()
        validate.write_text("raise ValueError('the disk went away')\n")
        with pytest.raises(StageError):
            pipeline.reproduce("validate", lambda line: None, {})
        assert report.read_text() == good  # uncached: put back, not checked out
        ingest.write_text("import os\nos.remove('data/.gitignore')\nraise SystemExit(1)\n")
        with pytest.raises(StageError):
            pipeline.reproduce("ingest", lambda line: None, {})
        assert (workspace / "data/.gitignore").read_text() == "/raw\n"
        assert [
            line
            for line in git(workspace, "status", "--porcelain").splitlines()
            if not line.startswith(" M tasks/")
        ] == []
        validate.write_text(FAKE_VALIDATE.replace("SUCCESS", "False"))
        with pytest.raises(DataValidationError):
            pipeline.reproduce("validate", lambda line: None, {})
    finally:
        pipeline.close()
    assert json.loads(report.read_text()) == {"success": False}  # describes this failure
    assert list((workspace / ".dvc/tmp/trainflow-aside").iterdir()) == []  # copies gone


def test_exit_codes_map_to_trainflow_errors():
    said = ["trainflow: stage 'validate' failed: 2 of 6 data checks failed:", "  - a check"]
    error = stage_error("validate", 4, ["Running stage 'validate':", *said], said)
    assert isinstance(error, DataValidationError)
    assert str(error) == "stage 'validate' failed: 2 of 6 data checks failed:\n  - a check"
    registry = stage_error("evaluate", 7, said, ["trainflow: stage 'evaluate' failed: x"])
    assert isinstance(registry, RegistryError)
    assert isinstance(stage_error("train", 130, [], []), Interrupted)
    assert isinstance(stage_error("train", -signal.SIGINT, [], []), Interrupted)
    killed = stage_error("train", -9, ["train: epoch 3/30 accuracy 0.9"], [])
    assert isinstance(killed, StageError) and killed.code == ExitCode.STAGE_FAILED
    assert str(killed) == (
        "stage 'train' failed (exit code -9, killed by SIGKILL (out of memory?)):"
        " train: epoch 3/30 accuracy 0.9"
    )


def test_a_crash_is_summed_up_by_its_exception_line():
    tail = [
        "train: epoch 1/3",
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "    boom()",
        "ValueError: shapes (3,) and (4,) differ",
        "I0000 00:00:1795968294.051204   20393 port.cc:153] oneDNN custom operations are on.",
    ]
    assert crash_line(tail) == "ValueError: shapes (3,) and (4,) differ"
    assert crash_line(["train: epoch 1/3", tail[-1]]) == "train: epoch 1/3"


def test_dvc_error_text_gives_the_commands_exit_code():
    from dvc.exceptions import ReproductionError
    from dvc.stage.exceptions import StageCmdFailedError

    try:
        try:
            raise StageCmdFailedError("python -m tasks.train", 5)
        except StageCmdFailedError as cause:
            raise ReproductionError("failed to reproduce 'train'") from cause
    except ReproductionError as err:
        assert exit_code(err) == 5
    assert exit_code(ReproductionError("no command ran")) is None


def test_the_terminal_skips_native_noise_and_everything_from_a_failure_on(monkeypatch):
    monkeypatch.delenv("TRAINFLOW_VERBOSE", raising=False)
    lines = StageLines()
    shown = [
        line
        for line in [
            "WARNING: All log messages before absl::InitializeLog() is called are written to"
            " STDERR",
            "E0000 00:00:1795968297.360199   20393 cuda_platform.cc:52] failed call to cuInit",
            "train: epoch 1/3 accuracy 0.5",
            "Traceback (most recent call last):",
            "ValueError: boom",
            "trainflow: stage 'train' failed: x",
        ]
        if lines.shown(line)
    ]
    assert shown == ["train: epoch 1/3 accuracy 0.5"]
    monkeypatch.setenv("TRAINFLOW_VERBOSE", "1")
    assert StageLines().shown("Traceback (most recent call last):")
    assert NATIVE_NOISE.match("I0000 00:00:17.2   1 port.cc:153] oneDNN")
