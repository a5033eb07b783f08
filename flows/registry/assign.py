"""Moving versions between stages: assign, promote, rollback (GTO tags, under the registry lock)."""

from __future__ import annotations

from pathlib import Path

from flows.registry.gitrepo import author, repo_lock
from tasks.common.errors import RegistryError
from tasks.registry.versions import check_stage, check_version, in_stage, resolve


def assign(repo: Path, artifact: str, version: str, stage: str, force: bool = False) -> None:
    """Tag `version` into `stage`; `force` re-assigns a version GTO still lists in that stage
    (after a newer one took it, as in a rollback)."""
    import gto.api
    from gto.exceptions import GTOException

    name, email = author(repo)
    try:
        gto.api.assign(
            str(repo),
            artifact,
            check_stage(stage),
            version=check_version(version),
            force=force,
            author=name,
            author_email=email,
        )
    except GTOException as err:  # e.g. the version is already in that stage
        raise RegistryError(
            f"GTO refused to assign {stage} to {artifact}@{version}: {err}"
        ) from err


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
        version = resolve(repo, artifact, version)
        if in_stage(repo, artifact, stage) == version:  # GTO's own refusal hints at a --force
            raise RegistryError(f"{artifact}@{version} is already in {stage}: nothing to promote")
        assign(repo, artifact, version, stage)
