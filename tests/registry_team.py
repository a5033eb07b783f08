"""A tiny team for registry tests: real git, DVC and GTO, no machine learning.

A bare git remote, a local-directory DVC remote and a checkout whose one DVC stage, `train`,
writes `models/model/weights.txt` from `train.seed` in params.yaml. `train_and_register` runs
it through DVC and registers the result with trainflow's own `register`, so commits, tags,
dvc.lock and the DVC cache are exactly what a real registration leaves, in a second.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tasks.common.params import Params, load_params

GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
WRITE = (
    "python -c \"import json, pathlib; p = pathlib.Path('models/model'); "
    "p.mkdir(parents=True, exist_ok=True); "
    "(p / 'weights.txt').write_text(str(json.load(open('params.yaml'))['train']['seed']))\""
)


@dataclass(frozen=True)
class Team:
    origin: Path  # bare git remote
    store: Path  # DVC remote (a local directory)
    repo: Path  # the first checkout


def git(repo: Path, *args: str) -> str:
    done = subprocess.run([*GIT, *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def write_params(repo: Path, seed: int, **register) -> Params:
    """params.yaml (JSON is YAML) with `train.seed` and the `register` section given."""
    raw = {"train": {"seed": seed}, "register": {"push": True, **register}}
    (repo / "params.yaml").write_text(json.dumps(raw, indent=2))
    return load_params(repo / "params.yaml")


def make_team(root: Path) -> Team:
    """Remotes and a checkout whose `main` is on the remote, DVC remote committed."""
    from dvc.repo import Repo

    root.mkdir(parents=True, exist_ok=True)
    origin, store, repo = root / "origin.git", root / "store", root / "repo"
    git(root, "init", "-q", "--bare", "-b", "main", str(origin))
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    with Repo.init(str(repo)) as dvc:
        with dvc.config.edit() as config:
            config["core"] |= {"remote": "store", "analytics": "false"}
            config["remote"]["store"] = {"url": str(store)}
        write_params(repo, 0)
    stage = {"cmd": WRITE, "params": ["train.seed"], "outs": ["models/model"]}
    (repo / "dvc.yaml").write_text(json.dumps({"stages": {"train": stage}}, indent=2))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "-u", "origin", "main")
    return Team(origin, store, repo)


def clone(team: Team, target: Path) -> Path:
    git(target.parent, "clone", "-q", str(team.origin), str(target))
    return target


@contextlib.contextmanager
def inside(folder: Path) -> Iterator[None]:
    """Work in `folder` as DVC's commands do (its stage targets are relative to the cwd)."""
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def train_and_register(repo: Path, seed: int, champion: str | None = None, **register):
    """`dvc repro` with `train.seed`, a blessed gate against `champion`, then `register`."""
    from dvc.repo import Repo

    from flows.registry.register import register as register_model

    params = write_params(repo, seed, **register)
    with inside(repo), Repo(str(repo)) as dvc:
        dvc.reproduce("train")
    gate = {"blessed": True, "champion": champion, "checks": []}
    (repo / "reports").mkdir(exist_ok=True)
    (repo / "reports" / "gate.json").write_text(json.dumps(gate))
    return register_model(params, repo)


def stored(store: Path, md5: str) -> bool:
    """Whether the DVC remote holds an object (DVC 3 layout: files/md5/ab/cdef...)."""
    return (store / "files" / "md5" / md5[:2] / md5[2:]).exists()


def remote_tags(origin: Path) -> dict[str, str]:
    """Tag name -> commit, in the bare remote."""
    listed = git(origin, "for-each-ref", "--format=%(refname:strip=2) %(*objectname)", "refs/tags")
    return dict(line.split() for line in listed.splitlines())
