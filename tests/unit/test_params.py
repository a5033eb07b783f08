import re
import tempfile
from pathlib import Path

import pytest

from tasks.common.errors import ExitCode, ParamsError
from tasks.common.params import (
    PARAMS_FILE,
    Params,
    apply_overrides,
    load_params,
    read_raw,
    write_overrides,
)

ROOT = Path(__file__).resolve().parents[2]


def test_committed_params_file_is_valid():
    params = load_params(ROOT / PARAMS_FILE)
    assert params.data.source == "sklearn:digits"
    assert params.register_.artifact == "model"


def test_error_names_the_dotted_key_and_reason():
    with pytest.raises(ParamsError) as caught:
        load_params(ROOT / PARAMS_FILE, ["train.epochs=0"])
    assert "train.epochs: must be greater than 0" in str(caught.value)
    assert caught.value.code == ExitCode.BAD_PARAMS


def test_every_bad_key_is_reported_at_once():
    with pytest.raises(ParamsError) as caught:
        load_params(ROOT / PARAMS_FILE, ["train.epocs=3", "data.channels=2", "prepare.seed=x"])
    message = str(caught.value)
    assert "train.epocs: unknown key" in message
    assert "data.channels: must be 1 or 3" in message
    assert "prepare.seed:" in message


def test_cross_field_rule_names_the_section():
    with pytest.raises(ParamsError, match=r"prepare: .*val_size \+ test_size"):
        load_params(ROOT / PARAMS_FILE, ["prepare.val_size=0.5", "prepare.test_size=0.45"])


@pytest.mark.parametrize("item", ["train.epochs", "=3", "train.epochs.x=3"])
def test_malformed_override_is_refused(item):
    with pytest.raises(ParamsError):
        load_params(ROOT / PARAMS_FILE, [item])


def test_override_values_are_parsed_as_yaml():
    raw = apply_overrides({}, ["train.cnn.filters=[8, 16]", "evaluate.gate.max_log_loss=null"])
    assert raw == {
        "train": {"cnn": {"filters": [8, 16]}},
        "evaluate": {"gate": {"max_log_loss": None}},
    }


def test_missing_file_and_bad_yaml_name_the_file(tmp_path):
    with pytest.raises(ParamsError, match="file not found"):
        load_params(tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("train: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(tmp_path / "params.yaml")


def test_write_overrides_keeps_comments_and_refuses_bad_values(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  epochs: 30  # how long\n")
    params = write_overrides(path, ["train.epochs=5"])
    assert params.train.epochs == 5
    assert re.search(r"epochs: 5 +# how long", path.read_text())
    with pytest.raises(ParamsError):
        write_overrides(path, ["train.epochs=-1"])
    assert "epochs: 5" in path.read_text()


def test_write_overrides_changes_only_the_overridden_lines():
    """`--set` rewrites params.yaml as a person would: one value changed, nulls stay `null`."""
    original = (ROOT / "params.yaml").read_text()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "params.yaml"
        path.write_text(original)
        write_overrides(path, ["train.epochs=5", "validate.drift.reference=null"])
        written = path.read_text().splitlines()
    assert len(written) == len(original.splitlines())
    changed = [
        (before, after)
        for before, after in zip(original.splitlines(), written, strict=True)
        if before != after
    ]
    assert changed == [
        (line, line.replace("epochs: 30", "epochs: 5"))
        for line in original.splitlines()
        if line.startswith("  epochs: 30")
    ]


SECTIONS = {"paths", "data", "validate", "prepare", "train", "evaluate", "register", "flow"}
SECTIONS |= {"alerts"}
NO_STAGE_READS = {"alerts"}  # an example may leave it out


def test_defaults_cover_every_section():
    assert set(Params.model_json_schema(by_alias=True)["properties"]) == SECTIONS


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.yaml")), ids=str)
def test_shipped_examples_are_valid_and_complete(example):
    """DVC needs every section dvc.yaml lists, so an example must be a whole params file."""
    load_params(example)
    assert set(read_raw(example)) >= SECTIONS - NO_STAGE_READS
