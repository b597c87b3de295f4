"""The one feature row rebuilds the committed corpus: what the export trained the bundled predictor on is
what `features.row` assembles from the run stores today (no train/serve skew, no silent drift)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from tuneahead.store.export import to_frame
from tuneahead.store.sqlite import RunStore

BENCH = Path(__file__).parent.parent / "bench"


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if a is None and isinstance(b, float) and math.isnan(b) or b is None and isinstance(a, float) and math.isnan(a):
        return True
    return a == b or (isinstance(a, float) and isinstance(b, float) and abs(a - b) <= 1e-12 * max(1, abs(a)))


@pytest.mark.parametrize("corpus", ["pilot", "pilot-v5"])
def test_rows_rebuilt_from_the_run_store_equal_the_committed_export(corpus: str) -> None:
    exported = pd.read_parquet(BENCH / corpus / "runs.parquet")
    with RunStore(BENCH / corpus / "runs.db") as store:
        rebuilt = to_frame(store)
    rebuilt = rebuilt[rebuilt["run_id"].isin(exported["run_id"])].set_index("run_id").loc[exported["run_id"]]
    exported = exported.set_index("run_id")
    features = [c for c in exported.columns if not c.startswith(("curve_", "cost_", "truth_"))]
    assert set(features) <= set(rebuilt.columns)
    assert len(rebuilt) == len(exported) > 200
    for column in features:
        mismatches = [run for run in exported.index if not _same(exported.at[run, column], rebuilt.at[run, column])]
        assert not mismatches, (column, mismatches[:3])
