"""Backfilling imported runs: descriptors and probe features measured with each run's own recipe."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tuneahead.cli import app
from tuneahead.recipe.model import AdapterConfig, Recipe
from tuneahead.store.sqlite import RunRecord, RunStore

EXAMPLES = Path(__file__).resolve().parents[1] / "src" / "tuneahead" / "assets" / "examples"


def _imported(run_id: str, base_model: str) -> RunRecord:
    """A run as an importer leaves it: recipe, curves and outcome, no features."""
    recipe = Recipe(base_model=base_model, adapter=AdapterConfig(type="full"), learning_rate=1e-3, micro_batch_size=4,
                    max_seq_length=128, num_epochs=1)
    return RunRecord(run_id=run_id, recipe=recipe.model_dump(mode="json"), final_metric=0.7, target=0.5,
                     curves={"full_train": {"step": [1, 2], "loss": [2.0, 1.5]}}, family="tickets", campaign="imported")


def test_runs_with_local_data_and_model_are_backfilled_the_others_say_why(tmp_path):
    store = tmp_path / "runs.db"
    with RunStore(store) as db:
        db.add_run(_imported("local", "tiny-0.2m"))
        db.add_run(_imported("hub-only", "some-org/not-on-this-disk-7b"))
    command = ["runs", "backfill", str(store), "--data", str(EXAMPLES / "example_train.jsonl"),
               "--eval", str(EXAMPLES / "example_eval.jsonl"), "--steps", "3", "--json"]
    done = CliRunner().invoke(app, command)
    assert done.exit_code == 0, done.output
    results = {r["run_id"]: r for r in json.loads(done.stdout)["runs"]}
    assert results["local"]["status"] == "backfilled"
    assert results["local"]["added"]["static"] > 30 and results["local"]["added"]["dynamic"] > 20
    assert results["hub-only"]["status"] == "skipped" and "not-on-this-disk" in results["hub-only"]["reason"]
    with RunStore(store) as db:
        local = db.get_run("local")
        assert local.static_features["n_examples"] > 0 and local.dynamic_features["probe_steps"] == 3
        assert local.curves["probe_trace"]["step"] == [1, 2, 3] and local.curves["full_train"]["loss"] == [2.0, 1.5]
        assert local.final_metric == 0.7  # the outcome stays as imported
        assert not db.get_run("hub-only").dynamic_features
    # A second backfill leaves complete runs alone and measures nothing again.
    again = {r["run_id"]: r for r in json.loads(CliRunner().invoke(app, command[:3] + ["local", *command[3:]]).stdout)["runs"]}
    assert again["local"]["status"] == "complete"


def test_fit_says_how_many_runs_lack_a_feature_group(tmp_path):
    import numpy as np
    import pandas as pd

    table = pd.read_parquet(Path(__file__).resolve().parents[1] / "bench" / "pooled" / "runs.parquet").iloc[:120].copy()
    probe = [c for c in table.columns if c.startswith("probe_")]
    table.loc[table.index[:30], probe] = np.nan  # 30 imported runs without a probe
    runs = tmp_path / "runs.parquet"
    table.to_parquet(runs, index=False)
    done = CliRunner().invoke(app, ["fit", "--runs", str(runs), "--out", str(tmp_path / "p"), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["runs_without"] == {"static": 0, "dynamic": 30}


def test_fit_base_adapts_the_bundled_predictor_and_writes_the_best_candidate(tmp_path):
    import numpy as np
    import pandas as pd

    from tuneahead.gate.bundle import load_bundle

    corpus = pd.read_parquet(Path(__file__).resolve().parents[1] / "bench" / "pooled" / "runs.parquet")
    team = corpus[corpus["family"].isin(["compose", "kth_word", "kv_lookup", "reverse"])].iloc[:40]
    runs = tmp_path / "team.parquet"
    team.to_parquet(runs, index=False)
    out = tmp_path / "adapted"
    done = CliRunner().invoke(app, ["fit", "--runs", str(runs), "--base", "bundled", "--out", str(out), "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert set(report["scores"]) == {"bundled", "recalibrated", "team-only"} and report["n_runs"] == 40
    best = min(report["scores"].values(), key=lambda s: s["brier"])
    assert report["scores"][report["chosen"]] == best
    adapted = load_bundle(out).stages[0].predictor  # a predictor `check --predictor` loads
    base = load_bundle().stages[0].predictor
    p_new = np.asarray(adapted.predict_arrays(team, strict=False)["p_success"])
    p_old = np.asarray(base.predict_arrays(team, strict=False)["p_success"])
    assert np.all(np.isfinite(p_new))
    if report["chosen"] == "recalibrated":  # same trees, a monotone map of P: the ranking is kept
        assert np.all(np.diff(p_new[np.argsort(p_old, kind="stable")]) >= -1e-12)
        assert not np.allclose(p_new, p_old)
        assert len(adapted.diagnostics["p_success"]["oof_own_bar"]["p"]) == 40  # cut-offs from the team's runs
    one_outcome = CliRunner().invoke(app, ["fit", "--runs", str(runs), "--base", "bundled", "--out", str(out),
                                           "--threshold", "1.5", "--json"])
    assert one_outcome.exit_code == 0 and any("one outcome" in n for n in json.loads(one_outcome.stdout)["notes"])
