"""The run table: one row per finished fine-tune, the format `fit` and `evaluate` read.

Convention (what the TuneBench corpus writes and what a team's own history should look like):

| column                    | meaning                                                                  |
| ------------------------- | ------------------------------------------------------------------------ |
| `run_id`                  | unique id of the run (kept out of the features)                          |
| `family`                  | task family; the default group for held-out evaluation                   |
| `model_size`              | base model size (number or label); the other held-out grouping           |
| *feature columns*         | numeric; NaN where a feature could not be computed (no probe, no eval set)|
| `final_metric`            | the target: the run's final score                                        |
| `target`                  | optional per-run threshold: success means `final_metric >= target`       |
| `model`                   | base model name (a label, kept out of the features)                      |
| `cost_full`               | cost of the full run (any consistent unit: FLOPs, GPU-seconds, dollars)  |
| `cost_probe`              | cost of TuneAhead's probe for that run (same unit)                       |
| `cost_proxy`              | cost of the ProxyLM proxy run (same unit)                                |
| `curve_steps`             | list: optimizer steps at which the live run's curves were logged         |
| `curve_eval_metric`       | list: eval metric at those steps (early-stop baseline)                   |
| `curve_eval_loss`         | list: eval loss at those steps                                           |
| `curve_train_loss`        | list: train loss at those steps                                          |
| `proxy_metric`            | the proxy model's fine-tuned score (ProxyLM baseline)                    |
| `proxy_zero_shot_metric`  | the proxy model's zero-shot score (ProxyLM baseline)                     |
| `cost_*`                  | any other cost (e.g. seconds): measured by the run, never a feature      |
| `truth_*`                 | ground truth of a generator's hidden knobs: never a feature              |

Every other numeric column is a feature, except catalogue features that measure the machine rather than
the run (group "speed", e.g. `probe_tokens_per_second`): they vary with hardware and load. Feature roles drive the ablations: a column registered in the
feature catalogue takes its kind ("static"/"dynamic") and group from there (group "recipe" means a
recipe hyperparameter); otherwise its name decides: `probe_*` columns are dynamic (they need the probe
run), `recipe_*` columns are recipe hyperparameters, anything else is a static data descriptor. Both
prefix lists can be changed by the caller.

List columns may be real lists (Parquet, JSON Lines) or JSON strings (CSV).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import tuneahead.catalogue  # noqa: F401  (every feature registered: the roles below come from the catalogue)
from tuneahead.errors import DataError, InputError, Location
from tuneahead.features.row import (  # the roles live with the feature row; re-exported for the run table's users
    DEFAULT_DYNAMIC_PREFIXES,
    DEFAULT_RECIPE_PREFIXES,
    FeatureInfo,
    Role,
    feature_info,
    is_machine_dependent,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

RUN_ID = "run_id"
FAMILY = "family"
MODEL_SIZE = "model_size"
FINAL_METRIC = "final_metric"
TARGET = "target"
COST_FULL = "cost_full"
COST_PROBE = "cost_probe"
COST_PROXY = "cost_proxy"
CURVE_STEPS = "curve_steps"
CURVE_EVAL_METRIC = "curve_eval_metric"
CURVE_EVAL_LOSS = "curve_eval_loss"
CURVE_TRAIN_LOSS = "curve_train_loss"
PROXY_METRIC = "proxy_metric"
PROXY_ZERO_SHOT_METRIC = "proxy_zero_shot_metric"
TRUTH_PREFIX = "truth_"
CURVE_PREFIX = "curve_"
COST_PREFIX = "cost_"  # any cost column (FLOPs, seconds, money) is an outcome, never a feature

#: Columns that are never features.
RESERVED: frozenset[str] = frozenset(
    {
        RUN_ID, FAMILY, MODEL_SIZE, "model", FINAL_METRIC, TARGET, COST_FULL, COST_PROBE, COST_PROXY,
        PROXY_METRIC, PROXY_ZERO_SHOT_METRIC, "success",
    }
)
CURVE_COLUMNS: tuple[str, ...] = (CURVE_STEPS, CURVE_EVAL_METRIC, CURVE_EVAL_LOSS, CURVE_TRAIN_LOSS)

def is_reserved(name: str) -> bool:
    return name in RESERVED or name.startswith((TRUTH_PREFIX, CURVE_PREFIX, COST_PREFIX))


def load_runs(path: str | Path) -> pd.DataFrame:
    """Read a run table from CSV, TSV, Parquet, JSON Lines or JSON (a list of objects).

    A SQLite run store (.sqlite, .sqlite3, .db) is exported to the same format on the fly.
    """
    import pandas as pd

    p = Path(path)
    loc = Location(file=str(p))
    if not os.path.exists(p):  # never raises (Path.exists does, for a name too long)
        raise InputError("run table not found", loc)
    suffix = p.suffix.lower()
    try:
        if suffix in {".csv", ".tsv", ".txt"}:
            df = pd.read_csv(p, sep="\t" if suffix == ".tsv" else ",")
        elif suffix in {".parquet", ".pq"}:
            df = pd.read_parquet(p)
        elif suffix in {".jsonl", ".ndjson"}:
            df = pd.read_json(p, lines=True)
        elif suffix == ".json":
            df = pd.DataFrame(json.loads(p.read_text(encoding="utf-8")))
        elif suffix in {".db", ".sqlite", ".sqlite3"}:
            df = _read_store(p)
        else:
            raise InputError(
                f"unsupported run-table format {suffix or '(no suffix)'!r}",
                loc,
                hint="use .csv, .tsv, .parquet, .jsonl, .json or a run store (.sqlite)",
            )
    except (InputError, DataError):
        raise
    except (ValueError, OSError, UnicodeDecodeError) as exc:  # parser errors from pandas / pyarrow / json
        raise DataError(f"cannot read run table: {exc}", loc) from None
    if df.empty:
        raise DataError("run table has no rows", loc)
    df.columns = [str(c) for c in df.columns]
    # Where each row came from, so an error about a value can name the file and its line.
    df.attrs[SOURCE_ATTR] = str(p)
    df.attrs[FIRST_LINE_ATTR] = {".csv": 2, ".tsv": 2, ".txt": 2, ".jsonl": 1, ".ndjson": 1}.get(suffix)
    if suffix in {".csv", ".tsv", ".txt"}:
        _check_rectangular(p, "\t" if suffix == ".tsv" else ",")
    df = _decode_list_columns(df, str(p))
    _check_unique_runs(df)
    return df


SOURCE_ATTR = "tuneahead_source"  # DataFrame.attrs key: the file a run table was read from
FIRST_LINE_ATTR = "tuneahead_first_line"  # ... and the file line of its first row (None: no lines)


def row_location(table: pd.DataFrame, row: int, field: str | None = None) -> Location:
    """Where row `row` (0-based position) of a run table is in the user's file, as far as is known."""
    first = table.attrs.get(FIRST_LINE_ATTR)
    return Location(file=table.attrs.get(SOURCE_ATTR), line=None if first is None else first + row, field=field)


