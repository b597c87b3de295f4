"""`TuneAheadCallback` inside real `transformers.Trainer` runs of the pretrained tiny zoo model."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch

from tests.test_probe_engine import recipe, sort_examples
from tuneahead.probe.batches import Renderer, collate
from tuneahead.probe.engine import run_probe

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny():
    from tuneahead.models.loading import load_model

    return load_model("tiny-0.2m")


def _rows(sequences, pad_id: int) -> list[dict]:
    """One row per sequence, as a tokenizing pipeline would give the Trainer (unpadded)."""
    out = []
    for s in sequences:
        mb = collate([s], pad_id)
        out.append({"input_ids": mb.input_ids[0], "attention_mask": mb.attention_mask[0], "labels": mb.labels[0]})
    return out


def _padding_collator(pad_id: int):
    def collate_rows(rows: list[dict]) -> dict:
        width = max(len(r["input_ids"]) for r in rows)
        out: dict = {}
        for key, fill in (("input_ids", pad_id), ("attention_mask", 0), ("labels", -100)):
            out[key] = torch.stack([torch.nn.functional.pad(r[key], (0, width - len(r[key])), value=fill) for r in rows])
        return out
    return collate_rows


def _renderer(tiny, r) -> Renderer:
    from tuneahead.data.render import resolve_template

    bundle = tiny.bundle
    return Renderer(bundle, resolve_template(bundle, r.chat_template), r.loss_on, r.max_seq_length, r.packing)


def _sort_rows(tiny, n: int) -> list[dict]:
    """`n` sorting examples rendered for the tiny model, one Trainer row each."""
    r = recipe()
    renderer = _renderer(tiny, r)
    data = sort_examples(n)
    return _rows(renderer.sequences(data, renderer.tokenize(data)), _pad(tiny))


def _pad(tiny) -> int:
    return int(tiny.bundle.pad_id if tiny.bundle.pad_id is not None else tiny.bundle.eos_id)


def _trainer(tiny, tmp_path, train_rows, eval_rows, *, lr: float, max_steps: int, micro: int = 2, accumulation: int = 2,
             eval_steps: int | None = None, max_grad_norm: float = 1.0):
    from transformers import Trainer, TrainingArguments

    args = TrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=max_steps, per_device_train_batch_size=micro,
        per_device_eval_batch_size=micro, gradient_accumulation_steps=accumulation, learning_rate=lr,
        lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, optim="adamw_torch",
        max_grad_norm=max_grad_norm, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True, seed=7,
        disable_tqdm=True, train_sampling_strategy="sequential",
        eval_strategy="steps" if eval_steps else "no", eval_steps=eval_steps,
    )
    return Trainer(model=copy.deepcopy(tiny.model), args=args, train_dataset=train_rows, eval_dataset=eval_rows,
                   data_collator=_padding_collator(_pad(tiny)))


def test_the_callbacks_features_equal_the_probes(tiny, tmp_path):
    """Same model, data, order, seed and steps: the live probe's features are `tuneahead probe`'s."""
    from tuneahead.features.catalogue import spec
    from tuneahead.integrations import TuneAheadCallback

    r = recipe(micro_batch_size=2, gradient_accumulation_steps=2, max_grad_norm=1.0)
    data, held_out = sort_examples(200), sort_examples(12, seed=99, prefix="e")
    probe = run_probe(r, data, held_out, steps=10, model=tiny, threads=1, eval_points=3, return_batches=True)
    pad_id = _pad(tiny)
    train_rows = _rows([s for step in probe.batches for s in step.sequences], pad_id)
    renderer = _renderer(tiny, r)
    eval_rows = _rows(renderer.sequences(held_out, renderer.tokenize(held_out)), pad_id)

    torch.set_num_threads(1)
    trainer = _trainer(tiny, tmp_path, train_rows, eval_rows, lr=r.learning_rate, max_steps=10)
    gate = TuneAheadCallback.attach(trainer, target="exact_match>=0.5", probe_steps=10, eval_points=3)
    trainer.train()

    live = gate._live.features()
    assert [e.step for e in gate._live.evals] == [e.step for e in probe.eval_points] == [0, 5, 10]
    compared = 0
    for name, want in probe.features.items():
        if spec(name).group == "speed":
            continue
        got = live[name]
        if math.isnan(want):
            assert math.isnan(got), name
            continue
        assert got == pytest.approx(want, rel=1e-3, abs=1e-5), name
        compared += 1
    assert compared >= 25
    assert gate.verdict is not None and gate.verdict.step == 10


def test_a_divergent_learning_rate_is_stopped_with_the_reason_logged(tiny, tmp_path):
    from tuneahead.integrations import TuneAheadCallback

    rows = _sort_rows(tiny, 200)
    trainer = _trainer(tiny, tmp_path, rows[:160], rows[160:], lr=1e6, max_steps=60, max_grad_norm=0.0)
    gate = TuneAheadCallback.attach(trainer, target=0.5, mode="stop", probe_steps=10, store=tmp_path / "runs.db")
    trainer.train()

    assert trainer.state.global_step < 60
    assert gate.stopped is not None and "diverged" in gate.stopped
    logged = [e for e in trainer.state.log_history if "tuneahead/stopped" in e]
    assert logged and "diverged" in logged[0]["tuneahead/stopped"]
    if gate.verdict is not None:  # stopped at the window's end (a loss at the no-information level)
        assert gate.verdict.decision == "NO-GO" and gate.verdict.rule == "diverged"

    from tuneahead.store.sqlite import RunStore

    with RunStore(tmp_path / "runs.db") as store:
        (run,) = list(store.iter_runs())
    assert run.extra["stopped"] == gate.stopped
    assert run.final_metric is None  # a stopped run has no outcome to learn from
    assert run.curves["probe_trace"]["step"][0] == 1


def _sound_run(tiny, tmp_path):
    rows = _sort_rows(tiny, 240)
    return _trainer(tiny, tmp_path, rows[:200], rows[200:], lr=1e-3, max_steps=40, eval_steps=10)


def test_a_sound_run_goes_to_the_end_and_is_recorded(tiny, tmp_path):
    from tuneahead.integrations import TuneAheadCallback

    trainer = _sound_run(tiny, tmp_path)
    gate = TuneAheadCallback.attach(trainer, target=0.0, mode="stop", probe_steps=10, store=tmp_path / "runs.db",
                                    task="sort")
    trainer.train()

    assert trainer.state.global_step == 40 and gate.stopped is None
    assert gate.verdict is not None and gate.verdict.step == 10 and gate.verdict.decision != "NO-GO"
    assert 0.0 <= gate.verdict.p_success <= 1.0
    assert "holds no text in a known format" in " ".join(gate.verdict.notes)  # token ids only: no descriptors
    numbers = [e for e in trainer.state.log_history if "tuneahead/p_success" in e]
    assert len(numbers) == 1 and numbers[0]["step"] == 10

    from tuneahead.store.sqlite import RunStore

    with RunStore(tmp_path / "runs.db") as store:
        (run,) = list(store.iter_runs())
    assert run.family == "sort" and run.campaign == "live"
    assert run.recipe["learning_rate"] == 1e-3 and run.recipe["gradient_accumulation_steps"] == 2
    assert run.recipe["adapter"]["type"] == "full" and run.recipe["loss_on"] == "completion"
    assert len(run.curves["probe_trace"]["step"]) == 10
    assert run.curves["full_eval"]["step"] == [10, 20, 30, 40]
    assert np.isfinite(run.dynamic_features["probe_final_loss"])


def test_the_live_predictor_reforecasts_once_per_fraction_of_the_run(tiny, tmp_path):
    from tuneahead.integrations import TuneAheadCallback

    trainer = _sound_run(tiny, tmp_path)
    gate = TuneAheadCallback.attach(trainer, target=0.5, mode="warn", probe_steps=10, metric="eval_loss")
    trainer.train()

    assert trainer.state.global_step == 40
    assert [f["step"] for f in gate.live_forecasts] == [10, 20, 30, 40]
    # At 25 % of the run (10 and 20 % reached) the 20 % stage judges, at 50 % the 30 % stage; then none is due.
    assert [f.get("live_stage") for f in gate.live_forecasts] == ["live-20", "live-30", None, None]
    assert all(0.0 <= f["p_success"] <= 1.0 for f in gate.live_forecasts[:2])
    assert len([e for e in trainer.state.log_history if "tuneahead/p_success_live" in e]) == 2
    assert len([e for e in trainer.state.log_history if "tuneahead/decision_live" in e]) == 2


def test_warn_mode_never_stops(tiny, tmp_path):
    from tuneahead.integrations import TuneAheadCallback

    rows = _sort_rows(tiny, 120)
    trainer = _trainer(tiny, tmp_path, rows[:100], rows[100:], lr=1e6, max_steps=14, max_grad_norm=0.0)
    raw = tmp_path / "train.jsonl"
    raw.write_text("\n".join(json.dumps({"messages": [{"role": m.role, "content": m.content} for m in e.messages]})
                             for e in sort_examples(100)), encoding="utf-8")
    gate = TuneAheadCallback.attach(trainer, target=0.5, mode="warn", probe_steps=10, data=raw)
    trainer.train()
    assert trainer.state.global_step == 14 and gate.stopped is None
    # With the raw data the verdict has the static descriptors too (and no note that they are missing).
    assert gate.features["optimizer_steps"] == 14 and gate.features["n_examples"] == 100
    assert not any("holds no text" in n for n in gate.verdict.notes)


def test_an_unknown_mode_is_an_input_error():
    from tuneahead.errors import InputError
    from tuneahead.integrations import TuneAheadCallback

    with pytest.raises(InputError, match="mode"):
        TuneAheadCallback(0.5, mode="halt")
    with pytest.raises(InputError, match="patience"):
        TuneAheadCallback(0.5, patience=0)


def test_trl_sft_trainer_on_conversational_data(tiny, tmp_path):
    """TRL's SFTTrainer tokenizes the conversations itself; the callback reads its recipe and probes it."""
    pytest.importorskip("trl")
    from datasets import Dataset
    from transformers import PreTrainedTokenizerFast
    from trl import SFTConfig, SFTTrainer

    from tuneahead.data.render import resolve_template
    from tuneahead.integrations import TuneAheadCallback

    bundle = tiny.bundle
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bundle.tokenizer, eos_token=bundle.eos_token,
                                        pad_token=bundle.pad_token or bundle.eos_token,
                                        chat_template=resolve_template(bundle, None))

    def conversations(examples) -> Dataset:
        return Dataset.from_list([
            {"prompt": [{"role": "user", "content": e.messages[0].content}],
             "completion": [{"role": "assistant", "content": e.messages[1].content}]}
            for e in examples
        ])

    args = SFTConfig(
        output_dir=str(tmp_path / "sft"), max_steps=16, per_device_train_batch_size=2, gradient_accumulation_steps=2,
        learning_rate=1e-3, lr_scheduler_type="constant", max_length=48, logging_steps=4, save_strategy="no",
        report_to=[], use_cpu=True, seed=7, disable_tqdm=True, eval_strategy="no",
    )
    trainer = SFTTrainer(model=copy.deepcopy(tiny.model), args=args, processing_class=tokenizer,
                         train_dataset=conversations(sort_examples(64)),
                         eval_dataset=conversations(sort_examples(8, seed=99, prefix="e")))
    gate = TuneAheadCallback.attach(trainer, target=0.5, mode="stop", probe_steps=8)
    trainer.train()

    assert gate.recipe.max_seq_length == 48 and gate.recipe.loss_on == "completion"
    assert gate.recipe.gradient_accumulation_steps == 2 and gate.recipe.learning_rate == 1e-3
    assert len(gate._live.trace) == 8
    assert all(r.loss_tokens > 0 and math.isfinite(r.loss) for r in gate._live.trace)
    assert [e.step for e in gate._live.evals] == [0, 4, 8]
    assert gate.verdict is not None and gate.verdict.decision in ("GO", "NO-GO", "UNCERTAIN")
    assert math.isfinite(gate.features["probe_eval_loss_end"])
    # TRL keeps the conversations beside the token ids: the descriptors come from them, with the trainer's tokenizer.
    assert gate.features["n_examples"] == 64 and gate.features["optimizer_steps"] == 16
    assert any("trainer's own dataset rows" in n for n in gate.verdict.notes)


