"""Importing MLflow runs into the run store, from a real local MLflow store written through MLflow's own API."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("mlflow")


@pytest.fixture
def tracking(tmp_path, monkeypatch) -> str:
    import mlflow

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3's local folder store, as teams' old mlruns
    uri = (tmp_path / "mlruns").as_uri()
    (tmp_path / "mlruns").mkdir()
    mlflow.set_tracking_uri(uri)
    yield uri
    mlflow.set_tracking_uri(None)


def _log_run(name: str, lr: float, accuracies: list[float], **extra_params) -> str:
    import mlflow

    mlflow.set_experiment("sft")
    with mlflow.start_run(run_name=name) as run:
        mlflow.log_params({"learning_rate": lr, "per_device_train_batch_size": 4, "gradient_accumulation_steps": 2,
                           "num_train_epochs": 3, "max_steps": -1, "lr_scheduler_type": "cosine", "warmup_ratio": 0.1,
                           "optim": "adamw_torch", "weight_decay": 0.0, "seed": 7, "_name_or_path": "org/base-1b",
                           "logging_dir": "None", "report_to": "['mlflow']", **extra_params})
        for step in range(1, 11):
            mlflow.log_metrics({"loss": 2.0 / step, "grad_norm": 1.0 + 0.1 * step, "learning_rate": lr}, step=step)
        for i, acc in enumerate(accuracies, start=1):
            mlflow.log_metrics({"eval_loss": 1.5 / i, "eval_accuracy": acc}, step=5 * i)
        mlflow.log_metrics({"total_flos": 1.5e15, "train_runtime": 42.0}, step=10)
        return run.info.run_id


def test_every_param_and_metric_history_reaches_the_run_store(tracking, tmp_path):
    from tuneahead.store.mlflow_runs import read_mlflow_runs
    from tuneahead.store.sqlite import RunStore

    good = _log_run("good", 2e-4, [0.6, 0.85])
    _log_run("bad", 5e-2, [0.1, 0.2], peft_type="LORA", r=16, lora_alpha=32, lora_dropout=0.05)
    runs = read_mlflow_runs(tracking, ["sft"], metric="eval_accuracy", target=0.8, task="qa")
    assert len(runs) == 2
    with RunStore(tmp_path / "runs.db") as store:
        for imported in runs:
            store.add_run(imported.record)
        rec = store.get_run(f"mlflow-{good}")
    assert rec.final_metric == 0.85 and rec.target == 0.8 and rec.success and rec.family == "qa"
    assert rec.recipe["learning_rate"] == 2e-4 and rec.recipe["micro_batch_size"] == 4
    assert rec.recipe["gradient_accumulation_steps"] == 2 and rec.recipe["lr_scheduler"] == "cosine"
    assert rec.recipe["warmup_ratio"] == 0.1 and rec.recipe["base_model"] == "org/base-1b"
    assert rec.recipe["adapter"]["type"] == "full"
    # Every metric's whole history, and the Trainer-style curves the baselines read.
    for name in ("loss", "grad_norm", "learning_rate", "eval_loss", "eval_accuracy", "total_flos", "train_runtime"):
        assert f"mlflow/{name}" in rec.curves, name
    assert rec.curves["mlflow/loss"]["step"] == list(range(1, 11))
    assert rec.curves["mlflow/loss"]["value"] == pytest.approx([2.0 / s for s in range(1, 11)])
    assert rec.curves["full_eval"]["step"] == [5, 10] and rec.curves["full_eval"]["eval_accuracy"] == [0.6, 0.85]
    assert rec.curves["full_train"]["loss"][0] == 2.0
    assert rec.costs == {"flops_full": 1.5e15, "seconds_full": 42.0}
    # Every param as logged, the unmapped ones too.
    assert rec.extra["params"]["logging_dir"] == "None" and rec.extra["params"]["seed"] == "7"
    bad = next(r for r in runs if r.record.recipe["learning_rate"] == 5e-2).record
    assert bad.recipe["adapter"] == {**bad.recipe["adapter"], "type": "lora", "rank": 16, "alpha": 32.0}
    assert bad.success is False


def test_a_filter_a_param_map_and_each_runs_own_bar(tracking):
    from tuneahead.store.mlflow_runs import read_mlflow_runs

    _log_run("a", 2e-4, [0.5], context=512, bar=0.4)
    _log_run("b", 1e-3, [0.5], context=1024, bar=0.7)
    runs = read_mlflow_runs(tracking, ["sft"], filter_string="params.context = '1024'", metric="eval_accuracy",
                            target_param="bar", param_map={"max_seq_length": "context"})
    (only,) = runs
    assert only.record.recipe["max_seq_length"] == 1024 and only.record.target == 0.7 and only.record.success is False


def test_importing_twice_changes_nothing_and_errors_name_what_is_wrong(tracking, tmp_path):
    from typer.testing import CliRunner

    from tuneahead.cli import app

    _log_run("a", 2e-4, [0.9])
    command = ["runs", "import", "--mlflow", tracking, "--experiment", "sft", "--store", str(tmp_path / "r.db"),
               "--metric", "eval_accuracy", "--target", "0.8", "--json"]
    first = json.loads(CliRunner().invoke(app, command).stdout)
    second = json.loads(CliRunner().invoke(app, command).stdout)
    assert [r["added"] for r in first["runs"]] == [True] and [r["added"] for r in second["runs"]] == [False]
    missing = CliRunner().invoke(app, [*command[:4], "nope", *command[5:]])
    assert missing.exit_code == 4 and "nope" in missing.stdout
    bad_map = CliRunner().invoke(app, [*command, "--param", "learning_rat=lr"])
    assert bad_map.exit_code == 4 and "learning_rat" in bad_map.stdout


def test_a_real_trainer_reporting_to_mlflow_is_read_with_the_default_names(tracking, tmp_path, monkeypatch):
    """transformers' own MLflowCallback logs the params and metrics; the importer needs no mapping."""
    import numpy as np
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Trainer, TrainingArguments

    from tuneahead.store.mlflow_runs import read_mlflow_runs

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "trainer")
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32))
    rng = np.random.default_rng(0)
    rows = [{"input_ids": torch.tensor(rng.integers(0, 64, 12)), "labels": torch.tensor(rng.integers(0, 64, 12))}
            for _ in range(16)]
    args = TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=4, per_device_train_batch_size=2,
                             gradient_accumulation_steps=2, learning_rate=3e-4, logging_steps=1, eval_strategy="steps",
                             eval_steps=2, save_strategy="no", report_to=["mlflow"], use_cpu=True, seed=3,
                             disable_tqdm=True)
    Trainer(model=model, args=args, train_dataset=rows, eval_dataset=rows[:4]).train()
    import mlflow

    mlflow.end_run()
    (run,) = read_mlflow_runs(tracking, ["trainer"])
    rec = run.record
    assert rec.recipe["learning_rate"] == 3e-4 and rec.recipe["gradient_accumulation_steps"] == 2
    assert rec.recipe["max_steps"] == 4 and rec.recipe["micro_batch_size"] == 2
    assert rec.curves["full_train"]["step"] == [1, 2, 3, 4] and rec.curves["full_eval"]["step"] == [2, 4]
    assert rec.final_metric is None and any("no outcome metric" in note for note in run.unmapped)


