"""TF Serving's model folder layout: `<base>/<n>/saved_model.pb`, one number per version.

TF Serving serves the highest number under a base folder, so a version's number keeps
semantic order: vMAJOR.MINOR.PATCH is MAJOR * 1,000,000 + MINOR * 1,000 + PATCH (v0.2.0 ->
2000, v1.0.3 -> 1000003).
"""

from __future__ import annotations

from pathlib import Path

from tasks.common.errors import RegistryError
from tasks.common.io import atomic_dir
from tasks.common.params import Params
from tasks.model.saved import SAVED_MODEL
from tasks.registry.files import get_files
from tasks.registry.versions import check_version, semver


def serving_number(version: str) -> int:
    """The version's folder name under a TF Serving base folder (see module doc)."""
    major, minor, patch = semver(check_version(version))
    return major * 1_000_000 + minor * 1_000 + patch


def is_base(base: Path) -> bool:
    """Whether `base` may receive a version: new, empty, or holding numbered versions only."""
    if not base.exists():
        return True
    return base.is_dir() and all(item.name.isdigit() for item in base.iterdir())


def fetch_saved_model(
    repo: Path, params: Params, version: str, base: Path, remote: str | None = None
) -> Path:
    """Copy a version's SavedModel to `base/<n>/` (replaced only once complete).

    Raises:
        RegistryError: `base` holds other files, or the version has no SavedModel (one
            registered before SavedModels were exported) or its files cannot be fetched.
    """
    if not is_base(base):
        raise RegistryError(f"{base} holds files that are not numbered model versions")
    tag = f"{params.register_.artifact}@{check_version(version)}"
    dest = base / str(serving_number(version))
    try:
        with atomic_dir(dest.resolve(), sweep=False) as out:
            out.rmdir()  # DVC copies a folder's contents only into a path that does not exist
            get_files(repo, tag, f"{params.paths.model}/{SAVED_MODEL}", out, remote)
    except RegistryError as err:
        raise RegistryError(
            f"{err} (a version registered before SavedModels were exported has none: "
            "`trainflow models get VERSION --out DIR` fetches its .keras model)"
        ) from err
    return dest
