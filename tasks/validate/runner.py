"""Great Expectations on one in-memory frame, in one ephemeral context for the whole stage."""

from __future__ import annotations

import pandas as pd


class Runner:
    """One ephemeral GX context for the stage: validating a frame writes no files."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        # GX fingerprints each batch under HASH_THRESHOLD bytes by hashing all its values
        # (about half a second per million rows of 20 columns) for a batch marker nothing
        # here reads: a slab's fingerprint says nothing of the table, which DVC hashes.
        pandas_execution_engine.HASH_THRESHOLD = 0
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = context.data_sources.add_pandas("trainflow").add_dataframe_asset("raw")
        self.batches = asset.add_batch_definition_whole_dataframe("batch")

    def run(self, frame: pd.DataFrame, expectations: list) -> list:
        """Validate `frame`; results in the order of `expectations`, with their configs."""
        import great_expectations as gx

        if not expectations:
            return []
        tagged = [
            e.copy(update={"id": None, "meta": {"trainflow_position": i}})
            for i, e in enumerate(expectations)
        ]
        suite = gx.ExpectationSuite(name="trainflow", expectations=tagged)
        batch = self.batches.get_batch(batch_parameters={"dataframe": frame})
        results = sorted(
            batch.validate(suite).results,
            key=lambda r: r.expectation_config.meta["trainflow_position"],
        )
        # GX keeps the last batch it loaded until another replaces it: load an empty one, so
        # a batch is freed once validated, not kept while the next one is read and counted.
        empty = self.batches.get_batch(batch_parameters={"dataframe": pd.DataFrame()})
        empty.validate(gx.ExpectationSuite(name="release", expectations=[]))
        for result, expectation in zip(results, expectations, strict=True):
            result.expectation_config = expectation.configuration
        return results
