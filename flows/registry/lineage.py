"""Lineage of a registered version, and the model card generated from it.

Everything needed to trace and rebuild a production model, in plain files next to its tag:
the data and model hashes from dvc.lock, the commit it was built from, params, metrics, gate
result, the Prefect flow run, library versions, the device it trained on, its signature
(what it takes and predicts) and the split rule that chose its training rows.
"""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from tasks.common.io import read_json
from tasks.common.params import Params
from tasks.common.signature import describe
from tasks.common.splits import describe as describe_split


@dataclass
class Lineage:
    artifact: str
    version: str
    created_at: str
    source_commit: str
    data_md5: str | None
    model_md5: str | None
    flow_run_id: str | None
    params: dict
    metrics: dict
    gate: dict
    training: dict
    libraries: dict
    signature: dict | None = None
    split: dict | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


def library_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("tensorflow", "keras", "dvc", "prefect", "great-expectations"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def _optional_json(path: Path) -> dict:
    return read_json(path) if path.exists() else {}


def training(reports: Path) -> dict:
    """How it trained (train_setup.json, less the train params the lineage keeps whole) and
    the run's numbers (train.json, the metrics file)."""
    setup = _optional_json(reports / "train_setup.json")
    setup.pop("params", None)
    return setup | _optional_json(reports / "train.json")


def lineage_record(repo: Path, params: Params, ver: str, flow_run_id: str | None) -> Lineage:
    from tasks.registry.versions import out_hash

    lock = (repo / "dvc.lock").read_text()
    reports = repo / params.paths.reports
    model_meta = _optional_json(repo / params.paths.model / "meta.json")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True)
    return Lineage(
        artifact=params.register_.artifact,
        version=ver,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        source_commit=head.stdout.strip(),
        data_md5=out_hash(lock, "ingest", params.paths.raw),
        model_md5=out_hash(lock, "train", params.paths.model),
        flow_run_id=flow_run_id,
        params=params.model_dump(mode="json", by_alias=True),
        metrics=_optional_json(reports / "metrics.json"),
        gate=_optional_json(reports / "gate.json"),
        training=training(reports),
        libraries=library_versions(),
        signature=model_meta.get("signature"),
        split=model_meta.get("split"),
    )


def _metric_rows(metrics: dict) -> list[str]:
    champion = metrics.get("champion") or {}
    rows = []
    for name, value in metrics.items():
        if isinstance(value, int | float):
            theirs = champion.get(name)
            rows.append(f"| {name} | {value:.4f} | {'-' if theirs is None else f'{theirs:.4f}'} |")
    return rows


def _comparison_note(metrics: dict) -> list[str]:
    """Under the metrics: the rows the champion was compared on, when it saw some test rows."""
    champion = metrics.get("champion") or {}
    if not champion.get("left_out"):
        return []
    ours = ", ".join(f"{k} {v:.4f}" for k, v in champion.get("challenger", {}).items())
    return [
        "",
        f"The champion was compared on the {champion['rows']} test rows it never trained or "
        f"validated on ({champion['left_out']} left out); this version on those rows: {ours}.",
    ]


def _gate_rows(gate: dict) -> list[str]:
    return [
        f"| {c['check']} | {c['value']:.4f} | {c['op']} {c['threshold']:.4f} | "
        f"{'pass' if c['passed'] else 'FAIL'} |"
        for c in gate.get("checks", [])
    ]


def model_card(record: Lineage) -> str:
    """A short markdown card: what the model is, how good, and where it came from."""
    scored = record.metrics.get("champion")  # its scores; which version it was: gate.json
    champion = (scored and record.gate.get("champion")) or "none"
    lines = [
        f"# {record.artifact} {record.version}",
        "",
        f"Registered {record.created_at} from commit `{record.source_commit[:12]}`"
        + (f", Prefect flow run `{record.flow_run_id}`." if record.flow_run_id else "."),
        "",
        f"- data: `{record.params['data']['source']}` (md5 `{record.data_md5}`)",
        f"- model md5 `{record.model_md5}`; trained on {record.training.get('device', '?')}"
        f" for {record.training.get('epochs_run', '?')} epochs",
        f"- takes {describe(record.signature) if record.signature else '(no signature recorded)'}",
        f"- split by {describe_split(record.split)}",
        "- libraries: " + ", ".join(f"{k} {v}" for k, v in record.libraries.items()),
        "",
        f"| test metric | this version | champion ({champion}) |",
        "| --- | --- | --- |",
        *_metric_rows(record.metrics),
        *_comparison_note(record.metrics),
        "",
        "| gate check | value | threshold | verdict |",
        "| --- | --- | --- | --- |",
        *_gate_rows(record.gate),
        "",
        "Plots: `dvc plots show` (training curves, confusion matrix, ROC, precision-recall).",
    ]
    return "\n".join(lines) + "\n"
