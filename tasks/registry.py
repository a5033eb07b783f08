"""The model registry: GTO versions and stages in git, model files in the DVC cache.

Queries (versions, stages, the champion), stage moves (promote, rollback) and fetching a
version's model files. Creating a version is `tasks.register`. Version and stage names are
validated before they reach git, so no name can smuggle a path or an option.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tasks.errors import RegistryError
from tasks.gitrepo import author, repo_lock
from tasks.io import read_json
from tasks.params import NAME_PATTERN, Params

VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
REGISTRY_DIR = "registry"


def check_version(version: str) -> str:
    if not VERSION.match(version):
        raise RegistryError(f"version {version!r}: expected vMAJOR.MINOR.PATCH, e.g. v0.1.0")
    return version


def check_stage(stage: str) -> str:
    if not re.match(NAME_PATTERN, stage):
        raise RegistryError(f"stage {stage!r}: lowercase letters, digits and '-' only")
    return stage


def semver(version: str) -> tuple[int, int, int]:
    return tuple(map(int, VERSION.match(version).groups()))


def next_version(versions: list[str], bump: str) -> str:
    """The next semantic version after the highest one (v0.1.0 first for a minor bump)."""
    if not versions:
        return {"major": "v1.0.0", "minor": "v0.1.0", "patch": "v0.0.1"}[bump]
    major, minor, patch = max(semver(v) for v in versions)
    if bump == "major":
        return f"v{major + 1}.0.0"
    return f"v{major}.{minor + 1}.0" if bump == "minor" else f"v{major}.{minor}.{patch + 1}"


def versions(repo: Path, artifact: str) -> list[dict]:
    """Registered versions, oldest first, each with its active stages and commit."""
    import gto.api
    from gto.exceptions import ArtifactNotFound

    try:
        shown = gto.api.show(str(repo), name=artifact)
    except ArtifactNotFound:
        return []
    found = [
        {
            "version": item["version"],
            "commit": item["commit_hexsha"],
            "created_at": str(item["created_at"]),
            "stages": sorted(
                s["stage"] for s in item.get("stages", []) if s.get("is_active", True)
            ),
        }
        for item in shown
    ]
    return sorted(found, key=lambda v: semver(v["version"]))


def in_stage(repo: Path, artifact: str, stage: str) -> str | None:
    """The version currently holding `stage` (GTO keeps the latest assignment)."""
    import gto.api

    return gto.api.show(str(repo)).get(artifact, {}).get("stage", {}).get(stage)


def resolve(repo: Path, artifact: str, ref: str) -> str:
    """A version name, or the version currently in stage `ref`."""
    known = [v["version"] for v in versions(repo, artifact)]
    if VERSION.match(ref):
        if ref not in known:
            raise RegistryError(f"{artifact}@{ref} is not registered (known: {known or 'none'})")
        return ref
    version = in_stage(repo, artifact, check_stage(ref))
    if version is None:
        raise RegistryError(f"no version of {artifact} is in stage '{ref}'")
    return version


def champion(repo: Path, artifact: str) -> str | None:
    """The production version, else the latest registered one; None before the first."""
    found = versions(repo, artifact)
    return in_stage(repo, artifact, "prod") or (found[-1]["version"] if found else None)


def champion_reference(params: Params, repo: Path = Path(".")) -> dict | None:
    """Training-data statistics of the champion, for drift checks in validate."""
    version = champion(repo, params.register_.artifact)
    path = repo / REGISTRY_DIR / params.register_.artifact / str(version) / "reference.json"
    return read_json(path) if version and path.exists() else None


def out_hash(lock_text: str, stage: str, path: str) -> str | None:
    """The md5 DVC recorded for one output of one stage in a dvc.lock text."""
    from ruamel.yaml import YAML

    lock = YAML(typ="safe").load(lock_text) or {}
    for out in lock.get("stages", {}).get(stage, {}).get("outs", []):
        if out.get("path") == path:
            return out.get("md5")
    return None


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


def assign(repo: Path, artifact: str, version: str, stage: str, force: bool = False) -> None:
    """Tag `version` into `stage`; `force` re-assigns a version GTO still lists in that stage
    (after a newer one took it, as in a rollback)."""
    import gto.api

    name, email = author(repo)
    gto.api.assign(
        str(repo),
        artifact,
        check_stage(stage),
        version=check_version(version),
        force=force,
        author=name,
        author_email=email,
    )


def prod_history(repo: Path, artifact: str) -> list[str]:
    """Versions assigned to prod, in assignment order (GTO's tag counter)."""
    import gto.api

    events = [
        e
        for e in gto.api.history(str(repo), artifact)
        if e["event"] == "assignment" and e["stage"] == "prod"
    ]
    events.sort(key=lambda e: int(e["ref"].rsplit("#", 1)[1]))
    return [e["version"] for e in events]


def rollback(repo: Path, artifact: str) -> tuple[str, str]:
    """Put the previous prod version back in prod; returns (from, to)."""
    with repo_lock(repo, "registry"):
        history = prod_history(repo, artifact)
        current = in_stage(repo, artifact, "prod")
        earlier = [v for v in history[:-1] if v != current]
        if current is None or not earlier:
            raise RegistryError(f"nothing to roll back to: prod history of {artifact} is {history}")
        assign(repo, artifact, earlier[-1], "prod", force=True)
    return current, earlier[-1]


def promote(repo: Path, artifact: str, version: str, stage: str = "prod") -> None:
    with repo_lock(repo, "registry"):
        assign(repo, artifact, resolve(repo, artifact, version), stage)
