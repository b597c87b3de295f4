"""`tuneahead evaluate`: held-out comparison of the predictor with baselines on a run table."""

from __future__ import annotations

from pathlib import Path

import typer

from tuneahead.commands._common import console, emit_json, err_console, guarded
from tuneahead.commands.fit import parse_threshold, split_list
from tuneahead.errors import ExitCode, InputError, Location
from tuneahead.predict.cutoffs import DEFAULT_COST_RATIO

ALL_METHODS = (
    "tuneahead", "static-only", "dynamic-only", "recipe-only", "proxylm", "early-stop", "linear-early-stop", "majority",
)


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate_cmd(
        runs: Path = typer.Option(..., "--runs", help="run table: run store, CSV, TSV, Parquet or JSON Lines"),
        target: str = typer.Option("final_metric", "--target", help="column to predict (the final metric)"),
        threshold: str = typer.Option(
            None, "--threshold", help="success threshold: a number or a column of per-run thresholds "
            "(default: the 'target' column)"
        ),
        split_by: str = typer.Option(
            "family", "--split-by", help="hold out groups of this column (family, model_size, any column) or 'none'"
        ),
        test_on: str = typer.Option(
            None, "--test-on", help="one fixed split instead of folds: train on the other --split-by groups, "
            "score this one (e.g. --split-by model_size --test-on tiny-4m)"
        ),
        folds: int = typer.Option(5, "--folds", help="number of folds (leave-one-group-out with fewer groups)"),
        seeds: int = typer.Option(3, "--seeds", help="number of repeated seeds"),
        methods: list[str] = typer.Option(None, "--methods", help=f"methods to compare (default: all): {', '.join(ALL_METHODS)}"),
        fractions: list[str] = typer.Option(None, "--fractions", help="early-stop prefixes in % of the run [10,20,30]"),
        decision_threshold: float = typer.Option(0.5, "--decision-threshold", help="let a run through when P(success) >= this"),
        cost_ratio: float = typer.Option(
            DEFAULT_COST_RATIO, "--cost-ratio", help="what stopping a run that would have succeeded costs, in failed "
            "full runs: TuneAhead's verdict cut-offs are set for it on each fold's training runs, as `check` does"
        ),
        n_boot: int = typer.Option(500, "--bootstrap", help="bootstrap resamples for confidence intervals (0: none)"),
        tolerance: float = typer.Option(None, "--tolerance", help="forecast tolerance (default ±3 pp: 0.03 or 3)"),
        id_cols: list[str] = typer.Option(None, "--id-cols", help="identifier columns to ignore"),
        drop_cols: list[str] = typer.Option(None, "--drop-cols", help="columns to leave out of the features"),
        dynamic_prefix: list[str] = typer.Option(None, "--dynamic-prefix", help="prefix of probe (dynamic) columns [probe_]"),
        recipe_prefix: list[str] = typer.Option(None, "--recipe-prefix", help="prefix of recipe columns [recipe_]"),
        out: Path = typer.Option(None, "--out", "-o", help="directory for evaluation.md and evaluation.json"),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
    ) -> None:
        """Evaluate held out by group: recalls, AUROC, Brier, RMSE, coverage, compute savings, with bootstrap CIs."""

        def run() -> int:
            from tuneahead.evaluate.harness import EvalConfig, evaluate
            from tuneahead.store.table import (
                DEFAULT_DYNAMIC_PREFIXES,
                DEFAULT_RECIPE_PREFIXES,
                Task,
                load_runs,
            )

            table = load_runs(runs)
            thr = parse_threshold(threshold, list(table.columns))
            if thr is None:
                raise InputError("evaluation needs a success threshold", Location(field="threshold"),
                                 hint="pass --threshold 0.7 or --threshold <column with per-run thresholds>")
            task = Task(
                target=target,
                threshold=thr,
                exclude_cols=tuple(split_list(id_cols) + split_list(drop_cols)),
                dynamic_prefixes=tuple(split_list(dynamic_prefix)) or DEFAULT_DYNAMIC_PREFIXES,
                recipe_prefixes=tuple(split_list(recipe_prefix)) or DEFAULT_RECIPE_PREFIXES,
            )
            if seeds < 1 or folds < 2:
                raise InputError("need --seeds >= 1 and --folds >= 2")
            from tuneahead.gate.policy import Policy
            from tuneahead.predict.cutoffs import fixed_cut_offs

            if not cost_ratio > 0:
                raise InputError("--cost-ratio must be a positive number", Location(field="cost_ratio"))
            policy = Policy.for_stakes(fixed_cut_offs(cost_ratio))  # methods that set no cut-offs of their own
            config = EvalConfig(
                cost_ratio=cost_ratio,
                split_by=None if split_by.lower() == "none" else split_by,
                test_group=test_on,
                n_folds=folds,
                seeds=tuple(range(seeds)),
                decision_threshold=decision_threshold,
                n_boot=n_boot,
                tolerance=tolerance,
                verdict_thresholds=(policy.no_go_at, policy.go_at),
            )
            chosen = _methods(split_list(methods), split_list(fractions))
            say = None if as_json else (lambda msg: err_console.print(f"[dim]{msg}[/]"))
            result = evaluate(table, task, chosen, config, progress=say)
            from tuneahead.evaluate.report import to_markdown

            markdown = to_markdown(result)
            payload = result.to_dict()
            if out is not None:
                import json

                from tuneahead.commands._common import to_json

                out.mkdir(parents=True, exist_ok=True)
                (out / "evaluation.md").write_text(markdown, encoding="utf-8")
                (out / "evaluation.json").write_text(to_json(payload) + "\n", encoding="utf-8")
                json.loads((out / "evaluation.json").read_text(encoding="utf-8"))  # strict JSON, checked
                payload["written"] = [str(out / "evaluation.md"), str(out / "evaluation.json")]
            if as_json:
                emit_json({"ok": True, **payload})
            else:
                _render(result)
                for path in payload.get("written", []):
                    console.print(f"written: {path}")
            return ExitCode.OK

        guarded(run, as_json=as_json)


