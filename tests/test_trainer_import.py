"""Importing Hugging Face Trainer output folders into the run store (the history a team already has)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tuneahead.errors import InputError
from tuneahead.store.sqlite import RunStore
from tuneahead.store.trainer_output import find_trainer_outputs, read_trainer_output


def _tiny_trainer_run(out: Path, *, with_arguments: bool = True) -> None:
    """A real, short Trainer run on a tiny random Llama: 6 steps, logging every step, evaluating twice."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Trainer, TrainingArguments

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32)
    model = LlamaForCausalLM(config)
    rng = np.random.default_rng(0)

    def rows(n: int) -> list[dict]:
        out = []
        for _ in range(n):
            ids = torch.tensor(rng.integers(0, 64, 12), dtype=torch.long)
            out.append({"input_ids": ids, "labels": ids.clone()})
        return out

    def accuracy(pred) -> dict[str, float]:
        logits, labels = pred.predictions, pred.label_ids
        guess = logits[:, :-1].argmax(-1)
        return {"accuracy": float((guess == labels[:, 1:]).mean())}

    args = TrainingArguments(
        output_dir=str(out), max_steps=6, per_device_train_batch_size=2, gradient_accumulation_steps=2,
        learning_rate=1e-3, logging_steps=1, eval_strategy="steps", eval_steps=3, save_strategy="no",
        report_to=[], use_cpu=True, seed=3, disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=args, train_dataset=rows(16), eval_dataset=rows(6), compute_metrics=accuracy)
    trainer.train()
    trainer.save_state()
    trainer.save_model()
    torch.save(trainer.args, out / "training_args.bin")  # what Trainer itself writes: a pickle
    if with_arguments:
        (out / "training_args.json").write_text(trainer.args.to_json_string(), encoding="utf-8")


@pytest.fixture(scope="module")
def trainer_folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("trainer-out")
    _tiny_trainer_run(out)
    return out


def test_a_real_trainer_run_becomes_a_run_with_its_curves_recipe_and_cost(trainer_folder: Path) -> None:
    imported = read_trainer_output(trainer_folder, metric="eval_accuracy", target=0.01, task="copy")
    r = imported.record
    state = json.loads((trainer_folder / "trainer_state.json").read_text())
    logged = [e for e in state["log_history"] if "loss" in e]
    assert r.curves["full_train"]["step"] == [e["step"] for e in logged] == list(range(1, 7))
    assert r.curves["full_train"]["loss"] == pytest.approx([e["loss"] for e in logged])
    evals = [e for e in state["log_history"] if "eval_loss" in e]
    assert r.curves["full_eval"]["step"] == [3, 6]
    assert r.curves["full_eval"]["eval_accuracy"] == pytest.approx([e["eval_accuracy"] for e in evals])
    assert r.final_metric == pytest.approx(evals[-1]["eval_accuracy"]) and r.target == 0.01
    # Every argument file value that has a recipe field lands there.
    assert (r.recipe["learning_rate"], r.recipe["micro_batch_size"], r.recipe["gradient_accumulation_steps"],
            r.recipe["max_steps"], r.recipe["seed"]) == (1e-3, 2, 2, 6, 3)
    assert r.recipe["adapter"]["type"] == "full" and r.costs["flops_full"] == state["total_flos"] > 0
    assert r.model_params and r.family == "copy"
    assert not any("gradient accumulation" in n for n in imported.unmapped)


