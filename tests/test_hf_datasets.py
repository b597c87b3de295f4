"""Hugging Face datasets as users keep them, written by the `datasets` library itself and read offline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

datasets = pytest.importorskip("datasets")

from tuneahead.data.load import load_examples, load_recipe_data
from tuneahead.errors import DataError
from tuneahead.recipe import load_recipe


def rows(n: int, tag: str) -> list[dict]:
    return [{"messages": [{"role": "user", "content": f"{tag} question {i}"},
                          {"role": "assistant", "content": f"{tag} answer {i}"}]} for i in range(n)]


def answers(examples) -> list[str]:
    return [e.completion_text() for e in examples]


def test_a_save_to_disk_folder_is_one_dataset(tmp_path: Path) -> None:
    folder = tmp_path / "saved"
    datasets.Dataset.from_list(rows(5, "a")).save_to_disk(str(folder))
    examples, report = load_examples(folder)
    assert answers(examples) == [f"a answer {i}" for i in range(5)]
    assert report.skipped_files == []  # dataset_info.json / state.json are metadata, not data
    assert examples[0].id.startswith("data-00000-of-00001.arrow:#0")


def test_a_dataset_dict_folder_reads_the_recipe_split(tmp_path: Path) -> None:
    folder = tmp_path / "dd"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows(4, "train")),
                          "test": datasets.Dataset.from_list(rows(2, "test"))}).save_to_disk(str(folder))
    assert answers(load_examples(folder)[0]) == [f"train answer {i}" for i in range(4)]  # default: train
    recipe_path = tmp_path / "recipe.yaml"
    recipe_path.write_text("tuneahead_recipe: 1\nbase_model: tiny-1m\n"
                           "datasets: [{path: dd}]\neval_datasets: [{path: dd, split: test}]\n")
    train, evals = load_recipe_data(load_recipe(recipe_path))
    assert len(train) == 4 and answers(evals) == ["test answer 0", "test answer 1"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("tuneahead_recipe: 1\nbase_model: tiny-1m\ndatasets: [{path: dd, split: validation}]\n")
    with pytest.raises(DataError, match="no split 'validation'") as err:
        load_recipe_data(load_recipe(bad))
    assert "train, test" in (err.value.hint or "")


def test_an_arrow_file(tmp_path: Path) -> None:
    folder = tmp_path / "saved"
    datasets.Dataset.from_list(rows(3, "x")).save_to_disk(str(folder))
    arrow = tmp_path / "train.arrow"
    shutil.copy(next(folder.glob("*.arrow")), arrow)
    examples, _ = load_examples(arrow)
    assert answers(examples) == ["x answer 0", "x answer 1", "x answer 2"]
    (tmp_path / "broken.arrow").write_bytes(b"not arrow at all")
    with pytest.raises(DataError, match="cannot read Arrow data"):
        load_examples(tmp_path / "broken.arrow")


@pytest.fixture()
def hf_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "hf"
    monkeypatch.setenv("HF_HOME", str(home))
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_DATASETS_CACHE"):
        monkeypatch.delenv(var, raising=False)
    return home


def test_a_hub_dataset_in_the_hub_download_cache(tmp_path: Path, hf_home: Path) -> None:
    """The layout the hub client writes: datasets--org--name/snapshots/<revision>/..., refs/main."""
    repo = hf_home / "hub" / "datasets--acme--tickets"
    snapshot = repo / "snapshots" / "0123abcd"
    (snapshot / "data").mkdir(parents=True)
    datasets.Dataset.from_list(rows(6, "hub")).to_parquet(str(snapshot / "data" / "train-00000-of-00001.parquet"))
    datasets.Dataset.from_list(rows(2, "hubtest")).to_parquet(str(snapshot / "data" / "test-00000-of-00001.parquet"))
    (snapshot / "README.md").write_text("# a dataset card, not data")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    config = tmp_path / "axolotl.yml"
    config.write_text("base_model: tiny-1m\nlearning_rate: 1e-4\ndatasets:\n  - path: acme/tickets\n"
                      "    type: chat_template\n")
    train, _ = load_recipe_data(load_recipe(config))
    assert answers(train) == [f"hub answer {i}" for i in range(6)]


def test_a_hub_dataset_prepared_by_load_dataset(tmp_path: Path, hf_home: Path) -> None:
    """The layout `datasets.load_dataset` leaves: org___name/<config>/<version>/<hash>/name-<split>.arrow."""
    build = hf_home / "datasets" / "acme___faq" / "default" / "0.0.0" / "f00d"
    build.mkdir(parents=True)
    for split, n in (("train", 3), ("validation", 1)):
        saved = tmp_path / f"s-{split}"
        datasets.Dataset.from_list(rows(n, split)).save_to_disk(str(saved))
        shutil.copy(next(saved.glob("*.arrow")), build / f"faq-{split}.arrow")
    trl = tmp_path / "trl.yaml"
    trl.write_text("model_name_or_path: tiny-1m\nlearning_rate: 2e-5\ndataset_name: acme/faq\n")
    train, _ = load_recipe_data(load_recipe(trl))
    assert answers(train) == ["train answer 0", "train answer 1", "train answer 2"]


def test_a_hub_dataset_not_on_disk_says_where_it_looked(tmp_path: Path, hf_home: Path) -> None:
    config = tmp_path / "axolotl.yml"
    config.write_text("base_model: tiny-1m\nlearning_rate: 1e-4\ndatasets:\n  - path: acme/absent\n"
                      "    type: chat_template\n")
    with pytest.raises(DataError) as err:
        load_recipe_data(load_recipe(config))
    assert err.value.location.field == "datasets[0].path" and err.value.location.file == str(config)
    assert "datasets--acme--absent" in err.value.message and "acme___absent" in err.value.message
    assert "nothing is downloaded" in err.value.message


def test_plain_text_has_no_conflicting_prompts(tmp_path: Path) -> None:
    from tuneahead.data.describe import describe

    data = tmp_path / "text.jsonl"
    data.write_text("\n".join(json.dumps({"text": f"document number {i} about topic {i % 7}"})
                              for i in range(60)) + "\n")
    result = describe(data)
    assert result.descriptors["conflicting_answer_share"] == 0.0
    assert result.descriptors["duplicate_prompt_share"] == 0.0
    assert not any(f.code == "conflicting_labels" for f in result.findings)


# ---------------------------------------------------------------- stand-ins said plainly


def test_a_hub_tokenizer_not_on_disk_falls_back_like_a_hub_model(tmp_path: Path) -> None:
    from tuneahead.data.describe import describe

    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows(30, "s")) + "\n")
    config = tmp_path / "axolotl.yml"
    config.write_text("base_model: EleutherAI/pythia-70m\ntokenizer_config: EleutherAI/gpt-neox-20b\n"
                      "learning_rate: 1e-4\ndatasets:\n  - path: train.jsonl\n    type: chat_template\n")
    result = describe(recipe=load_recipe(config))
    assert "gpt-neox-20b" in result.tokenizer_note and "stand-in" in result.tokenizer_note
    marked = [f for f in result.findings if f.code in {"pad_equals_eos", "chat_template_missing", "missing_eos"}]
    assert all("stand-in tokenizer" in f.evidence for f in marked)


def test_a_probe_of_a_stand_in_model_says_so(tmp_path: Path) -> None:
    from tuneahead.probe.engine import run_probe

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("tuneahead_recipe: 1\nbase_model: meta-llama/Llama-3.1-8B\nadapter: {type: full}\n"
                      "learning_rate: 1e-3\nmax_seq_length: 64\nprecision: fp32\n")
    examples, _ = load_examples(_write(tmp_path / "t.jsonl", rows(24, "p")))
    result = run_probe(load_recipe(recipe), examples, steps=2, model="tiny-0.2m", threads=1)
    assert any("stand-in for the recipe's model meta-llama/Llama-3.1-8B" in n for n in result.notes)


def _write(path: Path, data: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in data) + "\n")
    return path
