from flows.stages import pipeline_stages, stage_error, stale_stages
from tasks.common.errors import DataValidationError, ExitCode, ParamsError, StageError
from tests.conftest import ROOT


def test_stage_order_comes_from_dvc_yaml():
    assert pipeline_stages(ROOT) == ["ingest", "validate", "prepare", "train", "evaluate"]


def test_stage_exit_codes_map_to_trainflow_errors():
    tail = [
        "trainflow: stage 'validate' failed: 2 of 6 data checks failed\n",
        "ERROR: failed to reproduce 'validate': failed to run: python -m tasks.validate,"
        " exited with 4\n",
    ]
    error = stage_error("validate", 255, tail)
    assert isinstance(error, DataValidationError)
    assert "2 of 6 data checks failed" in str(error)
    assert isinstance(stage_error("ingest", 255, ["... exited with 3\n"]), ParamsError)
    crashed = stage_error("train", 255, ["Killed\n", "... exited with -9\n"])
    assert isinstance(crashed, StageError) and crashed.code == ExitCode.STAGE_FAILED
    assert "stage 'train' failed (exit code -9)" in str(crashed)


def test_stage_errors_carry_the_stage_exit_code_and_output_tail_for_the_ui():
    tail = ["Killed\n", "... exited with -9\n"]
    crashed = stage_error("train", 255, tail)
    assert (crashed.stage, crashed.exit_code, crashed.tail) == ("train", -9, tail)
    assert str(crashed) == "stage 'train' failed (exit code -9):\nKilled\n... exited with -9"


def test_stage_names_do_not_depend_on_the_working_directory(workspace, monkeypatch):
    monkeypatch.chdir(workspace.parent)
    assert pipeline_stages(workspace) == ["ingest", "validate", "prepare", "train", "evaluate"]
    assert stale_stages(workspace, ["ingest", "train"]) == ["ingest", "train"]
