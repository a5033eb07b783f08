"""A registered version's files: its model (DVC cache or remote) and its registry folder.

Both are read at the version's tag, not from the working tree, so they work the same in the
workspace that registered the version and in a fresh clone whose branch never held it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tasks.common.errors import RegistryError
from tasks.common.io import atomic_dir
from tasks.common.params import Params
from tasks.registry.versions import REGISTRY_DIR, champion, check_version


def registered_file(repo: Path, artifact: str, version: str, name: str) -> str | None:
    """A file of `registry/<artifact>/<version>/` as committed at the version's tag."""
    tag = f"{artifact}@{check_version(version)}"
    path = f"{REGISTRY_DIR}/{artifact}/{version}/{name}"
    shown = subprocess.run(
        ["git", "show", f"refs/tags/{tag}:{path}"], cwd=repo, capture_output=True, text=True
    )
    return shown.stdout if shown.returncode == 0 else None


def champion_reference(params: Params, repo: Path = Path(".")) -> dict | None:
    """Training-data statistics of the champion, for drift checks in validate."""
    version = champion(repo, params.register_.artifact)
    found = version and registered_file(repo, params.register_.artifact, version, "reference.json")
    return json.loads(found) if found else None


def remote_options(repo: Path, remote: str | None = None) -> dict:
    """The workspace's DVC remote (`remote`, else the default) for reading an old version.

    DVC reads a version's files with the config committed at its tag, and a version
    registered before the team's remote was set up has none there; this checkout's config
    (credentials from `--local` included) names where the files are now. {} without a remote.
    """
    from dvc.config import Config

    config = Config(dvc_dir=str(repo / ".dvc"))
    name = remote or config["core"].get("remote")
    if not name:
        return {}
    if name not in config["remote"]:
        raise RegistryError(f"DVC remote '{name}' is not configured (dvc remote list)")
    return {"config": {"core": {"remote": name}, "remote": {name: dict(config["remote"][name])}}}


# What train writes into a model folder: a folder holding only these is a fetched model.
MODEL_FILES = frozenset({"model.keras", "meta.json", "saved_model"})


def replaceable(dest: Path) -> bool:
    """Whether `dest` may be replaced by fetched model files: it is new, empty, or a model.

    `models get --out .` must never wipe a workspace (its .git included), so a folder
    holding anything else is the user's, never ours to delete.
    """
    if not dest.exists():
        return True
    return dest.is_dir() and {item.name for item in dest.iterdir()} <= MODEL_FILES


def fetch_model(
    repo: Path, params: Params, version: str, dest: Path, remote: str | None = None
) -> Path:
    """Copy the model files of a version out of the DVC cache (else the remote) into `dest`.

    The files land in a temporary folder beside `dest` that replaces it only once complete,
    so a failed fetch keeps the model that was there.
    """
    tag = f"{params.register_.artifact}@{check_version(version)}"
    if not replaceable(dest):
        raise RegistryError(f"{dest} holds files that are not a model: not replacing it")
    with atomic_dir(dest.resolve(), sweep=False) as out:  # beside the user's folder
        out.rmdir()  # DVC copies a folder's contents only into a path that does not exist
        get_files(repo, tag, params.paths.model, out, remote)
    return dest


def get_files(repo: Path, tag: str, path: str, dest: Path, remote: str | None) -> None:
    """DVC's copy of `path` at `tag` into `dest`, its failures as one RegistryError."""
    from dvc.api import DVCFileSystem

    try:
        files = DVCFileSystem(str(repo), rev=tag, **remote_options(repo, remote))
        files.get(path, str(dest), recursive=True)
    except RegistryError:
        raise
    except Exception as err:  # DVC raises many types; the user needs the version and cause
        raise RegistryError(f"{tag}: {path} not found in the DVC cache/remote: {err}") from err


def fetch_trained_on(repo: Path, params: Params, version: str, dest: Path) -> list[Path]:
    """The prepared train and val splits a version was trained on, at its tag, into `dest`.

    They sit where that version's own params put them (`paths.prepared` in its lineage).
    """
    artifact = params.register_.artifact
    lineage = registered_file(repo, artifact, version, "lineage.json")
    prepared = json.loads(lineage)["params"]["paths"]["prepared"] if lineage else None
    tag = f"{artifact}@{check_version(version)}"
    dest.mkdir(parents=True, exist_ok=True)
    found = []
    for name in ("train.parquet", "val.parquet"):
        get_files(repo, tag, f"{prepared or params.paths.prepared}/{name}", dest / name, None)
        found.append(dest / name)
    return found
