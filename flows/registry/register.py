"""Register a blessed model as the next version, atomically.

The pipeline state (dvc.lock, params.yaml, the small reports) and the version's lineage folder
`registry/<artifact>/<version>/` are committed with only those paths, then GTO tags the commit
`<artifact>@vX.Y.Z` and assigns a stage. A registration holds a lock, never registers the same
model bytes twice, and on failure removes what it created, so the registry never shows a
half-made version.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from flows.registry.assign import assign
from flows.registry.gitrepo import author, commit_paths, git, repo_lock, show_file, undo_commit
from flows.registry.lineage import lineage_record, model_card
from tasks.common.errors import ModelRefused, RegistryError
from tasks.common.io import read_json, write_json
from tasks.common.params import Params
from tasks.evaluate.gate import refusal
from tasks.registry.versions import REGISTRY_DIR, champion, next_version, out_hash, versions

JOURNAL = Path(".dvc/tmp/trainflow-registration.json")
REPORTS = (
    "metrics.json",
    "gate.json",
    "validation.json",
    "train.json",
    "train_setup.json",
    "train/metrics.json",
)


@dataclass(frozen=True)
class Registered:
    """Outcome of a registration request; `created` is False when nothing new was tagged."""

    version: str
    created: bool
    stages: tuple[str, ...]
    commit: str


def state_paths(repo: Path, params: Params, lineage_dir: Path) -> list[str]:
    """What a registration commits: the pipeline state and the version's lineage folder."""
    lineage = str(lineage_dir.relative_to(repo))
    return pipeline_state(repo, params) + ([lineage] if lineage_dir.exists() else [])


def pipeline_state(repo: Path, params: Params) -> list[str]:
    """dvc.lock, params.yaml, the small uncached reports and the .gitignore files DVC writes
    next to cached outputs: the files that describe the workspace's outputs."""
    reports = Path(params.paths.reports)
    cached = (
        params.paths.raw,
        params.paths.prepared,
        params.paths.model,
        reports / "predictions.csv",
        reports / "curves",
        reports / "train" / "plots",
    )
    candidates = [
        "dvc.lock",
        "params.yaml",
        *(str(reports / name) for name in REPORTS),
        *(str(Path(out).parent / ".gitignore") for out in cached),
    ]
    return [p for p in dict.fromkeys(candidates) if (repo / p).exists()]


def write_lineage(repo: Path, params: Params, version: str, flow_run_id: str | None) -> Path:
    folder = repo / REGISTRY_DIR / params.register_.artifact / version
    folder.mkdir(parents=True, exist_ok=True)
    record = lineage_record(repo, params, version, flow_run_id)
    (folder / "lineage.json").write_text(record.to_json())
    (folder / "card.md").write_text(model_card(record))
    reference = repo / params.paths.prepared / "reference.json"
    if reference.exists():
        shutil.copyfile(reference, folder / "reference.json")
    return folder


def already_registered(
    repo: Path, params: Params, known: list[dict], current: str | None = None
) -> dict | None:
    """The version whose model bytes (md5 in dvc.lock, or `current`) equal the workspace's."""
    path = params.paths.model
    current = current or out_hash((repo / "dvc.lock").read_text(), "train", path)
    for item in reversed(known):
        tag = f"{params.register_.artifact}@{item['version']}"
        if out_hash(show_file(repo, tag, "dvc.lock"), "train", path) == current:
            return item
    return None


def register(params: Params, repo: Path = Path("."), flow_run_id: str | None = None) -> Registered:
    """Register the blessed model in the workspace as the next version (see module doc)."""
    repo, artifact = repo.resolve(), params.register_.artifact
    gate = read_json(repo / params.paths.reports / "gate.json")
    if not gate["blessed"]:
        raise ModelRefused(refusal(gate))
    stages = [params.register_.stage]
    if params.register_.auto_promote and gate.get("champion"):
        stages.append("prod")
    with repo_lock(repo, "registry"):
        undo_interrupted(repo)
        known = versions(repo, artifact)
        if same := already_registered(repo, params, known):
            return Registered(same["version"], False, (), same["commit"])
        check_champion(repo, params, gate)
        version = next_version([v["version"] for v in known], params.register_.bump)
        head = git(repo, "rev-parse", "HEAD")
        write_json(repo / JOURNAL, {"artifact": artifact, "version": version, "head": head})
        folder = write_lineage(repo, params, version, flow_run_id)
        try:
            commit = commit_paths(
                repo, state_paths(repo, params, folder), f"Register {artifact}@{version}"
            )
            tag_version(repo, artifact, version, stages)
        except BaseException:
            undo(repo, artifact, version, head)
            raise
        finally:
            (repo / JOURNAL).unlink(missing_ok=True)
    return Registered(version, True, tuple(stages), commit)


def check_champion(repo: Path, params: Params, gate: dict) -> None:
    """Refuse a verdict against a champion that is no longer the champion: another worker's
    registration (fetched from the remote) or a promotion may have replaced it since."""
    artifact = params.register_.artifact
    now = champion(repo, artifact)
    if params.evaluate.compare_champion and gate.get("champion") != now:
        then = f"{artifact}@{gate['champion']}" if gate.get("champion") else "no champion"
        raise ModelRefused(
            f"the gate compared this model with {then}, but the champion is now "
            f"{artifact}@{now}: re-evaluate (dvc repro --force --single-item evaluate), "
            "then register (trainflow run)"
        )


def undo(repo: Path, artifact: str, version: str, head: str) -> None:
    """Remove what a registration made: its commit, the tags on it, its lineage folder."""
    ours = git(repo, "log", "-1", "--format=%s", check=False) == f"Register {artifact}@{version}"
    if git(repo, "rev-parse", "HEAD") != head and ours:  # else the tags on HEAD are not ours
        tags = git(repo, "tag", "--points-at", "HEAD", check=False).splitlines()
        made = [t for t in tags if t.startswith((f"{artifact}@{version}", f"{artifact}#"))]
        undo_commit(repo, head, made)
    shutil.rmtree(repo / REGISTRY_DIR / artifact / version, ignore_errors=True)


def undo_interrupted(repo: Path) -> None:
    """A killed registration cannot run its `except`: its journal says what to undo.

    Only while HEAD is still the registration's commit (or its parent); commits made since
    are never rewritten.
    """
    journal = repo / JOURNAL
    if not journal.exists():
        return
    started = read_json(journal)
    if started["head"] in (
        git(repo, "rev-parse", "HEAD"),
        git(repo, "rev-parse", "HEAD^", check=False),
    ):
        undo(repo, started["artifact"], started["version"], started["head"])
    journal.unlink()


def tag_version(repo: Path, artifact: str, version: str, stages: list[str]) -> None:
    import gto.api
    from gto.exceptions import GTOException

    name, email = author(repo)
    try:
        gto.api.register(
            str(repo), artifact, ref="HEAD", version=version, author=name, author_email=email
        )
    except GTOException as err:  # e.g. this commit already holds a version
        raise RegistryError(f"GTO refused to register {artifact}@{version}: {err}") from err
    for stage in stages:
        assign(repo, artifact, version, stage)
