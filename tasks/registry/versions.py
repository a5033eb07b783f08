"""Registered versions and stages (GTO tags in git), and which version is the champion.

Read-only: the stages that compare with the champion (validate, evaluate) import this, and
nothing that writes the registry (`flows.registry`), so a change to registration code never
reruns a stage. Version and stage names are validated before they reach git, so no name can
smuggle a path or an option.
"""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path

from tasks.common.errors import RegistryError
from tasks.common.params import NAME_PATTERN

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


def any_registered(repo: Path, artifact: str) -> bool:
    """Whether git holds a version tag of `artifact` (`git tag -l`, milliseconds): before the
    first registration no stage pays for importing GTO to learn there is no champion."""
    listed = subprocess.run(
        ["git", "tag", "--list", f"{artifact}@*"], cwd=repo, capture_output=True, text=True
    )
    return listed.returncode != 0 or bool(listed.stdout.strip())


def champion(repo: Path, artifact: str) -> str | None:
    """The production version, else the latest registered one; None before the first."""
    if not any_registered(repo, artifact):
        return None
    found = versions(repo, artifact)
    return in_stage(repo, artifact, "prod") or (found[-1]["version"] if found else None)


def out_hash(lock_text: str, stage: str, path: str) -> str | None:
    """The md5 DVC recorded for one output of one stage in a dvc.lock text."""
    for out in _outs(lock_text).get(stage, ()):
        if out.get("path") == path:
            return out.get("md5")
    return None


@functools.lru_cache(maxsize=4)
def _outs(lock_text: str) -> dict[str, tuple[dict, ...]]:
    """Each stage's outputs in a dvc.lock text, parsed once per text (a run reads the same
    dvc.lock for its data hash, its model hash and its lineage; YAML parsing is pure Python)."""
    from ruamel.yaml import YAML

    stages = (YAML(typ="safe").load(lock_text) or {}).get("stages", {})
    return {name: tuple(stage.get("outs", [])) for name, stage in stages.items()}
