from __future__ import annotations

import ast
import inspect

import keras
import numpy as np
import pytest

from tasks.common.params import CnnParams, MlpParams, TrainParams
from tasks.common.signature import build as signature
from tasks.model import build, vision
from tasks.model.build import TableStats, cnn, compile_model, learning_rate, mlp
from tasks.model.pipeline import model_outputs
from tests.prepared import CLASSIFY, probabilities


def _layers(model: keras.Model, kind: type) -> list:
    return [layer for layer in model.layers if isinstance(layer, kind)]


def test_cnn_has_one_block_per_filter_count_and_takes_raw_pixels():
    model = cnn([8, 8, 1], probabilities(10), CnnParams(filters=[4, 8, 16]))
    assert [c.filters for c in _layers(model, keras.layers.Conv2D)] == [4, 8, 16]
    assert len(_layers(model, keras.layers.MaxPooling2D)) == 3  # 8 -> 4 -> 2 -> 1
    pixels = np.full((2, 8, 8, 1), 255, dtype=np.uint8)
    proba = model.predict(pixels, verbose=0)
    assert proba.shape == (2, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)


def test_cnn_blocks_follow_params():
    p = CnnParams(filters=[4, 8], pooling="average", batch_norm=True, block_dropout=0.25)
    model = cnn([8, 8, 1], probabilities(3), p)
    assert len(_layers(model, keras.layers.AveragePooling2D)) == 2
    assert len(_layers(model, keras.layers.BatchNormalization)) == 2
    assert all(not c.use_bias for c in _layers(model, keras.layers.Conv2D))
    assert [d.rate for d in _layers(model, keras.layers.Dropout)][:2] == [0.25, 0.25]
    flat = cnn([8, 8, 1], probabilities(3), CnnParams(filters=[4], pooling="none"))
    assert flat.get_layer(index=-1).output.shape == (None, 3)
    assert not _layers(flat, keras.layers.MaxPooling2D)


def test_l2_adds_a_weight_penalty_to_the_loss():
    plain = cnn([8, 8, 1], probabilities(3), CnnParams(filters=[4]))
    penalised = cnn([8, 8, 1], probabilities(3), CnnParams(filters=[4]), l2=0.01)
    pixels = np.ones((1, 8, 8, 1), dtype=np.uint8)
    plain(pixels), penalised(pixels)
    assert not plain.losses
    assert len(penalised.losses) == 2  # the conv and the hidden dense layer
    assert all(float(loss) > 0 for loss in penalised.losses)


def test_mlp_standardises_and_looks_up_categories_inside_the_model(tmp_path):
    stats = TableStats(mean=[10.0], std=[2.0], vocabularies={"color": ["blue", "red"]})
    meta = {"kind": "table", "target": "y", "classes": ["no", "yes"]}
    meta["features"] = {"numeric": ["size"], "categorical": ["color"]}
    model = mlp(stats, signature(meta), probabilities(2), MlpParams(units=[4], batch_norm=True))
    assert model.get_layer("standardize").mean == [10.0]
    inputs = {
        "f_size": np.array([[12.0], [np.nan]], dtype=np.float32),
        "f_color": np.array([["red"], ["never-seen"]], dtype=object),
    }
    before = model_outputs(model, inputs)
    assert np.isfinite(before).all()
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(model_outputs(loaded, inputs), before, rtol=1e-6)


def test_learning_rate_schedules_decay_over_training():
    steps = 10
    assert learning_rate(TrainParams(learning_rate=0.1), steps) == 0.1
    cosine = learning_rate(
        TrainParams(learning_rate=0.1, schedule="cosine", reduce_lr_patience=0, epochs=3), steps
    )
    assert float(cosine(0)) == pytest.approx(0.1)
    assert float(cosine(30)) == pytest.approx(0.0, abs=1e-7)
    exponential = learning_rate(
        TrainParams(
            learning_rate=0.1, schedule="exponential", reduce_lr_patience=0, decay_rate=0.5
        ),
        steps,
    )
    assert float(exponential(steps)) == pytest.approx(0.05)


def test_compile_uses_the_configured_optimizer_and_schedule():
    model = cnn([8, 8, 1], probabilities(3), CnnParams(filters=[4]))
    p = TrainParams(optimizer="sgd", schedule="cosine", reduce_lr_patience=0)
    compile_model(model, p, steps_per_epoch=5, jit=False, objective=CLASSIFY)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert isinstance(model.optimizer._learning_rate, keras.optimizers.schedules.CosineDecay)
    assert model.jit_compile is False


@pytest.mark.parametrize("module", [build, vision], ids=lambda m: m.__name__)
def test_model_code_uses_keras_apis_only(module):
    """No TensorFlow in the model code, so the image model builds on any Keras backend."""
    tree = ast.parse(inspect.getsource(module))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module)])
    }
    assert "tensorflow" not in imported
    assert "tf." not in inspect.getsource(module)


def test_columns_whose_names_differ_only_in_case_are_two_inputs():
    meta = {"kind": "table", "target": "y", "classes": ["no", "yes"]}
    meta["features"] = {"numeric": ["Price", "price"], "categorical": []}
    keras.utils.set_random_seed(0)
    stats = TableStats(mean=[0.0, 0.0], std=[1.0, 1.0], vocabularies={})
    model = mlp(stats, signature(meta), probabilities(2), MlpParams(units=[16], dropout=0))
    names = [spec["name"] for spec in signature(meta)["inputs"]]
    assert sorted(t.name for t in model.inputs) == sorted(names) and len(set(names)) == 2
    one = {names[0]: np.array([[2.0]], "float32"), names[1]: np.array([[-2.0]], "float32")}
    swapped = {names[0]: np.array([[-2.0]], "float32"), names[1]: np.array([[2.0]], "float32")}
    assert not np.allclose(model.predict(one, verbose=0), model.predict(swapped, verbose=0))
