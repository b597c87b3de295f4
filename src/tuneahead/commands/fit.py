"""`tuneahead fit`: learn a predictor from a history of runs (the run store, or any CSV/Parquet table)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tuneahead.commands._common import console, emit_json, err_console, guarded
from tuneahead.errors import ExitCode, InputError, Location


def split_list(values: list[str] | None) -> list[str]:
    """Options that take names accept both repetition and commas: --drop-cols a,b --drop-cols c."""
    out: list[str] = []
    for v in values or []:
        out += [x.strip() for x in v.split(",") if x.strip()]
    return out


def parse_threshold(value: str | None, columns: list[str], default_col: str = "target") -> float | str | None:
    """A number, a column name, 'none', or (unset) the `target` column when the table has one."""
    if value is None:
        return default_col if default_col in columns else None
    if value.lower() == "none":
        return None
    try:
        return float(value)
    except ValueError:
        pass
    if value not in columns:
        raise InputError(
            f"--threshold {value!r} is neither a number nor a column of the run table",
            Location(field="threshold"),
            hint="pass a number (e.g. 0.7) or the name of the column holding each run's threshold",
        )
    return value


def register(app: typer.Typer) -> None:
    @app.command("fit")
    def fit_cmd(
        runs: Path = typer.Option(..., "--runs", help="run table: run store, CSV, TSV, Parquet or JSON Lines"),
        out: Path = typer.Option(Path("predictor"), "--out", "-o", help="directory to write the predictor to"),
        target: str = typer.Option("final_metric", "--target", help="column to predict (the final metric)"),
        threshold: str = typer.Option(
            None, "--threshold", help="success threshold: a number, a column of per-run thresholds, or 'none' "
            "(default: the 'target' column when present)"
        ),
        group_col: str = typer.Option(
            None, "--group-col", help="column whose groups inner cross-fitting holds out (default: 'family' if present; "
            "'none' for random folds)"
        ),
        feature_cols: list[str] = typer.Option(None, "--features", help="feature columns (default: every numeric column "
                                                "that is not reserved, an id or dropped)"),
        id_cols: list[str] = typer.Option(None, "--id-cols", help="identifier columns to ignore"),
        drop_cols: list[str] = typer.Option(None, "--drop-cols", help="columns to leave out of the features"),
        coverage: float = typer.Option(0.9, "--coverage", help="prediction-interval coverage"),
        p_method: str = typer.Option("auto", "--p-method", help="P(success) source: auto | classifier (LightGBM) | linear | conformal"),
        calibration: str = typer.Option("auto", "--calibration", help="auto | isotonic | platt | identity"),
        regularisation: str = typer.Option("auto", "--regularisation", help="auto: the inner folds choose among "
                                           "three tree settings, simplest last | fixed: the default setting only"),
        dynamic_prefix: list[str] = typer.Option(None, "--dynamic-prefix", help="prefix of probe (dynamic) columns "
                                                  "not in the feature catalogue [probe_]"),
        recipe_prefix: list[str] = typer.Option(None, "--recipe-prefix", help="prefix of recipe-hyperparameter "
                                                 "columns not in the feature catalogue [recipe_]"),
        plots: bool = typer.Option(False, "--plots", help="also write SHAP beeswarm and bar plots (PNG + SVG)"),
        base: str = typer.Option(None, "--base", help="adapt this predictor to the runs instead of fitting from "
                                 "scratch: 'bundled' or a predictor directory (the best of bundled / recalibrated / "
                                 "team-only / union, by cross-validation on the runs, is written)"),
        base_runs: Path = typer.Option(None, "--base-runs", help="with --base: the base predictor's own training runs, "
                                       "to try a refit on them plus yours (e.g. bench/pooled/runs.parquet)"),
        seed: int = typer.Option(0, "--seed", help="random seed"),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
    ) -> None:
        """Fit a predictor: final-metric forecast with intervals, calibrated P(success), SHAP explanations."""

        def run() -> int:
            from tuneahead.predict import Predictor
            from tuneahead.store.table import DEFAULT_DYNAMIC_PREFIXES, DEFAULT_RECIPE_PREFIXES, load_runs

            table = load_runs(runs)
            columns = list(table.columns)
            thr = parse_threshold(threshold, columns)
            group = _group(group_col, columns)
            if base is not None:
                return _adapt(base, base_runs, table, target=target, threshold=thr, group=group, seed=seed, out=out,
                              as_json=as_json)
            if not as_json:
                err_console.print(f"fitting on {len(table)} runs from {runs} …")
            predictor = Predictor(
                p_method=p_method,  # type: ignore[arg-type]
                calibration=calibration,  # type: ignore[arg-type]
                regularisation=regularisation,  # type: ignore[arg-type]
                seed=seed,
                dynamic_prefixes=tuple(split_list(dynamic_prefix)) or DEFAULT_DYNAMIC_PREFIXES,
                recipe_prefixes=tuple(split_list(recipe_prefix)) or DEFAULT_RECIPE_PREFIXES,
            )
            predictor.fit(
                table,
                target,
                threshold=thr,
                feature_cols=split_list(feature_cols) or None,
                group_col=group,
                coverage=coverage,
                exclude_cols=[*split_list(id_cols), *split_list(drop_cols)],
            )
            predictor.save(out)
            written: list[str] = []
            if plots:
                from tuneahead.predict.plots import summary_plots

                written = [str(p) for p in summary_plots(predictor, table, out)]
            payload = _summary(predictor, out, written)
            payload["runs_without"] = _runs_without(predictor, table)
            if as_json:
                emit_json({"ok": True, **payload})
            else:
                _render(payload)
            return ExitCode.OK

        guarded(run, as_json=as_json)


def _group(value: str | None, columns: list[str]) -> str | None:
    if value is None:
        return "family" if "family" in columns else None
    if value.lower() == "none":
        return None
    return value


def _summary(predictor: Any, out: Path, plots: list[str]) -> dict[str, Any]:
    schema = predictor.schema
    roles: dict[str, int] = {}
    for r in schema.roles:
        roles[r] = roles.get(r, 0) + 1
    return {
        "predictor_dir": str(out),
        "target": predictor.target,
        "threshold": predictor.threshold_col or predictor.threshold_value,
        "coverage": predictor.coverage,
        "features": list(schema.names),
        "feature_roles": roles,
        "schema_version": schema.version,
        "rounds": predictor.rounds,
        "p_method": predictor.p_method,
        "diagnostics": predictor.diagnostics,
        "importance": [{"feature": n, "mean_abs_shap": v} for n, v in predictor.importance],
        "plots": plots,
    }


def _adapt(base: str, base_runs: Path | None, table: Any, *, target: str, threshold: Any, group: str | None,
           seed: int, out: Path, as_json: bool) -> int:
    """`fit --base`: adapt a predictor fitted elsewhere to these runs (`gate.adapt`) and report the comparison."""
    from tuneahead.gate.adapt import adapt
    from tuneahead.gate.bundle import load_bundle
    from tuneahead.store.table import load_runs

    if threshold is None:
        raise InputError("adapting needs a success threshold", Location(field="threshold"))
    bundle = load_bundle(None if base == "bundled" else base)
    result = adapt(bundle.stages[0].predictor, table, target=target, threshold=threshold, group_col=group,
                   base_runs=load_runs(base_runs) if base_runs is not None else None, seed=seed)
    result.predictor.save(out)
    if as_json:
        emit_json({"ok": True, "predictor_dir": str(out), "base": bundle.source, **result.to_dict()})
        return ExitCode.OK
    from rich.table import Table

    view = Table(title=f"{result.n_runs} runs, cross-validated (lower Brier is better)", header_style="bold")
    for column in ("candidate", "AUROC", "Brier"):
        view.add_column(column, justify="left" if column == "candidate" else "right")
    for name, s in result.scores.items():
        mark = " (written)" if name == result.chosen else ""
        view.add_row(name + mark, f"{s['auroc']:.3f}", f"{s['brier']:.3f}")
    console.print(view)
    for note in result.notes:
        console.print(f"[dim]{note}[/]")
    console.print(f"[bold]{result.chosen}[/] predictor written to {out} (base: {bundle.source}); "
                  f"use it with check --predictor {out}")
    return ExitCode.OK


def _runs_without(predictor: Any, table: Any) -> dict[str, int]:
    """Per feature role (static, dynamic), the runs that have none of its features: imported runs not yet
    backfilled. LightGBM treats their missing values as missing, so they teach what the other groups say."""
    import numpy as np

    schema = predictor.schema
    out: dict[str, int] = {}
    for role in ("static", "dynamic"):
        names = [n for n, r in zip(schema.names, schema.roles, strict=True) if r == role and n in table.columns]
        if names:
            values = table[names].apply(lambda c: c.astype(float)).to_numpy()
            out[role] = int((~np.isfinite(values)).all(axis=1).sum())
    return out


def _render(p: dict[str, Any]) -> None:
    from rich.table import Table

    d = p["diagnostics"]
    oof = d["oof"]
    roles = ", ".join(f"{n} {r}" for r, n in p["feature_roles"].items())
    console.print(f"[bold]predictor[/] written to {p['predictor_dir']}")
    console.print(f"{d['n_runs']} runs, {len(p['features'])} features ({roles}); inner folds {d['inner_folds']} "
                  f"({d['inner_split']}); trees {p['rounds']}")
    console.print(f"out-of-fold forecast of {p['target']}: RMSE {oof['rmse']:.4g}, R² {oof['r2']:.3f}, "
                  f"{oof['target_coverage']:.0%} interval covers {oof['interval_coverage']:.1%}")
    words = {"static": "data descriptors", "dynamic": "probe features"}
    for role, n in p.get("runs_without", {}).items():
        if n:
            console.print(f"{n} of {d['n_runs']} runs have no {words[role]} (imported, not backfilled: "
                          "`tuneahead runs backfill`); they teach what their other features say")
    ps = d.get("p_success")
    if ps:
        chosen = ps["methods"][ps["chosen"]]
        console.print(f"P(success) from {ps['chosen']} + {chosen['calibration']} calibration: out-of-fold Brier "
                      f"{chosen['brier_calibrated']:.3f}, AUROC {chosen['auroc'] or float('nan'):.3f} "
                      f"({ps['n_success']} successes, {ps['n_failure']} failures)")
    else:
        console.print("no success threshold: P(success) needs --threshold at predict time (conformal, uncalibrated)")
    table = Table(title="global importance (mean |SHAP|)", show_edge=False)
    table.add_column("feature")
    table.add_column("mean |SHAP|", justify="right")
    for row in p["importance"][:10]:
        table.add_row(row["feature"], f"{row['mean_abs_shap']:.4g}")
    console.print(table)
    for path in p["plots"]:
        console.print(f"plot: {path}")
