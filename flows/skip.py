"""A run with nothing to do: DVC sees no change since a blessed, registered model.

It ends at once in a Completed state named "Skipped" with a `skipped` artifact that says why,
so a schedule ticking is never a reason to retrain. The decision (`nothing_to_do`) needs no
Prefect: `trainflow run` in a terminal makes it before starting Prefect's engine
(`flows.unchanged`); a run of the flow records it with `skipped`.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from flows.console import say
from tasks.common.io import read_json
from tasks.common.params import Params

SKIPPED_ARTIFACT = "skipped"


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


@dataclass(frozen=True)
class Skip:
    """Why a run retrains nothing, and the registered version it leaves in place (if any)."""

    why: str
    version: str | None
    name: str  # `<artifact>@<version>`, for the run's tag and the closing lines

    def summary(self, params: Params, repo: Path, ran: dict, rest: list[str]) -> dict:
        """What the run returns: the stages (those after `ran` skipped), the last metrics."""
        reports = repo / params.paths.reports
        task = read_json(reports / "gate.json").get("task", "classification")
        return {
            "stages": ran | dict.fromkeys(rest, "skipped"),
            "metrics": read_json(reports / "metrics.json"),
            "blessed": True,
            "task": task,
            "version": self.version,
            "created": False,
            "skipped": True,
        }

    def lines(self, rest: list[str]) -> list[str]:
        """What the run says, DVC's words for each stage first (as in `dvc repro`'s log)."""
        stages = [f"Stage '{stage}' didn't change, skipping" for stage in rest]
        closing = f"trainflow: {self.why}; nothing retrained (`trainflow run --force` retrains)"
        return [*stages, closing]


def nothing_to_do(params: Params, repo: Path, registered: Future | None) -> Skip | None:
    """After ingest, with DVC reporting every later stage up to date: the Skip, or None when
    there is still something to do (a refused model, or a blessed one not yet registered).

    `registered` is `registration_check`'s answer to come; None when the run registers nothing.
    """
    gate = read_json(repo / params.paths.reports / "gate.json")
    register_blessed = registered is not None
    version = registered.result() if register_blessed and gate["blessed"] else None
    if not gate["blessed"] or (register_blessed and version is None):
        return None
    name = f"{params.register_.artifact}@{version}"
    why = f"no new data: DVC reports no change since {name if version else 'the last run'}"
    return Skip(why=why, version=version, name=name)


def skipped(params: Params, repo: Path, ran: dict, rest: list[str], skip: Skip):
    """Inside the flow: say the Skip, record its artifact and tag, and end in "Skipped"."""
    from prefect.artifacts import create_markdown_artifact
    from prefect.runtime import flow_run
    from prefect.states import Completed

    from flows.artifacts import tag_run

    for line in skip.lines(rest):
        say(line)
    create_markdown_artifact(artifact_text(skip), key=SKIPPED_ARTIFACT, description=skip.why)
    if skip.version:
        tag_run(flow_run.id, skip.name)
    summary = skip.summary(params, repo, ran, rest)
    return Completed(name="Skipped", message=skip.why, data=summary)


def artifact_text(skip: Skip) -> str:
    return f"# Skipped\n\n{skip.why}."
