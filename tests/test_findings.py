"""Each pitfall rule fires on the problem it names, with evidence and a fix, and stays quiet otherwise."""

from __future__ import annotations

import json
import random

import pytest

from planted import VOCAB, chat_row, write_jsonl
from tuneahead.data.describe import describe
from tuneahead.recipe.model import AdapterConfig, Recipe, RecipeSource


def rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [chat_row(" ".join(rng.choice(VOCAB) for _ in range(12)), " ".join(rng.choice(VOCAB) for _ in range(4)))
            for _ in range(n)]


def codes(result) -> dict[str, object]:
    return {f.code: f for f in result.findings}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_jsonl(rows(400), tmp_path_factory.mktemp("d") / "train.jsonl")


def check(data, **recipe_kw):
    return describe(data, recipe=Recipe(base_model="none/none", **recipe_kw))


def test_sound_recipe_has_no_recipe_findings(data) -> None:
    found = codes(check(data, learning_rate=2e-4, num_epochs=2))
    assert not set(found) & {"learning_rate", "overfitting_risk", "loss_on_prompt", "no_label_tokens", "truncation"}


def test_learning_rate_far_outside_range(data) -> None:
    high = codes(check(data, learning_rate=5e-2))["learning_rate"]
    assert high.severity == "error" and "above" in high.title
    low = codes(check(data, learning_rate=1e-7))["learning_rate"]
    assert "below" in low.title
    full = codes(check(data, learning_rate=5e-4, adapter=AdapterConfig(type="full")))["learning_rate"]
    assert full.severity == "warning" and "full" in full.title


def test_too_many_epochs_for_the_data(data) -> None:
    f = codes(check(data, max_steps=2000))["overfitting_risk"]
    assert f.severity == "error" and f.numbers["epochs"] == pytest.approx(2000 * 8 / 400)
    assert "max_steps" in f.fix


def test_loss_on_prompt_tokens(data) -> None:
    f = codes(check(data, loss_on="all"))["loss_on_prompt"]
    assert f.numbers["prompt_loss_share"] > 0.5 and "train_on_inputs" in f.fix
    trl = check(data, loss_on="completion_for_prompt_completion", source=RecipeSource(framework="trl"))
    assert "assistant_only_loss" in codes(trl)["loss_on_prompt"].evidence


def test_truncation_that_leaves_no_label(data) -> None:
    found = codes(check(data, max_seq_length=40))
    assert found["truncation"].severity == "error"
    assert found["no_label_tokens"].example_ids
    assert found["missing_eos"].numbers["eos_target_share"] < 0.9


def test_trl_assistant_only_loss_needs_generation_tags(data) -> None:
    recipe_kw = dict(loss_on="completion", source=RecipeSource(framework="trl"))
    assert "assistant_mask_needs_generation_tags" in codes(check(data, **recipe_kw))


def test_conflicting_labels(tmp_path) -> None:
    base = rows(200)
    conflicted = [json.loads(json.dumps(r)) for r in base[:20]]
    for r in conflicted:
        r["messages"][1]["content"] = "a different answer"
    result = describe(write_jsonl(base + conflicted, tmp_path / "c.jsonl"))
    f = codes(result)["conflicting_labels"]
    assert result.descriptors["conflicting_answer_share"] == pytest.approx(40 / 220)
    assert f.severity == "error" and f.example_ids


def test_small_dataset(tmp_path) -> None:
    result = describe(write_jsonl(rows(30), tmp_path / "s.jsonl"))
    assert "small_dataset" in codes(result)


def test_pad_equals_eos_is_reported_for_the_default_tokenizer(data) -> None:
    assert codes(describe(data))["pad_equals_eos"].severity == "info"


def test_learning_rate_range_scales_with_model_size(data) -> None:
    # tiny-1m is a built-in ~1M-parameter model: 2e-3 is a normal full fine-tune rate for it ...
    tiny = describe(data, recipe=Recipe(base_model="tiny-1m", learning_rate=2e-3, adapter=AdapterConfig(type="full")))
    assert "learning_rate" not in codes(tiny)
    # ... but far too high for a 135M-parameter model.
    big = describe(data, recipe=Recipe(base_model="HuggingFaceTB/SmolLM2-135M-Instruct", learning_rate=2e-3,
                                       adapter=AdapterConfig(type="full")))
    assert codes(big)["learning_rate"].severity == "error"


def test_findings_are_counted_into_the_descriptors(data) -> None:
    from tuneahead.features.catalogue import spec

    result = check(data, learning_rate=5e-2, max_steps=2000)  # two errors: learning rate, epochs
    severities = [f.severity for f in result.findings]
    assert severities.count("error") >= 2
    assert result.descriptors["findings_errors"] == severities.count("error")
    assert result.descriptors["findings_warnings"] == severities.count("warning")
    assert check(data, learning_rate=2e-4, num_epochs=2).descriptors["findings_errors"] == 0
    # Registered (unit, meaning for reports) but derived: `describe` fills them in, not the catalogue's pass.
    assert spec("findings_errors").unit == "count" and spec("findings_errors").compute is None


def test_runs_recorded_before_the_counts_get_them_from_their_stored_severities() -> None:
    from tuneahead.store.export import run_row
    from tuneahead.store.sqlite import RunRecord

    def record(extra: dict) -> RunRecord:
        return RunRecord(run_id="r", recipe={}, static_features={"n_examples": 10.0}, dynamic_features={},
                         final_metric=0.5, target=0.4, costs={}, family="f", model="m", extra=extra)

    stored = {"truncation": "error", "duplicates": "warning", "eval_leakage": "warning", "probe_diverged": "error"}
    row = run_row(record({"finding_severities": stored}))
    assert row["findings_errors"] == 1 and row["findings_warnings"] == 2  # the probe's findings are not data's
    assert "findings_errors" not in run_row(record({"findings": ["truncation"]}))  # no severities: unknown
