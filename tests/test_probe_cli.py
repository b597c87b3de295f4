"""`tuneahead probe` end to end on a built-in tiny model."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tuneahead.cli import app


@pytest.fixture()
def recipe_file(tmp_path):
    from test_probe_engine import sort_examples

    with (tmp_path / "train.jsonl").open("w") as fh:
        for ex in sort_examples(80):
            fh.write(
                json.dumps({"messages": [{"role": m.role, "content": m.content} for m in ex.messages]}) + "\n"
            )
    path = tmp_path / "recipe.yaml"
    path.write_text(
        "base_model: tiny-0.2m\n"
        "adapter: {type: lora, rank: 4, alpha: 8}\n"
        "learning_rate: 1.0e-3\n"
        "micro_batch_size: 4\n"
        "max_seq_length: 48\n"
        "datasets: [{path: train.jsonl}]\n"
    )
    return path


def test_probe_json_and_trace(recipe_file, tmp_path):
    trace = tmp_path / "trace.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "probe",
            "-r",
            str(recipe_file),
            "--steps",
            "4",
            "--threads",
            "1",
            "--json",
            "--trace",
            str(trace),
            "--price",
            "2.5",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] and payload["steps_done"] == 4
    assert payload["setup"]["model"] == "tiny-0.2m" and payload["setup"]["adapter"] == "lora"
    assert payload["features"]["probe_steps"]["value"] == 4
    assert payload["cost"]["full_usd"] is not None
    assert len(payload["trace"]) == 4

    from tuneahead.probe.features import features_from_trace
    from tuneahead.probe.trace import read_trace

    steps, evals, meta = read_trace(trace)
    assert meta["setup"]["steps_planned"] == 4
    recomputed = features_from_trace(steps, evals)
    assert recomputed["probe_final_loss"] == pytest.approx(payload["features"]["probe_final_loss"]["value"])


def test_probe_human_output(recipe_file):
    result = CliRunner().invoke(app, ["probe", "-r", str(recipe_file), "--steps", "2", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "tuneahead probe" in result.output and "probe_initial_loss" in result.output


def test_steps_and_budget_are_exclusive(recipe_file):
    result = CliRunner().invoke(
        app, ["probe", "-r", str(recipe_file), "--steps", "2", "--budget", "0.01", "--json"]
    )
    assert result.exit_code == 4
    assert "either --steps or --budget" in json.loads(result.stdout)["message"]


def test_unknown_model_is_a_model_error(recipe_file):
    result = CliRunner().invoke(app, ["probe", "-r", str(recipe_file), "--model", "no-such-model", "--json"])
    assert result.exit_code == 5
    assert json.loads(result.stdout)["ok"] is False


def test_ctrl_c_prints_the_partial_result(recipe_file, monkeypatch):
    from tuneahead.probe import engine

    real_step = engine._Attempt._step

    def step_then_interrupt(self, model, optimizer, scheduler, inst, batch, number):
        if number == 3:
            raise KeyboardInterrupt
        return real_step(self, model, optimizer, scheduler, inst, batch, number)

    monkeypatch.setattr(engine._Attempt, "_step", step_then_interrupt)
    result = CliRunner().invoke(
        app, ["probe", "-r", str(recipe_file), "--steps", "6", "--threads", "1", "--json"]
    )
    assert result.exit_code == 130
    payload = json.loads(result.stdout)
    assert payload["interrupted"] is True and payload["steps_done"] == 2
