"""Recipe readers: every failure is a RecipeError naming the file, the line where known, and the user's key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tuneahead.errors import ExitCode, RecipeError
from tuneahead.recipe import load_recipe


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def fail(path: Path, framework: str | None = None) -> RecipeError:
    with pytest.raises(RecipeError) as info:
        load_recipe(path, framework=framework)
    err = info.value
    assert err.exit_code == ExitCode.INPUT
    assert err.location is not None and err.location.file == str(path)
    return err


# ---- wrong types name the key, the file and the line ----


def test_wrong_type_names_key_file_and_line(tmp_path):
    path = write(tmp_path, "axolotl.yml", """\
        base_model: tiny-1m
        sequence_len: 512
        learning_rate: fast
    """)
    err = fail(path)
    assert err.location.field == "learning_rate" and err.location.line == 3
    assert str(err).startswith(f"{path}:3, field 'learning_rate': expected a number, got 'fast'")


@pytest.mark.parametrize("name, text, key, expected", [
    ("lf.yaml", "model_name_or_path: m\nfinetuning_type: lora\nlora_rank: eight\n", "lora_rank", "an integer"),
    ("lf.yaml", "model_name_or_path: m\nstage: sft\nper_device_train_batch_size: 2.5\n",
     "per_device_train_batch_size", "an integer"),
    ("trl.yaml", "model_name_or_path: m\nuse_peft: maybe\n", "use_peft", "true or false"),
    ("trl.json", '{"model_name_or_path": "m", "max_length": "long"}', "max_length", "an integer"),
    ("axolotl.yml", "base_model: m\nlearning_rate: 1e-4\nadapter: lora\nlora_target_modules: 3\n", "lora_target_modules",
     "a string or a list of strings"),
    ("axolotl.yml", "base_model: m\nlearning_rate: 1e-4\nsequence_len: 64\ndatasets: train.jsonl\n", "datasets",
     "a list of dataset entries"),
])
def test_wrong_types_in_each_framework(tmp_path, name, text, key, expected):
    err = fail(write(tmp_path, name, text))
    assert err.location.field == key
    assert f"expected {expected}" in err.message


def test_native_wrong_type_names_nested_field_and_line(tmp_path):
    path = write(tmp_path, "r.yaml", """\
        tuneahead_recipe: 1
        base_model: tiny-1m
        adapter:
          type: lora
          rank: big
    """)
    err = fail(path)
    assert err.location.field == "adapter.rank" and err.location.line == 5
    assert "expected an integer, got 'big'" in err.message


def test_native_toml_wrong_type(tmp_path):
    path = write(tmp_path, "r.toml", 'tuneahead_recipe = 1\nbase_model = "m"\nlearning_rate = "fast"\n')
    err = fail(path)
    assert err.location.field == "learning_rate" and "expected a number, got 'fast'" in err.message


# ---- validation errors carry the framework's own key name ----


@pytest.mark.parametrize("name, text, key", [
    ("axolotl.yml", "base_model: m\nsequence_len: 64\nlearning_rate: -1\n", "learning_rate"),
    ("axolotl.yml", "base_model: m\nlearning_rate: 1e-4\nadapter: lora\nlr_scheduler: rex\n", "lr_scheduler"),
    ("axolotl.yml", "base_model: m\nlearning_rate: 1e-4\nsequence_len: 4\n", "sequence_len"),
    ("lf.yaml", "model_name_or_path: m\nstage: sft\nlr_scheduler_type: fancy\n", "lr_scheduler_type"),
    ("lf.yaml", "model_name_or_path: m\nstage: sft\nnum_train_epochs: 0\n", "num_train_epochs"),
    ("lf.yaml", "model_name_or_path: m\nstage: sft\ncutoff_len: 0\n", "cutoff_len"),
    ("trl.yaml", "model_name_or_path: m\nuse_peft: true\nlora_dropout: 1.5\n", "lora_dropout"),
    ("trl.yaml", "model_name_or_path: m\nper_device_train_batch_size: 0\n", "per_device_train_batch_size"),
])
def test_invalid_values_name_the_framework_key(tmp_path, name, text, key):
    err = fail(write(tmp_path, name, text))
    assert err.location.field == key
    assert f"field '{key}'" in str(err)


def test_scheduler_error_lists_the_choices(tmp_path):
    err = fail(write(tmp_path, "axolotl.yml", "base_model: m\nlearning_rate: 1e-4\nlr_scheduler: rex\n"), "axolotl")
    assert "'cosine'" in err.message and "got 'rex'" in err.message


# ---- unreadable files name the line ----


def test_bad_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "axolotl.yml", """\
        base_model: tiny-1m
        learning_rate: 1e-4
        datasets: [
          {path: a.jsonl, type: alpaca
        micro_batch_size: 2
    """)
    err = fail(path)
    assert err.location.line is not None and err.location.line >= 4
    assert "cannot parse YAML" in err.message


def test_bad_yaml_indentation_names_the_line(tmp_path):
    path = write(tmp_path, "r.yaml", "base_model: m\n  learning_rate: 1e-4\nseed: 3\n")
    err = fail(path)
    assert err.location.line == 2


def test_duplicate_yaml_key_is_an_error(tmp_path):
    path = write(tmp_path, "axolotl.yml", "base_model: m\nlearning_rate: 1e-4\nlearning_rate: 1e-3\n")
    err = fail(path)
    assert err.location.line == 3 and "appears twice (first on line 2)" in err.message


def test_bad_json_names_the_line(tmp_path):
    err = fail(write(tmp_path, "trl.json", '{\n  "model_name_or_path": "m",\n  "learning_rate": ,\n}\n'))
    assert err.location.line == 3 and "cannot parse JSON" in err.message


def test_bad_toml_names_the_line(tmp_path):
    err = fail(write(tmp_path, "r.toml", 'tuneahead_recipe = 1\nbase_model = "m"\nseed = = 3\n'))
    assert err.location.line == 3 and "cannot parse TOML" in err.message


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"),
    ("- base_model: m\n", "mapping"),
])
def test_empty_or_non_mapping_file(tmp_path, text, fragment):
    assert fragment in fail(write(tmp_path, "r.yaml", text)).message


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(RecipeError, match="does not exist") as info:
        load_recipe(missing)
    assert info.value.location.file == str(missing)


# ---- native format is strict ----


def test_native_unknown_key_is_an_error_with_a_suggestion(tmp_path):
    path = write(tmp_path, "r.yaml", "tuneahead_recipe: 1\nbase_model: m\nlerning_rate: 1e-4\n")
    err = fail(path)
    assert err.location.field == "lerning_rate" and err.location.line == 3
    assert "unknown key 'lerning_rate'" in err.message and "learning_rate" in (err.hint or "")


def test_native_unknown_adapter_key(tmp_path):
    path = write(tmp_path, "r.yaml", "tuneahead_recipe: 1\nbase_model: m\nadapter: {type: lora, rnak: 4}\n")
    err = fail(path)
    assert err.location.field == "adapter.rnak" and "unknown key" in err.message


def test_native_version_marker(tmp_path):
    err = fail(write(tmp_path, "r.yaml", "tuneahead_recipe: 2\nbase_model: m\n"))
    assert "version" in err.message and err.location.field == "tuneahead_recipe"


# ---- detection ----


def test_ambiguous_config_lists_the_keys_seen(tmp_path):
    path = write(tmp_path, "r.yaml", "base_model: m\nlearning_rate: 1e-4\nseed: 3\n")
    err = fail(path)
    assert "keys seen: base_model, learning_rate, seed" in err.message
    assert "framework" in (err.hint or "")
    assert load_recipe(path, framework="axolotl").seed == 3  # the override settles it


def test_conflicting_markers(tmp_path):
    path = write(tmp_path, "r.yaml", "model_name_or_path: m\nfinetuning_type: lora\nuse_peft: true\n")
    err = fail(path)
    assert "llamafactory: finetuning_type" in err.message and "trl: use_peft" in err.message


def test_no_model_key(tmp_path):
    err = fail(write(tmp_path, "r.yaml", "learning_rate: 1e-4\n"))
    assert "no base_model, model_name_or_path or model key" in err.message


def test_unknown_framework_name(tmp_path):
    path = write(tmp_path, "r.yaml", "base_model: m\n")
    with pytest.raises(RecipeError, match="unknown framework 'unsloth'"):
        load_recipe(path, framework="unsloth")


# ---- framework-specific refusals ----


@pytest.mark.parametrize("name, text, key, fragment", [
    ("axolotl.yml", "base_model: m\nsequence_len: 512\n", "learning_rate", "requires 'learning_rate'"),
    ("axolotl.yml", "base_model: m\nlearning_rate: 1e-4\nrl: dpo\n", "rl", "supervised fine-tuning"),
    ("axolotl.yml", "base_model: m\nlearning_rate: 1e-4\nadapter: ia3\n", "adapter", "'lora', 'qlora'"),
    ("axolotl.yml", "base_model: m\nlearning_rate: 1e-4\nadapter: qlora\n", "adapter", "load_in_4bit"),
    ("axolotl.yml", "base_model: m\nlearning_rate: 1e-4\nload_in_4bit: true\n", "load_in_4bit", "adapter"),
    ("axolotl.yml", "base_model: m\nlearning_rate: 1e-4\nsequence_len: 64\nwarmup_steps: 5\nwarmup_ratio: 0.1\n", "warmup_ratio",
     "not both"),
    ("axolotl.yml", "base_model: m\nlearning_rate: 1e-4\ndatasets:\n  - type: alpaca\n", "datasets[0].path",
     "needs a 'path'"),
    ("lf.yaml", "model_name_or_path: m\nstage: dpo\n", "stage", "supervised fine-tuning"),
    ("lf.yaml", "model_name_or_path: m\nfinetuning_type: full\nquantization_bit: 4\n", "quantization_bit",
     "only with finetuning_type: lora"),
    ("trl.yaml", "model_name_or_path: m\nmax_length: null\nlearning_rate: 1e-4\n", "max_length", "no truncation"),
    ("trl.yaml", "model_name_or_path: m\nmodel: other\n", "model", "disagree"),
    ("trl.yaml", "model_name_or_path: m\ndataset_name: a\ntrain_file: b.jsonl\n", "train_file", "once"),
])
def test_framework_refusals(tmp_path, name, text, key, fragment):
    err = fail(write(tmp_path, name, text))
    assert err.location.field == key
    assert fragment in err.message


def test_bad_dataset_info_json_names_its_file(tmp_path):
    (tmp_path / "data").mkdir()
    info = tmp_path / "data" / "dataset_info.json"
    info.write_text('{"a": {"file_name": "a.json"},\n "b": }\n')
    path = write(tmp_path, "lf.yaml", "model_name_or_path: m\nstage: sft\ndataset: a\n")
    with pytest.raises(RecipeError, match="cannot parse JSON") as excinfo:
        load_recipe(path)
    assert excinfo.value.location.file == str(info) and excinfo.value.location.line == 2


# ---- hostile files: bounded work, a clear error ----


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "base_model: tiny-1m\n" + "\n".join(lines) + "\n"


def test_yaml_alias_bomb_is_refused_quickly(tmp_path):
    import time

    path = write(tmp_path, "bomb.yaml", billion_laughs())
    started = time.perf_counter()
    err = fail(path)
    assert time.perf_counter() - started < 5  # measured well under a second; the bound is for slow CI
    assert "aliases expand" in err.message


def test_yaml_aliases_of_ordinary_size_still_load(tmp_path):
    path = write(tmp_path, "axolotl.yml", """\
        base_model: tiny-1m
        learning_rate: 1e-4
        adapter: lora
        lora_target_modules: &mods [q_proj, v_proj]
        lora_modules_to_save: *mods
    """)
    assert load_recipe(path).adapter.target_modules == ["q_proj", "v_proj"]


def test_deeply_nested_yaml_is_an_input_error(tmp_path):
    path = write(tmp_path, "deep.yaml", "base_model: m\nx: " + "[" * 5000 + "]" * 5000 + "\n")
    fail(path)


# ---- messages that name what to fix ----


def test_a_dataset_missing_from_dataset_info_is_refused_as_llamafactory_does(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "dataset_info.json").write_text('{"alpaca_en": {"file_name": "a.json"}}')
    path = write(tmp_path, "lf.yaml", "model_name_or_path: m\nstage: sft\ndataset: my_data\n")
    err = fail(path)
    assert err.location.field == "dataset" and err.location.line == 3
    assert "'my_data' is not defined" in err.message and "alpaca_en" in (err.hint or "")


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_infinite_or_nan_numbers_are_refused_alike(tmp_path, value):
    path = write(tmp_path, "recipe.yaml", f"tuneahead_recipe: 1\nbase_model: tiny-1m\nlearning_rate: {value}\n")
    err = fail(path)
    assert err.location.field == "learning_rate"


@pytest.mark.parametrize("name, text, key", [
    ("axolotl.yml", "base_model: tiny-1m\nlearning_rate: 1e-4\ndatasets:\n  - path: nowhere.jsonl\n"
     "    type: chat_template\n", "datasets[0].path"),
    ("recipe.yaml", "tuneahead_recipe: 1\nbase_model: tiny-1m\ndatasets: [{path: nowhere.jsonl}]\n",
     "datasets[0].path"),
])
def test_a_missing_dataset_names_the_recipe_key_pointing_at_it(tmp_path, name, text, key):
    from tuneahead.data.load import load_recipe_data
    from tuneahead.errors import DataError

    recipe = load_recipe(write(tmp_path, name, text))
    with pytest.raises(DataError) as err:
        load_recipe_data(recipe)
    assert err.value.location.field == key and err.value.location.file == str(tmp_path / name)
    assert "nowhere.jsonl" in err.value.message
