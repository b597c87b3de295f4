"""Recipe readers: examples, framework defaults, detection, key reporting, paths, derived quantities."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from tuneahead.recipe import dump_recipe, load_recipe, recipe_to_dict, recipe_warnings
from tuneahead.recipe.detect import detect_framework

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "recipes"
DATA = EXAMPLES.parent / "data"

PAIRS = [
    ("axolotl_lora.yml", "native_axolotl_lora", "axolotl"),
    ("axolotl_full.yml", "native_axolotl_full", "axolotl"),
    ("llamafactory_lora.yaml", "native_llamafactory_lora", "llamafactory"),
    ("llamafactory_full.yaml", "native_llamafactory_full", "llamafactory"),
    ("trl_sft.yaml", "native_trl_sft", "trl"),
    ("trl_sft.json", "native_trl_sft", "trl"),
]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def body(recipe) -> dict:
    return recipe.model_dump(exclude={"source"})


# ---- examples ----


@pytest.mark.parametrize("framework_file, native_stem, framework", PAIRS)
@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
def test_example_matches_its_native_equivalent(framework_file, native_stem, framework, suffix):
    theirs = load_recipe(EXAMPLES / framework_file)
    ours = load_recipe(EXAMPLES / f"{native_stem}{suffix}")
    assert theirs.source.framework == framework
    assert ours.source.framework == "native"
    assert body(theirs) == body(ours)


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in {".yml", ".yaml", ".toml"}
                                        or p.name.startswith("trl_")))
def test_examples_use_only_keys_their_framework_defines(name):
    recipe = load_recipe(EXAMPLES / name)
    assert recipe.source.unknown_keys == []
    assert recipe.datasets, "every example trains on something"
    for ref in [*recipe.datasets, *recipe.eval_datasets]:
        assert Path(ref.path).is_absolute() and Path(ref.path).parent == DATA


def test_example_reports_what_it_ignores():
    recipe = load_recipe(EXAMPLES / "llamafactory_lora.yaml")
    assert {"output_dir", "report_to", "logging_steps", "eval_strategy"} <= set(recipe.source.unsupported_keys)
    assert "learning_rate" not in recipe.source.unsupported_keys


def test_axolotl_lora_example_derived_quantities():
    recipe = load_recipe(EXAMPLES / "axolotl_lora.yml")
    assert recipe.effective_batch_size == 2 * 4
    assert recipe.steps_per_epoch(1000) == 125
    assert recipe.total_steps(1000) == 250  # 2 epochs
    assert recipe.warmup_steps_for(250) == 8  # Axolotl's default warmup, as a 3 % ratio
    assert recipe.adapter.scaling == pytest.approx(2.0)


def test_llamafactory_and_trl_examples_derived_quantities():
    lf = load_recipe(EXAMPLES / "llamafactory_lora.yaml")
    assert lf.effective_batch_size == 8 and lf.total_steps(800) == 300  # 100 steps x 3 epochs
    full = load_recipe(EXAMPLES / "llamafactory_full.yaml")
    assert full.effective_batch_size == 16 and full.total_steps(100) == 21  # ceil(100/16)=7 x 3
    trl = load_recipe(EXAMPLES / "trl_sft.yaml")
    assert trl.effective_batch_size == 8 and trl.total_steps(100) == 26  # ceil(100/8)=13 x 2
    assert trl.model_copy(update={"max_steps": 40}).total_steps(100) == 40


# ---- detection ----


@pytest.mark.parametrize("framework_file, native_stem, framework", PAIRS)
def test_detection_from_keys(framework_file, native_stem, framework):
    assert load_recipe(EXAMPLES / framework_file).source.framework == framework
    assert load_recipe(EXAMPLES / f"{native_stem}.yaml").source.framework == "native"


def test_detection_rules():
    assert detect_framework({"base_model": "m", "sequence_len": 512}) == "axolotl"
    assert detect_framework({"base_model": "m", "adapter": "lora"}) == "axolotl"
    assert detect_framework({"base_model": "m", "adapter": {"type": "lora"}}) == "native"
    assert detect_framework({"base_model": "m", "max_seq_length": 512}) == "native"
    assert detect_framework({"model_name_or_path": "m", "finetuning_type": "lora"}) == "llamafactory"
    assert detect_framework({"model_name_or_path": "m", "template": "qwen"}) == "llamafactory"
    assert detect_framework({"model_name_or_path": "m", "completion_only_loss": False}) == "trl"
    assert detect_framework({"model_name_or_path": "m", "per_device_train_batch_size": 4}) == "trl"
    assert detect_framework({"model": "m", "max_length": 512}) == "trl"


def test_framework_override_reads_an_ambiguous_file(tmp_path):
    path = write(tmp_path, "r.yaml", """\
        base_model: tiny-1m
        learning_rate: 1e-3
    """)
    assert load_recipe(path, framework="native").learning_rate == pytest.approx(1e-3)
    axo = load_recipe(path, framework="Axolotl")
    assert axo.source.framework == "axolotl" and axo.num_epochs == 1.0  # Axolotl's default, not ours
    assert load_recipe(path, framework="native").num_epochs == 3.0  # the Recipe's own default


def test_framework_aliases(tmp_path):
    path = write(tmp_path, "lf.yaml", "model_name_or_path: tiny-1m\nlearning_rate: 1e-4\n")
    assert load_recipe(path, framework="LLaMA-Factory").source.framework == "llamafactory"


# ---- framework defaults ----


def test_axolotl_defaults(tmp_path):
    path = write(tmp_path, "axolotl.yml", """\
        base_model: tiny-1m
        learning_rate: 1e-4
        datasets:
          - path: train.jsonl
            type: alpaca
    """)
    r = load_recipe(path)
    assert r.adapter.type == "full"
    assert (r.num_epochs, r.micro_batch_size, r.gradient_accumulation_steps) == (1.0, 1, 1)
    assert (r.optimizer, r.lr_scheduler, r.max_seq_length) == ("adamw_torch_fused", "cosine", 512)
    assert (r.warmup_ratio, r.warmup_steps, r.max_grad_norm, r.seed) == (0.03, 0, 1.0, 42)
    assert (r.loss_on, r.packing, r.precision, r.chat_template) == ("completion", False, "bf16", None)
    applied = set(r.source.defaults_applied)
    assert {"num_epochs", "micro_batch_size", "optimizer", "lr_scheduler", "max_seq_length", "precision",
            "warmup_ratio", "loss_on"} <= applied
    assert not {"learning_rate", "base_model", "datasets"} & applied
    assert r.datasets[0].format == "alpaca"


def test_axolotl_lora_defaults_and_quantisation(tmp_path):
    path = write(tmp_path, "axolotl.yml", """\
        base_model: tiny-1m
        learning_rate: 1e-4
        adapter: lora
        load_in_4bit: true
    """)
    r = load_recipe(path)
    assert r.adapter.type == "qlora" and r.adapter.load_in_4bit  # 4-bit base + LoRA is QLoRA
    assert (r.adapter.rank, r.adapter.alpha, r.adapter.dropout) == (8, 8.0, 0.0)  # PEFT's defaults
    assert r.adapter.target_modules == ["q_proj", "v_proj"]
    assert "adapter.rank" in r.source.defaults_applied


def test_axolotl_batch_size_and_precision(tmp_path):
    path = write(tmp_path, "axolotl.yml", """\
        base_model: tiny-1m
        learning_rate: 1e-4
        micro_batch_size: 4
        batch_size: 32
        fp16: true
        lora_target_modules: [q_proj, k_proj]
    """)
    r = load_recipe(path)
    assert r.gradient_accumulation_steps == 8 and r.effective_batch_size == 32
    assert r.precision == "fp16"
    assert any("LoRA settings are ignored" in note for note in r.source.notes)
    assert "lora_target_modules" not in r.source.unsupported_keys


def test_llamafactory_defaults(tmp_path):
    path = write(tmp_path, "lf.yaml", """\
        model_name_or_path: tiny-1m
        stage: sft
        dataset: my_data
    """)
    r = load_recipe(path)
    assert r.adapter.type == "lora"  # LLaMA-Factory's default method
    assert (r.adapter.rank, r.adapter.alpha, r.adapter.dropout) == (8, 16.0, 0.0)  # alpha = 2 x rank
    assert r.adapter.target_modules == "all-linear"
    assert (r.learning_rate, r.num_epochs, r.micro_batch_size) == (5e-5, 3.0, 8)
    assert (r.lr_scheduler, r.optimizer, r.max_seq_length, r.precision) == ("linear", "adamw_torch", 2048, "fp32")
    assert (r.loss_on, r.packing, r.seed, r.max_grad_norm) == ("completion", False, 42, 1.0)
    assert r.datasets[0].path == "my_data"  # no dataset_info.json: kept as given
    assert {"learning_rate", "adapter.alpha", "max_seq_length"} <= set(r.source.defaults_applied)


def test_llamafactory_lora_options(tmp_path):
    path = write(tmp_path, "lf.yaml", """\
        model_name_or_path: tiny-1m
        finetuning_type: lora
        lora_rank: 32
        lora_alpha: 16
        lora_target: q_proj, v_proj
        quantization_bit: 4
        warmup_steps: 0.1
        stage: pt
    """)
    r = load_recipe(path)
    assert (r.adapter.rank, r.adapter.alpha, r.adapter.target_modules) == (32, 16.0, ["q_proj", "v_proj"])
    assert r.adapter.type == "qlora"
    assert r.warmup_ratio == pytest.approx(0.1) and r.warmup_steps == 0  # transformers 5: float steps = ratio
    assert r.loss_on == "all" and r.packing  # pre-training stage


def test_llamafactory_freeze_is_reported(tmp_path):
    path = write(tmp_path, "lf.yaml", """\
        model_name_or_path: tiny-1m
        finetuning_type: freeze
        freeze_trainable_layers: 4
    """)
    r = load_recipe(path)
    assert r.adapter.type == "full"
    assert {"finetuning_type", "freeze_trainable_layers"} <= set(r.source.unsupported_keys)
    assert any("freeze" in note for note in r.source.notes)


def test_llamafactory_dataset_info_resolution(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "dataset_info.json").write_text(json.dumps({
        "alpaca_local": {"file_name": "alpaca.json"},
        "chats": {"file_name": "sub/chats.jsonl", "formatting": "sharegpt"},
        "hub_set": {"hf_hub_url": "org/some-dataset", "split": "validation"},
        "odd": {"file_name": "odd.json", "formatting": "sharegpt", "tags": {"role_tag": "speaker"}},
    }))
    path = write(tmp_path, "lf.yaml", """\
        model_name_or_path: tiny-1m
        dataset: alpaca_local, chats, hub_set, odd
    """)
    r = load_recipe(path)
    refs = [(ref.path, ref.format, ref.split) for ref in r.datasets]
    assert refs[0] == (str(tmp_path / "data" / "alpaca.json"), "alpaca", None)
    assert refs[1] == (str(tmp_path / "data" / "sub" / "chats.jsonl"), "sharegpt", None)
    assert refs[2] == ("org/some-dataset", "alpaca", "validation")  # formatting defaults to alpaca
    # Custom tags are honoured: the turns are read under the dataset's own keys.
    odd = r.datasets[3]
    assert odd.format == "messages" and odd.columns == {"messages": "conversations", "role": "speaker",
                                                         "content": "value"}
    assert odd.roles == {"human": "user", "gpt": "assistant"}
    # A name dataset_info.json does not define is refused, as LLaMA-Factory refuses it
    # (test_recipe_errors.py::test_a_dataset_missing_from_dataset_info_is_refused_as_llamafactory_does).


def test_trl_defaults(tmp_path):
    path = write(tmp_path, "sft.yaml", """\
        model_name_or_path: tiny-1m
        dataset_name: org/chat-data
        per_device_train_batch_size: 4
    """)
    r = load_recipe(path)
    assert r.learning_rate == pytest.approx(2e-5)  # SFTConfig's, not TrainingArguments' 5e-5
    assert (r.max_seq_length, r.packing, r.precision) == (1024, False, "bf16")
    assert r.loss_on == "completion_for_prompt_completion"
    assert r.adapter.type == "full"
    assert (r.num_epochs, r.lr_scheduler, r.gradient_accumulation_steps) == (3.0, "linear", 1)
    assert r.datasets[0].path == "org/chat-data"  # a hub id stays a hub id
    assert r.eval_datasets == []


def test_trl_peft_and_loss_options(tmp_path):
    path = write(tmp_path, "sft.yaml", """\
        model: tiny-1m
        train_file: train.jsonl
        validation_file: eval.jsonl
        use_peft: true
        completion_only_loss: false
        max_seq_length: 256
        fp16: true
    """)
    r = load_recipe(path, framework="trl")
    assert (r.adapter.type, r.adapter.rank, r.adapter.alpha, r.adapter.dropout) == ("lora", 16, 32.0, 0.05)
    assert r.loss_on == "all"
    assert r.max_seq_length == 256 and r.precision == "fp16"
    assert r.datasets[0].path == str(tmp_path / "train.jsonl")
    assert r.eval_datasets[0].path == str(tmp_path / "eval.jsonl")


def test_trl_eval_split_when_evaluation_is_on(tmp_path):
    path = write(tmp_path, "sft.yaml", """\
        model_name_or_path: tiny-1m
        dataset_name: org/chat-data
        eval_strategy: steps
        assistant_only_loss: true
    """)
    r = load_recipe(path)
    assert [(e.path, e.split) for e in r.eval_datasets] == [("org/chat-data", "test")]
    assert r.loss_on == "completion"
    assert "eval_strategy" in r.source.unsupported_keys


def test_native_defaults_and_shorthands(tmp_path):
    path = write(tmp_path, "recipe.yaml", """\
        tuneahead_recipe: 1
        base_model: tiny-1m
        adapter: full
        datasets: [train.jsonl, {path: ./more.parquet, format: text}]
    """)
    r = load_recipe(path)
    assert r.adapter.type == "full"
    assert [d.path for d in r.datasets] == [str(tmp_path / "train.jsonl"), str(tmp_path / "more.parquet")]
    assert r.datasets[1].format == "text"
    assert r.learning_rate == 2e-4 and "learning_rate" in r.source.defaults_applied
    assert "datasets" not in r.source.defaults_applied


# ---- numbers written as YAML 1.1 strings ----


def test_exponent_strings_are_numbers(tmp_path):
    path = write(tmp_path, "axolotl.yml", """\
        base_model: tiny-1m
        adapter: lora
        learning_rate: 2e-4
        lora_dropout: 5e-2
        weight_decay: "1e-2"
    """)
    r = load_recipe(path)
    assert r.learning_rate == pytest.approx(2e-4)
    assert r.adapter.dropout == pytest.approx(0.05)
    assert r.weight_decay == pytest.approx(0.01)


def test_native_accepts_exponent_strings(tmp_path):
    path = write(tmp_path, "r.yaml", "tuneahead_recipe: 1\nbase_model: tiny-1m\nlearning_rate: 3e-5\n")
    assert load_recipe(path).learning_rate == pytest.approx(3e-5)


# ---- unknown and unsupported keys ----


def test_unknown_and_unsupported_keys_are_reported(tmp_path):
    path = write(tmp_path, "axolotl.yml", """\
        base_model: tiny-1m
        learning_rate: 1e-4
        lerning_rate: 1e-3
        wandb_project: my-project
        deepspeed: zero2.json
        datasets:
          - path: train.jsonl
            type: chat_template
            feild_messages: conversations
            name: default
    """)
    r = load_recipe(path)
    assert set(r.source.unknown_keys) == {"lerning_rate", "datasets[0].feild_messages"}
    assert {"wandb_project", "deepspeed", "datasets[0].name"} <= set(r.source.unsupported_keys)
    warnings = "\n".join(recipe_warnings(r))
    assert "did you mean 'learning_rate'" in warnings
    assert "did you mean 'field_messages'" in warnings
    assert "wandb_project" in warnings


@pytest.mark.parametrize("text, typo, suggestion", [
    ("model_name_or_path: m\nfinetuning_type: lora\nlora_rnak: 8\n", "lora_rnak", "lora_rank"),
    ("model_name_or_path: m\nuse_peft: true\nlora_alhpa: 8\n", "lora_alhpa", "lora_alpha"),
])
def test_typos_in_llamafactory_and_trl(tmp_path, text, typo, suggestion):
    r = load_recipe(write(tmp_path, "c.yaml", text))
    assert r.source.unknown_keys == [typo]
    assert any(f"did you mean '{suggestion}'" in w for w in recipe_warnings(r))


def test_empty_keys_are_not_reported(tmp_path):
    path = write(tmp_path, "axolotl.yml", "base_model: m\nlearning_rate: 1e-4\nwandb_project:\nhub_model_id:\n")
    r = load_recipe(path)
    assert r.source.unsupported_keys == [] and r.source.unknown_keys == []


# ---- paths ----


def test_relative_paths_resolve_against_the_recipe_folder(tmp_path, monkeypatch):
    sub = tmp_path / "configs"
    sub.mkdir()
    path = write(sub, "axolotl.yml", """\
        base_model: ./models/base
        learning_rate: 1e-4
        datasets:
          - path: ../data/train.jsonl
            type: alpaca
          - path: org/hub-dataset
            type: alpaca
          - path: json
            data_files: [a.jsonl, b.jsonl]
            type: completion
    """)
    monkeypatch.chdir(tmp_path.parent)
    r = load_recipe(path)
    assert r.base_model == str(sub / "models" / "base")
    paths = [d.path for d in r.datasets]
    assert paths == [str(tmp_path / "data" / "train.jsonl"), "org/hub-dataset", str(sub / "a.jsonl"),
                     str(sub / "b.jsonl")]
    assert r.datasets[2].format == "text"


# ---- dump / round trip ----


@pytest.mark.parametrize("name", ["axolotl_lora.yml", "llamafactory_full.yaml", "trl_sft.json",
                                  "native_axolotl_lora.toml"])
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_round_trip_through_native(tmp_path, name, suffix):
    original = load_recipe(EXAMPLES / name)
    (tmp_path / "nested").mkdir()
    out = dump_recipe(original, tmp_path / "nested" / f"out{suffix}")
    again = load_recipe(out)
    assert again.source.framework == "native"
    assert body(again) == body(original)


def test_dump_writes_relative_paths(tmp_path):
    recipe = load_recipe(EXAMPLES / "native_trl_sft.yaml")
    data = recipe_to_dict(recipe, relative_to=EXAMPLES)
    assert data["tuneahead_recipe"] == 1 and "source" not in data
    assert data["datasets"][0]["path"] == os.path.join("..", "data", "example_train.jsonl")
    assert data["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_hf_defaults_match_the_installed_transformers():
    """The TrainingArguments defaults the TRL and LLaMA-Factory readers apply are the installed release's
    (a table, so that reading a recipe does not import torch; this test catches drift)."""
    import dataclasses

    transformers = pytest.importorskip("transformers")
    from tuneahead.recipe._hf import HF_DEFAULTS

    fields = {f.name: f.default for f in dataclasses.fields(transformers.TrainingArguments)}
    keys = {"learning_rate": "learning_rate", "num_epochs": "num_train_epochs", "micro_batch_size":
            "per_device_train_batch_size", "gradient_accumulation_steps": "gradient_accumulation_steps",
            "lr_scheduler": "lr_scheduler_type", "warmup_steps": "warmup_steps", "weight_decay": "weight_decay",
            "adam_beta1": "adam_beta1", "adam_beta2": "adam_beta2", "max_grad_norm": "max_grad_norm", "seed": "seed"}
    for ours, theirs in keys.items():
        default = fields[theirs]
        assert str(getattr(default, "value", default)) == str(HF_DEFAULTS[ours]) or default == HF_DEFAULTS[ours], ours
    assert fields["max_steps"] == -1 and HF_DEFAULTS["max_steps"] is None  # -1 means unset
    # transformers 5 names the fused kernel of the same AdamW; the probe runs AdamW either way.
    assert str(fields["optim"]) in {"adamw_torch", "adamw_torch_fused", "OptimizerNames.ADAMW_TORCH_FUSED"} or \
        getattr(fields["optim"], "value", None) in {"adamw_torch", "adamw_torch_fused"}