def test_show_and_export_an_imported_history(tracking, tmp_path):
    from typer.testing import CliRunner

    from tuneahead.cli import app
    from tuneahead.store.table import load_runs

    run_id = _log_run("a", 2e-4, [0.6, 0.85])
    store = str(tmp_path / "r.db")
    CliRunner().invoke(app, ["runs", "import", "--mlflow", tracking, "--experiment", "sft", "--store", store,
                             "--metric", "eval_accuracy", "--target", "0.8"])
    shown = CliRunner().invoke(app, ["runs", "show", store, f"mlflow-{run_id}"])
    assert shown.exit_code == 0 and "org/base-1b" in shown.stdout and "mlflow/eval_accuracy" in shown.stdout
    as_json = json.loads(CliRunner().invoke(app, ["runs", "show", store, f"mlflow-{run_id}", "--json"]).stdout)
    assert as_json["run"]["final_metric"] == 0.85
    missing = CliRunner().invoke(app, ["runs", "show", store, "nope"])
    assert missing.exit_code == 4 and "nope" in missing.output
    for suffix in (".parquet", ".csv"):
        out = tmp_path / f"runs{suffix}"
        done = CliRunner().invoke(app, ["runs", "export", store, "--out", str(out)])
        assert done.exit_code == 0, done.stdout
        table = load_runs(out)
        assert table["final_metric"].tolist() == [0.85] and table["recipe_log10_learning_rate"].iloc[0] < -3
        # The eval curve under its logged name is the curve early-stop extrapolation reads.
        metric = [v for v in table["curve_eval_metric"].iloc[0] if v == v and v is not None]
        assert metric == [0.6, 0.85]
