"""TuneBench scenarios: deterministic sampling, the scenario distribution, planted problems measured back
from the written files, the ground-truth / feature separation, and the target rule."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from dataclasses import replace

import pytest
import yaml

from tuneahead.bench.scenario_data import DUPLICATE, LEAKED, LONG, MIXTURE, NOISY, core_prompt
from tuneahead.bench.scenario_cost import estimated_cost
from tuneahead.bench.scenario_model import Scenario, load_scenario
from tuneahead.bench.scenario_params import (
    DATA_PROBLEMS,
    DEFAULT_BUDGET_TOKENS,
    EXCLUSIVE,
    MODEL_CONTEXT,
    MODEL_ORDER,
    PROBLEMS,
    RECIPE_PROBLEMS,
)
from tuneahead.bench.scenarios import materialise, sample_scenario, scenario_splits
from tuneahead.bench.targets import RunOutcome, draw_target, recalibrate_targets, target_from
from tuneahead.bench.tasks import FAMILIES, get_family, is_labelled, row_answer
from tuneahead.data.load import load_examples
from tuneahead.recipe.load import load_recipe

N_SCENARIOS = 1000


@pytest.fixture(scope="module")
def corpus() -> list[Scenario]:
    return [sample_scenario(seed) for seed in range(N_SCENARIOS)]


def first_with(corpus: list[Scenario], problem: str, **plan) -> Scenario:
    """The first sampled scenario planting `problem`, data-plan fields overridden (keeps files small)."""
    s = next(s for s in corpus if problem in s.problems)
    return replace(s, data=replace(s.data, **plan)) if plan else s


def _rendered_lengths(rows: list[dict], template: str | None) -> list[int]:
    from tuneahead.data.formats import normalize
    from tuneahead.data.render import NAMED_TEMPLATES, tokenize_batch
    from tuneahead.models.tokenizer import resolve_tokenizer

    bundle, _ = resolve_tokenizer(model="tiny-1m")
    examples = [normalize(r, "messages", f"row:{i}", None) for i, r in enumerate(rows)]
    return [
        t.length
        for t in tokenize_batch(examples, bundle, NAMED_TEMPLATES[template or "chatml"], "completion")
    ]


# ---------------------------------------------------------------- sampling


def test_sampling_is_deterministic(corpus) -> None:
    assert sample_scenario(17).to_dict() == corpus[17].to_dict()
    a, b = sample_scenario(random.Random(5)), sample_scenario(random.Random(5))
    assert a.to_dict() == b.to_dict()
    assert sample_scenario(18).to_dict() != corpus[17].to_dict()


def test_restrictions_are_honoured() -> None:
    for seed in range(20):
        s = sample_scenario(seed, model_sizes=["tiny-0.2m"], families=["parity", "reverse"])
        assert s.model == "tiny-0.2m" and s.proxy_model is None and s.family in {"parity", "reverse"}
    with pytest.raises(ValueError, match="model_sizes"):
        sample_scenario(0, model_sizes=["gpt-5"])
    with pytest.raises(ValueError, match="unknown task families"):
        sample_scenario(0, families=["poetry"])


def test_distribution_is_mostly_sensible_and_covers_every_problem(corpus) -> None:
    sensible = sum(s.sensible for s in corpus) / len(corpus)
    assert 0.70 <= sensible <= 0.86
    assert 0.55 <= sum(not s.problems for s in corpus) / len(corpus) <= 0.70
    counts = Counter(p for s in corpus for p in s.problems)
    # class_skew needs a labelled family, a smaller share of the v6 pool (5 of 20): it is the rarest.
    assert set(counts) == set(PROBLEMS) and min(counts.values()) >= 10, counts
    assert Counter(s.family for s in corpus).keys() == FAMILIES.keys()
    assert set(Counter(s.model for s in corpus)) == set(MODEL_ORDER)
    for s in corpus:
        assert len(s.problems) <= 2
        assert not any(pair <= set(s.problems) for pair in EXCLUSIVE)
        assert "class_skew" not in s.problems or is_labelled(get_family(s.family))
        assert s.proxy_model == (
            None if s.model == MODEL_ORDER[0] else MODEL_ORDER[MODEL_ORDER.index(s.model) - 1]
        )
        assert s.sensible == (not set(s.problems) & set(RECIPE_PROBLEMS))


def test_sensible_recipes_are_not_readable_from_the_learning_rate(corpus) -> None:
    for s in corpus:
        lr, full = s.recipe.learning_rate, s.recipe.adapter.is_full
        if "lr_too_low" in s.problems:
            assert lr <= (2e-5 if full else 5e-5)
        elif "lr_too_high" in s.problems:
            assert lr >= (2e-2 if full else 5e-2)
        else:
            assert (3e-4 <= lr <= 3e-3) if full else (1e-3 <= lr <= 1e-2)
    sensible = [s for s in corpus if s.sensible]
    assert sum(bool(s.problems) for s in sensible) / len(sensible) > 0.15  # data problems hide behind good lrs


def test_every_full_run_fits_the_budget(corpus) -> None:
    for s in corpus:
        cost = estimated_cost(s)
        assert cost.train_tokens <= DEFAULT_BUDGET_TOKENS * 1.05, (s.run_id, cost)
        assert cost.steps == s.recipe.total_steps(s.data.n_train_rows)
        assert s.ground_truth["cost"]["seconds"] == cost.seconds
    steps = sorted(estimated_cost(s).steps for s in corpus if s.sensible and "small_data" not in s.problems)
    assert steps[len(steps) // 2] >= 100  # sensible runs train for real


def test_step_regimes_match_their_problems(corpus) -> None:
    for s in corpus:
        steps = s.recipe.total_steps(s.data.n_train_rows)
        if "undertrained" in s.problems:
            assert steps <= 30
        if "overtrained" in s.problems:
            assert s.recipe.epochs_seen(s.data.n_train_rows) >= 10
        if "prompt_loss" in s.problems:
            assert s.recipe.loss_on == "all"
        else:
            assert s.recipe.loss_on == "completion"
        template = s.recipe.chat_template or "chatml"
        assert (template != s.eval_chat_template) == ("template_mismatch" in s.problems)


def test_targets_are_bars_above_chance(corpus) -> None:
    for s in corpus:
        draw = s.ground_truth["target"]
        assert draw["chance"] < s.target <= 0.95
        assert s.target == target_from(draw["fraction"], draw["ceiling"], draw["chance"])
    assert len({s.target for s in corpus}) >= 10


# ---------------------------------------------------------------- files


def test_materialised_files_load_and_splits_are_disjoint(corpus, tmp_path) -> None:
    s = next(s for s in corpus if not s.problems and s.data.n_train < 800)
    files = materialise(s, tmp_path / "run")
    train, report = load_examples(files.train)
    evals, _ = load_examples(files.eval)
    test, _ = load_examples(files.test)
    assert report.format == "messages" and report.invalid == 0
    assert (len(train), len(evals), len(test)) == (s.data.n_train_rows, s.data.n_eval, s.data.n_test)

    recipe = load_recipe(files.recipe)
    assert recipe.source.framework == "native"
    assert [d.path for d in recipe.datasets] == [str(files.train)]
    assert [d.path for d in recipe.eval_datasets] == [str(files.eval)]
    dumped = recipe.model_dump(exclude={"source", "datasets", "eval_datasets"})
    assert dumped == s.recipe.model_dump(exclude={"source", "datasets", "eval_datasets"})
    assert "test" not in files.recipe.read_text() and "ground_truth" not in files.recipe.read_text()

    def prompts(examples) -> set[str]:
        return {e.messages[-2].content for e in examples}

    assert not prompts(train) & prompts(test)
    assert not prompts(evals) & prompts(test)
    assert len(prompts(train) & prompts(evals)) == s.data.n_leaked  # only leaked rows are shared
    assert load_scenario(files.scenario).to_dict() == s.to_dict()


def test_planted_leak_is_measured_from_the_files(corpus, tmp_path) -> None:
    s = first_with(corpus, "eval_leak", n_train=300, duplicate_share=0.0)
    files = materialise(s, tmp_path / "leak")
    train = {json.dumps(json.loads(line)) for line in files.train.read_text().splitlines()}
    evals = [json.dumps(json.loads(line)) for line in files.eval.read_text().splitlines()]
    test_rows = [json.loads(line) for line in files.test.read_text().splitlines()]
    leak = sum(row in train for row in evals) / len(evals)
    assert leak == pytest.approx(s.data.eval_leak_share, abs=0.005)
    assert not {core_prompt(json.loads(r)) for r in train} & {
        core_prompt(r) for r in test_rows
    }  # test never leaks
    assert sum(LEAKED in t for t in scenario_splits(s).train_tags) == s.data.n_leaked


def test_planted_noise_is_measured_against_the_clean_twin(corpus) -> None:
    s = first_with(corpus, "label_noise", n_train=400, duplicate_share=0.0, eval_leak_share=0.0)
    clean = replace(s, data=replace(s.data, label_noise=0.0))
    noisy_rows, clean_rows = scenario_splits(s), scenario_splits(clean)
    # One knob changed: same prompts in the same order, answers differ exactly where noise was planted.
    assert [core_prompt(r) for r in noisy_rows.train] == [core_prompt(r) for r in clean_rows.train]
    family = get_family(s.family)
    wrong = [
        family.normalize_answer(row_answer(a)) != family.normalize_answer(row_answer(b))
        for a, b, tags in zip(noisy_rows.train, clean_rows.train, noisy_rows.train_tags)
        if MIXTURE not in tags
    ]
    assert sum(wrong) / len(wrong) == pytest.approx(s.data.label_noise, abs=0.01)
    assert noisy_rows.test == clean_rows.test and noisy_rows.eval == clean_rows.eval  # test stays clean
    assert [NOISY in t for t in noisy_rows.train_tags if MIXTURE not in t] == wrong


def test_planted_duplicates_and_skew(corpus) -> None:
    s = first_with(corpus, "duplicates", n_train=500, eval_leak_share=0.0)
    rows = scenario_splits(s).train
    seen: set[str] = set()
    repeats = 0
    for row in rows:
        key = json.dumps(row)
        repeats += key in seen
        seen.add(key)
    assert repeats / len(rows) == pytest.approx(s.data.duplicate_share, abs=0.01)
    assert sum(DUPLICATE in t for t in scenario_splits(s).train_tags) == round(s.data.duplicate_share * 500)

    s = first_with(corpus, "class_skew", n_train=600, label_noise=0.0, mixture_share=1.0, duplicate_share=0.0)
    splits = scenario_splits(s)
    majority = Counter(row_answer(r) for r in splits.train)[s.data.majority_label] / len(splits.train)
    assert majority == pytest.approx(s.data.majority_share, abs=0.04)
    test_counts = Counter(row_answer(r) for r in splits.test)
    labels = get_family(s.family).labels(s.difficulty)
    assert test_counts[s.data.majority_label] / len(splits.test) == pytest.approx(1 / len(labels), abs=0.08)


def test_planted_mixture_drowns_the_target(corpus) -> None:
    s = first_with(corpus, "mixture", n_train=400, duplicate_share=0.0, eval_leak_share=0.0)
    splits = scenario_splits(s)
    target_share = sum(MIXTURE not in t for t in splits.train_tags) / len(splits.train)
    assert target_share == pytest.approx(s.data.mixture_share, abs=0.01) and target_share <= 0.31
    mixed = {p for p, t in zip(map(core_prompt, splits.train), splits.train_tags) if MIXTURE in t}
    assert not mixed & {core_prompt(r) for r in splits.test + splits.eval}


def test_long_context_and_short_max_len_cut_answers(corpus) -> None:
    s = first_with(corpus, "long_context", n_train=200, duplicate_share=0.0, eval_leak_share=0.0)
    splits = scenario_splits(s)
    lengths = _rendered_lengths(splits.train, s.recipe.chat_template)
    over = [n > s.recipe.max_seq_length for n in lengths]
    assert sum(over) / len(over) == pytest.approx(s.data.long_context_share, abs=0.01)
    assert over == [LONG in t for t in splits.train_tags]
    assert (
        max(_rendered_lengths(splits.test, s.eval_chat_template)) < MODEL_CONTEXT
    )  # the test still fits the model

    s = first_with(corpus, "short_max_len", n_train=200)
    lengths = _rendered_lengths(scenario_splits(s).train, s.recipe.chat_template)
    assert sum(n > s.recipe.max_seq_length for n in lengths) / len(lengths) >= 0.5


def test_sensible_max_len_fits_every_row(corpus) -> None:
    for s in [s for s in corpus if s.sensible and "long_context" not in s.problems][:8]:
        s = replace(s, data=replace(s.data, n_train=min(s.data.n_train, 150)))
        lengths = _rendered_lengths(scenario_splits(s).train, s.recipe.chat_template)
        assert max(lengths) <= s.recipe.max_seq_length


# ---------------------------------------------------------------- ground truth stays apart


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_ground_truth_never_reaches_the_recipe_or_the_features(corpus, tmp_path) -> None:
    from tuneahead.data.describe import describe

    s = first_with(corpus, "eval_leak", n_train=300, duplicate_share=0.0)
    files = materialise(s, tmp_path / "gt")
    truth = json.loads(files.ground_truth.read_text())
    recipe_keys = _keys(yaml.safe_load(files.recipe.read_text()))
    assert not _keys(truth) & recipe_keys
    assert files.ground_truth.parent != files.folder and files.test.parent != files.folder
    assert {p.name for p in files.folder.iterdir() if p.is_file()} == {
        "train.jsonl",
        "eval.jsonl",
        "recipe.yaml",
    }

    before = describe(recipe=load_recipe(files.recipe)).descriptors
    files.ground_truth.write_text(json.dumps({"label_noise": 0.9, "eval_leak_share": 0.0}))
    files.test.write_text("")
    after = describe(recipe=load_recipe(files.recipe)).descriptors
    same = [k for k in before if before[k] == after[k] or (math.isnan(before[k]) and math.isnan(after[k]))]
    assert len(same) == len(before)
    # The planted leak is visible to the static descriptor that looks for it.
    assert before["eval_exact_leak_share"] == pytest.approx(s.data.eval_leak_share, abs=0.01)


def test_describe_sees_planted_truncation_and_duplicates(corpus, tmp_path) -> None:
    from tuneahead.data.describe import describe

    s = first_with(corpus, "long_context", n_train=300, duplicate_share=0.3, eval_leak_share=0.0)
    d = describe(recipe=load_recipe(materialise(s, tmp_path / "long").recipe)).descriptors
    assert d["answer_cut_share"] == pytest.approx(s.data.long_context_share, abs=0.02)
    assert d["exact_duplicate_share"] == pytest.approx(0.3, abs=0.02)


# ---------------------------------------------------------------- targets


def test_target_rule() -> None:
    assert target_from(0.5, 0.9, 0.0) < target_from(0.7, 0.9, 0.0) < target_from(0.9, 0.9, 0.0)
    assert target_from(1.0, 0.99, 0.0) == 0.95  # capped
    assert target_from(0.5, 0.02, 0.0) == 0.1  # nobody asks for a guess
    assert target_from(0.5, 0.6, 0.5) >= 0.55
    family = get_family("parity")
    a = draw_target(random.Random(3), family, {"rule": "number", "digits": 4}, "tiny-1m")
    assert a == draw_target(random.Random(3), family, {"rule": "number", "digits": 4}, "tiny-1m")
    assert a.chance == 0.5 and a.source == "prior"


def test_lora_runs_get_a_share_of_the_full_fine_tunes_headroom() -> None:
    from tuneahead.bench.targets import LORA_HEADROOM, prior_ceiling

    parity, easy = get_family("parity"), {"rule": "number", "digits": 4}
    full = prior_ceiling(parity, easy, "tiny-1m")
    lora = prior_ceiling(parity, easy, "tiny-1m", lora=True)
    assert lora == pytest.approx(0.5 + LORA_HEADROOM * (full - 0.5))  # chance stays chance
    lora_draw = draw_target(random.Random(3), parity, easy, "tiny-1m", lora=True)
    full_draw = draw_target(random.Random(3), parity, easy, "tiny-1m")
    assert lora_draw.fraction == full_draw.fraction and lora_draw.target < full_draw.target


def test_prior_ceiling_follows_the_scan_and_bounds_the_difficulty_drawn() -> None:
    from collections import Counter

    from tuneahead.bench.targets import learnable_level, scanned_ceiling

    assert scanned_ceiling("reverse", "tiny-1m", 0.0) == 0.63
    assert scanned_ceiling("reverse", "tiny-1m", 0.25) == pytest.approx((0.63 + 0.26) / 2)
    assert scanned_ceiling("reverse", "tiny-4m", 0.0) == pytest.approx(0.63 * 1.1)  # borrowed, scaled
    assert learnable_level("sentiment", "tiny-0.2m") == 1.0  # learnable everywhere
    assert learnable_level("reverse", "tiny-1m") == pytest.approx(0.4)  # >= 0.4 up to 0.3, plus 0.1
    assert learnable_level("arithmetic", "tiny-1m") == 0.2  # hopeless: the floor
    # Judged against chance: parity at its hardest (0.52-0.55 on two labels) is a coin flip, not learnable.
    assert learnable_level("parity", "tiny-0.2m") < 1.0 and learnable_level("topic", "tiny-0.2m") == 1.0
    levels = [sample_scenario(seed, families=("reverse",), model_sizes=("tiny-1m",)).ground_truth["difficulty_level"]
              for seed in range(30)]
    assert max(levels) <= 0.4
    # A family no model in the draw learns is drawn less often, but still drawn.
    from tuneahead.bench.scenario_params import MIN_FAMILY_WEIGHT
    from tuneahead.bench.scenarios import _family_weight

    assert _family_weight("arithmetic", ["tiny-0.2m", "tiny-1m"]) == MIN_FAMILY_WEIGHT
    assert _family_weight("sentiment", ["tiny-0.2m"]) == 1.0
    families = Counter(sample_scenario(seed, model_sizes=("tiny-1m",)).family for seed in range(400))
    assert 0 < families["arithmetic"] < families["sentiment"] / 2
    # A model that cannot do the task at all is picked rarely (unit_convert: 0.01 vs 1.00 at the easy end).
    models = Counter(sample_scenario(seed, families=("unit_convert",)).model for seed in range(60))
    assert models["tiny-1m"] > 3 * models["tiny-0.2m"]


def test_recalibration_never_uses_a_runs_own_outcome() -> None:
    def run(i: int, acc: float, clean: bool = True) -> RunOutcome:
        return RunOutcome(f"r{i}", "reverse", "tiny-1m", 0.1, clean, 0.9, 0.0, acc)

    runs = [run(i, 0.5 + 0.05 * i) for i in range(8)] + [run(8, 0.1, clean=False)]
    targets = recalibrate_targets(runs)
    assert set(targets) == {r.run_id for r in runs} and all(t.source == "measured" for t in targets.values())
    moved = recalibrate_targets([replace(runs[0], accuracy=0.99)] + runs[1:])
    assert moved["r0"] == targets["r0"]  # its own accuracy changed, its bar did not
    assert moved["r8"] != targets["r8"]  # another run's bar may move
    few = recalibrate_targets(runs[:3], prior={"r0": 0.8})
    assert set(few) == {"r0"} and few["r0"].source == "prior"


def test_recalibrated_table_redraws_target_and_success() -> None:
    import pandas as pd

    from tuneahead.bench.targets import recalibrate_table

    n = 10
    runs = pd.DataFrame({
        "run_id": [f"r{i}" for i in range(n)], "family": "reverse", "model": "tiny-1m",
        "final_metric": [0.4] * (n - 1) + [0.05], "target": 0.9, "success": False,
    })
    truth = pd.DataFrame({
        "run_id": runs["run_id"], "truth_difficulty_score": 0.1,
        "truth_problems": ["[]"] * (n - 1) + ["['lr_too_low']"],
        "truth_target_fraction": 0.7, "truth_target_chance": 0.0, "truth_target_ceiling": 0.9,
    })
    table, measured = recalibrate_table(runs, truth)
    assert measured == n
    # Clean runs reach 0.4, so a 70 % bar is 0.3: the clean runs now succeed, the broken one does not.
    assert table["target"].tolist() == [0.3] * n
    assert table["success"].tolist() == [True] * (n - 1) + [False]
    assert runs["target"].eq(0.9).all()  # the input is left alone


def test_problem_lists_are_partitioned() -> None:
    assert set(DATA_PROBLEMS) | set(RECIPE_PROBLEMS) == set(PROBLEMS)
    assert not set(DATA_PROBLEMS) & set(RECIPE_PROBLEMS)


def test_a_campaign_pinned_to_another_generator_refuses_to_run() -> None:
    from tuneahead.bench.runner import execute_task
    from tuneahead.bench.scenario_params import GENERATOR_VERSION

    assert GENERATOR_VERSION == 6
    with pytest.raises(RuntimeError, match="pins TuneBench generator v4"):
        execute_task("r", {"seed": 1, "work_dir": "unused", "options": {"generator_version": 4}})


def test_generator_v5_draws_as_it_did_and_v6_adds_the_new_shapes() -> None:
    from tuneahead.bench.scenario_params import GENERATOR_FAMILIES, V5_FAMILIES

    # (family, model) of v5's first scenarios, as the v5 code drew them before v6 existed.
    v5_first = [("compose", "tiny-4m"), ("kv_lookup", "tiny-4m"), ("date_format", "tiny-0.2m"),
                ("kv_lookup", "tiny-1m"), ("sentiment", "tiny-1m"), ("date_format", "tiny-4m"),
                ("sentiment", "tiny-4m"), ("kth_word", "tiny-4m"), ("arithmetic", "tiny-1m"),
                ("case_convert", "tiny-1m"), ("parity", "tiny-4m"), ("date_format", "tiny-0.2m")]
    v5 = [sample_scenario(seed, generator_version=5) for seed in range(150)]
    assert [(s.family, s.model) for s in v5[:12]] == v5_first
    assert {s.family for s in v5} <= set(V5_FAMILIES)
    assert all(set(s.data.mixture_families) <= set(V5_FAMILIES) for s in v5)
    assert {s.ground_truth["generator_version"] for s in v5} == {5}
    new = set(GENERATOR_FAMILIES[6]) - set(V5_FAMILIES)
    assert new == {"modular_sum", "lexicon", "spell_words", "count_up"}
    v6 = [sample_scenario(seed) for seed in range(300)]
    assert new <= {s.family for s in v6}
    assert {s.ground_truth["generator_version"] for s in v6} == {6}
    with pytest.raises(ValueError, match="unknown TuneBench generator v3"):
        sample_scenario(0, generator_version=3)


def test_a_seed_repeat_changes_only_the_training_seed() -> None:
    from tuneahead.bench.scenarios import with_seed_repeat

    base = sample_scenario(11)
    assert with_seed_repeat(base, 0) is base
    again, other = with_seed_repeat(base, 1), with_seed_repeat(base, 2)
    assert again.recipe.seed != base.recipe.seed and other.recipe.seed not in (base.recipe.seed, again.recipe.seed)
    assert again.recipe.model_copy(update={"seed": base.recipe.seed}) == base.recipe
    assert (again.data, again.target, again.family, again.model) == (base.data, base.target, base.family, base.model)
    assert again.ground_truth["seed_repeat"] == 1 and again.ground_truth["scenario_seed"] == base.seed
    assert with_seed_repeat(base, 1).recipe.seed == again.recipe.seed  # deterministic
    with pytest.raises(ValueError):
        with_seed_repeat(base, -1)


def test_run_length_scales_the_full_runs_and_draws_everything_else_the_same() -> None:
    ratios = []
    for seed in range(40):
        base, long = sample_scenario(seed), sample_scenario(seed, run_length=4)
        assert sample_scenario(seed, run_length=1.0) == base
        assert (long.family, long.model, long.problems, long.target, long.data) == (
            base.family, base.model, base.problems, base.target, base.data)
        assert long.recipe.learning_rate == base.recipe.learning_rate
        assert long.ground_truth["run_length"] == 4 and "run_length" not in base.ground_truth
        if base.ground_truth["steps_regime"] == "sensible":
            ratios.append(long.ground_truth["cost"]["steps"] / base.ground_truth["cost"]["steps"])
    # Most sensible runs are 4x as long; some stop at the longest usual epoch count or at one epoch's cap.
    assert min(ratios) >= 1 and sorted(ratios)[len(ratios) // 2] >= 3, ratios
    with pytest.raises(ValueError, match="run_length"):
        sample_scenario(0, run_length=0)
