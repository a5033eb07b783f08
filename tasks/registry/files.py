"""A registered version's files: its model (DVC cache or remote) and its reference statistics."""

from __future__ import annotations

import shutil
from pathlib import Path

from tasks.common.errors import RegistryError
from tasks.common.io import read_json
from tasks.common.params import Params
from tasks.registry.versions import REGISTRY_DIR, champion, check_version


def champion_reference(params: Params, repo: Path = Path(".")) -> dict | None:
    """Training-data statistics of the champion, for drift checks in validate."""
    version = champion(repo, params.register_.artifact)
    path = repo / REGISTRY_DIR / params.register_.artifact / str(version) / "reference.json"
    return read_json(path) if version and path.exists() else None


def fetch_model(repo: Path, params: Params, version: str, dest: Path) -> Path:
    """Copy the model files of a version out of the DVC cache (or remote) into `dest`."""
    from dvc.api import DVCFileSystem

    tag = f"{params.register_.artifact}@{check_version(version)}"
    shutil.rmtree(dest, ignore_errors=True)
    try:
        DVCFileSystem(str(repo), rev=tag).get(params.paths.model, str(dest), recursive=True)
    except Exception as err:  # DVC raises many types; the user needs the version and cause
        raise RegistryError(f"{tag}: model files not found in the DVC cache/remote: {err}") from err
    return dest
