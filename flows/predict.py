"""Batch prediction with a registered model on raw input, exactly as evaluate scores it.

Input streams: a table is read a chunk of rows at a time (Parquet row groups, CSV chunks), a
folder a batch of images at a time (decoded in threads) or of text files (for a model whose
only input is text, each file one text), each predicted and handed on before the next is read,
so memory stays flat however large the input. The model carries its
preprocessing, and images go through the same `load_image` as in
prepare (with the resize the model's signature records), so a registered model's predictions
on raw rows equal the evaluate stage's. The input is checked against the model's signature
first: a missing or mistyped column is named.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.common.brief import capped, clip, few
from tasks.common.errors import DataValidationError, ParamsError
from tasks.common.io import read_json
from tasks.common.samples import key_ids, source_ids
from tasks.common.signature import (
    describe,
    free_text_inputs,
    image_resize,
    numeric_inputs,
    signature_of,
)
from tasks.data.images import load_images
from tasks.data.layout import TABLE_SUFFIXES, TEXT_SUFFIXES, image_files, table_chunks, text_files
from tasks.data.textfiles import read_text
from tasks.model.inputs import table_inputs
from tasks.problems import problem_of

MAX_EXAMPLES = 3
# Read, decoded and predicted together: table rows (fewer in a wide table, `table_chunk_rows`),
# images (256 at 224x224 are 38 MB of pixels); each chunk is fed to the model in batches, images
# in evaluate's batch size (so their probabilities equal evaluate's bit for bit); text files
# (a few KB each) 2048 at a time.
CHUNK_ROWS = {"table": 131_072, "image": 256, "text": 2048}
BATCH = {"table": 2048, "image": 256, "text": 2048}
TABLE_VALUES = 1 << 22
Batch = tuple[pd.Series, object, pd.Series | None]


def mistyped(frame: pd.DataFrame, signature: dict) -> list[str]:
    """Numeric inputs whose column holds values that are not numbers, with examples."""
    found = []
    for spec in numeric_inputs(signature):
        values = frame[spec["column"]]
        bad = values.notna() & pd.to_numeric(values, errors="coerce").isna()
        if bad.any():
            shown = values[bad].head(MAX_EXAMPLES).items()
            examples = [f"row {i} ({clip(repr(v))})" for i, v in shown]
            found.append(
                f"column '{clip(spec['column'], 60)}' must hold numbers: {int(bad.sum())} values"
                f" do not, e.g. {', '.join(examples)}"
            )
    return found


def check_table(frame: pd.DataFrame, signature: dict, source: Path) -> None:
    """Raise DataValidationError naming the missing or mistyped columns (a few, and how many
    more)."""
    missing = [s["column"] for s in signature["inputs"] if s["column"] not in frame.columns]
    if missing:
        problems = [f"missing columns {few(map(repr, missing))}"]
    else:
        problems = capped(mistyped(frame, signature), "mistyped columns")
    if problems:
        lines = "\n".join(f"  - {line}" for line in problems)
        raise DataValidationError(
            f"{source} does not fit the model, which takes {describe(signature)}:\n{lines}"
        )


def row_ids(frame: pd.DataFrame, meta: dict, source: Path, start: int) -> pd.Series:
    """Each row's id as evaluate names it: its key (`prepare.split_key`) when the input has
    the key columns, else `file:row` (row 0 is the first after the header; `start` is the
    chunk's first row)."""
    key = (meta.get("split") or {}).get("key")
    if key and set(key) <= set(frame.columns):
        return key_ids(frame, key)
    stop = start + len(frame)
    return source_ids(np.arange(start, stop), [{"file": source.name, "rows": stop}])


def table_chunk_rows(signature: dict, rows: int) -> int:
    """Rows per chunk of a table: `rows`, or fewer where that many would hold more than
    TABLE_VALUES input values (32 MB of numbers), but at least a batch. Each chunk costs one
    `model.predict` call (about 50 ms), so narrow tables score faster in large chunks."""
    return min(rows, max(BATCH["table"], TABLE_VALUES // len(signature["inputs"])))


def table_batches(source: Path, meta: dict, rows: int) -> Iterator[Batch]:
    """(ids, model inputs, known labels or None) per chunk of a CSV or Parquet file."""
    if source.suffix.lower() not in TABLE_SUFFIXES:
        raise ParamsError(f"{source}: expected a CSV or Parquet file for a tabular model")
    signature, target, start = signature_of(meta), meta["target"], 0
    for frame in table_chunks(source, table_chunk_rows(signature, rows)):
        frame.index = pd.RangeIndex(start, start + len(frame))  # error messages name the row
        check_table(frame, signature, source)
        labels = frame[target] if target in frame.columns else None
        yield row_ids(frame, meta, source, start), table_inputs(frame, signature), labels
        start += len(frame)


def image_batches(source: Path, meta: dict, rows: int) -> Iterator[Batch]:
    """(ids, pixels, None) per batch of a folder's images (or one file), decoded in threads
    as prepare decodes them."""
    files = image_files(source) if source.is_dir() else [source]
    if not files:
        raise DataValidationError(f"{source}: no images found")
    signature = signature_of(meta)
    height, width, channels = signature["inputs"][0]["shape"]
    pixels = load_images(files, (height, width), channels, image_resize(signature))
    for start in range(0, len(files), rows):
        chunk = files[start : start + rows]
        names = [str(p.relative_to(source)) if source.is_dir() else p.name for p in chunk]
        yield pd.Series(names), np.stack([next(pixels) for _ in chunk]), None


def text_batches(source: Path, meta: dict, rows: int) -> Iterator[Batch]:
    """(ids, model inputs, None) per chunk of a folder's text files (or one file), each file
    one text, decoded as ingest decodes them, for a model whose only input is free text."""
    signature = signature_of(meta)
    texts = free_text_inputs(signature)
    if len(texts) != 1 or len(signature["inputs"]) != 1:
        raise ParamsError(
            f"{source}: text files fit a model whose only input is free text; this model takes "
            f"{describe(signature)}: give it a CSV or Parquet file"
        )
    files = text_files(source) if source.is_dir() else [source]
    if not files:
        raise DataValidationError(f"{source}: no text files (.txt) found")
    for start in range(0, len(files), rows):
        chunk = files[start : start + rows]
        names = [p.relative_to(source).as_posix() if source.is_dir() else p.name for p in chunk]
        frame = pd.DataFrame({texts[0]["column"]: [read_text(path)[0] for path in chunk]})
        yield pd.Series(names), table_inputs(frame, signature), None


BATCHES = {"table": table_batches, "image": image_batches, "text": text_batches}


def table_rows(source: Path) -> int:
    """A table's rows: Parquet's metadata, or a CSV's lines after the header (an estimate
    when quoted values span lines; a progress bar's total)."""
    if source.suffix.lower() != ".csv":
        import pyarrow.parquet as pq

        return pq.ParquetFile(source).metadata.num_rows
    lines, last = 0, b"\n"
    with source.open("rb") as file:
        while block := file.read(1 << 24):
            lines, last = lines + block.count(b"\n"), block[-1:]
    return max(lines - (last == b"\n"), 0)


def file_count(files: Callable[[Path], list[Path]]) -> Callable[[Path], int]:
    return lambda source: len(files(source)) if source.is_dir() else 1


COUNTS = {"table": table_rows, "image": file_count(image_files), "text": file_count(text_files)}
UNITS = {"table": "rows", "image": "images", "text": "files"}


def input_kind(meta: dict, source: Path) -> str:
    """How `source` is read for this model: images, text files, or a table."""
    if meta["kind"] == "image":
        return "image"
    return "text" if source.is_dir() or source.suffix.lower() in TEXT_SUFFIXES else "table"


def input_size(model_dir: Path, source: Path) -> tuple[int | None, str]:
    """How much `predict_batches` will predict, and in what unit (rows, images, files); the
    total is None where the input cannot be counted (it is then named by predict itself)."""
    kind = input_kind(read_json(model_dir / "meta.json"), source)
    try:
        total = COUNTS[kind](source)
    except Exception:  # unreadable input: predict_batches names what is wrong with it
        total = None
    return total, UNITS[kind]


def predict_batches(
    model_dir: Path, source: Path, rows: int | None = None
) -> Iterator[pd.DataFrame]:
    """Predictions for every input row or image, a chunk at a time: the class and its
    probabilities, or the number (`tasks.problems`), with the actual target when the input
    has it. Memory holds one chunk of input (and one being decoded), however large it is."""
    import keras

    import tasks.model.build  # noqa: F401  (registers the custom layers for safe-mode loading)
    from tasks.model.pipeline import model_outputs

    meta = read_json(model_dir / "meta.json")
    problem = problem_of(meta)
    kind = input_kind(meta, source)
    rows, batch = rows or CHUNK_ROWS[kind], BATCH[kind]
    model = None
    for ids, inputs, labels in BATCHES[kind](source, meta, rows):
        if not len(ids):
            continue
        if model is None:
            model = keras.saving.load_model(model_dir / "model.keras", safe_mode=True)
        outputs = problem.shaped(model_outputs(model, inputs, batch))
        table = problem.predictions(ids, None, outputs, meta)
        if labels is not None:
            table.insert(1, "actual", problem.encode(labels, meta["target"]).to_numpy())
        yield table
    if model is None:
        raise DataValidationError(f"{source}: no rows to predict")


def predict(model_dir: Path, source: Path) -> pd.DataFrame:
    """Every prediction in one frame (`predict_batches`), for inputs that fit in memory."""
    return pd.concat(list(predict_batches(model_dir, source)), ignore_index=True)


class UnwritableOutput(OSError):
    """Predictions that cannot be written where asked (its filename: the path asked for)."""


class PredictionsFile:
    """Predictions written a chunk at a time: CSV, or Parquet by the suffix (.parquet, .pq).

    The chunks go to a hidden file beside `path`, which replaces it only once every chunk is
    written (`close`); `discard` removes it, so a failed run leaves the last good file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(f".{path.name}.partial")
        self.parquet = path.suffix.lower() in (".parquet", ".pq")
        self.rows = 0
        self._writer = None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except OSError as err:
            raise UnwritableOutput(err.errno, err.strerror or str(err), str(self.path)) from None

    def write(self, table: pd.DataFrame) -> None:
        with self._writing():
            self._write(table)
        self.rows += len(table)

    def _write(self, table: pd.DataFrame) -> None:
        if not self.rows:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            batch = pa.Table.from_pandas(table, preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.partial, batch.schema)
            self._writer.write_table(batch.cast(self._writer.schema))
        else:
            table.to_csv(
                self.partial, index=False, header=not self.rows, mode="a" if self.rows else "w"
            )

    def close(self) -> None:
        with self._writing():
            self._close_writer()
            self.partial.replace(self.path)

    def discard(self) -> None:
        self._close_writer()
        self.partial.unlink(missing_ok=True)

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


@contextlib.contextmanager
def registered_model(workspace: Path, model: str) -> Iterator[tuple[str, Path]]:
    """(`artifact@version`, its model folder) for a version or stage, fetched for the block."""
    from flows.console import quiet_native
    from tasks.common.params import load_params
    from tasks.registry.files import fetch_model
    from tasks.registry.versions import resolve

    params = load_params(workspace / "params.yaml")
    version = resolve(workspace, params.register_.artifact, model)
    with tempfile.TemporaryDirectory() as tmp, quiet_native():
        remote = params.register_.dvc_remote
        yield (
            f"{params.register_.artifact}@{version}",
            fetch_model(workspace, params, version, Path(tmp) / "model", remote),
        )


def predicted(model_dir: Path, source: Path, show_progress: bool) -> Iterator[pd.DataFrame]:
    """`predict_batches`, moving a progress bar on the terminal (`flows.progress`) when
    `show_progress`."""
    from flows.progress import progress_bar

    total, unit = input_size(model_dir, source) if show_progress else (None, "")
    with progress_bar("predict", total, unit, show_progress) as advance:
        for table in predict_batches(model_dir, source):
            yield table
            advance(len(table))


def score(
    workspace: Path, source: Path, out: Path, model: str = "prod", show_progress: bool = False
) -> tuple[str, int]:
    """Score `source` with a registered version or stage into `out` (`PredictionsFile`):
    (`artifact@version`, rows scored)."""
    written = PredictionsFile(out)
    try:
        with registered_model(workspace, model) as (name, folder):
            for table in predicted(folder, source, show_progress):
                written.write(table)
        written.close()
    finally:
        written.discard()
    return name, written.rows
