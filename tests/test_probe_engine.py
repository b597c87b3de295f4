"""The probe loop on a real tiny model: adapters, divergence, determinism, budget, OOM retry, evals."""

from __future__ import annotations

import math
import random

import pytest
import torch

from tuneahead.data.example import Example, Message
from tuneahead.probe.engine import run_probe
from tuneahead.probe.features import features_from_trace
from tuneahead.recipe.model import AdapterConfig, Recipe

WORDS = "apple river stone cloud green piano tiger lemon chair ocean light sugar".split()


def sort_examples(n: int, seed: int = 0, prefix: str = "t") -> list[Example]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = rng.sample(WORDS, 3)
        out.append(
            Example(
                id=f"{prefix}:{i}",
                source_format="messages",
                messages=(
                    Message("user", "Sort: " + " ".join(words)),
                    Message("assistant", " ".join(sorted(words))),
                ),
            )
        )
    return out


def recipe(**overrides) -> Recipe:
    base = dict(
        base_model="tiny-0.2m",
        adapter=AdapterConfig(type="full"),
        learning_rate=1e-3,
        lr_scheduler="constant",
        micro_batch_size=4,
        gradient_accumulation_steps=1,
        max_seq_length=48,
        num_epochs=1,
        seed=7,
    )
    base.update(overrides)
    return Recipe(**base)


@pytest.fixture(scope="module")
def tiny():
    from tuneahead.models.loading import load_model

    return load_model("tiny-0.2m")


@pytest.fixture(scope="module")
def data():
    return sort_examples(200)


def _non_speed(features: dict[str, float]) -> dict[str, float]:
    from tuneahead.features.catalogue import spec

    return {k: v for k, v in features.items() if spec(k).group != "speed"}


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all((math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a)


def test_full_finetune_changes_every_weight(tiny, data):
    before = {n: p.detach().clone() for n, p in tiny.model.named_parameters()}
    result = run_probe(recipe(), data, steps=4, model=tiny, threads=1, return_model=True)
    after = dict(result.model.named_parameters())
    assert set(after) == set(before)
    unchanged = [n for n in before if torch.equal(before[n], after[n].detach())]
    assert unchanged == []
    # The caller's model is left untouched.
    assert all(torch.equal(before[n], p.detach()) for n, p in tiny.model.named_parameters())
    assert result.cost.trainable_params == sum(p.numel() for p in tiny.model.parameters())


@pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing:FutureWarning")
def test_lora_changes_only_the_adapter(tiny, data):
    lora = AdapterConfig(type="lora", rank=4, alpha=8, target_modules=["q_proj", "v_proj"])
    result = run_probe(recipe(adapter=lora), data, steps=4, model=tiny, threads=1, return_model=True)
    base = dict(tiny.model.named_parameters())
    changed, frozen = [], []
    for name, p in result.model.named_parameters():
        if "lora_" in name:
            assert p.requires_grad
            changed.append(not torch.equal(p.detach(), _initial_lora(result, name)))
        else:
            key = name.replace("base_model.model.", "", 1).replace(".base_layer", "")
            frozen.append(torch.equal(p.detach(), base[key].detach()))
    assert changed and all(changed)
    assert frozen and all(frozen)
    layers = tiny.config["num_hidden_layers"]
    assert result.cost.trainable_params == layers * 2 * 4 * (64 + 64)  # q and v per layer: r·(in + out)


def _initial_lora(result, name):
    # LoRA B starts at zero; A starts random: any trained A differs from a fresh init with the same seed,
    # so compare B against zeros and A against its re-created initial value.
    if "lora_B" in name:
        return torch.zeros_like(dict(result.model.named_parameters())[name])
    from peft import LoraConfig, get_peft_model

    from tuneahead.models.loading import load_model

    torch.manual_seed(result.setup.seed)
    fresh = get_peft_model(
        load_model("tiny-0.2m").model,
        LoraConfig(
            r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], lora_dropout=0.0, task_type="CAUSAL_LM"
        ),
    )
    return dict(fresh.named_parameters())[name].detach()


