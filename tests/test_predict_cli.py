"""`tuneahead fit` and `tuneahead evaluate` on a team's own run table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tuneahead.errors import ExitCode
from tuneahead.evaluate.synthetic import make_synthetic_runs


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tuneahead.cli", *args], capture_output=True, text=True, timeout=300,
                          check=False)


@pytest.fixture(scope="module")
def own_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A history in a team's own shape: other column names, an id, a free-text column, one row per run."""
    rng = np.random.default_rng(7)
    n = 150
    lr = rng.uniform(-5, -3, n)
    rows = rng.uniform(2, 5, n)
    df = pd.DataFrame({
        "experiment": [f"exp-{i}" for i in range(n)],
        "team": rng.choice(["search", "ads", "chat", "code"], n),
        "log_lr": lr,
        "log_rows": rows,
        "probe_slope": rng.normal(size=n),
        "notes": rng.choice(["ok", "rerun", ""], n),
        "accuracy": 40 + 10 * rows - 8 * (lr + 4) ** 2 + rng.normal(0, 1.0, n),
    })
    path = tmp_path_factory.mktemp("history") / "history.csv"
    df.to_csv(path, index=False)
    return path


def test_fit_names_a_non_numeric_column(own_history: Path, tmp_path: Path) -> None:
    r = cli("fit", "--runs", str(own_history), "--target", "accuracy", "--out", str(tmp_path / "p"), "--json")
    assert r.returncode == ExitCode.INPUT
    err = json.loads(r.stdout)
    assert err["ok"] is False and err["field"] == "experiment" and "--drop-cols" in err["hint"]


def test_fit_own_history_and_predict_from_the_saved_artifact(own_history: Path, tmp_path: Path) -> None:
    out = tmp_path / "pred"
    r = cli("fit", "--runs", str(own_history), "--target", "accuracy", "--threshold", "60", "--id-cols", "experiment",
            "--drop-cols", "notes,team", "--group-col", "team", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    payload = json.loads(r.stdout)
    assert payload["ok"] and payload["features"] == ["log_lr", "log_rows", "probe_slope"]
    assert payload["feature_roles"] == {"static": 2, "dynamic": 1}
    assert payload["threshold"] == 60.0 and payload["diagnostics"]["inner_split"] == "by team"
    assert payload["diagnostics"]["oof"]["r2"] > 0.8
    assert {i["feature"] for i in payload["importance"][:2]} == {"log_lr", "log_rows"}

    from tuneahead.predict import Predictor

    p = Predictor.load(out)
    (f,) = p.predict({"log_lr": -4.0, "log_rows": 4.5, "probe_slope": 0.0})
    assert f.metric == pytest.approx(85, abs=6) and f.p_success > 0.9
    (g,) = p.predict({"log_lr": -4.9, "log_rows": 2.1, "probe_slope": 0.0})  # truth: 54.5, below 60
    assert g.metric < 60 and g.p_success < 0.2


def test_fit_human_output_and_plots(own_history: Path, tmp_path: Path) -> None:
    r = cli("fit", "--runs", str(own_history), "--target", "accuracy", "--threshold", "none", "--id-cols", "experiment",
            "--drop-cols", "notes", "--drop-cols", "team", "--out", str(tmp_path / "p"), "--plots")
    assert r.returncode == 0, r.stderr
    assert "global importance" in r.stdout and "no success threshold" in r.stdout
    assert (tmp_path / "p" / "shap_beeswarm.svg").exists() and (tmp_path / "p" / "shap_bar.png").exists()


def test_evaluate_writes_markdown_and_json(tmp_path: Path) -> None:
    runs = make_synthetic_runs(90, seed=3, curve_points=20)
    path = tmp_path / "runs.parquet"
    runs.to_parquet(path)
    out = tmp_path / "eval"
    r = cli("evaluate", "--runs", str(path), "--methods", "tuneahead,majority,early-stop", "--fractions", "30",
            "--seeds", "1", "--bootstrap", "20", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    payload = json.loads(r.stdout)
    assert [m["name"] for m in payload["methods"]] == ["tuneahead", "early-stop-30%", "majority", "oracle"]
    assert payload["split_by"] == "family" and payload["threshold"] == "target"
    md = (out / "evaluation.md").read_text()
    assert "| tuneahead |" in md and "## Gate" in md
    assert json.loads((out / "evaluation.json").read_text())["n_runs"] == 90

    human = cli("evaluate", "--runs", str(path), "--methods", "majority", "--seeds", "1", "--bootstrap", "0")
    assert human.returncode == 0 and "majority" in human.stdout and "oracle" in human.stdout


def test_evaluate_rejects_unknown_methods(tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    make_synthetic_runs(40, seed=1, with_curves=False).to_csv(path, index=False)
    r = cli("evaluate", "--runs", str(path), "--methods", "magic")
    assert r.returncode == ExitCode.INPUT and "magic" in r.stderr
    r = cli("evaluate", "--runs", str(tmp_path / "missing.csv"))
    assert r.returncode == ExitCode.INPUT and "not found" in r.stderr