def test_without_an_argument_file_the_pickle_is_not_loaded_and_the_gap_is_said(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    state = {"log_history": [{"loss": 2.0, "learning_rate": 5e-4, "grad_norm": 1.0, "step": 1},
                             {"eval_loss": 1.9, "eval_exact_match": 0.4, "step": 1}],
             "train_batch_size": 4, "max_steps": 1, "num_train_epochs": 1, "total_flos": 1e9}
    (out / "trainer_state.json").write_text(json.dumps(state), encoding="utf-8")
    (out / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 16, "lora_alpha": 32,
                                                         "base_model_name_or_path": "org/model",
                                                         "target_modules": ["v_proj", "q_proj"]}))
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (out / "training_args.bin").write_bytes(pickle.dumps(Payload()))
    imported = read_trainer_output(out, metric="eval_exact_match")
    assert not marker.exists()  # never unpickled
    assert any("training_args.bin is a pickle and is never loaded" in n for n in imported.unmapped)
    assert any("largest logged value" in n for n in imported.unmapped)
    r = imported.record.recipe
    assert r["base_model"] == "org/model" and r["learning_rate"] == 5e-4 and r["micro_batch_size"] == 4
    assert r["adapter"] == {**r["adapter"], "type": "lora", "rank": 16, "alpha": 32.0, "target_modules": ["q_proj", "v_proj"]}
    assert imported.record.final_metric == 0.4


def test_bad_folders_are_input_errors_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="trainer_state.json"):
        find_trainer_outputs(tmp_path)
    (tmp_path / "trainer_state.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_trainer_output(tmp_path)
    assert err.value.location.file.endswith("trainer_state.json")
    (tmp_path / "trainer_state.json").write_text(json.dumps({"log_history": [{"eval_acc": 83.0, "step": 1}]}))
    with pytest.raises(InputError, match="between 0 and 1"):
        read_trainer_output(tmp_path, metric="eval_acc")


def test_importing_twice_changes_nothing(trainer_folder: Path, tmp_path: Path) -> None:
    store = tmp_path / "runs.db"
    env = {**os.environ, "NO_COLOR": "1"}

    def run(*args: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "tuneahead.cli", *args, "--json"], capture_output=True,
                              text=True, env=env)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    history = tmp_path / "history"
    shutil.copytree(trainer_folder, history / "run-a")  # a folder of run folders, as teams keep them
    first = run("runs", "import", str(history), "--store", str(store), "--metric", "eval_accuracy",
                "--target", "0.01")
    again = run("runs", "import", str(history / "run-a"), "--store", str(store), "--metric", "eval_accuracy",
                "--target", "0.01")
    assert [r["added"] for r in first["runs"]] == [True] and [r["added"] for r in again["runs"]] == [False]
    with RunStore(store) as db:
        assert db.count_runs() == 1
        (stored,) = list(db.iter_runs())
    assert stored.curves["full_eval"]["step"] == [3, 6]
    listed = run("runs", "list", str(store))
    assert [r["run_id"] for r in listed["runs"]] == [stored.run_id] and listed["runs"][0]["success"] is not None


