"""The model registry: GTO versions and stages in git, model files in the DVC cache.

A blessed model becomes the next version: the pipeline state (dvc.lock, params.yaml, the
small reports) and the version's lineage folder `registry/<artifact>/<version>/` are committed
with only those paths, then GTO tags the commit `<artifact>@vX.Y.Z` and assigns a stage.
A registration holds a lock, never registers the same model bytes twice, and on failure
removes what it created, so the registry never shows a half-made version.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tasks.errors import ModelRefused, RegistryError
from tasks.io import read_json
from tasks.lineage import lineage_record, model_card
from tasks.params import Params

FALLBACK_AUTHOR = ("trainflow", "trainflow@localhost")
VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
REGISTRY_DIR = "registry"
REPORTS = ("metrics.json", "gate.json", "validation.json", "train.json", "train/metrics.json")


@dataclass(frozen=True)
class Registered:
    """Outcome of a registration request; `created` is False when nothing new was tagged."""

    version: str
    created: bool
    stage: str | None
    commit: str


def git(repo: Path, *args: str, check: bool = True) -> str:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    if check and result.returncode:
        raise RegistryError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def author(repo: Path) -> tuple[str, str]:
    """The user's git identity, or a fallback so a fresh machine can still register."""
    name = git(repo, "config", "user.name", check=False)
    email = git(repo, "config", "user.email", check=False)
    return (name, email) if name and email else FALLBACK_AUTHOR


def check_version(version: str) -> str:
    if not VERSION.match(version):
        raise RegistryError(f"version {version!r}: expected vMAJOR.MINOR.PATCH, e.g. v0.1.0")
    return version


def next_version(versions: list[str], bump: str) -> str:
    """The next semantic version after the highest one (v0.1.0 first for a minor bump)."""
    if not versions:
        return {"major": "v1.0.0", "minor": "v0.1.0", "patch": "v0.0.1"}[bump]
    major, minor, patch = max(tuple(map(int, VERSION.match(v).groups())) for v in versions)
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
    found = []
    for item in shown:
        stages = [s["stage"] for s in item.get("stages", []) if s.get("is_active", True)]
        found.append(
            {
                "version": item["version"],
                "stages": stages,
                "commit": item["commit_hexsha"],
                "created_at": str(item["created_at"]),
            }
        )
    return sorted(found, key=lambda v: tuple(map(int, VERSION.match(v["version"]).groups())))


def in_stage(repo: Path, artifact: str, stage: str) -> str | None:
    """The version currently holding `stage` (GTO keeps the latest assignment)."""
    import gto.api

    return gto.api.show(str(repo)).get(artifact, {}).get("stage", {}).get(stage)


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


def lock_at(repo: Path, ref: str) -> str:
    return git(repo, "show", f"{ref}:dvc.lock", check=False)


@contextlib.contextmanager
def registry_lock(repo: Path) -> Iterator[None]:
    """One registration at a time per workspace, across processes."""
    path = repo / ".dvc" / "tmp" / "trainflow-registry.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def refusal(gate: dict) -> str:
    failed = [c for c in gate["checks"] if not c["passed"]]
    lines = [
        f"  - {c['metric']} {c['value']:.4f} (needs {c['op']} {c['threshold']})" for c in failed
    ]
    return "the gate refused the model:\n" + "\n".join(lines)


def state_paths(repo: Path, params: Params, lineage_dir: Path) -> list[str]:
    """What a registration commits: pipeline state and lineage, never other user files.

    That is dvc.lock, params.yaml, the small uncached reports, the .gitignore files DVC writes
    next to cached outputs, and the version's lineage folder.
    """
    reports = Path(params.paths.reports)
    cached = (
        params.paths.raw,
        params.paths.prepared,
        params.paths.model,
        reports / "predictions.csv",
        reports / "train" / "plots",
    )
    candidates = [
        "dvc.lock",
        "params.yaml",
        *(str(reports / name) for name in REPORTS),
        *(str(Path(out).parent / ".gitignore") for out in cached),
        str(lineage_dir.relative_to(repo)),
    ]
    return [p for p in dict.fromkeys(candidates) if (repo / p).exists()]


def commit_state(repo: Path, paths: list[str], message: str) -> str:
    name, email = author(repo)
    git(repo, "add", "--", *paths)
    if git(repo, "diff", "--cached", "--name-only", "--", *paths):
        git(
            repo,
            "-c",
            f"user.name={name}",
            "-c",
            f"user.email={email}",
            "commit",
            "-q",
            "-m",
            message,
            "--only",
            "--",
            *paths,
        )
    return git(repo, "rev-parse", "HEAD")


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


def tag(repo: Path, artifact: str, version: str, stage: str) -> None:
    import gto.api

    name, email = author(repo)
    gto.api.register(
        str(repo), artifact, ref="HEAD", version=version, author=name, author_email=email
    )
    gto.api.assign(str(repo), artifact, stage, version=version, author=name, author_email=email)


def undo(repo: Path, head: str, folder: Path, version: str, artifact: str) -> None:
    """Remove every trace of a registration that failed half-way."""
    for name in git(repo, "tag", "--points-at", "HEAD", check=False).splitlines():
        if name == f"{artifact}@{version}" or name.startswith(f"{artifact}#"):
            git(repo, "tag", "-d", name, check=False)
    if git(repo, "rev-parse", "HEAD") != head:
        git(repo, "reset", "-q", "--soft", head)
    shutil.rmtree(folder, ignore_errors=True)


def register(params: Params, repo: Path = Path("."), flow_run_id: str | None = None) -> Registered:
    """Register the blessed model in the workspace as the next version (see module doc)."""
    repo, artifact = repo.resolve(), params.register_.artifact
    gate = read_json(repo / params.paths.reports / "gate.json")
    if not gate["blessed"]:
        raise ModelRefused(refusal(gate))
    with registry_lock(repo):
        known = versions(repo, artifact)
        model_md5 = out_hash((repo / "dvc.lock").read_text(), "train", params.paths.model)
        for item in reversed(known):
            if (
                out_hash(
                    lock_at(repo, f"{artifact}@{item['version']}"), "train", params.paths.model
                )
                == model_md5
            ):
                return Registered(item["version"], False, None, item["commit"])
        version = next_version([v["version"] for v in known], params.register_.bump)
        head = git(repo, "rev-parse", "HEAD")
        folder = write_lineage(repo, params, version, flow_run_id)
        try:
            commit = commit_state(
                repo, state_paths(repo, params, folder), f"Register {artifact}@{version}"
            )
            tag(repo, artifact, version, params.register_.stage)
        except BaseException:
            undo(repo, head, folder, version, artifact)
            raise
    return Registered(version, True, params.register_.stage, commit)
