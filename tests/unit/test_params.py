import json
import re
import tempfile
from pathlib import Path

import pytest
import yaml

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


SECTIONS = {
    "paths",
    "data",
    "validate",
    "prepare",
    "train",
    "evaluate",
    "register",
    "flow",
    "alerts",
}


def test_defaults_cover_every_section():
    assert set(Params.model_json_schema(by_alias=True)["properties"]) == SECTIONS


def dvc_reads() -> set[str]:
    """The params keys dvc.yaml needs in params.yaml: its stages' params and ${...} values."""
    text = (ROOT / "dvc.yaml").read_text()
    stages = yaml.safe_load(text)["stages"]
    keys = {key for stage in stages.values() for key in stage.get("params", [])}
    return keys | set(re.findall(r"\$\{([\w.]+)\}", text))


def leaves(mapping: dict, prefix: str = "") -> dict[str, object]:
    found = {}
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            found |= leaves(value, f"{prefix}{key}.")
        else:
            found[f"{prefix}{key}"] = value
    return found


EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_examples_are_valid_and_hold_what_dvc_reads(example):
    """Copied over params.yaml, an example runs: DVC finds each key and section it reads."""
    load_params(example)
    raw = read_raw(example)
    missing = [key for key in dvc_reads() if not _has(raw, key.split("."))]
    assert missing == []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_examples_state_only_what_differs_from_the_defaults(example):
    """An example cannot drift from the defaults: a key it sets to the default is noise."""
    defaults = leaves(Params().model_dump(mode="json", by_alias=True))
    needed = dvc_reads()
    same = [
        key
        for key, value in leaves(read_raw(example)).items()
        if key not in needed and key in defaults and _json(value) == defaults[key]
    ]
    assert same == [], f"{example.name} sets defaults; remove {same}"


def _has(raw: dict, parts: list[str]) -> bool:
    node = raw
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _json(value: object) -> object:
    return json.loads(json.dumps(value, default=list))
