"""Where a registration is published: the git remote and branch, and the DVC remote.

Both come from `register.git_remote` and `register.dvc_remote` (default: the repository's
default DVC remote). They are checked before anything is registered, so a run never trains
for an hour to find out that its results cannot leave the machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from flows.registry.gitrepo import git
from tasks.common.errors import ParamsError, PublishError
from tasks.common.params import Params

TAG = r"^{artifact}(@v\d+\.\d+\.\d+|#[a-z0-9-]+#\d+)$"  # GTO: model@v0.1.0, model#prod#3


@dataclass(frozen=True)
class Target:
    """The remotes of one repository: `branch` is where HEAD goes (None when detached)."""

    git: str
    url: str
    branch: str | None
    dvc: str


def dvc_remote(repo: Path, wanted: str | None) -> str:
    """The DVC remote to publish to; it must be in the committed .dvc/config, or a clone
    of the git remote would not know where the files went."""
    from configobj import ConfigObj
    from dvc.config import Config

    name = wanted or Config(dvc_dir=str(repo / ".dvc"))["core"].get("remote")
    key = "register.dvc_remote" if wanted else "register.push"
    if not name:
        raise ParamsError(
            f"{key}: this repository has no default DVC remote; add one and commit it: "
            "dvc remote add -d storage URL && git add .dvc/config && git commit -m 'DVC remote'"
        )
    committed = ConfigObj(git(repo, "show", "HEAD:.dvc/config", check=False).splitlines())
    if f'remote "{name}"' not in committed:
        raise ParamsError(
            f"{key}: DVC remote '{name}' is not in the committed .dvc/config, so a clone would "
            "not find the files: git add .dvc/config && git commit -m 'DVC remote' "
            "(credentials go in `dvc remote modify --local` or the environment, never there)"
        )
    return name


def remote_branch(repo: Path, remote: str) -> str | None:
    """The remote branch HEAD is published to: its upstream on `remote`, else its own name."""
    branch = git(repo, "symbolic-ref", "-q", "--short", "HEAD", check=False)
    if not branch:
        return None
    upstream = git(repo, "rev-parse", "--abbrev-ref", f"{branch}@{{upstream}}", check=False)
    prefix = f"{remote}/"
    return upstream.removeprefix(prefix) if upstream.startswith(prefix) else branch


def target(repo: Path, params: Params) -> Target:
    """Check and resolve the remotes `register.push` publishes to (ParamsError naming the key)."""
    name = params.register_.git_remote
    url = git(repo, "remote", "get-url", name, check=False)
    if not url:
        raise ParamsError(
            f"register.git_remote: this repository has no git remote '{name}' "
            f"(git remote add {name} URL)"
        )
    dvc = dvc_remote(repo, params.register_.dvc_remote)
    return Target(name, url, remote_branch(repo, name), dvc)


def registry_tags(repo: Path, artifact: str) -> dict[str, str]:
    """The artifact's GTO tags in this repository: name -> tag object id."""
    listed = git(repo, "for-each-ref", "--format=%(objectname) %(refname:strip=2)", "refs/tags/")
    pattern = re.compile(TAG.format(artifact=re.escape(artifact)))
    pairs = (line.split(" ", 1) for line in listed.splitlines() if line)
    return {name: sha for sha, name in pairs if pattern.match(name)}


def remote_refs(repo: Path, to: Target) -> dict[str, str]:
    """Tags and branches of the git remote (`refs/tags/x` -> id); PublishError if unreachable."""
    from flows.registry.gitrepo import run_git

    listed = run_git(repo, "ls-remote", "--tags", "--heads", to.git)
    if listed.returncode:
        raise PublishError(
            f"git remote '{to.git}' ({to.url}) is unreachable or refused access: {last(listed)}"
        )
    pairs = (line.split("\t", 1) for line in listed.stdout.splitlines() if "\t" in line)
    return {ref: sha for sha, ref in pairs if not ref.endswith("^{}")}


def last(result) -> str:
    """The last line git printed: its `fatal:` or `error:` line, the one that says why."""
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"git exited with {result.returncode}"