def test_divergence_is_reported_not_raised(tiny, data):
    # A huge learning rate blows the model up. Whether its floats overflow to NaN or its loss settles at
    # the no-information level (ln of the vocabulary size) depends on the CPU's kernels: both are divergence.
    result = run_probe(recipe(learning_rate=1e6, max_grad_norm=None), data, steps=12, model=tiny, threads=1)
    assert result.diverged
    assert result.features["probe_diverged"] == 1.0
    assert any(f.code == "probe_diverged" for f in result.findings)
    if result.features["probe_nonfinite"] == 1.0:
        step = result.features["probe_nonfinite_step"]
        assert 1 <= step <= 12
        assert result.trace[-1].nonfinite and result.trace[-1].step == step
        assert any("NaN/inf" in n for n in result.notes)
    else:
        no_information = math.log(tiny.config["vocab_size"])
        assert result.features["probe_final_loss"] >= 0.9 * no_information
        assert result.features["probe_final_loss"] > result.features["probe_initial_loss"]


def test_same_seed_same_features(tiny, data):
    lora = AdapterConfig(type="lora", rank=4, alpha=8, dropout=0.1)
    r = recipe(adapter=lora, lr_scheduler="cosine", warmup_ratio=0.2)
    a = run_probe(r, data, steps=10, model=tiny, threads=1)
    b = run_probe(r, data, steps=10, model=tiny, threads=1)
    assert _same(_non_speed(a.features), _non_speed(b.features))
    assert [x.loss for x in a.trace] == [x.loss for x in b.trace]
    c = run_probe(r, data, steps=10, model=tiny, threads=1, seed=8)
    assert [x.loss for x in a.trace] != [x.loss for x in c.trace]


def test_eval_points_at_start_middle_end(tiny, data):
    result = run_probe(recipe(), data, steps=10, model=tiny, threads=1)
    assert [e.step for e in result.eval_points] == [0, 5, 10]
    assert result.setup.eval_source == "split from training data"
    assert all(math.isfinite(e.loss) and e.loss_tokens > 0 for e in result.eval_points)
    held_out = sort_examples(20, seed=99, prefix="e")
    with_eval = run_probe(recipe(), data, held_out, steps=6, model=tiny, threads=1, eval_points=4)
    assert [e.step for e in with_eval.eval_points] == [0, 2, 4, 6]
    assert with_eval.setup.eval_source == "eval set" and with_eval.setup.eval_examples == 20


def test_features_of_a_prefix_equal_a_shorter_probe(tiny, data):
    long = run_probe(recipe(), data, steps=12, model=tiny, threads=1, eval_points=3)
    short = run_probe(recipe(), data, steps=6, model=tiny, threads=1, eval_points=2)
    assert [e.step for e in short.eval_points] == [0, 6]
    from_prefix = features_from_trace(long.trace, long.eval_points, upto_step=6)
    assert _same(_non_speed(from_prefix), _non_speed(short.features))


def test_budget_keeps_probe_under_two_percent(tiny):
    many = sort_examples(3000)
    result = run_probe(recipe(num_epochs=3, micro_batch_size=2), many, model=tiny, threads=1, budget=0.02)
    assert result.cost.probe_share <= 0.02
    assert result.setup.steps_planned >= 20
    assert result.steps_done == result.setup.steps_planned


def test_budget_floor_is_respected(tiny):
    few = sort_examples(100)
    result = run_probe(recipe(micro_batch_size=2), few, model=tiny, threads=1, budget=0.02)
    assert result.setup.steps_planned == 20  # 2 % of a 45-step run is under one step
    assert result.cost.probe_share > 0.02
    assert any("minimum" in n for n in result.notes)


