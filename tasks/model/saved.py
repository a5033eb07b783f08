"""The model as a TensorFlow SavedModel, the format TF Serving and `tf.saved_model.load` read.

Written with Keras' own exporter (`keras.export.ExportArchive`, what `model.export(path,
format="tf_saved_model")` uses), never `tf.saved_model.save`, which writes a wrong serving
signature under Keras 3 (keras-team/keras#19458). `model.export` itself serves
`model.__call__`, which runs Keras' random augmentation layers in training mode (their
`training` argument defaults to True), so the endpoint here is the model called with
`training=False`: the exported signature predicts exactly what `model.predict` does.

The signature `serving_default` takes the model's raw inputs by name (table columns as
`f_<column>` tensors of shape [None, 1], float32 or string; images as uint8 pixels under
`image`) and returns the model's output under `output_0`: class probabilities, or the target
in its own units. The preprocessing (normalisation, category lookup, text folding, rescaling,
target scaling) is inside, so a client sends what `trainflow predict` reads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tasks.common.signature import IMAGE_INPUT

SAVED_MODEL = "saved_model"  # the folder beside model.keras in a model folder
SIGNATURE = "serving_default"


def input_specs(model) -> dict:
    """A TensorSpec per named model input, the batch dimension left open."""
    import tensorflow as tf

    return {
        t.name: tf.TensorSpec((None, *t.shape[1:]), tf.as_dtype(t.dtype), name=t.name)
        for t in model.inputs
    }


def export_saved_model(model, dest: Path) -> Path:
    """Write `model` as a SavedModel folder `dest` whose default signature calls it with
    `training=False` and takes its inputs by name."""
    import keras

    specs = input_specs(model)
    # the structure the model was built with: named inputs (a table's columns, even only one)
    # as a dict, an image as its one tensor
    signature = specs if isinstance(model.input, dict) else next(iter(specs.values()))
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        SIGNATURE, lambda inputs: model(inputs, training=False), input_signature=[signature]
    )
    archive.write_out(str(dest), verbose=False)
    return dest


def load_signature(path: Path):
    """The default serving signature of the SavedModel at `path`, as TF Serving loads it."""
    import tensorflow as tf

    return tf.saved_model.load(str(path)).signatures[SIGNATURE]


def signature_inputs(signature) -> dict:
    """The serving signature's inputs: name -> (dtype name, shape without the batch)."""
    _, specs = signature.structured_input_signature
    return {name: (spec.dtype.name, list(spec.shape[1:])) for name, spec in specs.items()}


def call_signature(signature, inputs, batch_size: int = 256) -> np.ndarray:
    """The signature's output for model inputs (`tasks.model.inputs`), batch by batch."""
    import tensorflow as tf

    named = inputs if isinstance(inputs, dict) else {IMAGE_INPUT: inputs}
    rows = len(next(iter(named.values())))
    wanted = signature_inputs(signature)
    found = []
    for start in range(0, rows, batch_size):
        fed = {
            name: tf.constant(values[start : start + batch_size], dtype=wanted[name][0])
            for name, values in named.items()
        }
        outputs = signature(**fed)
        found.append(np.asarray(next(iter(outputs.values()))))
    return np.concatenate(found) if found else np.zeros((0,))
