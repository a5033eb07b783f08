"""One registered version, loaded as a server loads it, and the stage it follows.

The endpoint answers from the version's SavedModel (`tf.saved_model.load`, the signature
infra validation checked). A version registered before SavedModels were exported gets one
exported from its `.keras` model on load. `Follower` checks the stage every few seconds (after
`git fetch --tags` from the registry's git remote, when the workspace has one), loads a newer
version beside the one serving, then swaps a single reference: a request in flight finishes on
the model it started with, and no request ever waits for a load or fails because of one.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tasks.common.io import read_json
from tasks.common.params import Params
from tasks.common.signature import signature_of
from tasks.model.saved import SAVED_MODEL, call_signature, export_saved_model, load_signature
from tasks.problems import problem_of


@dataclass(frozen=True)
class Served:
    """A loaded version: its name, signature (inputs, classes) and serving function."""

    version: str
    meta: dict
    function: object

    @property
    def signature(self) -> dict:
        return signature_of(self.meta)

    def predict(self, inputs) -> list:
        """Class probabilities per row, or one number per row (the target's units)."""
        outputs = call_signature(self.function, inputs)
        if problem_of(self.meta).name == "regression":
            return np.asarray(outputs, dtype="float64").reshape(-1).tolist()
        return np.asarray(outputs, dtype="float64").tolist()


def load_version(repo: Path, params: Params, version: str, into: Path) -> Served:
    """Fetch a version's model folder into `into/<version>` and load its SavedModel."""
    from tasks.registry.files import fetch_model

    folder = fetch_model(repo, params, version, into / version, params.register_.dvc_remote)
    saved = folder / SAVED_MODEL
    if not (saved / "saved_model.pb").exists():
        import keras

        import tasks.model.build  # noqa: F401  (registers the custom layers)

        model = keras.saving.load_model(folder / "model.keras", safe_mode=True)
        export_saved_model(model, saved)
    return Served(version, read_json(folder / "meta.json"), load_signature(saved))


def fetch_tags(repo: Path, remote: str) -> None:
    """The registry's tags from `remote` (a moved stage tag included), when it exists."""
    from flows.registry.gitrepo import git

    if git(repo, "remote", "get-url", remote, check=False):
        git(repo, "fetch", "--quiet", "--tags", "--force", remote, check=False)


class Follower:
    """The version in `stage`, kept current by a background thread every `every` seconds."""

    def __init__(self, repo: Path, params: Params, stage: str, every: float):
        self.repo, self.params, self.stage, self.every = repo, params, stage, every
        self._folder = tempfile.TemporaryDirectory(prefix="trainflow-serve-")
        self._stop = threading.Event()
        self.current = load_version(repo, params, self.in_stage(), Path(self._folder.name))

    def in_stage(self) -> str:
        from tasks.registry.versions import resolve

        return resolve(self.repo, self.params.register_.artifact, self.stage)

    def check(self) -> bool:
        """Swap to the stage's version if it changed; True when it did."""
        fetch_tags(self.repo, self.params.register_.git_remote)
        version = self.in_stage()
        if version == self.current.version:
            return False
        old = self.current
        self.current = load_version(self.repo, self.params, version, Path(self._folder.name))
        shutil.rmtree(Path(self._folder.name) / old.version, ignore_errors=True)  # in memory
        print(f"serve: {self.stage} is now {version} (was {old.version})", flush=True)
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.check()
            except Exception as err:  # keep serving the loaded version; say why once per check
                print(f"serve: could not check stage '{self.stage}': {err}", file=sys.stderr)

    def start(self) -> None:
        threading.Thread(target=self._run, name="follow-stage", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self._folder.cleanup()
