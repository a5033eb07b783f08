"""Publish registrations to the team's remotes: DVC first, git second.

Whatever this repository registered that the git remote lacks (version tags and stage tags)
is published in two steps: every file those versions need goes to the DVC remote, then the
branch (with the registration commits) and the tags go to the git remote in one atomic push.
So a tag in the remote never points at files the DVC remote lacks, and a push either lands
whole or not at all.

A push that fails for a reason that can pass (remote unreachable, credentials refused) keeps
the local registration: `trainflow models push`, or the next run, publishes it. A push that
fails because another worker published first (the same version name, or a branch that moved
on) can never pass: that registration is withdrawn (`flows.registry.withdraw`) and a rerun
evaluates against the new champion.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from flows.registry.gitrepo import git, is_ancestor, repo_lock, run_git
from flows.registry.remotes import Target, last, registry_tags, remote_refs, target
from flows.registry.uploads import upload
from tasks.common.errors import PublishError
from tasks.common.params import Params

BranchState = Literal["push", "current", "behind", "diverged"]


@dataclass(frozen=True)
class Plan:
    """What publishing needs: `missing` tags to push, `taken` ones the remote holds
    differently, and the branch: "push", "current", "behind" or "diverged"."""

    missing: tuple[str, ...]
    taken: tuple[str, ...]
    branch: BranchState

    @property
    def moved(self) -> bool:
        return bool(self.taken) or self.branch == "diverged"


@dataclass(frozen=True)
class Published:
    """Outcome of a publish: the tags now in the git remote and the files uploaded."""

    tags: tuple[str, ...]
    target: Target
    files: int


def branch_state(repo: Path, to: Target, refs: dict[str, str]) -> BranchState:
    """How HEAD relates to the remote branch it is published to."""
    theirs = refs.get(f"refs/heads/{to.branch}") if to.branch else None
    head = git(repo, "rev-parse", "HEAD")
    if to.branch is None or theirs == head:
        return "current"
    if theirs is None:
        return "push"
    if run_git(repo, "cat-file", "-e", f"{theirs}^{{commit}}").returncode:
        fetched = run_git(repo, "fetch", "-q", to.git, f"refs/heads/{to.branch}")
        if fetched.returncode:  # unknown histories are not diverged ones: keep the registration
            raise PublishError(
                f"git remote '{to.git}' ({to.url}): cannot fetch '{to.branch}' to compare"
                f" histories: {last(fetched)}"
            )
    if is_ancestor(repo, theirs, head):
        return "push"
    return "behind" if is_ancestor(repo, head, theirs) else "diverged"


def plan(repo: Path, params: Params, to: Target) -> Plan:
    """Compare this repository's registry tags and HEAD with the git remote's."""
    refs = remote_refs(repo, to)
    local = registry_tags(repo, params.register_.artifact)
    missing = tuple(name for name in local if f"refs/tags/{name}" not in refs)
    taken = tuple(name for name, sha in local.items() if refs.get(f"refs/tags/{name}", sha) != sha)
    return Plan(missing, taken, branch_state(repo, to, refs))


def push_git(repo: Path, to: Target, todo: Plan) -> None:
    """One atomic push: the branch (when it moves forward) and the missing tags."""
    refspecs = [f"refs/tags/{name}:refs/tags/{name}" for name in todo.missing]
    if todo.branch == "push":
        refspecs.insert(0, f"HEAD:refs/heads/{to.branch}")
    pushed = run_git(repo, "push", "--atomic", "--porcelain", to.git, *refspecs)
    if pushed.returncode:
        raise PublishError(f"git remote '{to.git}' ({to.url}) refused the push: {last(pushed)}")


def commits(repo: Path, tags: tuple[str, ...]) -> list[str]:
    """The distinct commits `tags` point at (stage tags share their version's commit)."""
    found = (git(repo, "rev-parse", f"refs/tags/{name}^{{commit}}") for name in tags)
    return list(dict.fromkeys(found))


def publish(repo: Path, params: Params) -> Published:
    """Publish every registration the git remote lacks (see module doc).

    Raises:
        ParamsError: a remote is not configured (names the key).
        PublishError: a remote is unreachable or refused; nothing local changed.
        RemoteMoved: another worker published first; the local registration was withdrawn.
    """
    from flows.registry.register import undo_interrupted

    repo = repo.resolve()
    to = target(repo, params)
    with repo_lock(repo, "registry"):
        undo_interrupted(repo)
        try:
            return _publish(repo, params, to)
        except PublishError as err:
            raise PublishError(
                f"{err}. Nothing was published; the registrations stay here, and "
                "`trainflow models push` (or the next run) publishes them"
            ) from err


def _publish(repo: Path, params: Params, to: Target) -> Published:
    from flows.registry.withdraw import lose

    todo = plan(repo, params, to)
    if not todo.missing and not todo.taken:
        return Published((), to, 0)
    if todo.moved:
        lose(repo, params, to, todo)
    files = upload(repo, commits(repo, todo.missing), to.dvc)
    try:
        push_git(repo, to, todo)
    except PublishError:
        again = plan(repo, params, to)  # raises PublishError itself when unreachable
        if again.moved:
            lose(repo, params, to, again)
        raise
    return Published(todo.missing, to, files)
