"""Infra validation: does the exported SavedModel serve what the Keras model predicts?

Like TFX's InfraValidator, without Docker: a fresh Python process loads the SavedModel the
way a server does (`tf.saved_model.load`, its `serving_default` signature), feeds it raw test
rows and writes what it returns; evaluate compares that with the Keras model's outputs on the
same rows. A load failure, a crash or a difference beyond `evaluate.gate.max_serving_difference`
is a failed gate check, `serving_parity`, so the model is refused before it is registered.

Run as `python -m tasks.evaluate.infra SAVED_MODEL` (the child; `ServingChild` starts it
before the stage scores the Keras model, so TensorFlow's import in it overlaps that work).
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


class ServingChild:
    """A fresh process that loads the SavedModel as a server does, then answers once.

    Started before the stage scores the Keras model, so the child's TensorFlow import and
    SavedModel load overlap that work; `serve` feeds it the inputs and waits for its answer.
    A child that was never fed (the stage failed first) is stopped by `close`.
    """

    def __init__(self, saved_model: Path) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="trainflow-infra-")
        self.folder = Path(self._tmp.name)
        self._errors = open(self.folder / "stderr.txt", "w+")  # noqa: SIM115 (closed by close)
        command = [sys.executable, "-m", "tasks.evaluate.infra", str(saved_model)]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._errors,
            text=True,
        )

    def serve(self, inputs, rows: int) -> np.ndarray:
        """What the child returns for the first `rows` inputs.

        Raises:
            RuntimeError: with the child's last error line, when it could not load or predict.
        """
        fed, got = self.folder / "inputs.npz", self.folder / "outputs.npy"
        np.savez(fed, **_arrays(inputs, rows))
        try:
            self.process.communicate(f"{fed}\t{got}\n", timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"no answer within {TIMEOUT} s") from None
        if self.process.returncode or not got.exists():
            self._errors.seek(0)
            lines = [line for line in self._errors.read().splitlines() if line.strip()]
            code = self.process.returncode
            raise RuntimeError(clip(lines[-1] if lines else f"exit code {code}", 300))
        return np.load(got)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._errors.close()
        self._tmp.cleanup()

    def __enter__(self) -> ServingChild:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def serving_check(
    saved_model: Path,
    inputs,
    keras_outputs: np.ndarray,
    tolerance: float,
    started: ServingChild | None = None,
) -> dict:
    """The gate check `serving_parity` for the SavedModel at `saved_model` (see module doc),
    served by `started` (a `ServingChild` of it) or by a child started now."""
    from tasks.problems.base import check

    rows = min(ROWS, len(keras_outputs))
    where = f"the SavedModel {saved_model}"
    if not (saved_model / "saved_model.pb").exists():
        return failed(f"{where} is missing: retrain (dvc repro --force train)", tolerance)
    try:
        with started or ServingChild(saved_model) as served_by:
            served = served_by.serve(inputs, rows)
    except RuntimeError as err:
        return failed(f"{where} could not be served: {err}", tolerance)
    if len(served) != rows:
        return failed(f"{where} returned {len(served)} rows for {rows}", tolerance)
    value = difference(served, keras_outputs[:rows])
    return check(CHECK, METRIC, value, "<=", tolerance) | {"rows": rows}


def child(saved_model: str) -> None:
    """Load the SavedModel as a server would, then call it on the inputs the parent names
    on stdin (`INPUTS.npz<TAB>OUTPUTS.npy`) and write its outputs; nothing named: exit."""
    from tasks.model.saved import call_signature, load_signature

    signature = load_signature(Path(saved_model))
    asked = sys.stdin.readline().rstrip("\n")
    if not asked:
        return
    fed, got = asked.split("\t")
    with np.load(fed) as arrays:
        inputs = {name: arrays[name] for name in arrays.files}
    np.save(got, call_signature(signature, inputs))


if __name__ == "__main__":
    child(sys.argv[1])
