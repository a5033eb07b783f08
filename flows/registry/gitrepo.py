"""Git plumbing for the registry: commands, identity, a cross-process lock, safe commits."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tasks.common.errors import RegistryError

FALLBACK_AUTHOR = ("trainflow", "trainflow@localhost")
REMOTE_TIMEOUT = 600  # seconds a fetch, ls-remote or push may take before it counts as failed


def run_git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    """Run git without ever prompting: a worker has no one to type a password."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    try:
        return subprocess.run(
            ["git", *args],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=REMOTE_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 124, "", f"timed out after {REMOTE_TIMEOUT} s")


def git(repo: Path, *args: str, check: bool = True) -> str:
    result = run_git(repo, *args)
    if check and result.returncode:
        raise RegistryError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def author(repo: Path) -> tuple[str, str]:
    """The user's git identity, or a fallback so a fresh machine can still register."""
    name = git(repo, "config", "user.name", check=False)
    email = git(repo, "config", "user.email", check=False)
    return (name, email) if name and email else FALLBACK_AUTHOR


def is_ancestor(repo: Path, older: str, newer: str) -> bool:
    """True when commit `older` is in the history of `newer` (False for unknown commits)."""
    return run_git(repo, "merge-base", "--is-ancestor", older, newer).returncode == 0


def show_file(repo: Path, ref: str, path: str) -> str:
    """A file's text at a ref ('' when it is not there)."""
    return git(repo, "show", f"{ref}:{path}", check=False)


@contextlib.contextmanager
def repo_lock(repo: Path, name: str) -> Iterator[None]:
    """An exclusive lock next to DVC's own, held across processes until the block ends."""
    path = repo / ".dvc" / "tmp" / f"trainflow-{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def commit_paths(repo: Path, paths: list[str], message: str) -> str:
    """Commit exactly `paths` (never the user's other changes); return HEAD."""
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


def undo_commit(repo: Path, head: str, tags: list[str]) -> None:
    """Delete `tags` and move HEAD back to `head`, keeping the files (a failed registration)."""
    for tag in tags:
        git(repo, "tag", "-d", tag, check=False)
    if git(repo, "rev-parse", "HEAD") != head:
        git(repo, "reset", "-q", "--soft", head)
