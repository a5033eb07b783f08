"""Image models: augmentation layers, then the CNN or a pretrained backbone, then the head.

As in Keras's guides ("image classification from scratch", "transfer learning &
fine-tuning"), augmentation is a block of Keras preprocessing layers at the start of the model:
active only while training, saved with the model, a no-op when it predicts, so serving feeds
the same raw pixels as before. A backbone is a `keras.applications` network without its top,
with its own input preprocessing inside (`include_preprocessing`), so it too takes raw 0-255
pixels; grayscale images are repeated into the three channels it expects. With pretrained
weights the backbone is called in inference mode (BatchNorm keeps its statistics) and trained
in phases (`set_trainable`). Keras 3 APIs only, so the image model builds on any backend.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import keras
from keras import layers

from tasks.common.errors import ParamsError, StageError
from tasks.common.params import AugmentParams, BackboneParams, TrainParams
from tasks.common.signature import IMAGE_INPUT
from tasks.model.build import cnn_features, head

APPLICATIONS = {
    "mobilenet_v3_small": keras.applications.MobileNetV3Small,
    "mobilenet_v3_large": keras.applications.MobileNetV3Large,
    "efficientnet_v2_b0": keras.applications.EfficientNetV2B0,
}
MIN_SIZE = 32  # the smallest input keras.applications accepts
AUGMENTATION = "augmentation"


def augmentation(p: AugmentParams) -> keras.Sequential | None:
    """The configured random layers (None when all are off), in float32 whatever the
    precision policy: they are cheap, and image transforms are not all defined in float16."""
    steps = []
    if p.flip != "none":
        steps.append(layers.RandomFlip(p.flip, dtype="float32"))
    if p.rotation:
        steps.append(layers.RandomRotation(p.rotation, dtype="float32"))
    if p.zoom:
        steps.append(layers.RandomZoom(p.zoom, dtype="float32"))
    if p.translation:
        steps.append(layers.RandomTranslation(p.translation, p.translation, dtype="float32"))
    if p.contrast:
        steps.append(layers.RandomContrast(p.contrast, dtype="float32"))
    if p.brightness:
        steps.append(layers.RandomBrightness(p.brightness, dtype="float32"))
    return keras.Sequential(steps, name=AUGMENTATION) if steps else None


def _weights_source(p: BackboneParams) -> str | None:
    if p.weights not in (None, "imagenet") and not Path(p.weights).is_file():
        raise ParamsError(f"train.backbone.weights: no such file {p.weights}")
    return p.weights


def backbone(shape: list[int], p: BackboneParams, load_weights: bool = True) -> keras.Model:
    """The keras.applications network `p.name` without its top, average-pooled.

    Args:
        shape: (height, width, channels) of the model's input images.
        p: the backbone params.
        load_weights: False builds the architecture only (a rebuild whose weights are copied
            in afterwards), so no download and no file read.

    Raises:
        ParamsError: images under 32x32, or a weights file that is missing or does not fit.
        StageError: the ImageNet weights could not be downloaded (no network).
    """
    height, width = shape[:2]
    if min(height, width) < MIN_SIZE:
        raise ParamsError(
            f"data.image_size: {height}x{width} is too small for train.backbone.name "
            f"{p.name}: keras.applications needs at least {MIN_SIZE}x{MIN_SIZE}"
        )
    weights = _weights_source(p) if load_weights else None
    application = APPLICATIONS[p.name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = application(
                include_top=False,
                weights=weights,
                input_shape=(height, width, 3),
                pooling="avg",
                include_preprocessing=True,
            )
        except Exception as err:  # Keras's warnings about a file that did not load are noise
            raise _weights_error(err, p.name, weights) from None
    for found in caught:
        warnings.showwarning(found.message, found.category, found.filename, found.lineno)
    return model


def _weights_error(err: Exception, name: str, weights: str | None) -> Exception:
    """What went wrong with the weights, in the user's terms; any other error unchanged."""
    if weights not in (None, "imagenet") and isinstance(err, ValueError):
        return ParamsError(
            f"train.backbone.weights: {weights} does not fit {name} without its top: {err}"
        )
    # Keras reports a failed download as a bare Exception ("URL fetch failure on ...").
    if weights == "imagenet" and (type(err) is Exception or isinstance(err, OSError)):
        return StageError(
            f"train.backbone.weights: the ImageNet weights of {name} could not be downloaded"
            f" ({err}). Without network access, point train.backbone.weights at a local "
            "weights file (docs/data/images.md) or set it to none."
        )
    return err


def backbone_of(model: keras.Model) -> keras.Model | None:
    """The backbone inside an image model (None for the CNN)."""
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return next((layer for layer in nested if layer.name != AUGMENTATION), None)


def set_trainable(model: keras.Model, unfrozen: int | None) -> None:
    """Freeze the backbone (0), or unfreeze its top `unfrozen` layers except BatchNorm, as
    the Keras fine-tuning guide does; None makes every layer trainable.

    Takes effect at the next compile.
    """
    base = backbone_of(model)
    if base is None:
        return
    base.trainable = unfrozen != 0
    cut = 0 if unfrozen is None else len(base.layers) - unfrozen
    for index, layer in enumerate(base.layers):  # a Functional does not pass `trainable` on
        batch_norm = isinstance(layer, layers.BatchNormalization)
        layer.trainable = index >= cut and not (batch_norm and unfrozen is not None)


def image_model(shape: list[int], output, p: TrainParams, load_weights: bool = True) -> keras.Model:
    """Raw uint8 pixels in, `output` out (the problem kind's last layer: class
    probabilities, or a number): augmentation, CNN or backbone, head."""
    inputs = keras.Input(shape=tuple(shape), name=IMAGE_INPUT)
    augment = augmentation(p.augment)
    x = inputs if augment is None else augment(inputs)
    if p.backbone.name is None:
        features = cnn_features(x, shape, p.cnn, p.l2)
        outputs = head(features, [p.cnn.dense_units], p.cnn.dropout, output, p.l2)
        return keras.Model(inputs, outputs, name="cnn")
    if shape[2] == 1:
        x = layers.Concatenate(name="gray_to_rgb")([x, x, x])
    base = backbone(shape, p.backbone, load_weights)
    # Pretrained: BatchNorm in inference mode, also while fine-tuning. From scratch: as usual.
    x = base(x, training=False) if p.backbone.weights else base(x)
    if p.backbone.dropout:
        x = layers.Dropout(p.backbone.dropout)(x)
    return keras.Model(inputs, head(x, [], 0.0, output, p.l2), name=f"{p.backbone.name}_head")
