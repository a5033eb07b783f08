"""Validate stage: Great Expectations checks on the raw data, before anything trains on it.

Tables are checked as they are; image folders through a manifest (one row per file: path,
label, height, width, channels, bytes, decodable). Structural checks come from params; an
optional hand-edited suite from gx/ (`validate.suite`) adds the dataset's own rules.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.errors import DataValidationError, ParamsError, stage_entry
from tasks.io import list_images, raw_kind, read_raw_table, write_json
from tasks.params import Params, ValidateParams, load_params

GX_DIR = "gx"
MAX_EXAMPLES = 5


@dataclass
class Check:
    """One expectation's outcome, in the words the failure message and report use."""

    expectation: str
    column: str | None
    success: bool
    observed: Any = None
    unexpected_percent: float | None = None
    examples: list[Any] = field(default_factory=list)

    def line(self) -> str:
        where = f" on column '{self.column}'" if self.column else ""
        text = f"{self.expectation}{where}: observed {self.observed}"
        if self.unexpected_percent is not None:
            text += f", {self.unexpected_percent:.1f}% unexpected"
        if self.examples:
            text += f", e.g. {self.examples}"
        return text


def manifest(images_root: Path) -> pd.DataFrame:
    """One row per image file with what a data check needs to know about it."""
    from PIL import Image

    rows = []
    for path, label in list_images(images_root):
        row = {
            "path": str(path.relative_to(images_root)),
            "label": label,
            "height": 0,
            "width": 0,
            "channels": 0,
            "bytes": path.stat().st_size,
            "decodable": True,
        }
        try:
            with Image.open(path) as image:
                image.load()
                row.update(height=image.height, width=image.width, channels=len(image.getbands()))
        except OSError:
            row["decodable"] = False
        rows.append(row)
    return pd.DataFrame(
        rows, columns=["path", "label", "height", "width", "channels", "bytes", "decodable"]
    )


def structural_expectations(target: str, rules: ValidateParams, features: list[str] | None) -> list:
    """Checks every dataset must pass, derived from params."""
    import great_expectations.expectations as gxe

    checks = [
        gxe.ExpectColumnToExist(column=target),
        gxe.ExpectColumnValuesToNotBeNull(column=target, mostly=1 - rules.max_null_target),
        gxe.ExpectColumnUniqueValueCountToBeBetween(column=target, min_value=rules.min_classes),
        gxe.ExpectTableRowCountToBeBetween(min_value=rules.min_classes * rules.min_rows_per_class),
    ]
    checks += [gxe.ExpectColumnToExist(column=name) for name in features or []]
    return checks


def image_expectations() -> list:
    import great_expectations.expectations as gxe

    return [gxe.ExpectColumnValuesToBeInSet(column="decodable", value_set=[True])]


def load_suite(name: str) -> list:
    """The expectations of a committed suite, gx/expectations/<name>.json."""
    import great_expectations as gx

    if not (Path(GX_DIR) / "expectations" / f"{name}.json").exists():
        raise ParamsError(f"validate.suite: no suite {GX_DIR}/expectations/{name}.json")
    context = gx.get_context(mode="file", project_root_dir=".")
    return list(context.suites.get(name).expectations)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def to_check(result: Any) -> Check:
    config, details = result.expectation_config, result.result or {}
    observed = details.get("observed_value")
    if observed is None and "unexpected_count" in details:
        observed = f"{details['unexpected_count']} of {details.get('element_count')} rows"
    if observed is None and not result.success:
        observed = "column missing" if "column" in config.kwargs else "check could not run"
    return Check(
        expectation=config.type,
        column=config.kwargs.get("column"),
        success=bool(result.success),
        observed=_clean(observed),
        unexpected_percent=details.get("unexpected_percent"),
        examples=[_clean(v) for v in details.get("partial_unexpected_list", [])[:MAX_EXAMPLES]],
    )


def run_expectations(frame: pd.DataFrame, expectations: list) -> list[Check]:
    """Run expectations on an in-memory frame with an ephemeral GX context."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("trainflow").add_dataframe_asset("raw")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": frame}
    )
    suite = gx.ExpectationSuite(name="trainflow", expectations=[e.copy() for e in expectations])
    return [to_check(result) for result in batch.validate(suite).results]


def class_counts_check(labels: pd.Series, minimum: int) -> Check:
    counts = labels.dropna().astype(str).value_counts()
    small = counts[counts < minimum]
    return Check(
        expectation="expect_min_rows_per_class",
        column=labels.name,
        success=small.empty,
        observed={str(k): int(v) for k, v in counts.sort_index().items()},
        examples=[f"{k}: {v} rows (< {minimum})" for k, v in small.items()][:MAX_EXAMPLES],
    )


def validate(
    frame: pd.DataFrame, target: str, expectations: list, rules: ValidateParams
) -> list[Check]:
    """Run every check on a table (or manifest) whose label column is `target`."""
    checks = run_expectations(frame, expectations)
    if target in frame.columns:
        checks.append(class_counts_check(frame[target], rules.min_rows_per_class))
    return checks


def summary(checks: list[Check]) -> str:
    failed = [check for check in checks if not check.success]
    lines = [f"{len(failed)} of {len(checks)} data checks failed:"]
    return "\n".join(lines + [f"  - {check.line()}" for check in failed])


def run(params: Params) -> list[Check]:
    rules, raw = params.validate_, Path(params.paths.raw)
    if raw_kind(raw) == "image":
        frame, target = manifest(raw / "images"), "label"
        expectations = structural_expectations(target, rules, None) + image_expectations()
    else:
        frame, target = read_raw_table(raw), params.data.target
        expectations = structural_expectations(target, rules, params.data.features)
    if rules.suite:
        expectations += load_suite(rules.suite)
    checks = validate(frame, target, expectations, rules)
    null_targets = int(frame[target].isna().sum()) if target in frame.columns else None
    report = {
        "success": all(c.success for c in checks),
        "rows": len(frame),
        "null_targets_dropped": null_targets,
        "checks": [asdict(c) for c in checks],
    }
    write_json(Path(params.paths.reports) / "validation.json", report)
    if not report["success"]:
        raise DataValidationError(f"{params.data.source}: {summary(checks)}")
    print(f"validate: {len(checks)} checks passed on {len(frame)} rows")
    return checks


@stage_entry("validate")
def main() -> None:
    run(load_params())


if __name__ == "__main__":
    main()