def _row_name(table: pd.DataFrame, row: int) -> str:
    return "" if table.attrs.get(FIRST_LINE_ATTR) is not None else f" (row {row + 1})"


def _check_rectangular(path: Path, sep: str) -> None:
    """pandas pads a short CSV row with NaN without a word: a row with a field missing is an error."""
    import csv

    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=sep)
        header = next(reader, [])
        for row in reader:
            if row and len(row) != len(header):
                raise DataError(
                    f"this row has {len(row)} fields, the header {len(header)}",
                    Location(file=str(path), line=reader.line_num),
                    hint="every row needs a value (possibly empty) for every column",
                )


def _check_unique_runs(table: pd.DataFrame) -> None:
    """A run counted twice weighs double and can sit on both sides of a held-out split."""
    if RUN_ID in table.columns:
        ids = table[RUN_ID].astype(str)
        dup = ids.duplicated(keep=False)
        if dup.any():
            first, second = (int(i) for i in ids.index[dup][:2])
            raise DataError(
                f"run id {ids.iloc[first]!r} appears twice{_row_name(table, second)}",
                row_location(table, second, RUN_ID),
                hint=f"first seen at {row_location(table, first)}; each run must be listed once",
            )
        rest = table.drop(columns=[RUN_ID])
    else:
        rest = table
    hashable = rest.map(lambda v: json.dumps(v) if isinstance(v, list) else v)
    same = hashable.duplicated(keep=False)
    if same.any():
        first, second = (int(i) for i in hashable.index[same][:2])
        raise DataError(
            f"this row repeats another one in every value{_row_name(table, second)} (a run recorded twice?)",
            row_location(table, second),
            hint=f"the same as {row_location(table, first)}; drop one of them",
        )