def test_a_lora_run_with_gradient_checkpointing_is_probed_and_read_as_lora(tiny, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainingArguments

    from tuneahead.integrations import TuneAheadCallback

    rows = _sort_rows(tiny, 120)
    model = get_peft_model(copy.deepcopy(tiny.model), LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    args = TrainingArguments(
        output_dir=str(tmp_path / "lora"), max_steps=12, per_device_train_batch_size=2, gradient_accumulation_steps=2,
        learning_rate=1e-3, gradient_checkpointing=True, save_strategy="no", report_to=[], use_cpu=True, seed=7,
        disable_tqdm=True, logging_steps=4,
    )
    trainer = Trainer(model=model, args=args, train_dataset=rows[:100], eval_dataset=rows[100:],
                      data_collator=_padding_collator(_pad(tiny)))
    gate = TuneAheadCallback.attach(trainer, target=0.5, probe_steps=6)
    trainer.train()

    assert gate.recipe.adapter.type == "lora" and gate.recipe.adapter.rank == 4
    assert gate.recipe.adapter.target_modules == ["q_proj", "v_proj"]
    trace = gate._live.trace
    assert len(trace) == 6 and all(math.isfinite(t.loss) and t.grad_norm > 0 for t in trace)
    assert all(t.micro_batches == 2 for t in trace)  # checkpointing's recomputed forwards are not counted twice
    # Only the adapter trains: the update ratio is measured on its weights alone.
    assert all(n.startswith("base_model") and "lora_" in n for n in gate._live.inst.names)
    assert math.isfinite(gate.features["probe_update_ratio"]) and gate.verdict is not None


def test_a_setting_the_recipe_cannot_hold_becomes_a_note_not_a_crash():
    from transformers import TrainingArguments

    from tuneahead.integrations.trainer_recipe import recipe_from_trainer

    class Model:  # what the recipe reader reads of a model: nothing here
        pass

    args = TrainingArguments(output_dir="unused", learning_rate=3e-4, weight_decay=-0.1, use_cpu=True)
    recipe, notes = recipe_from_trainer(args, Model())
    assert recipe.learning_rate == 3e-4 and recipe.weight_decay == 0.0
    assert any("weight_decay -0.1" in n for n in notes)


def test_a_collator_that_cannot_batch_the_eval_rows_is_a_note_not_a_crash(tiny, tmp_path):
    from tuneahead.integrations import TuneAheadCallback

    rows = _sort_rows(tiny, 60)
    trainer = _trainer(tiny, tmp_path, rows[:50], [{"text": "no tokens here"}] * 10, lr=1e-3, max_steps=6)
    gate = TuneAheadCallback.attach(trainer, target=0.5, probe_steps=4)
    trainer.train()
    assert trainer.state.global_step == 6 and gate.verdict is not None
    assert any("could not batch the eval rows" in n for n in gate.verdict.notes)
