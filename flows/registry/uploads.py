"""Upload what registered versions need to the DVC remote, and check that it arrived.

A version needs every cached output recorded in dvc.lock at its tag: raw data, prepared
splits, the model, reports and curves (and any `.dvc`-tracked source), plus DVC's run-cache,
so a worker that clones the repository can skip the stages whose inputs did not change.
Objects are collected per version with DVC's own index at the tag, but pushed to the remote
this checkout configures now: a version registered before the team's remote existed has
none in its committed config, and is published all the same.
"""

from __future__ import annotations

from pathlib import Path

from tasks.common.errors import PublishError

SHOWN = 5


def needed(dvc, revs: list[str]) -> set:
    """Every DVC object (directory listings and their files) the outputs at `revs` use."""
    objects: set = set()
    for _ in dvc.brancher(revs=revs, workspace=False):
        for found in dvc.index.used_objs().values():
            objects |= found
    return objects


def _names(objects) -> str:
    names = sorted({obj.obj_name or obj.value for obj in objects})
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def _reason(err: BaseException) -> str:
    """One line for the user: DVC and the cloud clients nest their causes."""
    while err.__cause__ is not None and not str(err):
        err = err.__cause__
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[-1] if text else ''}".rstrip(": ")


def upload(repo: Path, revs: list[str], remote: str) -> int:
    """Push the objects of `revs` and the run-cache to DVC remote `remote`; return how many
    files were uploaded. PublishError when the remote cannot be reached or lacks a file
    afterwards (for instance one this cache no longer has)."""
    from dvc.repo import Repo

    from tasks.registry.files import remote_options

    # The remote as configured now, at every tag too (credentials in config.local included).
    with Repo(str(repo), **remote_options(repo, remote)) as dvc, dvc.lock:
        try:
            objects = needed(dvc, revs)
            pushed = dvc.cloud.push(objects, remote=remote)
            left = dvc.cloud.status(objects, remote=remote)
            dvc.stage_cache.push(remote)
        except Exception as err:  # network, credentials, missing bucket: all say the same
            raise PublishError(f"DVC remote '{remote}': {_reason(err)}") from err
    if left.missing:
        raise PublishError(
            f"DVC remote '{remote}' lacks {len(left.missing)} files the registered versions need "
            f"and this DVC cache does not have them either: {_names(left.missing)}"
        )
    if pushed.failed or left.new:
        failed = set(pushed.failed) | set(left.new)
        raise PublishError(
            f"DVC remote '{remote}': {len(failed)} files failed to upload: {_names(failed)}"
        )
    return len(pushed.transferred)
