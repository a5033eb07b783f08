"""Data Docs: every validation is stored in the gx/ file context and rendered as a page.

Checks run in an ephemeral context (`tasks.validate.runner.Runner`), so no run writes datasource or
checkpoint configs into the committed gx/ files; only the merged result is stored, under
gx/uncommitted/ (ignored by git), and Data Docs are rebuilt for it.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

GX_DIR = "gx"
DOCS_INDEX = f"{GX_DIR}/uncommitted/data_docs/local_site/index.html"


def statistics(results: list) -> dict:
    passed = sum(1 for r in results if r.success)
    return {
        "evaluated_expectations": len(results),
        "successful_expectations": passed,
        "unsuccessful_expectations": len(results) - passed,
        "success_percent": 100 * passed / len(results) if results else None,
    }


def suite_page_stale(suite_name: str) -> bool:
    """Whether the committed suite's page is missing or older than the suite (rendering it
    costs a fraction of a second on every run otherwise)."""
    suite = Path(GX_DIR) / "expectations" / f"{suite_name}.json"
    page = Path(DOCS_INDEX).parent / "expectations" / f"{suite_name}.html"
    if not suite.exists():
        return False
    return not page.exists() or page.stat().st_mtime < suite.stat().st_mtime


def publish(results: list, suite_name: str, success: bool, about: dict) -> str:
    """Store one validation result and rebuild its Data Docs page; return the page's path.

    Args:
        results: merged expectation results, in suite order.
        suite_name: the committed suite the results belong to (its page is rebuilt too).
        success: the stage's verdict, which also counts trainflow's own checks.
        about: what was validated (source, files, rows), shown under "Batch Spec".
    """
    import great_expectations as gx
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    context = gx.get_context(mode="file", project_root_dir=".")
    run_id = RunIdentifier(
        run_name="trainflow-validate", run_time=datetime.datetime.now(datetime.UTC)
    )
    suite_id = ExpectationSuiteIdentifier(name=suite_name)
    key = ValidationResultIdentifier(
        expectation_suite_identifier=suite_id, run_id=run_id, batch_identifier="raw"
    )
    validation = ExpectationSuiteValidationResult(
        success=success,
        results=results,
        suite_name=suite_name,
        statistics=statistics(results),
        meta={
            "great_expectations_version": gx.__version__,
            "run_id": run_id,
            "validation_time": run_id.run_time,
            "batch_spec": about,
        },
    )
    context.validation_results_store.store_validation_results(validation, key, suite_id)
    pages = [key, suite_id] if suite_page_stale(suite_name) else [key]
    context.build_data_docs(resource_identifiers=pages)
    url = context.get_docs_sites_urls(resource_identifier=key)[0]["site_url"]
    return url2pathname(urlparse(url).path)
