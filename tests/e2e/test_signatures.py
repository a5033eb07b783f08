"""A newcomer's own data after the bundled digits: the gate says what differs, nothing crashes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tasks.common.errors import ExitCode
from tests.conftest import FAST, git_tags, trainflow

pytestmark = pytest.mark.e2e
NAMES = {0: "zero", 1: "one", 2: "two"}


def three_classes(folder: Path, per_class: int = 60) -> Path:
    """An image folder of three classes (digits 0-2 as 16x16 PNGs under their names)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for digit, name in NAMES.items():
        (folder / name).mkdir(parents=True)
        images = digits.images[digits.target == digit][:per_class]
        for index, pixels in enumerate(images):
            image = Image.fromarray(np.uint8(pixels * 255 / 16), mode="L").resize((16, 16))
            image.save(folder / name / f"{index:03d}.png")
    return folder


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def test_a_champion_of_other_data_is_not_compared_and_the_message_says_what_to_do(
    workspace, env, tmp_path
):
    first = trainflow(workspace, env, "run", *sets(*FAST))
    assert first.returncode == 0, first.stdout + first.stderr
    photos = three_classes(tmp_path / "photos")

    refused = trainflow(workspace, env, "run", *sets(f"data.source={photos}"))
    out = refused.stdout + refused.stderr
    assert refused.returncode == ExitCode.MODEL_REFUSED, out
    assert "cannot compare with champion model@v0.1.0: it was trained on other data" in out
    assert "classes: champion [0, 1, 2, 3, 4, 5 and 4 more], this model [one, two, zero]" in out
    assert "--set register.artifact=" in out and "--set evaluate.compare_champion=false" in out
    assert "validate: drift not measured: the champion's classes are" in out
    assert "The number of classes" not in out and "named input" not in out
    gate = json.loads((workspace / "reports/gate.json").read_text())
    assert gate["blessed"] is False and gate["signature"]["champion"] == "v0.1.0"
    assert sorted(git_tags(workspace)) == ["model#staging#1", "model@v0.1.0"]

    anyway = trainflow(workspace, env, "run", *sets("evaluate.compare_champion=false"))
    assert anyway.returncode == 0, anyway.stdout + anyway.stderr
    assert "version: model@v0.2.0 (new version)" in anyway.stdout
    lineage = json.loads((workspace / "registry/model/v0.2.0/lineage.json").read_text())
    assert lineage["signature"]["classes"] == ["one", "two", "zero"]
    assert lineage["signature"]["inputs"][0]["shape"] == [8, 8, 1]
    card = trainflow(workspace, env, "models", "show", "v0.2.0").stdout
    assert "takes images 8x8x1 -> 3 classes of 'label'" in card

    predicted = trainflow(workspace, env, "predict", str(photos / "two"), "--model", "v0.2.0")
    assert predicted.returncode == 0, predicted.stderr
    header, *rows = predicted.stdout.splitlines()
    assert header == "id,predicted,p_one,p_two,p_zero" and len(rows) == 60
