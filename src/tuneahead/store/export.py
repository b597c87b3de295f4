"""Export the run store to the run-table format `fit` / `evaluate` read (see `tuneahead.store.table`).

Ground truth goes to its own table/file (`truth_*` columns), never next to the features.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuneahead.features.row import feature_row, relative_features
from tuneahead.store.sqlite import RunRecord, RunStore

if TYPE_CHECKING:
    import pandas as pd


def _curve_columns(record: RunRecord) -> dict[str, list]:
    """Live-run curves on one step axis: what Early-Stop Extrapolation gets to see.

    Steps are the union of the eval steps (eval metric and loss, NaN between them) and the logged
    training steps (train loss, NaN where it was not logged, e.g. step 0): the dense training curve
    is what an early-stop baseline can fit when only a few eval points fall in the first k %.
    """
    ev = record.curves.get("full_eval") or {}
    train = record.curves.get("full_train") or {}
    # TuneBench keeps the eval metric as "metric"; an imported run under the name it was logged as.
    logged_as = record.extra.get("outcome_metric")
    values = ev.get("metric") or (ev.get(logged_as, []) if isinstance(logged_as, str) else [])
    metric = dict(zip(ev.get("step", []), values))
    eval_loss = dict(zip(ev.get("step", []), ev.get("loss", [])))
    train_loss = dict(zip(train.get("step", []), train.get("loss", [])))
    steps = sorted(set(metric) | set(train_loss))
    return {
        "curve_steps": steps,
        "curve_eval_metric": [metric.get(s) for s in steps],
        "curve_eval_loss": [eval_loss.get(s) for s in steps],
        "curve_train_loss": [train_loss.get(s) for s in steps],
    }


def run_row(record: RunRecord) -> dict[str, Any]:
    row: dict[str, Any] = {
        "run_id": record.run_id,
        "family": record.family,
        "model_size": record.model_params,
        "model": record.model,
        "final_metric": record.final_metric,
        "target": record.target,
        "success": record.success,
        "cost_full": record.costs.get("flops_full"),
        "cost_probe": record.costs.get("flops_probe"),
        "cost_proxy": record.costs.get("flops_proxy"),
        "cost_seconds_full": record.costs.get("seconds_full"),
        "cost_seconds_probe": record.costs.get("seconds_probe"),
        "cost_seconds_proxy": record.costs.get("seconds_proxy"),
        "proxy_metric": record.extra.get("proxy_metric"),
        "proxy_zero_shot_metric": record.extra.get("proxy_zero_shot_metric"),
    }
    row.update(feature_row(recipe=record.recipe, descriptors=record.static_features, probe=record.dynamic_features,
                           finding_counts=_stored_finding_counts(record)))
    row.update(_curve_columns(record))
    return row


def to_frame(store: RunStore, *, campaign: str | None = None) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame([run_row(r) for r in store.iter_runs(campaign=campaign)])


def truth_frame(store: RunStore, *, campaign: str | None = None) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for r in store.iter_runs(campaign=campaign, with_truth=True):
        truth = r.ground_truth or {}
        rows.append({"run_id": r.run_id, **{f"truth_{k}": v for k, v in _flatten(truth).items()}})
    return pd.DataFrame(rows)


def _flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "_"))
        elif isinstance(v, list | tuple):
            out[key] = str(list(v))
        else:
            out[key] = v
    return out


def _stored_finding_counts(record: RunRecord) -> dict[str, float]:
    """Finding-count features of runs recorded before `describe` made them descriptors.

    Those runs stored their findings' severities (`finding_severities`, code -> severity, the probe's
    findings under `probe_*` codes); the counts are the same function of the data and recipe findings.
    Runs that stored neither get none (NaN in the table).
    """
    from tuneahead.data.findings import finding_count_features

    stored = record.extra.get("finding_severities")
    if not isinstance(stored, dict):
        return {}
    return finding_count_features(sev for code, sev in stored.items() if not str(code).startswith("probe_"))


def long_probe_features(record: RunRecord) -> dict[str, float] | None:
    """Dynamic features of the run's longer recorded probe (`probe_trace` curve), or None without one.

    The run's `probe_*` features come from the default probe a user would run; the longer probe is
    what adaptive probing extends to. Its features use the same names, so one table shape serves both.
    """
    from tuneahead.probe.features import features_from_trace
    from tuneahead.probe.trace import EvalPoint, StepRecord
    from tuneahead.store.curves import from_columns

    trace_cols, eval_cols = record.curves.get("probe_trace"), record.curves.get("probe_eval")
    if not trace_cols or not trace_cols.get("step"):
        return None
    from tuneahead.models.config import model_config

    trace = [StepRecord(**row) for row in from_columns(trace_cols)]
    evals = [EvalPoint(**row) for row in from_columns(eval_cols or {})]
    # The model's vocabulary, as the probe itself had it, so divergence is judged alike here and in the gate.
    vocab = (model_config(record.model) or {}).get("vocab_size")
    features = features_from_trace(trace, evals, vocab_size=vocab if isinstance(vocab, int) else None)
    return {**features, **relative_features(record.static_features, features)}


def long_probe_frame(store: RunStore, *, campaign: str | None = None) -> pd.DataFrame:
    """One row per run with a recorded longer probe: `run_id`, its step count, and its `probe_*` features."""
    import pandas as pd

    rows = []
    for r in store.iter_runs(campaign=campaign):
        feats = long_probe_features(r)
        if feats is not None:
            rows.append({"run_id": r.run_id, "long_probe_steps": len(r.curves["probe_trace"]["step"]), **feats})
    return pd.DataFrame(rows)


def export_parquet(store: RunStore, out: str | Path, *, campaign: str | None = None) -> tuple[Path, Path]:
    """Write `<out>` (runs), `<out stem>.truth.parquet` (ground truth) and `<out stem>.probe_long.parquet`
    (features of each run's longer recorded probe, for adaptive probing). Returns the first two paths."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    runs = to_frame(store, campaign=campaign)
    runs.to_parquet(out, index=False)
    truth_path = out.with_name(out.stem + ".truth.parquet")
    truth_frame(store, campaign=campaign).to_parquet(truth_path, index=False)
    long_probe_frame(store, campaign=campaign).to_parquet(out.with_name(out.stem + ".probe_long.parquet"), index=False)
    return out, truth_path