def test_out_of_memory_retries_with_smaller_micro_batch(tiny, data):
    fired = []

    def hook(module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        if not fired and ids is not None and ids.shape[0] > 2:
            fired.append(ids.shape[0])
            raise torch.OutOfMemoryError("simulated: CUDA out of memory")

    handle = tiny.model.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        result = run_probe(
            recipe(micro_batch_size=4, gradient_accumulation_steps=1), data, steps=3, model=tiny, threads=1
        )
    finally:
        handle.remove()
    assert fired == [4]
    assert result.setup.micro_batch_size == 2
    assert result.setup.gradient_accumulation_steps == 2
    assert result.setup.sequences_per_step == 4
    assert result.steps_done == 3
    assert all(r.micro_batches == 2 for r in result.trace)
    assert any("out of memory" in n for n in result.notes)


def test_ctrl_c_returns_partial_trace(tiny, data):
    def stop_at_three(event):
        if event.kind == "step" and event.record.step == 3:
            raise KeyboardInterrupt

    result = run_probe(recipe(), data, steps=10, model=tiny, threads=1, progress=stop_at_three)
    assert result.interrupted
    assert result.steps_done == 3
    assert result.features["probe_steps"] == 3.0
    assert any("interrupted" in n for n in result.notes)


def test_caller_threads_and_determinism_settings_restored(tiny, data):
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    run_probe(recipe(), data, steps=2, model=tiny, threads=1)
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic


def test_warmup_is_compressed_to_the_probe(tiny, data):
    r = recipe(lr_scheduler="linear", warmup_ratio=0.25)
    result = run_probe(r, data, steps=8, model=tiny, threads=1)
    assert result.setup.warmup_steps == 2
    lrs = [x.lr for x in result.trace]
    assert lrs[0] == 0.0 and lrs[2] == pytest.approx(1e-3)  # HF warm-up starts at 0, peaks after 2 steps
    assert lrs[-1] < lrs[2]


@pytest.mark.parametrize(
    ("optimizer", "note"),
    [("sgd", None), ("adafactor", None), ("paged_adamw_8bit", "torch AdamW"), ("lion_32bit", "not modelled")],
)
def test_optimizers_from_the_recipe(tiny, data, optimizer, note):
    result = run_probe(recipe(optimizer=optimizer), data, steps=2, model=tiny, threads=1)
    assert result.steps_done == 2 and all(math.isfinite(r.loss) for r in result.trace)
    assert (note is None) or any(note in n for n in result.notes)


def test_unknown_lora_target_is_a_recipe_error(tiny, data):
    from tuneahead.errors import RecipeError

    bad = AdapterConfig(type="lora", target_modules=["no_such_proj"])
    with pytest.raises(RecipeError) as err:
        run_probe(recipe(adapter=bad), data, steps=2, model=tiny, threads=1)
    assert err.value.location.field == "adapter.target_modules"


def test_qlora_falls_back_to_lora_with_a_note(tiny, data):
    result = run_probe(recipe(adapter=AdapterConfig(type="qlora")), data, steps=2, model=tiny, threads=1)
    assert any("QLoRA" in n for n in result.notes)
    assert result.cost.trainable_params < result.cost.params


def test_on_eval_hook_records_numbers_at_every_eval_point(tiny, data):
    held_out = sort_examples(20, seed=99, prefix="e")
    seen: list[tuple[bool, int]] = []

    def hook(model, step: int) -> dict[str, float]:
        seen.append((model.training, step))
        return {"metric": step / 100}

    result = run_probe(recipe(), data, held_out, steps=6, model=tiny, threads=1, eval_points=3, on_eval=hook)
    steps = [p.step for p in result.eval_points]
    assert seen == [(False, s) for s in steps]  # called in eval mode, once per eval point
    assert [p.extra["metric"] for p in result.eval_points] == [s / 100 for s in steps]


def test_sequence_accuracy_is_what_greedy_decoding_gets_right(tiny):
    """Every answer token right given the right prefix <=> greedy decoding reproduces the answer."""
    from tuneahead.bench.generation_eval import generate_answers
    from tuneahead.data.render import resolve_template

    def echo(n: int, seed: int, prefix: str) -> list[Example]:
        rng = random.Random(seed)
        return [Example(id=f"{prefix}:{i}", source_format="messages",
                        messages=(Message("user", "Repeat: " + (w := rng.choice(WORDS))), Message("assistant", w)))
                for i in range(n)]

    held_out = echo(24, 99, "e")
    template = resolve_template(tiny.bundle, None)

    def greedy_exact_match(model, step: int) -> dict[str, float]:
        answers, references = generate_answers(model, tiny.bundle, template, held_out)
        return {"greedy": sum(a.strip() == r.strip() for a, r in zip(answers, references)) / len(references)}

    result = run_probe(recipe(learning_rate=3e-3), echo(400, 1, "t"), held_out, steps=60, model=tiny,
                       threads=1, eval_points=4, on_eval=greedy_exact_match)
    pairs = [(p.sequence_accuracy, p.extra["greedy"]) for p in result.eval_points]
    assert all(seq == pytest.approx(greedy) for seq, greedy in pairs), pairs
    assert any(0 < seq for seq, _ in pairs), pairs  # the check is not only 0 == 0
    assert result.features["probe_eval_sequence_accuracy"] == pairs[-1][0]
