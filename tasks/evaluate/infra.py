"""Infra validation: does the exported SavedModel serve what the Keras model predicts?

Like TFX's InfraValidator, without Docker: a fresh Python process loads the SavedModel the
way a server does (`tf.saved_model.load`, its `serving_default` signature), feeds it raw test
rows and writes what it returns; evaluate compares that with the Keras model's outputs on the
same rows. A load failure, a crash or a difference beyond `evaluate.gate.max_serving_difference`
is a failed gate check, `serving_parity`, so the model is refused before it is registered.

Run as `python -m tasks.evaluate.infra SAVED_MODEL INPUTS.npz OUTPUTS.npy` (the child).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tasks.common.brief import clip
from tasks.common.signature import IMAGE_INPUT

CHECK, METRIC = "serving_parity", "max_difference"
ROWS = 512  # test rows the served model is fed: enough to cover every input path, quick
TIMEOUT = 600  # seconds for the child to import TensorFlow, load and predict


def difference(served: np.ndarray, keras_outputs: np.ndarray) -> float:
    """max |served - keras| / (1 + |keras|): absolute for probabilities, relative for numbers
    in large units."""
    a = np.asarray(served, dtype="float64").reshape(len(keras_outputs), -1)
    b = np.asarray(keras_outputs, dtype="float64").reshape(len(keras_outputs), -1)
    return float(np.max(np.abs(a - b) / (1 + np.abs(b)), initial=0.0))


def failed(error: str, tolerance: float) -> dict:
    """The check when the SavedModel could not be served at all."""
    return {
        "check": CHECK,
        "metric": METRIC,
        "value": None,
        "champion": None,
        "op": "<=",
        "threshold": tolerance,
        "passed": False,
        "error": error,
    }


def _arrays(inputs, rows: int) -> dict[str, np.ndarray]:
    """The first `rows` model inputs as plain arrays (text as unicode, no pickles)."""
    named = inputs if isinstance(inputs, dict) else {IMAGE_INPUT: inputs}
    return {
        name: (values[:rows].astype(str) if values.dtype == object else values[:rows])
        for name, values in named.items()
    }


def serve_in_child(saved_model: Path, inputs, rows: int) -> np.ndarray:
    """What a fresh process serving `saved_model` returns for the first `rows` inputs.

    Raises:
        RuntimeError: with the child's last error line, when it could not load or predict.
    """
    with tempfile.TemporaryDirectory(prefix="trainflow-infra-") as tmp:
        fed, got = Path(tmp) / "inputs.npz", Path(tmp) / "outputs.npy"
        np.savez(fed, **_arrays(inputs, rows))
        command = [sys.executable, "-m", "tasks.evaluate.infra", str(saved_model), str(fed)]
        command.append(str(got))
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"no answer within {TIMEOUT} s") from None
        if done.returncode or not got.exists():
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            raise RuntimeError(clip(lines[-1] if lines else f"exit code {done.returncode}", 300))
        return np.load(got)


def serving_check(saved_model: Path, inputs, keras_outputs: np.ndarray, tolerance: float) -> dict:
    """The gate check `serving_parity` for the SavedModel at `saved_model` (see module doc)."""
    from tasks.problems.base import check

    rows = min(ROWS, len(keras_outputs))
    where = f"the SavedModel {saved_model}"
    if not (saved_model / "saved_model.pb").exists():
        return failed(f"{where} is missing: retrain (dvc repro --force train)", tolerance)
    try:
        served = serve_in_child(saved_model, inputs, rows)
    except RuntimeError as err:
        return failed(f"{where} could not be served: {err}", tolerance)
    if len(served) != rows:
        return failed(f"{where} returned {len(served)} rows for {rows}", tolerance)
    value = difference(served, keras_outputs[:rows])
    return check(CHECK, METRIC, value, "<=", tolerance) | {"rows": rows}


def child(saved_model: str, fed: str, got: str) -> None:
    """Load and call the SavedModel as a server would; write its outputs."""
    from tasks.model.saved import call_signature, load_signature

    with np.load(fed) as arrays:
        inputs = {name: arrays[name] for name in arrays.files}
    np.save(got, call_signature(load_signature(Path(saved_model)), inputs))


if __name__ == "__main__":
    child(*sys.argv[1:4])
