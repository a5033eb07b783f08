"""The champion as evaluate meets it: its signature checked, scored on rows it never saw.

The champion (production version, else the latest registered) is read from the registry, not
declared as a DVC dependency: registering would otherwise invalidate every later run. It is
scored only when its signature (`tasks.common.signature`) matches the challenger's, and
compared only on test rows it never trained or validated on. Prepared under the same split
rule (`tasks.common.splits`), that is every test row; under another rule (another seed,
fractions or key, or a random split from before rules were recorded) the champion's own
training and validation splits are read from the DVC cache or remote and every test row it
saw is left out of the comparison.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from tasks.common.errors import RegistryError
from tasks.common.io import read_json
from tasks.common.params import Params
from tasks.common.samples import identity_columns, prepared_identities
from tasks.common.signature import differences, signature_of
from tasks.common.splits import describe
from tasks.model.inputs import Splits
from tasks.problems import problem_of

BATCH_ROWS = 65_536


@dataclass
class Comparison:
    """Which test rows champion and challenger are compared on, and why any were left out."""

    rows: np.ndarray  # a mask over the test split
    reason: str = ""
    problem: str = ""  # why there can be no comparison at all

    @property
    def left_out(self) -> int:
        return int((~self.rows).sum())

    def report(self, minimum: int) -> dict:
        """gate.json's `comparison`: rows used, rows left out, the minimum and why."""
        found = {"rows": int(self.rows.sum()), "left_out": self.left_out, "min_rows": minimum}
        return found | {"reason": self.problem or self.reason or None}


@dataclass
class Champion:
    """The champion: scored on the test split, or of another signature."""

    version: str
    outputs: np.ndarray | None = None
    differences: list[str] = field(default_factory=list)
    comparison: Comparison | None = None


def champion_of(params: Params, splits: Splits) -> Champion | None:
    """The champion scored on the test split; None on the first run or when not compared.

    Its signature and split rule come from its lineage (a `git show`), so a champion of
    another signature, or one with too few test rows it never saw, is never fetched or loaded.
    """
    from tasks.registry.versions import champion

    repo = Path(".")
    if not params.evaluate.compare_champion:
        return None
    version = champion(repo, params.register_.artifact)
    if version is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        their_meta, folder = recorded_meta(repo, params, version, Path(tmp) / "champion")
        theirs = signature_of(their_meta)
        if found := differences(theirs, splits.signature):
            return Champion(version, differences=found)
        comparison = comparison_rows(repo, params, version, their_meta, splits)
        if comparison.rows.sum() < params.evaluate.min_comparison_rows:
            return Champion(version, comparison=comparison)
        folder = folder or fetched(repo, params, version, Path(tmp) / "champion")
        raw = scored(folder, version, splits, theirs)
    return Champion(version, problem_of(their_meta).shaped(raw), comparison=comparison)


def recorded_meta(repo: Path, params: Params, version: str, dest: Path) -> tuple[dict, Path | None]:
    """The champion's signature and split rule, from its lineage when that records them
    (no model files read); else from its model's meta.json, fetched into `dest` (returned)."""
    from tasks.registry.files import registered_file

    text = registered_file(repo, params.register_.artifact, version, "lineage.json")
    lineage = json.loads(text) if text else {}
    if lineage.get("signature"):
        return {"signature": lineage["signature"], "split": lineage.get("split")}, None
    folder = fetched(repo, params, version, dest)
    return read_json(folder / "meta.json"), folder


def fetched(repo: Path, params: Params, version: str, dest: Path) -> Path:
    from tasks.registry.files import fetch_model

    return fetch_model(repo, params, version, dest)


def scored(folder: Path, version: str, splits: Splits, theirs: dict) -> np.ndarray:
    """The champion's raw outputs on the test split, from its model files in `folder`."""
    import keras

    from tasks.model.pipeline import model_outputs

    model = keras.saving.load_model(folder / "model.keras", safe_mode=True)
    try:
        return model_outputs(model, splits.inputs("test", theirs))
    except Exception as err:  # the signature matched, so this is a broken model file
        raise RegistryError(f"champion {version} cannot score this test split: {err}") from err


def comparison_rows(
    repo: Path, params: Params, version: str, their_meta: dict, splits: Splits
) -> Comparison:
    """The test rows the champion never trained or validated on (see the module docstring)."""
    from tasks.registry.files import fetch_trained_on

    test = splits.frames["test"]
    ours, theirs = splits.meta.get("split"), their_meta.get("split")
    if ours is not None and theirs == ours:
        return Comparison(np.ones(len(test), dtype=bool))
    why = f"{version} was split by {describe(theirs)}, this model by {describe(ours)}"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            files = fetch_trained_on(repo, params, version, Path(tmp))
        except RegistryError as err:
            problem = f"{why}, and its training rows cannot be read: {err}"
            return Comparison(np.zeros(len(test), dtype=bool), problem=problem)
        seen = seen_by(files, splits.signature)
    rows = ~np.isin(prepared_identities(test, splits.signature), seen)
    return Comparison(rows, reason=f"{why}: its training and validation rows are left out")


def seen_by(files: list[Path], signature: dict) -> np.ndarray:
    """Identities of every row in prepared split files, read a batch at a time."""
    columns = identity_columns(signature)
    found = [
        prepared_identities(batch.to_pandas(), signature)
        for path in files
        for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(
            BATCH_ROWS, columns=columns
        )
    ]
    return np.unique(np.concatenate(found)) if found else np.array([], dtype=np.uint64)
