"""Descriptors recover planted problems within +-2 points, and the matching findings fire (and only them)."""

from __future__ import annotations

import math

import pytest

from planted import Planted, make_dataset, write_jsonl
from tuneahead.data.describe import describe
from tuneahead.recipe.model import Recipe

TOL = 0.02
N = 3000


def run(tmp_path, spec: Planted, max_len: int = 512, **recipe_kw):
    train, ev = make_dataset(spec, n_eval=400, seed=7)
    recipe = Recipe(base_model="not-on-disk/model", max_seq_length=max_len, **recipe_kw)
    return describe(
        write_jsonl(train, tmp_path / "train.jsonl"), eval_data=write_jsonl(ev, tmp_path / "eval.jsonl"), recipe=recipe
    )


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    spec = Planted(N, exact_dup=0.06, near_dup=0.05, eval_leak=0.10, overlength=0.08)
    return spec, run(tmp_path_factory.mktemp("planted"), spec)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return run(tmp_path_factory.mktemp("clean"), Planted(N))


def test_planted_fractions_recovered(planted) -> None:
    spec, result = planted
    d = result.descriptors
    assert d["exact_duplicate_share"] == pytest.approx(spec.exact_dup, abs=TOL)
    assert d["near_duplicate_share"] == pytest.approx(spec.near_dup, abs=TOL)
    assert d["eval_exact_leak_share"] == pytest.approx(spec.eval_leak, abs=TOL)
    assert d["eval_near_leak_share"] == pytest.approx(spec.eval_leak, abs=TOL)
    assert d["answer_cut_share"] == pytest.approx(spec.overlength, abs=TOL)
    assert d["truncated_example_share"] == pytest.approx(spec.overlength, abs=TOL)


def test_planted_findings_fire_with_evidence(planted) -> None:
    _, result = planted
    by_code = {f.code: f for f in result.findings}
    assert {"duplicates", "eval_leakage", "truncation"} <= set(by_code)
    trunc = by_code["truncation"]
    assert trunc.example_ids and all(i.startswith("train.jsonl:") for i in trunc.example_ids)
    assert trunc.numbers["suggested_max_seq_length"] > 512
    assert all(i.startswith("eval.jsonl:") for i in by_code["eval_leakage"].example_ids)
    assert "answer_skew" not in by_code


def test_clean_data_fires_none(clean) -> None:
    d = clean.descriptors
    for name in ("exact_duplicate_share", "near_duplicate_share", "eval_exact_leak_share", "answer_cut_share"):
        assert d[name] < 0.005, name
    codes = {f.code for f in clean.findings}
    assert not codes & {"duplicates", "eval_leakage", "truncation", "answer_skew", "conflicting_labels"}


def test_majority_answer(tmp_path) -> None:
    result = run(tmp_path, Planted(N, majority=0.95))
    assert result.descriptors["majority_answer_share"] == pytest.approx(0.95, abs=TOL)
    assert result.descriptors["distinct_answers"] == 4
    skew = [f for f in result.findings if f.code == "answer_skew"]
    assert skew and skew[0].severity == "error" and "alpha" in skew[0].evidence


def test_catalogue_has_at_least_30_static_descriptors(clean) -> None:
    from tuneahead.catalogue import specs

    static = specs("static")
    assert len(static) >= 30
    assert set(clean.descriptors) == {s.name for s in static}
    assert all(s.unit and s.meaning for s in static)
    # Recipe-derived values are computed; model-dependent ones are NaN when the model is not on disk.
    assert clean.descriptors["optimizer_steps"] == math.ceil(N / 8) * 3
    assert math.isnan(clean.descriptors["trainable_param_share"])


def test_tokenizer_fallback_is_reported(clean) -> None:
    assert clean.tokenizer["is_default"] is True
    assert "not available locally" in (clean.tokenizer_note or "")
