"""Losing a publishing race: withdraw the local registration, follow the remote, say so.

When another worker published first, this repository's unpublished registration can never be
published: its version name (or stage tag) is taken, or the branch it extends is no longer the
remote's. Keeping it would leave two different models under one name, one here and one
there, and `git fetch` would refuse the remote's tags. So it is withdrawn: its tags are
deleted and its commit is undone (files kept), the remote's tags and branch are fetched, and
the pipeline-state files go back to the remote's, so a rerun starts from what the team has
and evaluates against the new champion. The model's files stay in the workspace and in DVC's
cache and run-cache, so a rerun with the same inputs does not train again.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from flows.registry.gitrepo import git, is_ancestor, run_git
from flows.registry.remotes import Target
from tasks.common.errors import RemoteMoved
from tasks.common.params import Params
from tasks.registry.versions import REGISTRY_DIR

if TYPE_CHECKING:
    from flows.registry.publish import Plan


def withdraw(repo: Path, artifact: str, tags: tuple[str, ...]) -> None:
    """Delete `tags`; undo the registration commits on top of HEAD for their versions."""
    versions = {name.split("@", 1)[1] for name in tags if "@" in name}
    subjects = {f"Register {artifact}@{version}" for version in versions}
    while git(repo, "log", "-1", "--format=%s") in subjects:
        git(repo, "reset", "-q", "HEAD^")  # the commit goes, its files stay in the worktree
    for name in tags:
        git(repo, "tag", "-d", name, check=False)
    for version in versions:
        shutil.rmtree(repo / REGISTRY_DIR / artifact / version, ignore_errors=True)


def _lines(repo: Path, *args: str) -> set[str]:
    return set(git(repo, *args).splitlines())


def _reset_state(repo: Path, paths: set[str]) -> None:
    """Put pipeline-state files back to HEAD's (remove those HEAD has none of)."""
    for path in sorted(paths):
        if run_git(repo, "cat-file", "-e", f"HEAD:{path}").returncode == 0:
            git(repo, "checkout", "-q", "HEAD", "--", path)
        else:
            (repo / path).unlink(missing_ok=True)


def follow(repo: Path, params: Params, to: Target) -> bool:
    """Fetch the remote's tags and branch and fast-forward this checkout to it.

    Only the pipeline-state files the remote's commits change are given up (the withdrawn
    registration's dvc.lock and reports: DVC's cache and run-cache keep what they describe).
    False, with nothing touched, when that is not enough: a detached HEAD, local commits, or
    other local changes to files the remote changed.
    """
    from flows.registry.register import pipeline_state

    refspec = [f"+refs/heads/{to.branch}:refs/remotes/{to.git}/{to.branch}"] if to.branch else []
    if run_git(repo, "fetch", "-q", "--tags", to.git, *refspec).returncode or not to.branch:
        return False
    upstream = f"refs/remotes/{to.git}/{to.branch}"
    if not is_ancestor(repo, "HEAD", upstream):
        return False
    incoming = _lines(repo, "diff", "--name-only", "HEAD", upstream)
    local = _lines(repo, "diff", "--name-only", "HEAD")
    local |= _lines(repo, "ls-files", "--others", "--exclude-standard")
    state = set(pipeline_state(repo, params))
    if (incoming - state) & local:
        return False
    _reset_state(repo, incoming & state & local)
    return run_git(repo, "merge", "-q", "--ff-only", upstream).returncode == 0


def lose(repo: Path, params: Params, to: Target, todo: Plan) -> NoReturn:
    """Withdraw what cannot be published (see module doc) and raise RemoteMoved."""
    artifact = params.register_.artifact
    dropped = tuple(dict.fromkeys(todo.missing + todo.taken))
    why = (
        f"it already has {', '.join(todo.taken)} from another worker"
        if todo.taken
        else f"its branch {to.branch} has commits this checkout lacks"
    )
    withdraw(repo, artifact, dropped)
    followed = follow(repo, params, to)
    where = (
        f"this checkout now follows {to.git}/{to.branch}"
        if followed
        else f"update this checkout first (git pull {to.git})"
    )
    raise RemoteMoved(
        f"git remote '{to.git}' moved on: {why}. Nothing was published and the local "
        f"registration was withdrawn ({', '.join(dropped)}); the model stays in the workspace "
        f"and the DVC cache. Rerun to evaluate it against the new champion: a worker's next "
        f"run does; here, {where}, then `trainflow run`."
    )
