"""Image models: augmentation inside the model, keras.applications backbones, freezing."""

from __future__ import annotations

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from tasks.common.errors import ParamsError
from tasks.common.params import BackboneParams, TrainParams
from tasks.model.vision import AUGMENTATION, backbone, backbone_of, image_model, set_trainable
from tests.conftest import ROOT
from tests.prepared import probabilities

SMALL = {"name": "mobilenet_v3_small", "weights": None}
PIXELS = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3)).astype(np.uint8)


def params(**train) -> TrainParams:
    return TrainParams.model_validate(train)


def test_augmentation_is_in_the_model_only_while_training_and_survives_saving(tmp_path):
    augment = {"flip": "horizontal", "rotation": 0.1, "zoom": 0.2, "translation": 0.1}
    p = params(augment=augment | {"contrast": 0.3, "brightness": 0.2}, cnn={"filters": [4]})
    keras.utils.set_random_seed(0)
    model = image_model([32, 32, 3], probabilities(3), p)
    steps = model.get_layer(AUGMENTATION).layers
    assert [type(layer).__name__ for layer in steps] == [
        "RandomFlip",
        "RandomRotation",
        "RandomZoom",
        "RandomTranslation",
        "RandomContrast",
        "RandomBrightness",
    ]
    served = model.predict(PIXELS, verbose=0)
    np.testing.assert_array_equal(model.predict(PIXELS, verbose=0), served)
    trained = [np.asarray(model(PIXELS, training=True)) for _ in range(2)]
    assert not np.allclose(trained[0], trained[1])  # a new random change every step
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(PIXELS, verbose=0), served, rtol=1e-6)
    assert AUGMENTATION not in [
        layer.name for layer in image_model([32, 32, 3], probabilities(3), params()).layers
    ]


def test_a_backbone_loads_a_local_weights_file_and_the_model_saves_safely(tmp_path):
    keras.utils.set_random_seed(1)
    source = backbone([32, 32, 3], BackboneParams(**SMALL))
    source.save_weights(tmp_path / "small.weights.h5")
    p = params(
        backbone={"name": "mobilenet_v3_small", "weights": str(tmp_path / "small.weights.h5")}
    )
    keras.utils.set_random_seed(2)
    model = image_model(
        [48, 48, 1], probabilities(2), p
    )  # grayscale photos, another size: same weights
    for ours, theirs in zip(backbone_of(model).weights, source.weights, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert model.get_layer("gray_to_rgb").output.shape == (None, 48, 48, 3)
    gray = np.random.default_rng(3).integers(0, 256, (2, 48, 48, 1)).astype(np.uint8)
    before = model.predict(gray, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(gray, verbose=0), before, rtol=1e-6)


def test_weights_problems_name_the_key(tmp_path):
    with pytest.raises(ParamsError, match="train.backbone.weights: no such file"):
        backbone([32, 32, 3], BackboneParams(name="mobilenet_v3_small", weights="gone.h5"))
    backbone([32, 32, 3], BackboneParams(**SMALL)).save_weights(tmp_path / "small.weights.h5")
    other = BackboneParams(name="efficientnet_v2_b0", weights=str(tmp_path / "small.weights.h5"))
    with pytest.raises(ParamsError, match="does not fit efficientnet_v2_b0 without its top"):
        backbone([32, 32, 3], other)
    with pytest.raises(ParamsError, match=r"data.image_size: 16x40 is too small for"):
        backbone([16, 40, 3], BackboneParams(**SMALL))


OFFLINE = """
from tasks.common.params import BackboneParams
from tasks.model.vision import backbone
backbone([32, 32, 3], BackboneParams(name="mobilenet_v3_small", weights="imagenet"))
"""


def test_imagenet_weights_without_network_fail_with_a_message_naming_the_key(tmp_path):
    """No network here, and none in CI; a proxy nobody answers makes sure of it."""
    env = os.environ | {
        "PYTHONPATH": str(ROOT),
        "KERAS_HOME": str(tmp_path / "keras"),  # no cached download to fall back on
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    done = subprocess.run(
        [sys.executable, "-c", OFFLINE], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("tasks.common.errors.StageError: train.backbone.weights: the ImageNet")
    assert "could not be downloaded" in last and "local weights file" in last


def test_phases_freeze_the_backbone_then_unfreeze_its_top_layers_but_not_batch_norm():
    p = params(backbone={"name": "mobilenet_v3_small", "weights": None})
    model = image_model([32, 32, 3], probabilities(3), p)
    base, everything = backbone_of(model), len(model.trainable_weights)
    set_trainable(model, 0)
    assert [w.name for w in model.trainable_weights] == ["kernel", "bias"]  # the head
    set_trainable(model, 20)
    top = base.layers[-20:]
    trainable = [layer for layer in base.layers if layer.trainable and layer.weights]
    assert trainable and all(layer in top for layer in trainable)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in trainable)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in top)
    set_trainable(model, None)  # no pretrained weights: nothing is frozen
    assert len(model.trainable_weights) == everything > 100