def _methods(names: list[str], fractions: list[str]) -> list:
    from tuneahead.baselines.early_stop import EarlyStopExtrapolation, LinearEarlyStop
    from tuneahead.baselines.ours import Majority, ProxyLM, tuneahead_methods

    wanted = names or list(ALL_METHODS)
    unknown = [n for n in wanted if n not in ALL_METHODS]
    if unknown:
        raise InputError(f"unknown method {unknown[0]!r}", Location(field="methods"),
                         hint=f"choose among: {', '.join(ALL_METHODS)}")
    try:
        fracs = [float(f) / 100.0 for f in fractions] or [0.1, 0.2, 0.3]
    except ValueError:
        raise InputError("--fractions takes percentages, e.g. 10,20,30", Location(field="fractions")) from None
    if not all(0.0 < f < 1.0 for f in fracs):
        raise InputError("--fractions must lie strictly between 0 and 100", Location(field="fractions"))
    chosen: list = [m for m in tuneahead_methods() if m.name in wanted]
    if "proxylm" in wanted:
        chosen.append(ProxyLM())
    if "early-stop" in wanted:
        chosen += [EarlyStopExtrapolation(f) for f in fracs]
    if "linear-early-stop" in wanted:
        chosen.append(LinearEarlyStop(0.1))
    if "majority" in wanted:
        chosen.append(Majority())
    return chosen


def _render(result) -> None:  # type: ignore[no-untyped-def]
    """A compact terminal table (point estimates); the Markdown/JSON files carry the confidence intervals."""
    import math

    from rich import box
    from rich.table import Table

    def fmt(v: float, kind: str) -> str:
        if v is None or not math.isfinite(v):
            return "–"
        return f"{100 * v:.1f}%" if kind == "pct" else (f"{v:.0f}" if kind == "int" else f"{v:.3f}")

    cfg = result.config
    split = f"held out by {cfg.split_by} ({result.n_groups} groups)" if cfg.split_by else "random folds"
    if cfg.test_group is not None:
        split = f"trained on the other {cfg.split_by} groups, tested on {cfg.split_by} = {cfg.test_group}"
    console.print(f"[bold]{result.n_runs} runs[/], {result.n_success} successes, {split}, {len(cfg.seeds)} seed(s); "
                  f"oracle savings {fmt(result.oracle_savings, 'pct')}")
    gate = (
        ("decide_cost_share", "cost", "pct"), ("success_recall", "succ.rec", "pct"),
        ("failure_recall", "fail.rec", "pct"), ("auroc", "AUROC", "num"), ("brier", "Brier", "num"),
        ("savings", "saved", "pct"), ("successes_lost", "lost", "int"),
    )
    forecast = (("rmse", "RMSE", "num"), ("within_tol", f"±{result.tolerance:g}", "pct"),
                ("interval_coverage", "interval coverage", "pct"), ("interval_width", "width", "num"))
    verdicts = (("go_at", "GO at", "num"), ("no_go_at", "NO-GO at", "num"), ("go_share", "GO", "pct"), ("go_precision", "GO→succ.", "pct"), ("no_go_share", "NO-GO", "pct"),
                ("no_go_precision", "NO-GO→fail", "pct"), ("uncertain_share", "UNCERTAIN", "pct"),
                ("verdict_successes_lost", "succ. stopped", "int"), ("verdict_savings_of_oracle", "saved/oracle", "pct"))
    for title, columns in (("gate", gate), (f"verdicts at cost ratio {cfg.cost_ratio:g}", verdicts),
                           ("forecast of the final metric", forecast)):
        table = Table(title=title, box=box.SIMPLE_HEAD, header_style="bold", title_justify="left", pad_edge=False,
                      collapse_padding=True)
        table.add_column("method", no_wrap=True)
        for _, name, _ in columns:
            table.add_column(name, justify="right", no_wrap=True)
        for m in result.methods:
            if m.status == "ok":
                table.add_row(m.name, *(fmt(m.metrics.get(k, float("nan")), kind) for k, _, kind in columns))
        console.print(table)
    for m in result.methods:
        if m.status != "ok" or m.note:
            console.print(f"[dim]{m.name}: {m.status}{' — ' + m.note if m.note else ''}[/]")
    for note in result.notes:
        console.print(f"[dim]note: {note}[/]")