def require_numeric(table: pd.DataFrame, cols: Iterable[str]) -> None:
    """Every value of `cols` is a number or missing; else an error naming the file, line and column."""
    import pandas as pd

    for col in cols:
        if pd.api.types.is_numeric_dtype(table[col]) or pd.api.types.is_bool_dtype(table[col]):
            continue
        for i, v in enumerate(table[col].tolist()):
            if v is None or isinstance(v, bool):
                continue
            try:
                float(v)
            except (TypeError, ValueError):
                raise InputError(
                    f"{col!r} must be a number, got {v!r}{_row_name(table, i)}", row_location(table, i, col)
                ) from None


def _read_store(path: Path) -> pd.DataFrame:
    import sqlite3

    from tuneahead.store.export import to_frame
    from tuneahead.store.sqlite import RunStore

    try:
        with RunStore(path) as store:
            return to_frame(store)
    except sqlite3.DatabaseError as exc:
        raise DataError(f"not a readable run store: {exc}", Location(file=str(path))) from None


def _is_number_or_none(x: object) -> bool:
    return x is None or (isinstance(x, int | float) and not isinstance(x, bool))


def _decode_list_columns(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """CSV stores list columns as JSON text; turn them back into lists of floats."""
    for col in df.columns:
        if not col.startswith(CURVE_PREFIX):
            continue
        values: list[list[float] | None] = []
        for i, v in enumerate(df[col].tolist()):
            if isinstance(v, str):
                try:
                    v = json.loads(v)
                except json.JSONDecodeError:
                    raise DataError(
                        "curve column must hold a JSON list of numbers", Location(file=source, line=i + 2, field=col)
                    ) from None
            if v is None or (isinstance(v, float) and math.isnan(v)):
                values.append(None)
                continue
            items = v.tolist() if hasattr(v, "tolist") else v
            if not isinstance(items, list | tuple) or not all(_is_number_or_none(x) for x in items):
                raise DataError(
                    f"curve column must hold a list of numbers, got {v!r}", row_location(df, i, col)
                )
            values.append([math.nan if x is None else float(x) for x in items])
        df[col] = values
    return df


@dataclass(frozen=True)
class Task:
    """What is predicted from a run table and how success is defined.

    `threshold` is a number (the same target for every run), the name of a column holding each run's
    threshold, or None (regression only). Success means `target >= threshold`.
    """

    target: str = FINAL_METRIC
    threshold: float | str | None = TARGET
    group_col: str | None = FAMILY
    feature_cols: tuple[str, ...] | None = None
    exclude_cols: tuple[str, ...] = ()
    dynamic_prefixes: tuple[str, ...] = DEFAULT_DYNAMIC_PREFIXES
    recipe_prefixes: tuple[str, ...] = DEFAULT_RECIPE_PREFIXES

    def resolve(self, table: pd.DataFrame) -> Task:
        """Check the columns exist and pin the feature list, so every method sees the same features."""
        require_columns(table, [self.target], what="target")
        if isinstance(self.threshold, str):
            require_columns(table, [self.threshold], what="threshold")
        require_numeric(table, [self.target, *([self.threshold] if isinstance(self.threshold, str) else [])])
        require_varying(table, self.target)
        cols = select_feature_columns(
            table,
            target=self.target,
            feature_cols=self.feature_cols,
            exclude=(*self.exclude_cols, *([self.threshold] if isinstance(self.threshold, str) else [])),
        )
        from dataclasses import replace

        return replace(self, feature_cols=tuple(cols))

    def info(self, name: str) -> FeatureInfo:
        return feature_info(name, dynamic_prefixes=self.dynamic_prefixes, recipe_prefixes=self.recipe_prefixes)

    def columns_with_role(self, *roles: Role) -> list[str]:
        if self.feature_cols is None:
            raise ValueError("call Task.resolve(table) first")
        return [c for c in self.feature_cols if self.info(c).role in roles]

    def thresholds(self, table: pd.DataFrame) -> np.ndarray:
        import numpy as np

        if self.threshold is None:
            return np.full(len(table), np.nan)
        if isinstance(self.threshold, str):
            return table[self.threshold].to_numpy(dtype=float)
        return np.full(len(table), float(self.threshold))

    def success(self, table: pd.DataFrame) -> np.ndarray:
        """Boolean success labels (needs a threshold)."""
        import numpy as np

        t = self.thresholds(table)
        y = table[self.target].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            return y >= t


def require_varying(table: pd.DataFrame, target: str) -> None:
    """A target that is the same in every run has nothing to teach (and scores a meaningless R² of 1)."""
    import pandas as pd

    values = pd.to_numeric(table[target], errors="coerce").dropna()
    if len(values) > 1 and values.nunique() == 1:
        raise InputError(
            f"{target!r} is {values.iloc[0]:g} in every run: there is nothing to learn or evaluate",
            Location(file=table.attrs.get(SOURCE_ATTR), field=target),
            hint="check that the column holds each run's own final score",
        )


def require_columns(table: pd.DataFrame, cols: Iterable[str], *, what: str = "column") -> None:
    missing = [c for c in cols if c not in table.columns]
    if missing:
        shown = ", ".join(list(map(str, table.columns))[:20])
        raise InputError(
            f"{what} column {missing[0]!r} not found in the run table",
            Location(field=missing[0]),
            hint=f"available columns: {shown}{' …' if len(table.columns) > 20 else ''}",
        )


def select_feature_columns(
    table: pd.DataFrame,
    *,
    target: str,
    feature_cols: Sequence[str] | None = None,
    exclude: Iterable[str] = (),
) -> list[str]:
    """The feature columns: the ones asked for, or every non-reserved column. All must be numeric."""
    import pandas as pd

    excluded = set(exclude) | {target}
    if feature_cols is not None:
        require_columns(table, feature_cols, what="feature")
        cols = [c for c in feature_cols if c not in excluded]
    else:
        cols = [
            c for c in table.columns if c not in excluded and not is_reserved(c) and not is_machine_dependent(c)
        ]
    bad = [c for c in cols if not (pd.api.types.is_numeric_dtype(table[c]) or pd.api.types.is_bool_dtype(table[c]))]
    # Object columns that are entirely missing are harmless (e.g. a probe feature nobody computed).
    bad = [c for c in bad if not table[c].isna().all()]
    if bad:
        raise InputError(
            f"feature column {bad[0]!r} is not numeric"
            + (f" (also: {', '.join(bad[1:6])}{' …' if len(bad) > 6 else ''})" if len(bad) > 1 else ""),
            Location(field=bad[0]),
            hint="encode it as a number, or leave it out with --drop-cols / --id-cols",
        )
    if not cols:
        raise InputError("the run table has no feature columns", hint="pass the feature columns explicitly")
    return cols
