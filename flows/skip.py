"""A run with nothing to do: DVC sees no change since a blessed, registered model.

It ends at once in a Completed state named "Skipped" with a `skipped` artifact that says why,
so a schedule ticking is never a reason to retrain.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from prefect.states import Completed, State

from flows.artifacts import tag_run
from flows.console import say
from tasks.common.io import read_json
from tasks.common.params import Params


def registered_version(params: Params, repo: Path, model_md5: str | None) -> str | None:
    """The version whose model bytes are `model_md5` (dvc.lock's), None if unregistered."""
    from flows.registry.gitrepo import repo_lock
    from flows.registry.register import already_registered, undo_interrupted
    from tasks.registry.versions import versions

    if model_md5 is None:
        return None
    with repo_lock(repo, "registry"):
        undo_interrupted(repo)  # a version a killed run left half-made is no version
        known = versions(repo, params.register_.artifact)
        found = already_registered(repo, params, known, model_md5)
    return found["version"] if found else None


def registration_check(params: Params, repo: Path) -> Future:
    """Start finding out whether the workspace's trained model is registered, in a thread.

    It overlaps the ingest stage, which cannot change the model: the model's md5 is read from
    dvc.lock now, before DVC rewrites that file. The answer is needed only when nothing changed.
    """
    from tasks.registry.versions import out_hash

    lock = repo / "dvc.lock"
    model_md5 = out_hash(lock.read_text(), "train", params.paths.model) if lock.exists() else None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="registration-check")
    found = pool.submit(registered_version, params, repo, model_md5)
    pool.shutdown(wait=False)
    return found


def skipped(
    params: Params, repo: Path, ran: dict, rest: list[str], registered: Future | None
) -> State | None:
    """The run's final state when nothing changed since a blessed (and registered) model;
    None when there is still something to do (a refused model, or one not yet registered).

    `registered` is `registration_check`'s answer to come; None when the run registers nothing.
    """
    reports = repo / params.paths.reports
    gate = read_json(reports / "gate.json")
    register_blessed = registered is not None
    version = registered.result() if register_blessed and gate["blessed"] else None
    if not gate["blessed"] or (register_blessed and version is None):
        return None
    name = f"{params.register_.artifact}@{version}"
    for stage in rest:
        say(f"Stage '{stage}' didn't change, skipping")  # DVC's words, as in its log
    why = f"no new data: DVC reports no change since {name if version else 'the last run'}"
    say(f"trainflow: {why}; nothing retrained (`trainflow run --force` retrains)")
    create_markdown_artifact(f"# Skipped\n\n{why}.", key="skipped", description=why)
    if version:
        tag_run(flow_run.id, name)
    scores = read_json(reports / "metrics.json")
    summary = {"stages": ran | dict.fromkeys(rest, "skipped"), "metrics": scores, "blessed": True}
    summary["task"] = gate.get("task", "classification")
    summary |= {"version": version, "created": False, "skipped": True}
    return Completed(name="Skipped", message=why, data=summary)