def test_a_llamafactory_folder_with_only_its_own_log(tmp_path: Path) -> None:
    """A LLaMA-Factory run stopped before save_state: trainer_log.jsonl (its LogCallback's format), the run's
    training_args.yaml (LLaMA-Factory's keys), the adapter and the results file."""
    run = tmp_path / "saves" / "qwen-lora"
    run.mkdir(parents=True)
    lines = []
    for step in range(10, 101, 10):
        lines.append({"current_steps": step, "total_steps": 300, "loss": 2.0 - step / 100, "lr": 1e-4, "epoch": step / 100,
                      "percentage": round(step / 3, 2), "elapsed_time": "0:01:00", "remaining_time": "0:02:00"})
        if step % 50 == 0:
            lines.append({"current_steps": step, "total_steps": 300, "eval_loss": 1.5 - step / 200, "epoch": step / 100,
                          "percentage": round(step / 3, 2), "elapsed_time": "0:01:00", "remaining_time": "0:02:00"})
    (run / "trainer_log.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    (run / "training_args.yaml").write_text(
        "model_name_or_path: Qwen/Qwen2.5-0.5B-Instruct\nstage: sft\nfinetuning_type: lora\nlora_rank: 8\n"
        "learning_rate: 1.0e-4\nper_device_train_batch_size: 2\ngradient_accumulation_steps: 8\ncutoff_len: 1024\n"
        "num_train_epochs: 3.0\nlr_scheduler_type: cosine\nwarmup_ratio: 0.1\n", encoding="utf-8")
    (run / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8, "lora_alpha": 16,
                                                         "base_model_name_or_path": "Qwen/Qwen2.5-0.5B-Instruct",
                                                         "target_modules": ["q_proj", "v_proj"]}))
    (run / "all_results.json").write_text(json.dumps({"eval_accuracy": 0.71}))

    (found,) = find_trainer_outputs(tmp_path / "saves")
    imported = read_trainer_output(found, metric="eval_accuracy", target=0.7)
    rec = imported.record
    assert rec.curves["full_train"]["step"] == list(range(10, 101, 10)) and rec.curves["full_train"]["loss"][0] == 1.9
    assert rec.curves["full_train"]["learning_rate"][0] == 1e-4
    assert rec.curves["full_eval"]["step"] == [50, 100] and rec.curves["full_eval"]["loss"] == [1.25, 1.0]
    assert rec.recipe["base_model"] == "Qwen/Qwen2.5-0.5B-Instruct" and rec.recipe["max_seq_length"] == 1024
    assert rec.recipe["gradient_accumulation_steps"] == 8 and rec.recipe["adapter"]["rank"] == 8
    assert rec.final_metric == 0.71 and rec.success and rec.extra["imported_from"] == "llamafactory-log"
    assert any("trainer_log.jsonl" in note for note in imported.unmapped)
    (run / "trainer_log.jsonl").write_text('{"current_steps": 10}\n{oops\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_trainer_output(found)
    assert err.value.location.file.endswith("trainer_log.jsonl") and err.value.location.line == 2


def test_an_axolotl_output_folder_with_checkpoints_and_its_config(trainer_folder: Path, tmp_path: Path) -> None:
    """Axolotl's output folder: the run's YAML beside checkpoint-*/ folders, no trainer state at the top."""
    run = tmp_path / "lora-out"
    for step in (3, 6):  # the real run's state, saved in two checkpoints (the later one holds the whole curve)
        (run / f"checkpoint-{step}").mkdir(parents=True)
        shutil.copy(trainer_folder / "trainer_state.json", run / f"checkpoint-{step}" / "trainer_state.json")
    early = json.loads((trainer_folder / "trainer_state.json").read_text())
    early["log_history"] = early["log_history"][:2]
    (run / "checkpoint-3" / "trainer_state.json").write_text(json.dumps(early))
    (run / "qlora.yml").write_text(
        "base_model: NousResearch/Llama-3.2-1B\nadapter: lora\nlora_r: 16\nlora_alpha: 32\nlora_target_linear: true\n"
        "learning_rate: 0.0002\nsequence_len: 2048\nmicro_batch_size: 2\ngradient_accumulation_steps: 4\n"
        "num_epochs: 1\noptimizer: adamw_torch\nlr_scheduler: cosine\n"
        "datasets:\n  - path: mlabonne/FineTome-100k\n    type: chat_template\noutput_dir: ./outputs/lora-out\n",
        encoding="utf-8")

    assert find_trainer_outputs(tmp_path) == [run]  # one run, not one per checkpoint
    imported = read_trainer_output(run, metric="eval_accuracy", target=0.01)
    rec = imported.record
    assert rec.recipe["base_model"] == "NousResearch/Llama-3.2-1B" and rec.recipe["max_seq_length"] == 2048
    assert rec.recipe["adapter"]["rank"] == 16 and rec.recipe["adapter"]["target_modules"] == "all-linear"
    assert rec.recipe["micro_batch_size"] == 2 and rec.recipe["gradient_accumulation_steps"] == 4
    state = json.loads((trainer_folder / "trainer_state.json").read_text())
    steps = [e["step"] for e in state["log_history"] if "loss" in e and "step" in e]
    assert rec.curves["full_train"]["step"] == steps  # from checkpoint-6, the last
    assert any("checkpoint-6" in note for note in imported.unmapped)
    assert rec.extra["arguments_file"] == "qlora.yml"
