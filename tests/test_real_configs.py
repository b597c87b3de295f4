"""Configs shaped like the SFT examples Axolotl and LLaMA-Factory ship (written here, key for key the kinds
those examples use): each loads, and `describe` reads a conversational dataset under it without refusing.

The kinds covered: named chat templates of each family, `tokenizer_default`, `jinja` with a template
file, `field_messages` + `message_property_mappings` (and the older `message_field_*` with `roles`),
split slices (`train[:20%]`), 8-bit / 4-bit loading, LoRA target regexes, LLaMA-Factory `template`
names with `dataset_info.json` entries (alpaca and sharegpt, with columns and tags).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tuneahead.data.describe import describe
from tuneahead.recipe import load_recipe

CONVERSATIONS = [{"conversations": [{"from": "human", "value": f"question {i}?"}, {"from": "gpt", "value": f"answer {i}"}]}
                 for i in range(24)]
MESSAGES = [{"messages": [{"role": "user", "content": f"question {i}?"}, {"role": "assistant", "content": f"answer {i}"}]}
            for i in range(24)]
ALPACA = [{"instruction": f"question {i}?", "input": "", "output": f"answer {i}"} for i in range(24)]

AXOLOTL = {
    "llama3-lora-8bit": ("chat_template: llama3\nload_in_8bit: true\nadapter: lora\nlora_target_linear: true\n"
                         "datasets:\n  - path: messages.jsonl\n    type: chat_template\n    field_messages: messages\n"
                         "    message_field_role: role\n    message_field_content: content\n"
                         "    roles: {user: [user], assistant: [assistant]}\n"),
    "gemma3-qlora": ("chat_template: gemma3\neot_tokens: [<end_of_turn>]\nload_in_4bit: true\nadapter: qlora\n"
                     "datasets:\n  - path: conversations.jsonl\n    type: chat_template\n    field_messages: conversations\n"
                     "    message_property_mappings: {role: from, content: value}\n"),
    "qwen3-qlora-slice": ("chat_template: qwen3\nload_in_4bit: true\nadapter: qlora\noptimizer: adamw_torch_4bit\n"
                          "gradient_checkpointing: offload\ndatasets:\n  - path: conversations.jsonl\n"
                          "    type: chat_template\n    split: train[:20%]\n    field_messages: conversations\n"
                          "    message_property_mappings: {role: from, content: value}\n"),
    "phi35-lora": ("chat_template: phi_3\nload_in_8bit: true\nadapter: lora\nbfloat16: true\nbf16: true\n"
                   "datasets:\n  - path: messages.jsonl\n    type: chat_template\n    field_messages: messages\n"),
    "mistral-small-lora": ("chat_template: mistral_v7_tekken\nprocessor_type: AutoProcessor\nload_in_8bit: true\n"
                           "adapter: lora\nlora_target_modules: 'language_model.model.layers.[\\d]+.(mlp|self_attn).(up|down|q|v)_proj'\n"
                           "datasets:\n  - path: messages.jsonl\n    type: chat_template\n    field_messages: messages\n"),
    "falcon-h1-qlora": ("chat_template: falcon_h1\nload_in_4bit: true\nadapter: qlora\n"
                        "datasets:\n  - path: conversations.jsonl\n    type: chat_template\n"
                        "    field_messages: conversations\n    message_property_mappings: {role: from, content: value}\n"),
    "qwen25": ("chat_template: qwen_25\nadapter: lora\ndatasets:\n  - path: messages.jsonl\n    type: chat_template\n"),
    "llama4": ("chat_template: llama4\nadapter: lora\ndatasets:\n  - path: messages.jsonl\n    type: chat_template\n"),
    "tokenizer-default": ("chat_template: tokenizer_default\ndatasets:\n  - path: messages.jsonl\n    type: chat_template\n"),
    "fallback": ("chat_template: tokenizer_default_fallback_chatml\ndatasets:\n  - path: messages.jsonl\n"
                 "    type: chat_template\n"),
    "jinja-file": ("chat_template: jinja\nchat_template_jinja: my_template.jinja\ndatasets:\n  - path: messages.jsonl\n"
                   "    type: chat_template\n"),
    "per-dataset-template": ("datasets:\n  - path: messages.jsonl\n    type: chat_template\n    chat_template: deepseek_v3\n"),
    "alpaca": ("datasets:\n  - path: alpaca.jsonl\n    type: alpaca\n"),
}

LLAMAFACTORY = {
    "llama3": "template: llama3\nfinetuning_type: lora\nlora_target: all\ndataset: identity,alpaca_demo\n",
    "qwen3-nothink": "template: qwen3_nothink\nfinetuning_type: lora\ndataset: identity\n",
    "qwen2-vl": "template: qwen2_vl\nfinetuning_type: lora\ndataset: identity,alpaca_demo\n",
    "mistral": "template: mistral\nfinetuning_type: lora\ndataset: alpaca_demo\n",
    "llama4": "template: llama4\nfinetuning_type: lora\ndataset: alpaca_demo\n",
    "gemma3-full": "template: gemma3\nfinetuning_type: full\ndataset: renamed\n",
    "deepseek3": "template: deepseek3\nfinetuning_type: lora\ndataset: identity\n",
    "glm4": "template: glm4\nfinetuning_type: lora\ndataset: identity\n",
}


def write_data(folder: Path) -> None:
    for name, rows in (("conversations", CONVERSATIONS), ("messages", MESSAGES), ("alpaca", ALPACA)):
        (folder / f"{name}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (folder / "my_template.jinja").write_text(
        "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}")
    data = folder / "data"
    data.mkdir()
    (data / "identity.json").write_text(json.dumps(CONVERSATIONS))
    (data / "alpaca_demo.json").write_text(json.dumps(ALPACA))
    (data / "renamed.json").write_text(json.dumps([{"q": r["instruction"], "a": r["output"]} for r in ALPACA]))
    (data / "dataset_info.json").write_text(json.dumps({
        "identity": {"file_name": "identity.json", "formatting": "sharegpt"},
        "alpaca_demo": {"file_name": "alpaca_demo.json"},
        "renamed": {"file_name": "renamed.json", "columns": {"prompt": "q", "response": "a"}},
    }))


@pytest.mark.parametrize("name", sorted(AXOLOTL))
def test_axolotl_shaped_configs_load_and_describe(tmp_path: Path, name: str) -> None:
    write_data(tmp_path)
    config = tmp_path / "config.yml"
    config.write_text("base_model: tiny-1m\nlearning_rate: 0.0002\nsequence_len: 512\nmicro_batch_size: 2\n"
                      "num_epochs: 1\n" + textwrap.dedent(AXOLOTL[name]))
    recipe = load_recipe(config)
    assert recipe.source.framework == "axolotl"
    result = describe(recipe=recipe)
    assert result.descriptors["n_examples"] == 24
    assert result.descriptors["loss_token_share"] > 0  # the answers carry loss under the template


@pytest.mark.parametrize("name", sorted(LLAMAFACTORY))
def test_llamafactory_shaped_sft_configs_load_and_describe(tmp_path: Path, name: str) -> None:
    write_data(tmp_path)
    config = tmp_path / "lf.yaml"
    config.write_text("model_name_or_path: tiny-1m\nstage: sft\ndo_train: true\ncutoff_len: 512\n"
                      "per_device_train_batch_size: 1\ngradient_accumulation_steps: 8\nlearning_rate: 1.0e-4\n"
                      "num_train_epochs: 3.0\nlr_scheduler_type: cosine\nwarmup_ratio: 0.1\nbf16: true\n"
                      + LLAMAFACTORY[name])
    recipe = load_recipe(config)
    assert recipe.source.framework == "llamafactory"
    result = describe(recipe=recipe)
    assert result.descriptors["n_examples"] >= 24 and result.descriptors["loss_token_share"] > 0


def test_preference_training_is_refused_for_scope(tmp_path: Path) -> None:
    from tuneahead.errors import RecipeError

    config = tmp_path / "lf.yaml"
    config.write_text("model_name_or_path: tiny-1m\nstage: dpo\ndataset: x\n")
    with pytest.raises(RecipeError, match="not supervised fine-tuning"):
        load_recipe(config)
